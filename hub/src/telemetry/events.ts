/**
 * Named telemetry events (after Vector's internal_events): each emits its log line and its
 * metric from this one place, so logs and /metrics never disagree.
 *
 * - The pipeline's events (records received, batches stored and acked, holds decided, wall
 *   pushes) have their own counters and latency histograms, bound to a logger by
 *   `createTelemetry(log)`.
 * - Every other operational event (`ruleset.activated`, `redis.error` …) is listed in EVENTS with
 *   its level and goes through `emit(log, name, fields)`: one log line `{event, …fields}` and one
 *   increment of `jg_events_total{event}`. An event not listed here does not type-check.
 *
 * Metrics live in one prom-client registry per process (`metricsRegistry`); /metrics serves it.
 * Hubs started in one process (tests) share it, as they shared the hand-kept counters before.
 */
import type { FastifyBaseLogger } from 'fastify';
import { Counter, Gauge, Histogram, Registry } from 'prom-client';

type Level = 'debug' | 'info' | 'warn' | 'error' | 'fatal';

/** Operational events and their log level. */
export const EVENTS = {
  'audit.write_failed': 'error',
  'backtest.done': 'info',
  'backup.done': 'info',
  'backup.failed': 'error',
  'backup.pruned': 'info',
  'backtest.failed': 'error',
  'batch.held': 'info',
  'batch.released': 'info',
  'collector.approved': 'info',
  'collector.check_failed': 'warn',
  'collector.enrolled': 'info',
  'collector.gap': 'warn',
  'collector.key_proposed': 'warn',
  'collector.refiled': 'info',
  'collector.reload_failed': 'warn',
  'collector.release_failed': 'error',
  'collector.revoked': 'warn',
  'collector.seen_save_failed': 'warn',
  'calendar.changed': 'info',
  'calendar.missing_year': 'warn',
  'calendar.incomplete_year': 'warn',
  'calendar.reload_failed': 'warn',
  'calendar.seeded': 'info',
  'collector.silent': 'warn',
  'collector.tamper': 'warn',
  'collector.tamper_suppressed': 'warn',
  'dashboard.missing': 'warn',
  'disk.low': 'warn',
  'decision.log_dropped': 'error',
  'decision.log_failed': 'error',
  'evaluation.ledger': 'info',
  'evaluation.ledger_progress': 'info',
  'evaluation.refresh_failed': 'error',
  'evaluation.refresh_job': 'info',
  'eval.thread_failed': 'error',
  'eval.thread_started': 'info',
  'eval.overflow_started': 'info',
  'eval.overflow_ended': 'info',
  'evidence.temp_remove_failed': 'warn',
  'evidence.temp_sweep_failed': 'warn',
  'http.error': 'error',
  'hub.close_step_failed': 'warn',
  'hub.priority': 'info',
  'hub.priority_unavailable': 'info',
  'hub.started': 'info',
  'hub.stopping': 'info',
  'hub.stop_failed': 'error',
  'hub.stop_incomplete': 'error',
  'hub.store_closed': 'warn',
  'hub.store_close_failed': 'error',
  'job.failed': 'error',
  'job.worker_error': 'warn',
  'kiosk.resolve_failed': 'warn',
  'peer.failed': 'error',
  'peer.run': 'info',
  'presence.failed': 'warn',
  'redis.error': 'warn',
  'registry.reload_failed': 'warn',
  'registry.seeded': 'info',
  'rule_state.error': 'error',
  'rule_state.lost': 'error',
  'rule_state.restored': 'info',
  'rule_state.snapshot': 'info',
  'rule_state.waiting': 'warn',
  'ruleset.activated': 'info',
  'ruleset.approved': 'info',
  'ruleset.compile_failed': 'error',
  'ruleset.drafted': 'info',
  'ruleset.poll_failed': 'warn',
  'ruleset.reload_failed': 'error',
  'ruleset.subscriber_error': 'warn',
  'ruleset.version_mismatch': 'error',
  'store.migrated': 'info',
  'store.slow': 'warn',
  'tls.reload_failed': 'error',
  'tls.reloaded': 'info',
  'users.demo': 'warn',
  'users.no_admin': 'warn',
  'wall.open': 'warn',
  'wall.snapshot_failed': 'error',
  'wall.stats_failed': 'error',
  'workflow.assign_failed': 'error',
  'workflow.on_appended_failed': 'error',
  'workflow.sweep': 'info',
  'workflow.sweep_failed': 'error',
  'workflow.unlock_failed': 'warn',
} as const satisfies Record<string, Level>;
export type EventName = keyof typeof EVENTS;

export const metricsRegistry = new Registry();
const registers = [metricsRegistry];

const counter = (name: string, help: string, labelNames: string[] = []) => new Counter({ name, help, labelNames, registers });
// Seconds, from a millisecond hold decision to a multi-second store commit under load.
const LATENCY_BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30];
const histogram = (name: string, help: string, labelNames: string[] = []) => new Histogram({ name, help, labelNames, buckets: LATENCY_BUCKETS, registers });

const m = {
  received: counter('jg_transactions_received_total', 'Records received from collectors (valid and invalid).'),
  stored: counter('jg_transactions_stored_total', 'Transactions stored by the evaluation worker (including re-deliveries).'),
  deadLetters: counter('jg_dead_letters_total', 'Records rejected and kept in the dead-letter table.'),
  warnings: counter('jg_warnings_raised_total', 'Warnings raised by the rule engine.'),
  acked: counter('jg_batches_acked_total', 'Batches acknowledged to collectors as durable.'),
  failed: counter('jg_batches_failed_total', 'Batches answered with a retryable failure.'),
  authFailures: counter('jg_collector_auth_failures_total', 'Rejected collector handshakes.'),
  events: counter('jg_events_total', 'Operational log events, by name.', ['event']),
  ingestBatch: histogram('jg_ingest_batch_seconds', 'From a batch received on /collect to its answer (ack or failure).', ['outcome']),
  evaluate: histogram('jg_evaluate_seconds', 'Rule evaluation of one batch in the worker.'),
  storeCommit: histogram('jg_store_commit_seconds', 'Inserting one evaluated batch (transactions, then warnings).'),
  holdDecision: histogram('jg_hold_decision_seconds', 'One synchronous hold decision (blocking rules only).', ['decision']),
  wallPush: histogram('jg_wall_push_seconds', 'Emitting one flush of buffered warnings to the wall rooms.'),
  collectorsConnected: new Gauge({ name: 'jg_collectors_connected', help: 'Collectors connected to this hub.', registers }),
  queueWaiting: new Gauge({ name: 'jg_queue_waiting', help: 'Evaluate jobs waiting in BullMQ.', registers }),
  dataDiskFree: new Gauge({ name: 'jg_data_disk_free_bytes', help: 'Bytes free to the hub on the disk of its data directory (JG_DATA_DIR).', registers }),
  dataDiskTotal: new Gauge({ name: 'jg_data_disk_total_bytes', help: 'Size of the disk of the hub data directory.', registers }),
  calendarMissing: new Gauge({ name: 'jg_calendar_years_missing', help: 'Years the work calendar needs (this one; from 1 November the next) and has no holidays for.', registers }),
  backupLastSuccess: new Gauge({ name: 'jg_backup_last_success_timestamp_seconds', help: 'When the newest verified backup of the embedded store started (0: none on disk).', registers }),
};

/** Logs `{event: name, ...fields}` at the event's level and counts it. */
export function emit(log: FastifyBaseLogger, name: EventName, fields: Record<string, unknown> = {}, msg?: string): void {
  m.events.inc({ event: name });
  const line = { event: name, ...fields };
  const level = EVENTS[name];
  if (msg === undefined) log[level](line);
  else log[level](line, msg);
}

/** The Prometheus exposition of every metric above, with the gauges read at scrape time. */
export async function metricsText(gauges: { collectorsConnected: number; queueWaiting: number; disk?: { freeBytes: number; totalBytes: number } }): Promise<{ contentType: string; body: string }> {
  m.collectorsConnected.set(gauges.collectorsConnected);
  m.queueWaiting.set(gauges.queueWaiting);
  if (gauges.disk) {
    m.dataDiskFree.set(gauges.disk.freeBytes);
    m.dataDiskTotal.set(gauges.disk.totalBytes);
  }
  return { contentType: metricsRegistry.contentType, body: await metricsRegistry.metrics() };
}

const seconds = (ms: number) => ms / 1000;

/** Stand-alone pipeline events for services that hold a logger, not a Telemetry. */
export const pipeline = {
  holdDecided(decision: 'hold' | 'allow', ms: number): void {
    m.holdDecision.observe({ decision }, seconds(ms));
  },
  wallPushed(ms: number): void {
    m.wallPush.observe(seconds(ms));
  },
};

export function createTelemetry(log: FastifyBaseLogger) {
  return {
    transactionsReceived(batchId: string, collectorId: string, count: number) {
      m.received.inc(count);
      log.debug({ event: 'transactions.received', batchId, collectorId, count });
    },
    recordsDeadLettered(batchId: string, collectorId: string, reasons: { index: number; code: string; reason: string }[]) {
      m.deadLetters.inc(reasons.length);
      log.warn({ event: 'records.dead_lettered', batchId, collectorId, count: reasons.length, first: reasons[0] });
    },
    /** `evaluateMs` + `storeMs` = the batch's time in the worker. */
    batchStored(batchId: string, stored: number, warnings: number, evaluateMs: number, storeMs: number) {
      m.stored.inc(stored);
      m.warnings.inc(warnings);
      m.evaluate.observe(seconds(evaluateMs));
      m.storeCommit.observe(seconds(storeMs));
      log.debug({ event: 'batch.stored', batchId, stored, warnings, ms: evaluateMs + storeMs, evaluateMs, storeMs });
    },
    batchAcked(batchId: string, collectorId: string, stored: number, rejected: number, ms: number) {
      m.acked.inc();
      m.ingestBatch.observe({ outcome: 'acked' }, seconds(ms));
      log.debug({ event: 'batch.acked', batchId, collectorId, stored, rejected, ms });
    },
    batchFailed(batchId: string, collectorId: string, code: string, message: string, ms: number) {
      m.failed.inc();
      m.ingestBatch.observe({ outcome: 'failed' }, seconds(ms));
      log.warn({ event: 'batch.failed', batchId, collectorId, code, message, ms });
    },
    collectorAuthFailed(collectorId: string, address: string) {
      m.authFailures.inc();
      log.warn({ event: 'collector.auth_failed', collectorId, address });
    },
    collectorConnected(collectorId: string, connected: number) {
      log.info({ event: 'collector.connected', collectorId, connected });
    },
    collectorDisconnected(collectorId: string, reason: string, connected: number) {
      log.info({ event: 'collector.disconnected', collectorId, reason, connected });
    },
  };
}
export type Telemetry = ReturnType<typeof createTelemetry>;

/** The newest verified backup's start (epoch ms; 0 = none): alert when it grows older than a day or two. */
export function backupSucceeded(startedAtMs: number): void {
  m.backupLastSuccess.set(startedAtMs / 1000);
}

/** How many years the work calendar needs and lacks: alert above 0 (calendar/calendar.ts). */
export function calendarYearsMissing(count: number): void {
  m.calendarMissing.set(count);
}
