#!/usr/bin/env node
/**
 * Entry point: `node dist/server.js` with JG_* variables. Stops cleanly on SIGINT/SIGTERM.
 * The process-level handlers (process-handlers.ts) are installed before anything starts.
 */
// First: keeps String.prototype out of dictionary mode before any dependency loads (fast-prototypes.ts).
import './fast-prototypes.js';
import type { FastifyBaseLogger } from 'fastify';
import { errorMessage, isHubError } from './errors.js';
import { startHub } from './app.js';
import { installProcessHandlers } from './process-handlers.js';
import { prioritizeMainThread } from './priority.js';
import { emit } from './telemetry/events.js';

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
    await hub.close();
    process.exit(0);
  };
  process.on('SIGINT', () => void stop('SIGINT'));
  process.on('SIGTERM', () => void stop('SIGTERM'));
}

main().catch((e) => {
  const code = isHubError(e) ? e.code : 'STARTUP_FAILED';
  console.error(JSON.stringify({ level: 'fatal', event: 'hub.start_failed', code, message: errorMessage(e) }));
  process.exit(1);
});
