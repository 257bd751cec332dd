#!/usr/bin/env node
/**
 * jianguan-collector — run one collector, or report on an outbox.
 *
 *   jianguan-collector [run] [--config file.json]     run (JG_* variables override the file)
 *   jianguan-collector status [--config file.json] [--outbox dir] [--json]
 *
 * Running, it prints one JSON line per event on stdout (batch ids included) and stops cleanly on
 * SIGINT/SIGTERM (a second signal exits at once). JG_LOG_LEVEL=debug adds per-append and per-send
 * lines; JG_STATUS_INTERVAL_MS (default 30000, 0 = off) sets the periodic status line.
 * Exit codes: 0 stopped cleanly, 1 runtime failure, 2 bad configuration, 3 outbox locked.
 */
import { parseArgs as parseCliArgs } from 'node:util';
import path from 'node:path';
import { startCollector, type CollectorEvent, type CollectorHandle } from './collector.js';
import { loadConfigFile, loadConfigFromEnv } from './config.js';
import { errorMessage, isCollectorError } from './errors.js';
import { statusMetrics } from './metrics.js';
import { inspectOutbox } from './outbox/outbox.js';
import { installProcessHandlers } from './process-handlers.js';

type Level = 'debug' | 'info' | 'warn' | 'error' | 'fatal';
const LEVELS: Record<Level, number> = { debug: 10, info: 20, warn: 30, error: 40, fatal: 50 };

function levelOf(e: CollectorEvent): Level {
  switch (e.event) {
    case 'records.captured':
    case 'source.captured':
    case 'batch.sent':
    case 'link.connecting':
      return 'debug';
    case 'link.rejected':
    case 'outbox.error':
    case 'link.error':
    case 'source.error':
      return 'error';
    case 'batch.failed':
      return e.retryable ? 'warn' : 'error';
    case 'link.disconnected':
      return e.reason === 'io client disconnect' ? 'info' : 'warn';
    case 'link.connect_error':
    case 'outbox.full':
    case 'outbox.spare_released':
    case 'outbox.quarantined':
    case 'batch.rejected_records':
    case 'source.rejected':
    case 'source.outbox_full':
    case 'source.truncated':
    case 'drop.rejected_file':
    case 'decision.fallback':
    case 'metrics.error':
      return 'warn';
    case 'outbox.recovered':
      return e.truncatedBytes > 0 || e.quarantined > 0 || e.ledgerReset ? 'warn' : 'info';
    default:
      return 'info';
  }
}

interface Args {
  command: 'run' | 'status' | 'help';
  config?: string;
  outbox?: string;
  json: boolean;
}

/** Command line through node:util's parser: unknown flags and missing values are errors. */
function parseArgs(argv: string[]): Args {
  const { values, positionals } = parseCliArgs({
    args: argv,
    allowPositionals: true,
    strict: true,
    options: {
      config: { type: 'string', short: 'c' },
      outbox: { type: 'string' },
      json: { type: 'boolean', default: false },
      help: { type: 'boolean', short: 'h', default: false },
    },
  });
  if (positionals.length > 1) throw new Error(`unexpected argument '${positionals[1]}' (try --help)`);
  const cmd = positionals[0] ?? 'run';
  if (cmd !== 'run' && cmd !== 'status' && cmd !== 'help') throw new Error(`unknown command '${cmd}' (try --help)`);
  const out: Args = { command: values.help || cmd === 'help' ? 'help' : cmd, json: values.json ?? false };
  if (values.config !== undefined) out.config = values.config;
  if (values.outbox !== undefined) out.outbox = values.outbox;
  return out;
}

const USAGE = `usage:
  jianguan-collector [run] [--config file.json]
  jianguan-collector status [--config file.json | --outbox dir] [--json]

environment (overrides the file): JG_COLLECTOR_ID JG_COLLECTOR_TOKEN JG_HUB_URL JG_INSTITUTION_ID
  JG_REPORTS_FOR (comma-separated: further institutions the local HTTP endpoint accepts)
  JG_OUTBOX_DIR JG_PSEUDONYM_KEY JG_SIM_RATE JG_SIM_ANOMALY_RATE JG_SIM_MALFORMED_RATE
  JG_SIM_MAX_RECORDS JG_SIM_SEED JG_SIM_INJECTED_LOG JG_ACK_TIMEOUT_MS JG_LOG_LEVEL
  JG_SOURCES (JSON array: file tail, drop folder, local HTTP endpoint, simulator — see collector/README.md)`;

function fmtTime(ms: number | null): string {
  return ms === null ? '-' : new Date(ms).toISOString();
}

function fmtAge(ms: number | null): string {
  if (ms === null) return '';
  const s = Math.max(0, Math.round((Date.now() - ms) / 1000));
  return s < 120 ? ` (${s} s ago)` : s < 7200 ? ` (${Math.round(s / 60)} min ago)` : ` (${(s / 3600).toFixed(1)} h ago)`;
}

async function status(args: { config?: string; outbox?: string; json: boolean }): Promise<number> {
  let dir = args.outbox;
  if (!dir) {
    // Only the outbox directory is needed: no token or key required.
    if (args.config) {
      try {
        dir = loadConfigFile(args.config).outboxDir;
      } catch {
        /* fall through to the env */
      }
    }
    dir ??=
      process.env.JG_OUTBOX_DIR ||
      (process.env.JG_COLLECTOR_ID ? path.join('.data', 'collectors', process.env.JG_COLLECTOR_ID) : undefined);
  }
  if (!dir) {
    process.stderr.write('status: give --outbox DIR, --config FILE, JG_OUTBOX_DIR or JG_COLLECTOR_ID\n');
    return 2;
  }
  const s = await inspectOutbox(dir);
  if (args.json) {
    // metrics: live outbox numbers + the running (or last) collector's snapshot (metrics.ts).
    process.stdout.write(`${JSON.stringify(s.exists ? { ...s, metrics: await statusMetrics(dir, s) } : s)}\n`);
    return s.exists ? 0 : 1;
  }
  if (!s.exists) {
    process.stdout.write(`outbox ${s.dir}: does not exist\n`);
    return 1;
  }
  const lines = [
    `outbox          ${s.dir}`,
    `running         ${s.lock ? (s.lock.alive ? `yes (pid ${s.lock.pid})` : `no (stale lock of pid ${s.lock.pid})`) : 'no'}`,
    `depth           ${s.depth} record(s) waiting for the hub`,
    `oldest unacked  ${s.oldestUnacked ? `seq ${s.oldestUnacked.seq} appended ${fmtTime(s.oldestUnacked.at)}${fmtAge(s.oldestUnacked.at)}` : '-'}`,
    `last ack        ${s.lastAckAt === null ? '-' : `seq ${s.ackedSeq} at ${fmtTime(s.lastAckAt)}${fmtAge(s.lastAckAt)}`}`,
    `next seq        ${s.nextSeq}`,
    `segments        ${s.segments} (${s.bytes} bytes)`,
    `quarantined     ${s.quarantined}`,
    `spare file      ${s.spareBytes > 0 ? `${s.spareBytes} bytes` : 'none (used to make room on a full disk, or turned off)'}`,
    `disk free       ${s.diskFreeBytes === null ? 'unknown' : `${s.diskFreeBytes} bytes`}`,
  ];
  process.stdout.write(`${lines.join('\n')}\n`);
  return 0;
}

async function run(args: { config?: string }): Promise<number> {
  const minLevel = LEVELS[(process.env.JG_LOG_LEVEL as Level | undefined) ?? 'info'] ?? LEVELS.info;
  const log = (level: Level, body: Record<string, unknown>): void => {
    if (LEVELS[level] < minLevel) return;
    const { at, ...rest } = body;
    process.stdout.write(`${JSON.stringify({ time: new Date(typeof at === 'number' ? at : Date.now()).toISOString(), level, ...rest })}\n`);
  };
  installProcessHandlers(log);

  let config;
  try {
    config = args.config ? loadConfigFile(args.config) : loadConfigFromEnv(process.env);
  } catch (e) {
    log('error', { event: 'collector.config_invalid', code: isCollectorError(e) ? e.code : 'CONFIG_INVALID', message: errorMessage(e) });
    process.stderr.write(`jianguan-collector: ${errorMessage(e)}\n`);
    return 2;
  }

  let handle: CollectorHandle;
  try {
    handle = await startCollector(config, { onEvent: (e) => log(levelOf(e), e as unknown as Record<string, unknown>) });
  } catch (e) {
    const code = isCollectorError(e) ? e.code : 'START_FAILED';
    log('error', { event: 'collector.start_failed', collectorId: config.collectorId, code, message: errorMessage(e) });
    return code === 'OUTBOX_LOCKED' ? 3 : code === 'CONFIG_INVALID' || code === 'SOURCE_INVALID' ? 2 : 1;
  }

  const intervalMs = Number(process.env.JG_STATUS_INTERVAL_MS ?? 30_000);
  const statusTimer =
    intervalMs > 0 ? setInterval(() => log('info', { event: 'collector.status', ...handle.status() }), intervalMs) : undefined;

  return new Promise<number>((resolve) => {
    let signals = 0;
    const onSignal = (signal: NodeJS.Signals): void => {
      signals += 1;
      if (signals > 1) {
        log('warn', { event: 'collector.forced_exit', collectorId: handle.id, signal });
        process.exit(1);
      }
      log('info', { event: 'collector.stopping', collectorId: handle.id, signal });
      if (statusTimer) clearInterval(statusTimer);
      handle.stop().then(
        () => resolve(0),
        (e) => {
          log('error', { event: 'collector.stop_failed', collectorId: handle.id, message: errorMessage(e) });
          resolve(1);
        },
      );
    };
    process.on('SIGINT', onSignal);
    process.on('SIGTERM', onSignal);
  });
}

async function main(): Promise<number> {
  let args;
  try {
    args = parseArgs(process.argv.slice(2));
  } catch (e) {
    process.stderr.write(`${errorMessage(e)}\n${USAGE}\n`);
    return 2;
  }
  if (args.command === 'help') {
    process.stdout.write(`${USAGE}\n`);
    return 0;
  }
  return args.command === 'status' ? status(args) : run(args);
}

main().then(
  (code) => {
    process.exitCode = code;
    // Everything is closed on a clean stop; exit explicitly in case a caller left a handle open.
    setTimeout(() => process.exit(code), 200).unref();
  },
  (e) => {
    process.stderr.write(`jianguan-collector: ${errorMessage(e)}\n`);
    process.exit(1);
  },
);
