/**
 * Named telemetry events (after Vector's internal_events): each emits one log line and bumps
 * one metric from a single place, so logs and /metrics never disagree.
 */
import type { FastifyBaseLogger } from 'fastify';

const counters = new Map<string, number>();
const help: Record<string, string> = {
  jg_transactions_received_total: 'Records received from collectors (valid and invalid).',
  jg_transactions_stored_total: 'Transactions stored by the evaluation worker (including re-deliveries).',
  jg_dead_letters_total: 'Records rejected and kept in the dead-letter table.',
  jg_warnings_raised_total: 'Warnings raised by the rule engine.',
  jg_batches_acked_total: 'Batches acknowledged to collectors as durable.',
  jg_batches_failed_total: 'Batches answered with a retryable failure.',
  jg_collector_auth_failures_total: 'Rejected collector handshakes.',
};

function inc(name: string, by = 1): void {
  counters.set(name, (counters.get(name) ?? 0) + by);
}

export function metricsText(extra: Record<string, number> = {}): string {
  const lines: string[] = [];
  for (const [name, h] of Object.entries(help)) {
    lines.push(`# HELP ${name} ${h}`, `# TYPE ${name} counter`, `${name} ${counters.get(name) ?? 0}`);
  }
  for (const [name, v] of Object.entries(extra)) lines.push(`# TYPE ${name} gauge`, `${name} ${v}`);
  return `${lines.join('\n')}\n`;
}

export function createTelemetry(log: FastifyBaseLogger) {
  return {
    transactionsReceived(batchId: string, collectorId: string, count: number) {
      inc('jg_transactions_received_total', count);
      log.debug({ event: 'transactions.received', batchId, collectorId, count });
    },
    recordsDeadLettered(batchId: string, collectorId: string, reasons: { index: number; code: string; reason: string }[]) {
      inc('jg_dead_letters_total', reasons.length);
      log.warn({ event: 'records.dead_lettered', batchId, collectorId, count: reasons.length, first: reasons[0] });
    },
    batchStored(batchId: string, stored: number, warnings: number, ms: number) {
      inc('jg_transactions_stored_total', stored);
      inc('jg_warnings_raised_total', warnings);
      log.debug({ event: 'batch.stored', batchId, stored, warnings, ms });
    },
    batchAcked(batchId: string, collectorId: string, stored: number, rejected: number) {
      inc('jg_batches_acked_total');
      log.debug({ event: 'batch.acked', batchId, collectorId, stored, rejected });
    },
    batchFailed(batchId: string, collectorId: string, code: string, message: string) {
      inc('jg_batches_failed_total');
      log.warn({ event: 'batch.failed', batchId, collectorId, code, message });
    },
    collectorAuthFailed(collectorId: string, address: string) {
      inc('jg_collector_auth_failures_total');
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
