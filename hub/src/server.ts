#!/usr/bin/env node
/**
 * Entry point: `node dist/server.js` with JG_* variables. Stops on SIGINT/SIGTERM: cleanly when
 * everything closes, else within JG_STOP_DEADLINE_S (stopWithin, below).
 * The process-level handlers (process-handlers.ts) are installed before anything starts.
 */
// First: keeps String.prototype out of dictionary mode before any dependency loads (fast-prototypes.ts).
import './fast-prototypes.js';
import type { FastifyBaseLogger } from 'fastify';
import { HubError, errorMessage, isHubError } from './errors.js';
import { startHub, type Hub } from './app.js';
import { installProcessHandlers } from './process-handlers.js';
import { prioritizeMainThread } from './priority.js';
import { emit } from './telemetry/events.js';
import { withTimeout } from './deadline.js';

/** How long the store is given to close after the deadline: its in-flight writes finish first. */
const STORE_CLOSE_MS = 5_000;

async function main(): Promise<void> {
  let logger: FastifyBaseLogger | undefined;
  installProcessHandlers(() => logger);
  const hub = await startHub();
  logger = hub.app.log;
  // After start: the threads made during start keep their priority (priority.ts).
  const priority = prioritizeMainThread(hub.config.mainThreadNice);
  if (priority.applied) emit(hub.app.log, 'hub.priority', { nice: priority.nice });
  else if (hub.config.mainThreadNice !== 0) emit(hub.app.log, 'hub.priority_unavailable', { reason: priority.reason });
  let stopping = false;
  const stop = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    emit(hub.app.log, 'hub.stopping', { signal });
    if (priority.applied) priority.stop();
    process.exit(await stopWithin(hub, hub.config.stopDeadlineS * 1000));
  };
  process.on('SIGINT', () => void stop('SIGINT'));
  process.on('SIGTERM', () => void stop('SIGTERM'));
}

/**
 * Why a deadline (JG_STOP_DEADLINE_S, 40 s by default): what waits on Redis (the evaluate queue
 * and worker, the rule state's lease, the registry's and calendars' followers) closes only once
 * Redis answers, so with Redis away `hub.close()` never finished: the process went on holding
 * chDB's lock on the data directory, and the hub started in its place failed with
 * STORE_UNAVAILABLE ("Cannot lock file …/chdb/status"). With STORE_CLOSE_MS the default stays
 * below systemd's TimeoutStopSec (deploy/single-host/jianguan-hub.service), so the hub's own
 * exit, which closes the store first, comes before systemd's SIGKILL. Giving up loses nothing
 * acknowledged: a collector's batch is acknowledged only once it is stored (ingest/collect.ts,
 * store/writer.ts), so a batch cut off here is sent again.
 *
 * Closes the hub; the exit code to end with. 0 when everything closed. Otherwise — close failed,
 * or had not finished after `deadlineMs` — 1, once the store is closed here,
 * with a log line naming what had not closed.
 */
async function stopWithin(hub: Hub, deadlineMs: number): Promise<number> {
  const log = hub.app.log;
  const late = new Error('deadline');
  try {
    await withTimeout(hub.close(), deadlineMs, () => late);
    return 0;
  } catch (err) {
    if (err !== late) emit(log, 'hub.stop_failed', { code: isHubError(err) ? err.code : 'INTERNAL', message: errorMessage(err) });
    else emit(log, 'hub.stop_incomplete', { deadlineMs, pending: await unclosed(hub), redis: hub.app.redis.status }, `not closed within ${deadlineMs / 1000} s; closing the store and exiting`);
  }
  // Closed here even if hub.close() has reached it too: a store closes once, whoever asks first.
  try {
    await withTimeout(hub.store.close(), STORE_CLOSE_MS, () => new HubError('STORE_UNAVAILABLE', `not closed within ${STORE_CLOSE_MS / 1000} s`));
    emit(log, 'hub.store_closed', { driver: hub.store.driver });
  } catch (err) {
    // Exiting still releases the data directory's lock; only the engine's own flush is lost.
    emit(log, 'hub.store_close_failed', { code: isHubError(err) ? err.code : 'STORE_UNAVAILABLE', message: errorMessage(err) });
  }
  return 1;
}

/**
 * What can be seen from here not to have closed yet, in the order `hub.close()` closes it
 * (fastify runs the plugins' onClose hooks in reverse: routes and services first, Redis and the
 * store last, app.ts). Redis still connected means the close has not reached the infrastructure
 * tier; the store is then still open too.
 */
async function unclosed(hub: Hub): Promise<string[]> {
  const pending: string[] = [];
  if (hub.app.server.listening) pending.push('http server');
  const { queue, worker } = hub.queue;
  if (worker && !(await hasSettled(worker.closing))) pending.push('evaluate worker');
  if (!(await hasSettled(queue.closing))) pending.push('evaluate queue');
  if (hub.app.redis.status !== 'end') pending.push('redis connections', 'store');
  return pending;
}

/** Whether `p` has settled already (a close not yet begun, `undefined`, has not). */
async function hasSettled(p: Promise<unknown> | undefined): Promise<boolean> {
  if (!p) return false;
  let settled = false;
  p.then(
    () => (settled = true),
    () => (settled = true),
  );
  // Callbacks of a settled promise run before the next turn of the event loop.
  await new Promise((resolve) => setImmediate(resolve));
  return settled;
}

main().catch((e) => {
  const code = isHubError(e) ? e.code : 'STARTUP_FAILED';
  console.error(JSON.stringify({ level: 'fatal', event: 'hub.start_failed', code, message: errorMessage(e) }));
  process.exit(1);
});
