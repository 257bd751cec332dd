/**
 * Collector metrics: one snapshot type, rendered as Prometheus text on the local HTTP endpoint
 * (`GET /metrics`) and written to `<outboxDir>/metrics.json` every few seconds so that
 * `jianguan-collector status --json` can show them without talking to the running process.
 *
 *   jianguan_collector_outbox_depth                      gauge    records waiting for the hub's ack
 *   jianguan_collector_outbox_bytes                      gauge    bytes of outbox segments
 *   jianguan_collector_outbox_oldest_unacked_age_seconds gauge    age of the oldest unacked record (0 when none)
 *   jianguan_collector_outbox_spare_bytes                gauge    bytes held in spare.bin (0: a full disk took it)
 *   jianguan_collector_batches_sent_total                counter  batch submissions (re-sends count)
 *   jianguan_collector_batches_acked_total               counter
 *   jianguan_collector_batches_failed_total              counter  timeouts, disconnects, refusals
 *   jianguan_collector_records_sent_total / _acked_total / _hub_rejected_total   counter
 *   jianguan_collector_records_captured_total{source}    counter  records a source appended
 *   jianguan_collector_records_rejected_total{source}    counter  source records rejected (rejects.jsonl)
 *   jianguan_collector_source_lag_bytes{source}          gauge    file tail: bytes not read yet
 *   jianguan_collector_source_up{source,type}            gauge    1 unless the source is in error/stopped
 *   jianguan_collector_link_up                           gauge    1 when connected to the hub
 *   jianguan_collector_link_state{state}                 gauge    1 for the current state
 *   jianguan_collector_decisions_total{result}           counter  hold decisions: allow, hold, fallback
 *   jianguan_collector_start_time_seconds                gauge
 * Every sample carries collector="<collectorId>". Counters restart at 0 with the process.
 */
import fsp from 'node:fs/promises';
import path from 'node:path';
import { writeFileAtomic } from './durable.js';
import type { OutboxInspection } from './outbox/outbox.js';
import { countRejects } from './sources/rejects.js';
import type { SourceStatus } from './sources/types.js';

export const METRICS_FILE = 'metrics.json';

export interface MetricsSnapshot {
  collectorId: string;
  institutionId: string;
  /** Epoch ms the snapshot was taken. */
  at: number;
  startedAt: number;
  outbox: { depth: number; bytes: number; oldestUnackedAgeSeconds: number | null; nextSeq: number; spareBytes?: number };
  link: { state: string; lastAckAt: number | null };
  batches: { sent: number; acked: number; failed: number };
  records: { sent: number; acked: number; hubRejected: number; generated: number };
  sources: { name: string; type: string; adapter?: string; state: string; captured: number; rejected: number; lagBytes?: number }[];
  decisions: { allow: number; hold: number; fallback: number };
}

/** The parts of CollectorStatus a snapshot needs (collector.ts). */
export interface StatusLike {
  collectorId: string;
  institutionId: string;
  outboxDepth: number;
  outboxBytes: number;
  outboxSpareBytes?: number;
  oldestUnackedAt: number | null;
  link: string;
  lastAckAt: number | null;
  sent: number;
  acked: number;
  rejected: number;
  generated: number;
  batchesSent: number;
  batchesAcked: number;
  batchFailures: number;
  nextSeq: number;
  startedAt: number;
}

export function buildSnapshot(s: StatusLike, sources: readonly SourceStatus[], decisions: MetricsSnapshot['decisions'], now = Date.now()): MetricsSnapshot {
  return {
    collectorId: s.collectorId,
    institutionId: s.institutionId,
    at: now,
    startedAt: s.startedAt,
    outbox: {
      depth: s.outboxDepth,
      bytes: s.outboxBytes,
      oldestUnackedAgeSeconds: s.oldestUnackedAt === null ? null : Math.max(0, (now - s.oldestUnackedAt) / 1000),
      nextSeq: s.nextSeq,
      ...(s.outboxSpareBytes !== undefined ? { spareBytes: s.outboxSpareBytes } : {}),
    },
    link: { state: s.link, lastAckAt: s.lastAckAt },
    batches: { sent: s.batchesSent, acked: s.batchesAcked, failed: s.batchFailures },
    records: { sent: s.sent, acked: s.acked, hubRejected: s.rejected, generated: s.generated },
    sources: sources.map((x) => ({
      name: x.name,
      type: x.type,
      ...(x.adapter ? { adapter: x.adapter } : {}),
      state: x.state,
      captured: x.captured,
      rejected: x.rejected,
      ...(typeof x.detail.lagBytes === 'number' ? { lagBytes: x.detail.lagBytes } : {}),
    })),
    decisions: { ...decisions },
  };
}

const LINK_STATES = ['connecting', 'connected', 'disconnected'] as const;

function esc(v: string): string {
  return v.replace(/\\/g, '\\\\').replace(/\n/g, '\\n').replace(/"/g, '\\"');
}

function fmt(n: number): string {
  return Number.isFinite(n) ? String(Math.round(n * 1000) / 1000) : '0';
}

/** Prometheus text exposition format 0.0.4. */
export function renderPrometheus(s: MetricsSnapshot): string {
  const out: string[] = [];
  const base = `collector="${esc(s.collectorId)}"`;
  const metric = (name: string, type: 'gauge' | 'counter', help: string, samples: [string, number][]): void => {
    out.push(`# HELP ${name} ${help}`, `# TYPE ${name} ${type}`);
    for (const [labels, v] of samples) out.push(`${name}{${base}${labels ? `,${labels}` : ''}} ${fmt(v)}`);
  };
  const src = (x: { name: string }): string => `source="${esc(x.name)}"`;
  metric('jianguan_collector_outbox_depth', 'gauge', 'Records in the outbox waiting for the hub acknowledgement.', [['', s.outbox.depth]]);
  metric('jianguan_collector_outbox_bytes', 'gauge', 'Bytes of outbox segment files.', [['', s.outbox.bytes]]);
  metric('jianguan_collector_outbox_oldest_unacked_age_seconds', 'gauge', 'Age of the oldest unacknowledged record (0 when none).', [
    ['', s.outbox.oldestUnackedAgeSeconds ?? 0],
  ]);
  if (s.outbox.spareBytes !== undefined) {
    metric('jianguan_collector_outbox_spare_bytes', 'gauge', 'Bytes held in the outbox spare file; 0 when a full disk took them (outbox.spare_released).', [['', s.outbox.spareBytes]]);
  }
  metric('jianguan_collector_batches_sent_total', 'counter', 'Batch submissions to the hub, re-sends included.', [['', s.batches.sent]]);
  metric('jianguan_collector_batches_acked_total', 'counter', 'Batches acknowledged by the hub.', [['', s.batches.acked]]);
  metric('jianguan_collector_batches_failed_total', 'counter', 'Batch submissions that failed (timeout, disconnect, refusal).', [['', s.batches.failed]]);
  metric('jianguan_collector_records_sent_total', 'counter', 'Records submitted to the hub, re-sends included.', [['', s.records.sent]]);
  metric('jianguan_collector_records_acked_total', 'counter', 'Records acknowledged by the hub.', [['', s.records.acked]]);
  metric('jianguan_collector_records_hub_rejected_total', 'counter', 'Records the hub dead-lettered.', [['', s.records.hubRejected]]);
  metric('jianguan_collector_records_captured_total', 'counter', 'Records appended to the outbox, by source.', s.sources.map((x) => [src(x), x.captured]));
  metric('jianguan_collector_records_rejected_total', 'counter', 'Source records rejected (see rejects.jsonl), by source.', s.sources.map((x) => [src(x), x.rejected]));
  metric(
    'jianguan_collector_source_lag_bytes',
    'gauge',
    'File tail: bytes of the file not read yet.',
    s.sources.filter((x) => x.lagBytes !== undefined).map((x) => [src(x), x.lagBytes!]),
  );
  metric(
    'jianguan_collector_source_up',
    'gauge',
    '1 unless the source is in error or stopped.',
    s.sources.map((x) => [`${src(x)},type="${esc(x.type)}"`, x.state === 'error' || x.state === 'stopped' ? 0 : 1]),
  );
  metric('jianguan_collector_link_up', 'gauge', '1 when the link to the hub is connected.', [['', s.link.state === 'connected' ? 1 : 0]]);
  metric(
    'jianguan_collector_link_state',
    'gauge',
    'Link state (1 for the current one).',
    LINK_STATES.map((st) => [`state="${st}"`, s.link.state === st ? 1 : 0]),
  );
  metric('jianguan_collector_decisions_total', 'counter', 'Hold decisions answered, by result (fallback = the hub did not answer).', [
    ['result="allow"', s.decisions.allow],
    ['result="hold"', s.decisions.hold],
    ['result="fallback"', s.decisions.fallback],
  ]);
  metric('jianguan_collector_start_time_seconds', 'gauge', 'Start time of the collector process.', [['', s.startedAt / 1000]]);
  return `${out.join('\n')}\n`;
}

/**
 * Replaces metrics.json (temp + rename; no fsync: it is a report, rewritten every few seconds).
 * A failed write (a full disk) removes its temp file and rejects; the caller logs it and goes on —
 * the report is never worth holding up a batch for.
 */
export async function writeMetricsFile(dir: string, s: MetricsSnapshot): Promise<void> {
  await writeFileAtomic(path.join(dir, METRICS_FILE), JSON.stringify(s), false);
}

/** The `metrics` section of `status --json`: live outbox numbers, last snapshot of the rest. */
export interface StatusMetrics {
  /** The collector that wrote the snapshot is running now. */
  running: boolean;
  /** Epoch ms of the last snapshot of the running (or last) collector; null when none was written. */
  snapshotAt: number | null;
  outbox: { depth: number; bytes: number; oldestUnackedAgeSeconds: number | null };
  link: { state: string; lastAckAt: number | null };
  batches: MetricsSnapshot['batches'] | null;
  records: MetricsSnapshot['records'] | null;
  /** Rejected source records by source, over the whole rejects.jsonl. */
  rejectedBySource: Record<string, number>;
  sources: MetricsSnapshot['sources'];
  decisions: MetricsSnapshot['decisions'] | null;
}

export async function statusMetrics(dir: string, inspection: OutboxInspection, now = Date.now()): Promise<StatusMetrics> {
  let snap: MetricsSnapshot | undefined;
  try {
    snap = JSON.parse(await fsp.readFile(path.join(dir, METRICS_FILE), 'utf8')) as MetricsSnapshot;
  } catch {
    /* never written, or mid-replace */
  }
  const running = inspection.lock?.alive === true;
  return {
    running,
    snapshotAt: snap?.at ?? null,
    outbox: {
      depth: inspection.depth,
      bytes: inspection.bytes,
      oldestUnackedAgeSeconds: inspection.oldestUnacked ? Math.max(0, (now - inspection.oldestUnacked.at) / 1000) : null,
    },
    link: { state: running ? (snap?.link.state ?? 'unknown') : 'stopped', lastAckAt: inspection.lastAckAt },
    batches: snap?.batches ?? null,
    records: snap?.records ?? null,
    rejectedBySource: await countRejects(dir),
    sources: snap?.sources ?? [],
    decisions: snap?.decisions ?? null,
  };
}
