/**
 * The peer-deviation job (定时研判): for each peer_deviation rule of the rule set in force,
 * count per entity over the rule's period from the stored transactions, call rule.assess(), and
 * raise a warning for each outlier.
 *
 * Design note
 * -----------
 * - Periods end at local midnight (Asia/Shanghai) at or before the run time, so every run on the
 *   same day covers the same days: [end − periodDays, end).
 * - Counting applies the rule's own predicates (entityOf / inDenominator / inNumerator) to the
 *   stored records, streamed once for the longest period (backtest/stream.ts): the rule
 *   definitions stay the single source of truth, no SQL translation of filters to drift.
 *   Peer group = the institution type of the record's institution ('' for peers: all).
 * - Warning ids are deterministic per (rule, entity, period): `warningId(ruleId,
 *   'peer:<entity>:<from>~<to>')`. Ids already stored are skipped, so a re-run (or a retried
 *   job, or two hubs running it) neither duplicates a row nor re-broadcasts a warning.
 * - New warnings are stored with the rule set's version and handed to `onRaised` (the wall
 *   broadcaster and the workflow), like the evaluate worker's.
 * - BullMQ `peer` queue: a job scheduler (JG_PEER_CRON, default 02:30 daily) and on-demand runs
 *   through the API.
 */
import crypto from 'node:crypto';
import { Queue, QueueEvents, Worker, type ConnectionOptions, type Job } from 'bullmq';
import type { FastifyBaseLogger } from 'fastify';
import { warningId, type PeerSample, type Warning, type WorkCalendar } from '@jianguan/rules';
import { errorMessage } from '../errors.js';
import type { Registry } from '../registry/registry.js';
import type { RuleSetService } from '../rulesets/service.js';
import { warningRow } from '../store/repo.js';
import { param, sql } from '../store/sql.js';
import type { Store } from '../store/store.js';
import { streamTransactions } from '../backtest/stream.js';
import { BUSINESS_TZ, DAY_MS, dayStart, localDate } from '../time/business-time.js';
import { emit } from '../telemetry/events.js';
import { logQueueErrors } from '../jobs/queue.js';

export const PEER_QUEUE = 'peer';

export interface PeerRunResult {
  runId: string;
  periodEnd: number;
  ruleSet: string;
  transactions: number;
  rules: { ruleId: string; from: number; to: number; entities: number; findings: number }[];
  findings: number;
  raised: number;
  warningIds: string[];
}

export interface PeerServiceDeps {
  store: Store;
  registry: Registry;
  calendar: WorkCalendar;
  rulesets: RuleSetService;
  redisUrl: string;
  prefix: string;
  runWorker: boolean;
  /** Cron pattern with seconds (Asia/Shanghai); 'off' or '' = not scheduled. */
  cron: string;
  pageSize: number;
  log: FastifyBaseLogger;
  onRaised: (warnings: readonly Warning[]) => void;
}

interface PeerJobData {
  /** Run time (epoch ms) the period is derived from; absent = when the job runs. */
  at?: number;
  trigger: string;
}

/** Local midnight (China Standard Time) at or before `at`. */
export function periodEndOf(at: number): number {
  return dayStart(at);
}

const dayOf = localDate;

export class PeerDeviationService {
  readonly queue: Queue<PeerJobData, PeerRunResult>;
  private readonly events: QueueEvents;
  private worker: Worker<PeerJobData, PeerRunResult> | undefined;

  private constructor(private readonly deps: PeerServiceDeps) {
    const connection: ConnectionOptions = { url: deps.redisUrl, maxRetriesPerRequest: null };
    this.queue = new Queue<PeerJobData, PeerRunResult>(PEER_QUEUE, {
      connection,
      prefix: deps.prefix,
      defaultJobOptions: { attempts: 3, backoff: { type: 'exponential', delay: 5000 }, removeOnComplete: { age: 7 * 86_400 }, removeOnFail: { age: 30 * 86_400 } },
    });
    this.events = new QueueEvents(PEER_QUEUE, { connection, prefix: deps.prefix });
    if (deps.runWorker) {
      this.worker = new Worker<PeerJobData, PeerRunResult>(PEER_QUEUE, (job) => this.process(job), { connection, prefix: deps.prefix, concurrency: 1 });
      this.worker.on('failed', (job, err) => emit(deps.log, 'peer.failed', { jobId: job?.id, err: errorMessage(err) }));
      logQueueErrors(this.worker, deps.log, 'peer worker');
    }
    logQueueErrors(this.queue, deps.log, 'peer queue');
    logQueueErrors(this.events, deps.log, 'peer events');
  }

  static async create(deps: PeerServiceDeps): Promise<PeerDeviationService> {
    const s = new PeerDeviationService(deps);
    await Promise.all([s.queue.waitUntilReady(), s.events.waitUntilReady()]);
    await s.worker?.waitUntilReady();
    if (deps.cron && deps.cron !== 'off') {
      await s.queue.upsertJobScheduler('peer-daily', { pattern: deps.cron, tz: BUSINESS_TZ }, { name: 'peer', data: { trigger: 'schedule' } });
    } else {
      await s.queue.removeJobScheduler('peer-daily').catch(() => false);
    }
    return s;
  }

  async close(): Promise<void> {
    await this.worker?.close();
    await this.events.close();
    await this.queue.close();
  }

  /** Enqueues a run; with `waitMs`, waits for its result. */
  async trigger(at: number | undefined, by: string, waitMs?: number): Promise<{ jobId: string; result?: PeerRunResult }> {
    const job = await this.queue.add('peer', { ...(at !== undefined ? { at } : {}), trigger: `api:${by}` }, { jobId: `peer-${crypto.randomUUID()}` });
    if (!waitMs) return { jobId: job.id! };
    return { jobId: job.id!, result: await job.waitUntilFinished(this.events, waitMs) };
  }

  private process(job: Job<PeerJobData>): Promise<PeerRunResult> {
    return this.run(job.data.at ?? Date.now(), job.data.trigger);
  }

  async run(at: number, trigger: string): Promise<PeerRunResult> {
    const started = Date.now();
    const periodEnd = periodEndOf(at);
    const engine = this.deps.rulesets.engineAt(periodEnd);
    const peersOf = (id: string): string => {
      const d = engine.definitions.find((x) => x.id === id);
      return d && d.kind === 'peer_deviation' ? d.peers : 'institution_type';
    };
    const rules = engine.peerRules.map((rule) => ({
      rule,
      byType: peersOf(rule.meta.id) !== 'all',
      from: periodEnd - rule.periodDays * DAY_MS,
      counts: new Map<string, PeerSample & { institutionId: string }>(),
    }));
    const runId = `peer-${dayOf(periodEnd)}-${crypto.randomBytes(3).toString('hex')}`;
    let transactions = 0;
    if (rules.length > 0) {
      const from = Math.min(...rules.map((r) => r.from));
      for await (const page of streamTransactions(this.deps.store, from, periodEnd, this.deps.pageSize)) {
        for (const txn of page) {
          transactions += 1;
          for (const r of rules) {
            if (txn.occurredAt < r.from) continue;
            const entity = r.rule.entityOf(txn);
            if (entity === undefined) continue;
            const inDen = r.rule.inDenominator(txn);
            if (!inDen) continue;
            let s = r.counts.get(entity);
            if (!s) {
              const group = r.byType ? (this.deps.registry.institution(txn.institutionId)?.type ?? '') : '';
              s = { entity, group, numerator: 0, denominator: 0, institutionId: txn.institutionId };
              r.counts.set(entity, s);
            }
            s.denominator += 1;
            if (r.rule.inNumerator(txn)) s.numerator += 1;
          }
        }
        await new Promise((resolve) => setImmediate(resolve));
      }
    }

    const now = Date.now();
    const candidates: Warning[] = [];
    const perRule: PeerRunResult['rules'] = [];
    for (const r of rules) {
      const findings = r.rule.assess([...r.counts.values()], this.deps.calendar, this.deps.registry);
      perRule.push({ ruleId: r.rule.meta.id, from: r.from, to: periodEnd, entities: r.counts.size, findings: findings.length });
      for (const f of findings) {
        const sample = r.counts.get(f.entity);
        const institutionId = this.institutionOf(f.entity, sample?.institutionId ?? '');
        const key = `peer:${f.entity}:${dayOf(r.from)}~${dayOf(periodEnd - 1)}`;
        candidates.push({
          id: warningId(f.rule.id, key),
          ruleId: f.rule.id,
          ruleName: f.rule.name,
          ruleVersion: f.rule.version,
          family: f.rule.family,
          severity: f.rule.severity,
          action: f.rule.action,
          transactionId: key,
          batchId: `peer:${dayOf(periodEnd - 1)}`,
          collectorId: '',
          institutionId,
          county: this.deps.registry.institution(institutionId)?.county ?? '',
          occurredAt: periodEnd - 1,
          capturedAt: periodEnd - 1,
          raisedAt: now,
          explanation: f.explanation,
          values: { ...f.values, direction: f.direction, periodFrom: r.from, periodTo: periodEnd },
          subjectMasked: '',
        });
      }
    }

    let fresh = candidates;
    if (candidates.length > 0) {
      const existing = await this.deps.store.query<{ id: string }>(
        sql`SELECT DISTINCT id FROM warnings WHERE id IN ${param.ArrayString(candidates.map((w) => w.id))}`,
      );
      const known = new Set(existing.map((e) => e.id));
      fresh = candidates.filter((w) => !known.has(w.id));
    }
    if (fresh.length > 0) {
      await this.deps.store.insert('warnings', fresh.map((w) => warningRow(w, engine.version)));
      this.deps.onRaised(fresh);
    }
    await this.deps.store.insert('peer_runs', [
      {
        id: runId,
        period_from: rules.length ? Math.min(...rules.map((r) => r.from)) : periodEnd,
        period_to: periodEnd,
        rule_set: engine.version,
        trigger,
        transactions,
        findings: candidates.length,
        raised: fresh.length,
        started_at: started,
        finished_at: Date.now(),
        detail: JSON.stringify(perRule),
      },
    ]);
    emit(this.deps.log, 'peer.run', { runId, periodEnd, findings: candidates.length, raised: fresh.length });
    return { runId, periodEnd, ruleSet: engine.version, transactions, rules: perRule, findings: candidates.length, raised: fresh.length, warningIds: fresh.map((w) => w.id) };
  }

  /** The institution a finding belongs to: the entity itself, or a staff member's institution. */
  private institutionOf(entity: string, seen: string): string {
    if (this.deps.registry.institution(entity)) return entity;
    return this.deps.registry.staff(entity)?.institutionId ?? seen;
  }

  async runs(limit: number): Promise<Record<string, unknown>[]> {
    const rows = await this.deps.store.query<Record<string, unknown>>(sql`
      SELECT id, toUnixTimestamp64Milli(period_from) AS period_from, toUnixTimestamp64Milli(period_to) AS period_to, rule_set, trigger,
        transactions, findings, raised, toUnixTimestamp64Milli(started_at) AS started_at, toUnixTimestamp64Milli(finished_at) AS finished_at, detail
      FROM peer_runs ORDER BY started_at DESC, id LIMIT ${param.UInt32(limit)}`);
    return rows.map((r) => ({
      id: String(r.id),
      periodFrom: Number(r.period_from),
      periodTo: Number(r.period_to),
      ruleSet: String(r.rule_set),
      trigger: String(r.trigger),
      transactions: Number(r.transactions),
      findings: Number(r.findings),
      raised: Number(r.raised),
      startedAt: Number(r.started_at),
      finishedAt: Number(r.finished_at),
      rules: JSON.parse(String(r.detail || '[]')) as unknown,
    }));
  }
}
