/**
 * The synchronous hold path (实时干预): "may this transaction go ahead?"
 *
 * Design note
 * -----------
 * - Only the blocking rules of the rule set in force run (engine.evaluateBlocking).
 * - Rule state is READ, never written: the context's states are the peek views of
 *   jobs/rule-state.ts, which answer exactly what the writing state would answer now (a known
 *   transaction id gets its stored answer) and record nothing. The decision is advisory; the
 *   real record arrives later through ingest and is evaluated (and recorded) there. Stateful hold
 *   rules in the built-in pack: counter.concurrent_terminals (interval), check.photo_reuse and
 *   inspection.photo_reuse (fingerprint), vehicle.good_plate_repeat and vehicle.temp_plate_repeat
 *   (window), vehicle.temp_plate_registered (sequence). Every other hold rule is stateless.
 *   Consequence: two decisions asked for in a row (neither ingested yet) do not see each other;
 *   a hold that depends on the first one's record is raised when that record is ingested.
 * - The log is keyed by request id (ReplacingMergeTree ORDER BY request_id), so the stored key is
 *   never the caller's id alone: it is `decisionKey(caller, requestId)`, namespaced by the
 *   authenticated caller. A caller reusing another's X-Request-Id writes its own row and cannot
 *   replace the other's (a collector's logged "hold" stays a hold). Answers and the log's API
 *   show the caller's own id (`clientRequestId`).
 * - Every decision is logged to `decisions` (migration 020) with its reasons. Rows are written in
 *   batches every `flushMs` (and on close), so the answer never waits for ClickHouse; a crash
 *   loses at most the last `flushMs` of the decision log, never an answer.
 */
import crypto from 'node:crypto';
import type { FastifyBaseLogger } from 'fastify';
import type { CompiledRuleEngine, EvaluationContext, Transaction, WorkCalendar } from '@jianguan/rules';
import { errorMessage } from '../errors.js';
import type { PeekRuleStates } from '../jobs/rule-state.js';
import type { DecisionAck, DecisionReason } from '../protocol/index.js';
import type { Registry } from '../registry/registry.js';
import type { Store } from '../store/store.js';
import { emit, pipeline } from '../telemetry/events.js';

export type DecisionAnswer = Extract<DecisionAck, { ok: true }> & { transactionId: string };

export interface DecisionServiceDeps {
  store: Store;
  registry: Registry;
  calendar: WorkCalendar;
  /** The rule set in force now. */
  engine: () => CompiledRuleEngine;
  peek: PeekRuleStates;
  log: FastifyBaseLogger;
  /** Decision log batching interval. */
  flushMs: number;
}

/** Who asked, as authenticated by the route (a collector credential or a user session). */
export interface DecisionCaller {
  kind: 'collector' | 'user';
  id: string;
}

export interface DecisionMeta {
  /** The caller's own id for this request (X-Request-Id, the socket's requestId); echoed back. */
  requestId?: string | undefined;
  caller: DecisionCaller;
  channel: 'http' | 'socket';
}

/**
 * The stored key of a decision: `c:<collectorId>|<requestId>` or `u:<username>|<requestId>`. The
 * caller part is URI-encoded, so it holds no `|` and the first `|` always ends it: two different
 * callers can never produce the same key, whatever request ids they choose.
 */
export function decisionKey(caller: DecisionCaller, requestId: string): string {
  return `${caller.kind === 'collector' ? 'c' : 'u'}:${encodeURIComponent(caller.id)}|${requestId}`;
}

/** The caller's request id of a stored key (keys written before namespacing are returned as is). */
export function clientRequestId(key: string): string {
  const m = /^[cu]:[^|]*\|/.exec(key);
  return m ? key.slice(m[0].length) : key;
}

/** `collector:<id>` or the user name, as the log's requested_by column has always held. */
function requestedBy(caller: DecisionCaller): string {
  return caller.kind === 'collector' ? `collector:${caller.id}` : caller.id;
}

const MAX_BUFFER = 50_000;

export class DecisionService {
  private buffer: Record<string, unknown>[] = [];
  private timer: NodeJS.Timeout | undefined;
  private flushing: Promise<void> = Promise.resolve();
  private readonly ctx: Omit<EvaluationContext, 'registry'>;

  constructor(private readonly deps: DecisionServiceDeps) {
    this.ctx = {
      calendar: deps.calendar,
      state: deps.peek.state,
      intervals: deps.peek.intervals,
      fingerprints: deps.peek.fingerprints,
      sequences: deps.peek.sequences,
    };
  }

  async decide(txn: Transaction, meta: DecisionMeta): Promise<DecisionAnswer> {
    const t0 = performance.now();
    const engine = this.deps.engine();
    // The registry at the transaction's time — for a counter asking now, the current one.
    const registry = this.deps.registry.at(txn.occurredAt);
    const hits = await engine.evaluateBlocking(txn, { ...this.ctx, registry });
    const reasons: DecisionReason[] = hits.map((h) => ({
      ruleId: h.rule.id,
      ruleName: h.rule.name,
      severity: h.rule.severity,
      explanation: h.explanation,
      values: { ...h.values },
    }));
    const decidedAt = Date.now();
    const ms = Math.round((performance.now() - t0) * 1000) / 1000;
    const decision = reasons.length > 0 ? 'hold' : 'allow';
    pipeline.holdDecided(decision, ms);
    const requestId = meta.requestId ?? `d-${crypto.randomUUID()}`;
    this.log({
      request_id: decisionKey(meta.caller, requestId),
      transaction_id: txn.id,
      collector_id: txn.collectorId,
      institution_id: txn.institutionId,
      county: registry.institution(txn.institutionId)?.county ?? '',
      channel: meta.channel,
      requested_by: requestedBy(meta.caller),
      decision,
      reasons: JSON.stringify(reasons),
      rule_ids: reasons.map((r) => r.ruleId),
      rule_set: engine.version,
      ms,
      kind: txn.kind,
      ywlx: txn.ywlx ?? '',
      staff_id: txn.staffId ?? '',
      lsh: txn.lsh ?? '',
      occurred_at: txn.occurredAt,
      decided_at: decidedAt,
      transaction: JSON.stringify(txn),
    });
    return { ok: true, requestId, transactionId: txn.id, decision, reasons, ruleSetVersion: engine.version, ms, decidedAt, postCheck: decision === 'hold' };
  }

  private log(row: Record<string, unknown>): void {
    if (this.buffer.length >= MAX_BUFFER) {
      emit(this.deps.log, 'decision.log_dropped', { requestId: row.request_id });
      return;
    }
    this.buffer.push(row);
    if (!this.timer) {
      this.timer = setTimeout(() => {
        this.timer = undefined;
        void this.flush();
      }, this.deps.flushMs);
      this.timer.unref();
    }
  }

  /** Writes the buffered decision rows (serialised; a failed write keeps its rows for the next one). */
  flush(): Promise<void> {
    this.flushing = this.flushing.then(async () => {
      if (this.buffer.length === 0) return;
      const rows = this.buffer;
      this.buffer = [];
      try {
        await this.deps.store.insert('decisions', rows);
      } catch (e) {
        emit(this.deps.log, 'decision.log_failed', { rows: rows.length, err: errorMessage(e) });
        this.buffer = [...rows, ...this.buffer].slice(0, MAX_BUFFER);
        if (!this.timer) {
          this.timer = setTimeout(() => {
            this.timer = undefined;
            void this.flush();
          }, Math.max(this.deps.flushMs, 1000));
          this.timer.unref();
        }
      }
    });
    return this.flushing;
  }

  async close(): Promise<void> {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    await this.flush();
  }
}
