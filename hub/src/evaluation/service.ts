/**
 * Evaluation: keeps the deduction ledger in step with the warnings' conclusions and materialises
 * monthly scores into `evaluation_scores` (see scoring.ts for the formula).
 *
 * Ledger invariant: for every warning, the sum of its ledger points is > 0 exactly when its
 * current conclusion is 'confirmed'. `reconcile()` restores it by APPENDING rows: a 'deduct' row
 * for a newly confirmed warning, a 'reverse' row (the negative of what is outstanding) for one
 * no longer confirmed (e.g. concluded false_alarm after review). It runs under a Redis lock so
 * two hubs cannot both deduct the same warning (renewed between its rounds; a run that lost it
 * stops before appending). A full reconcile reads every warning with a workflow state — 1.2–2.4 s
 * at a province's year — so only the process's first run, a run an administrator asks for and
 * one at least hourly are full; in between (after conclusions, debounced, and every interval)
 * only the warnings whose state changed since shortly before the previous run are read. Either appends in
 * rounds of `reconcilePageRows` warnings, ordered by id, so a backlog (years of conclusions
 * imported, a ledger rebuilt) never becomes one insert of everything. `refreshUnlocked(month)` recomputes
 * that month's rows from transactions, warnings, the ledger and escalations; it runs after
 * workflow conclusions (debounced), periodically, and on demand for a month not yet materialised.
 */
import crypto from 'node:crypto';
import type { Redis } from 'ioredis';
import type { FastifyBaseLogger } from 'fastify';
import type { Registry } from '../registry/registry.js';
import { joinSql, param, sql, type SqlQuery } from '../store/sql.js';
import type { Store } from '../store/store.js';
import { CURRENT_STATE } from '../store/repo.js';
import { categoryOf, isGraded, monthOf, monthRange, previousMonths, quarterMonths, rankWithinType, scoreMonth, scoreQuarter, severityPoints, type Category, type EvaluationConfig, type Grade, type QuarterScore } from './scoring.js';
import { monthSql } from '../time/business-time.js';
import { emit } from '../telemetry/events.js';
import { EvaluationRefreshJobSchema, type EvaluationRefreshJob } from '../protocol/index.js';

const MONTH_EXPR = monthSql('occurred_at');

export interface ScoreRow {
  month: string;
  institution_id: string;
  institution_type: string;
  county: string;
  transactions: number;
  warnings: number;
  confirmed: number;
  false_alarms: number;
  escalated: number;
  deduct_compliance: number;
  deduct_quality: number;
  deduct_integrity: number;
  deduct_responsiveness: number;
  score: number;
  grade: Grade;
  veto: boolean;
  veto_rules: string[];
  rank: number;
  rank_of: number;
  computed_at: number;
}

/** One institution's quarter: its months' rows (those materialised) and their grade together. */
export interface QuarterRow extends QuarterScore {
  institution_id: string;
  institution_type: string;
  county: string;
  months: ScoreRow[];
  rank: number;
  rank_of: number;
}

export interface LedgerRow {
  id: string;
  month: string;
  institution_id: string;
  warning_id: string;
  rule_id: string;
  severity: string;
  category: Category;
  points: number;
  kind: 'deduct' | 'reverse';
  reverses: string;
  at: number;
  reason: string;
  rule_name: string;
  explanation: string;
  occurred_at: number;
  state: string;
  conclusion: string;
}

export interface RuleQualityRow {
  month: string;
  rule_id: string;
  rule_name: string;
  family: string;
  hits: number;
  confirmed: number;
  false_alarms: number;
  pending: number;
  /** confirmed / (confirmed + false alarms); null before any conclusion. */
  precision: number | null;
}

export interface EvaluationDeps {
  store: Store;
  registry: Registry;
  redis: Redis;
  prefix: string;
  config: EvaluationConfig;
  intervalMs: number;
  log: FastifyBaseLogger;
  /** Warnings per round of a reconcile (tests set it small). @defaultValue 50000 */
  reconcilePageRows?: number;
}

/**
 * How far before the previous reconcile's start an incremental one looks: events appended by
 * another hub (whose clock may differ a little) or committed while that run was reading.
 */
const RECONCILE_OVERLAP_MS = 10 * 60_000;
/** A full reconcile at least this often: the safety net under the incremental ones. */
const FULL_RECONCILE_EVERY_MS = 60 * 60_000;
/** How long the evaluation lock lives without renewal. */
const LOCK_MS = 120_000;

/** Renews the evaluation lock; throws when another process holds it now. */
type KeepLock = () => Promise<void>;

/** Progress of a reconcile, after each round. */
type LedgerProgress = { rounds: number; deducted: number; reversed: number };

/** How long a finished refresh job's status stays readable. */
const JOB_KEEP_MS = 7 * 86_400_000;
/** How long a request that joined another hub's job follows it (the route waits at most 60 s). */
const FOLLOW_MS = 60_000;
const JOB_STATE_LABELS = { running: '进行中', done: '已完成', failed: '失败' } as const;
const JOB_PHASE_LABELS = { queued: '等待正在进行的核对结束', ledger: '核对扣分台账', scores: '重算得分', done: '完成' } as const;

// KEYS: claim, job. ARGV: job id, claim ms, job JSON, job ms. Starts a job unless another one
// holds the claim; returns the running job's JSON then, '' when this one started.
const CLAIM_JOB_LUA = `
if redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2], 'NX') then
  redis.call('SET', KEYS[2], ARGV[3], 'PX', ARGV[4])
  return ''
end
return redis.call('GET', KEYS[2]) or ''
`;
// Same keys and arguments: records a job's progress and renews its claim, unless another job
// has claimed meanwhile (this one's claim lapsed); returns 1 when written.
const SAVE_JOB_LUA = `
local holder = redis.call('GET', KEYS[1])
if holder and holder ~= ARGV[1] then return 0 end
if ARGV[2] == '0' then redis.call('DEL', KEYS[1]) else redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2]) end
redis.call('SET', KEYS[2], ARGV[3], 'PX', ARGV[4])
return 1
`;

function num(r: Record<string, unknown>, k: string): number {
  return Number(r[k] ?? 0);
}

export class EvaluationService {
  private timer: NodeJS.Timeout | undefined;
  private debounce: NodeJS.Timeout | undefined;
  private running: Promise<unknown> = Promise.resolve();
  private closed = false;
  /** Start of the last reconcile that completed (full or not), and of the last full one. */
  private reconciledAt: number | undefined;
  private fullyReconciledAt = 0;

  constructor(private readonly deps: EvaluationDeps) {}

  get config(): EvaluationConfig {
    return this.deps.config;
  }

  start(): void {
    // The current and previous months at once: rows materialised by an earlier process are as old
    // as its last round (a restart after hours would show them beside live volumes until the
    // first interval). The first run is the full reconcile either way.
    void this.refreshRecent();
    this.timer = setInterval(() => void this.refreshRecent(), this.deps.intervalMs);
    this.timer.unref();
  }

  async close(): Promise<void> {
    this.closed = true;
    if (this.timer) clearInterval(this.timer);
    if (this.debounce) clearTimeout(this.debounce);
    await this.running.catch(() => undefined);
  }

  /** A conclusion changed somewhere: reconcile and refresh soon (batched). */
  conclusionsChanged(): void {
    if (this.closed || this.debounce) return;
    this.debounce = setTimeout(() => {
      this.debounce = undefined;
      void this.refreshRecent();
    }, 2_000);
    this.debounce.unref();
  }

  /**
   * Runs `fn` after any previous run in this process, under a cross-process Redis lock. `fn` gets
   * a function that renews the lock (long runs call it between rounds) and throws once the lock
   * is no longer this run's.
   */
  private serial<T>(fn: (keepLock: KeepLock) => Promise<T>): Promise<T> {
    const next = this.running.catch(() => undefined).then(async () => {
      const key = `${this.deps.prefix}:eval:lock`;
      const token = crypto.randomBytes(8).toString('hex');
      for (let i = 0; ; i++) {
        if ((await this.deps.redis.set(key, token, 'PX', LOCK_MS, 'NX')) === 'OK') break;
        if (i > 600) throw new Error('evaluation lock not acquired');
        await new Promise((r) => setTimeout(r, 100));
      }
      const keepLock: KeepLock = async () => {
        const kept = await this.deps.redis.eval(
          `if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('pexpire', KEYS[1], ARGV[2]) else return 0 end`,
          1,
          key,
          token,
          String(LOCK_MS),
        );
        if (Number(kept) !== 1) throw new Error('evaluation lock lost');
      };
      try {
        return await fn(keepLock);
      } finally {
        await this.deps.redis.eval(`if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('del', KEYS[1]) else return 0 end`, 1, key, token);
      }
    });
    this.running = next;
    return next;
  }

  /** Reconcile the ledger, then refresh the current and previous month and every month touched. */
  private async refreshRecent(): Promise<string[]> {
    try {
      return await this.serial((keepLock) => this.reconcileAndRefresh(keepLock, { full: false, asked: recentMonths(Date.now()) }));
    } catch (e) {
      emit(this.deps.log, 'evaluation.refresh_failed', { err: e });
      return [];
    }
  }

  /**
   * Under the lock: reconcile (every warning when `full`), then refresh the months `asked` and
   * every month the reconcile touched, in order; returns those months. The hooks report progress.
   */
  private async reconcileAndRefresh(
    keepLock: KeepLock,
    opts: {
      full: boolean;
      asked: readonly string[];
      onRound?: (p: LedgerProgress) => Promise<void>;
      onMonths?: (months: string[]) => Promise<void>;
      onMonth?: (month: string, institutions: number) => Promise<void>;
    },
  ): Promise<string[]> {
    const touched = await this.reconcileUnlocked(keepLock, opts.full, opts.onRound);
    const months = [...new Set([...opts.asked, ...touched])].sort();
    await opts.onMonths?.(months);
    for (const m of months) {
      await keepLock();
      const institutions = await this.refreshUnlocked(m);
      await opts.onMonth?.(m, institutions);
    }
    return months;
  }

  /**
   * Appends the ledger rows that bring it in line with current conclusions; returns the months
   * to refresh: those of the rows appended and, in an incremental run, of every warning whose
   * state changed (a false alarm or an escalation changes a month's figures without a ledger row).
   * `full`: every warning, not only those changed since shortly before the previous run.
   */
  reconcile(opts: { full?: boolean } = {}): Promise<string[]> {
    return this.serial((keepLock) => this.reconcileUnlocked(keepLock, opts.full === true));
  }

  private async reconcileUnlocked(keepLock: KeepLock, fullAsked = false, onRound?: (p: LedgerProgress) => Promise<void>): Promise<string[]> {
    const startedAt = Date.now();
    const full = fullAsked || this.reconciledAt === undefined || startedAt - this.fullyReconciledAt >= FULL_RECONCILE_EVERY_MS;
    const since = full ? undefined : this.reconciledAt! - RECONCILE_OVERLAP_MS;
    const pageRows = this.deps.reconcilePageRows ?? 50_000;
    const touched = new Set<string>();
    // The warnings to look at: all of them, or those with a state row written since `since` (an
    // event appended then; warning_state is small beside the events and carries the institution,
    // which narrows the read of `warnings` by its sorting key).
    const changed = since === undefined ? undefined : sql`(SELECT institution_id, warning_id FROM warning_state WHERE updated_at >= ${param.DateTime64(since)})`;
    if (changed) {
      const months = await this.deps.store.query<{ month: string }>(sql`
        SELECT DISTINCT ${MONTH_EXPR} AS month FROM warnings WHERE (institution_id, id) IN ${changed}`);
      for (const m of months) touched.add(String(m.month));
    }
    let after = '';
    let deducted = 0;
    let reversed = 0;
    let rounds = 0;
    for (;;) {
      const warnings = changed
        ? sql`(SELECT id, institution_id, rule_id, severity, ${MONTH_EXPR} AS month FROM warnings
            WHERE (institution_id, id) IN ${changed} AND id > ${param.String(after)} ORDER BY raised_at DESC LIMIT 1 BY id)`
        : sql`(SELECT id, institution_id, rule_id, severity, ${MONTH_EXPR} AS month FROM warnings FINAL WHERE id > ${param.String(after)})`;
      const states = changed ? sql`(SELECT warning_id, conclusion FROM warning_state FINAL WHERE sign = 1 AND warning_id IN (SELECT warning_id FROM ${changed}))` : CURRENT_STATE;
      const ledgerOf = changed ? sql`WHERE warning_id IN (SELECT warning_id FROM ${changed})` : sql``;
      const rows = await this.deps.store.query<Record<string, unknown>>(sql`
        SELECT w.id AS warning_id, w.institution_id AS institution_id, w.rule_id AS rule_id, w.severity AS severity, w.month AS month,
          c.conclusion AS conclusion, l.net AS net, l.last_deduct AS last_deduct, l.category AS category
        FROM ${warnings} AS w
        INNER JOIN ${states} AS c ON c.warning_id = w.id
        LEFT JOIN (
          SELECT warning_id, round(sum(points), 4) AS net, argMaxIf(id, at, kind = 'deduct') AS last_deduct, anyLast(category) AS category
          FROM evaluation_ledger ${ledgerOf} GROUP BY warning_id
        ) AS l ON l.warning_id = w.id
        WHERE (c.conclusion = 'confirmed' AND l.net <= 0) OR (c.conclusion != 'confirmed' AND l.net > 0)
        ORDER BY w.id LIMIT ${param.UInt32(pageRows)}`);
      const now = Date.now();
      const ledger = rows.flatMap((r) => {
        const confirmed = r.conclusion === 'confirmed';
        const ruleId = String(r.rule_id);
        const points = confirmed ? severityPoints(this.deps.config, String(r.severity)) : -num(r, 'net');
        // A severity configured to cost nothing has nothing to deduct: a row of 0 points would
        // leave the warning out of step and be appended again by every run.
        if (points === 0) return [];
        return [
          {
            id: crypto.randomUUID(),
            month: String(r.month),
            institution_id: String(r.institution_id),
            warning_id: String(r.warning_id),
            rule_id: ruleId,
            severity: String(r.severity),
            category: confirmed ? categoryOf(this.deps.config, ruleId) : String(r.category),
            points,
            kind: confirmed ? ('deduct' as const) : ('reverse' as const),
            reverses: confirmed ? '' : String(r.last_deduct ?? ''),
            at: now,
            reason: confirmed ? '核查属实，扣分' : `核查结论改为${r.conclusion === 'false_alarm' ? '误报' : '待定'}，冲销扣分`,
          },
        ];
      });
      if (ledger.length > 0) {
        // Another process must not be able to take the lock and append the same rows meanwhile.
        await keepLock();
        await this.deps.store.insert('evaluation_ledger', ledger);
        for (const l of ledger) {
          touched.add(l.month);
          if (l.kind === 'deduct') deducted += 1;
          else reversed += 1;
        }
        if (rows.length === pageRows) emit(this.deps.log, 'evaluation.ledger_progress', { deducted, reversed, upTo: String(rows.at(-1)!.warning_id) });
      }
      rounds += 1;
      await onRound?.({ rounds, deducted, reversed });
      if (rows.length < pageRows) break;
      after = String(rows.at(-1)!.warning_id);
    }
    if (deducted + reversed > 0) emit(this.deps.log, 'evaluation.ledger', { deducted, reversed, full });
    this.reconciledAt = startedAt;
    if (full) this.fullyReconciledAt = startedAt;
    return [...touched];
  }

  /**
   * The administrator's recompute: a full reconcile, then the scores of `month` (or of the
   * current and previous month) and of every month the reconcile touched — in the background,
   * with its progress in Redis, where any hub reads it (`refreshJob()`). When a job is already
   * running (here or in another hub sharing the Redis) it is joined, not started twice.
   * `done` settles with the job's final state (never rejects); for a job running in another hub,
   * with its state after at most a minute.
   */
  async requestRefresh(by: string, month?: string, now = Date.now()): Promise<{ job: EvaluationRefreshJob; done: Promise<EvaluationRefreshJob> }> {
    const job = newJob(crypto.randomUUID(), by, now, month);
    const running = String(
      await this.deps.redis.eval(CLAIM_JOB_LUA, 2, this.jobKey('claim'), this.jobKey('job'), job.id, String(LOCK_MS), JSON.stringify(job), String(JOB_KEEP_MS)),
    );
    if (running !== '') {
      const current = parseJob(running);
      if (current) return { job: current, done: this.follow(current.id) };
      // The claim is held but its status is unreadable: report through the poller.
      return { job, done: this.follow(job.id) };
    }
    emit(this.deps.log, 'evaluation.refresh_job', { id: job.id, by, month: month ?? '', state: 'running' });
    return { job: { ...job }, done: this.runRefreshJob(job) };
  }

  /** The latest refresh job (running or finished in the last week), from any hub; null if none. */
  async refreshJob(): Promise<EvaluationRefreshJob | null> {
    const [raw, holder] = await Promise.all([this.deps.redis.get(this.jobKey('job')), this.deps.redis.get(this.jobKey('claim'))]);
    const job = raw ? parseJob(raw) : null;
    if (!job) return null;
    // A running job whose claim lapsed was abandoned: its hub stopped (or lost Redis) mid-way.
    if (job.state === 'running' && holder !== job.id) {
      return { ...job, state: 'failed', stateLabel: JOB_STATE_LABELS.failed, error: '重算中断：处理它的服务已停止或与 Redis 失去连接，请重新发起' };
    }
    return job;
  }

  private jobKey(which: 'claim' | 'job'): string {
    return `${this.deps.prefix}:eval:refresh-${which}`;
  }

  /**
   * Polls the stored status of job `id` (another hub's) until it is no longer running, for at most
   * FOLLOW_MS (the longest a request waits), then answers what it is then.
   */
  private async follow(id: string): Promise<EvaluationRefreshJob> {
    const until = Date.now() + FOLLOW_MS;
    for (;;) {
      const job = await this.refreshJob().catch(() => null);
      if (!job || job.id !== id || job.state !== 'running' || this.closed || Date.now() >= until) return job ?? { ...failedJob(id), error: '重算状态已不可读' };
      await new Promise((r) => setTimeout(r, 500));
    }
  }

  private async runRefreshJob(job: EvaluationRefreshJob): Promise<EvaluationRefreshJob> {
    let over = false;
    const save = async (patch: Partial<EvaluationRefreshJob>, finished = false): Promise<void> => {
      if (over) return;
      over = finished;
      Object.assign(job, patch, { updatedAt: Date.now() });
      job.stateLabel = JOB_STATE_LABELS[job.state];
      job.phaseLabel = JOB_PHASE_LABELS[job.phase];
      await this.deps.redis
        .eval(SAVE_JOB_LUA, 2, this.jobKey('claim'), this.jobKey('job'), job.id, finished ? '0' : String(LOCK_MS), JSON.stringify(job), String(JOB_KEEP_MS))
        .catch((err: unknown) => emit(this.deps.log, 'evaluation.refresh_failed', { err, job: job.id }));
    };
    // The claim lives LOCK_MS without renewal; a job waiting for another process's reconcile
    // (or in a long round) renews it meanwhile, so it is not taken for abandoned.
    const heartbeat = setInterval(() => void save({}), LOCK_MS / 4);
    heartbeat.unref();
    try {
      await this.serial(async (keepLock) => {
        await save({ phase: 'ledger' });
        await this.reconcileAndRefresh(keepLock, {
          full: true,
          asked: job.month ? [job.month] : recentMonths(Date.now()),
          onRound: (p) => save({ ledgerRounds: p.rounds, deducted: p.deducted, reversed: p.reversed }),
          onMonths: (months) => save({ phase: 'scores', months }),
          onMonth: (m, n) => save({ monthsDone: job.monthsDone + 1, ...(m === job.month ? { institutions: n } : {}) }),
        });
      });
      await save({ state: 'done', phase: 'done', finishedAt: Date.now() }, true);
    } catch (err) {
      emit(this.deps.log, 'evaluation.refresh_failed', { err, job: job.id });
      await save({ state: 'failed', finishedAt: Date.now(), error: err instanceof Error ? err.message : String(err) }, true);
    } finally {
      clearInterval(heartbeat);
    }
    emit(this.deps.log, 'evaluation.refresh_job', { id: job.id, state: job.state, deducted: job.deducted, reversed: job.reversed, months: job.months.length });
    return { ...job };
  }

  /** Recomputes and stores the scores of every registered institution for `month` ('YYYY-MM'). */
  private async refreshUnlocked(month: string): Promise<number> {
    const { from, to } = monthRange(month);
    const f = param.DateTime64(from);
    const t = param.DateTime64(to);
    const [vol, warn, ledger, confirmed] = await Promise.all([
      this.deps.store.query<Record<string, unknown>>(sql`
        SELECT institution_id, uniqExact(id) AS n FROM transactions WHERE occurred_at >= ${f} AND occurred_at < ${t} GROUP BY institution_id`),
      this.deps.store.query<Record<string, unknown>>(sql`
        SELECT w.institution_id AS institution_id, uniqExact(w.id) AS n, uniqExactIf(w.id, c.escalated = 1) AS esc,
          uniqExactIf(w.id, c.conclusion = 'false_alarm') AS fa
        FROM (SELECT id, institution_id FROM warnings FINAL WHERE occurred_at >= ${param.DateTime64(from)} AND occurred_at < ${param.DateTime64(to)}) AS w
        LEFT JOIN ${CURRENT_STATE} AS c ON c.warning_id = w.id GROUP BY w.institution_id`),
      this.deps.store.query<Record<string, unknown>>(sql`
        SELECT institution_id, category, round(sum(points), 4) AS p FROM evaluation_ledger WHERE month = ${param.String(month)} GROUP BY institution_id, category`),
      this.deps.store.query<Record<string, unknown>>(sql`
        SELECT institution_id, warning_id, any(rule_id) AS rule_id FROM evaluation_ledger WHERE month = ${param.String(month)}
        GROUP BY institution_id, warning_id HAVING round(sum(points), 4) > 0`),
    ]);
    const volume = new Map(vol.map((r) => [String(r.institution_id), num(r, 'n')]));
    const warnings = new Map(warn.map((r) => [String(r.institution_id), r]));
    const points = new Map<string, Partial<Record<Exclude<Category, 'responsiveness'>, number>>>();
    for (const r of ledger) {
      const id = String(r.institution_id);
      points.set(id, { ...(points.get(id) ?? {}), [String(r.category)]: num(r, 'p') });
    }
    const conf = new Map<string, { n: number; veto: Set<string> }>();
    for (const r of confirmed) {
      const id = String(r.institution_id);
      const cur = conf.get(id) ?? { n: 0, veto: new Set<string>() };
      cur.n += 1;
      if (this.deps.config.vetoRules.includes(String(r.rule_id))) cur.veto.add(String(r.rule_id));
      conf.set(id, cur);
    }
    const computedAt = Date.now();
    const scored = this.deps.registry.listInstitutions().map((inst) => {
      const w = warnings.get(inst.id);
      const c = conf.get(inst.id);
      const input = {
        institutionId: inst.id,
        type: inst.type,
        transactions: volume.get(inst.id) ?? 0,
        warnings: w ? num(w, 'n') : 0,
        escalated: w ? num(w, 'esc') : 0,
        points: points.get(inst.id) ?? {},
        vetoRules: [...(c?.veto ?? [])].sort(),
      };
      return { inst, input, s: scoreMonth(this.deps.config, input), falseAlarms: w ? num(w, 'fa') : 0, confirmed: c?.n ?? 0 };
    });
    // Only months with business are ranked: a 100 for doing nothing is not a place in the table.
    const ranks = rankWithinType(scored.filter((x) => isGraded(x.input)).map((x) => ({ institutionId: x.inst.id, type: x.inst.type, score: x.s.score })));
    await this.deps.store.insert(
      'evaluation_scores',
      scored.map(({ inst, input, s, falseAlarms, confirmed: nConfirmed }) => ({
        month,
        institution_id: inst.id,
        institution_type: inst.type,
        county: inst.county,
        transactions: input.transactions,
        warnings: input.warnings,
        confirmed: nConfirmed,
        false_alarms: falseAlarms,
        escalated: input.escalated,
        deduct_compliance: s.deductions.compliance,
        deduct_quality: s.deductions.quality,
        deduct_integrity: s.deductions.integrity,
        deduct_responsiveness: s.deductions.responsiveness,
        score: s.score,
        grade: s.grade,
        veto: s.veto ? 1 : 0,
        veto_rules: input.vetoRules,
        rank: ranks.get(inst.id)?.rank ?? 0,
        rank_of: ranks.get(inst.id)?.of ?? 0,
        computed_at: computedAt,
      })),
    );
    return scored.length;
  }

  // ---- reads ---------------------------------------------------------------------------------

  private async readScores(where: SqlQuery): Promise<ScoreRow[]> {
    const rows = await this.deps.store.query<Record<string, unknown>>(sql`
      SELECT month, institution_id, institution_type, county, transactions, warnings, confirmed, false_alarms, escalated,
        deduct_compliance, deduct_quality, deduct_integrity, deduct_responsiveness, score, grade, veto, veto_rules, rank, rank_of,
        toUnixTimestamp64Milli(computed_at) AS computed_at
      FROM evaluation_scores FINAL WHERE ${where} ORDER BY month, institution_type, rank, institution_id`);
    return rows.map((r) => ({
      ...(r as unknown as ScoreRow),
      transactions: num(r, 'transactions'),
      warnings: num(r, 'warnings'),
      confirmed: num(r, 'confirmed'),
      false_alarms: num(r, 'false_alarms'),
      escalated: num(r, 'escalated'),
      deduct_compliance: num(r, 'deduct_compliance'),
      deduct_quality: num(r, 'deduct_quality'),
      deduct_integrity: num(r, 'deduct_integrity'),
      deduct_responsiveness: num(r, 'deduct_responsiveness'),
      score: num(r, 'score'),
      veto: num(r, 'veto') === 1,
      rank: num(r, 'rank'),
      rank_of: num(r, 'rank_of'),
      computed_at: num(r, 'computed_at'),
    }));
  }

  /** Scores of a month; materialised on demand when the month was never computed. */
  async scores(month: string, f: { county?: string; type?: string; institutionId?: string } = {}): Promise<ScoreRow[]> {
    const c: SqlQuery[] = [sql`month = ${param.String(month)}`];
    if (f.county) c.push(sql`county = ${param.String(f.county)}`);
    if (f.type) c.push(sql`institution_type = ${param.String(f.type)}`);
    if (f.institutionId) c.push(sql`institution_id = ${param.String(f.institutionId)}`);
    let rows = await this.readScores(joinSql(c, ' AND '));
    if (!rows.length && computedOnRead(month, Date.now())) {
      const [any] = await this.deps.store.query<{ n: string }>(sql`SELECT count() AS n FROM evaluation_scores WHERE month = ${param.String(month)}`);
      if (Number(any?.n ?? 0) === 0) {
        await this.serial(async (keepLock) => {
          await this.reconcileUnlocked(keepLock);
          await this.refreshUnlocked(month);
        });
        rows = await this.readScores(joinSql(c, ' AND '));
      }
    }
    return rows;
  }

  /**
   * Month-by-month scores of one institution, oldest first, ending at `month`; a month never
   * computed is computed first when it is one of the last ON_READ_MONTHS (computedOnRead).
   */
  async trend(institutionId: string, month: string, months = 12): Promise<ScoreRow[]> {
    const list = previousMonths(month, months);
    const rows = await this.readScores(sql`institution_id = ${param.String(institutionId)} AND month IN ${param.ArrayString(list)}`);
    const have = new Set(rows.map((r) => r.month));
    const now = Date.now();
    const missing = list.filter((m) => !have.has(m) && computedOnRead(m, now));
    if (!missing.length) return rows;
    await this.serial(async () => {
      for (const m of missing) await this.refreshUnlocked(m);
    });
    return this.readScores(sql`institution_id = ${param.String(institutionId)} AND month IN ${param.ArrayString(list)}`);
  }

  /**
   * A quarter's grades: the rows of the months of `quarter` that have begun (a month never
   * materialised is materialised first, as `scores` does), grouped by institution and graded
   * together (scoring.ts scoreQuarter); ranked within the institution type among the graded.
   * `final` once the quarter's last month is over.
   */
  async quarter(quarter: string, f: { county?: string; type?: string } = {}, now = Date.now()): Promise<{ months: string[]; final: boolean; rows: QuarterRow[] }> {
    const current = monthOf(now);
    const all = quarterMonths(quarter);
    const months = all.filter((m) => m <= current);
    if (!months.length) return { months, final: false, rows: [] };
    // One read of the months' rows; a month none of them has goes through `scores` (materialised
    // when it never was).
    const c: SqlQuery[] = [sql`month IN ${param.ArrayString(months)}`];
    if (f.county) c.push(sql`county = ${param.String(f.county)}`);
    if (f.type) c.push(sql`institution_type = ${param.String(f.type)}`);
    const read = await this.readScores(joinSql(c, ' AND '));
    const missing = months.filter((m) => !read.some((r) => r.month === m));
    for (const m of missing) read.push(...(await this.scores(m, f)));
    const byInstitution = new Map<string, ScoreRow[]>();
    for (const r of read.sort((a, b) => a.month.localeCompare(b.month))) {
      const list = byInstitution.get(r.institution_id);
      if (list) list.push(r);
      else byInstitution.set(r.institution_id, [r]);
    }
    const rows: QuarterRow[] = [...byInstitution.values()].map((list) => {
      // The latest month names the institution's type and county (a re-filing moves it).
      const last = list[list.length - 1]!;
      return { institution_id: last.institution_id, institution_type: last.institution_type, county: last.county, months: list, ...scoreQuarter(this.config, list), rank: 0, rank_of: 0 };
    });
    const ranks = rankWithinType(rows.filter((r) => r.graded).map((r) => ({ type: r.institution_type, score: r.score, institutionId: r.institution_id })));
    for (const r of rows) {
      const k = ranks.get(r.institution_id);
      if (k) {
        r.rank = k.rank;
        r.rank_of = k.of;
      }
    }
    return { months, final: all[2] < current, rows: rows.sort((a, b) => a.institution_type.localeCompare(b.institution_type) || (a.graded ? a.rank : 1e9) - (b.graded ? b.rank : 1e9) || a.institution_id.localeCompare(b.institution_id)) };
  }

  /** The ledger behind a score: each deduction and reversal with its warning. */
  async deductions(institutionId: string, month: string): Promise<LedgerRow[]> {
    const rows = await this.deps.store.query<Record<string, unknown>>(sql`
      SELECT l.id AS id, l.month AS month, l.institution_id AS institution_id, l.warning_id AS warning_id, l.rule_id AS rule_id,
        l.severity AS severity, l.category AS category, l.points AS points, l.kind AS kind, l.reverses AS reverses,
        toUnixTimestamp64Milli(l.at) AS at, l.reason AS reason, w.rule_name AS rule_name, w.explanation AS explanation,
        toUnixTimestamp64Milli(w.occurred_at) AS occurred_at, if(c.seq = 0, 'raised', c.state) AS state, c.conclusion AS conclusion
      FROM (SELECT * FROM evaluation_ledger WHERE institution_id = ${param.String(institutionId)} AND month = ${param.String(month)}) AS l
      LEFT JOIN (SELECT id, rule_name, explanation, occurred_at FROM warnings FINAL WHERE institution_id = ${param.String(institutionId)}) AS w ON w.id = l.warning_id
      LEFT JOIN (
        -- Only this ledger's warnings: the view aggregates warning_events, and a bare join built
        -- the workflow state of every warning in the store on each call (0.45 s at 100 million
        -- transactions). The filter on its group key reaches warning_events' sorting key.
        SELECT * FROM warning_current WHERE warning_id IN (
          SELECT warning_id FROM evaluation_ledger WHERE institution_id = ${param.String(institutionId)} AND month = ${param.String(month)})
      ) AS c ON c.warning_id = l.warning_id
      ORDER BY l.at, l.warning_id, l.kind`);
    return rows.map((r) => ({ ...(r as unknown as LedgerRow), points: num(r, 'points'), at: num(r, 'at'), occurred_at: num(r, 'occurred_at') }));
  }

  /** Per rule and month: hits, confirmed, false alarms, precision. */
  async ruleQuality(f: { from: string; to: string; county?: string; ruleId?: string }): Promise<RuleQualityRow[]> {
    const start = monthRange(f.from).from;
    const end = monthRange(f.to).to;
    const c: SqlQuery[] = [sql`occurred_at >= ${param.DateTime64(start)}`, sql`occurred_at < ${param.DateTime64(end)}`];
    if (f.county) c.push(sql`county = ${param.String(f.county)}`);
    if (f.ruleId) c.push(sql`rule_id = ${param.String(f.ruleId)}`);
    const rows = await this.deps.store.query<Record<string, unknown>>(sql`
      SELECT w.month AS month, w.rule_id AS rule_id, any(w.rule_name) AS rule_name, any(w.family) AS family, count() AS hits,
        countIf(c.conclusion = 'confirmed') AS confirmed, countIf(c.conclusion = 'false_alarm') AS false_alarms
      FROM (SELECT id, rule_id, rule_name, family, ${MONTH_EXPR} AS month FROM warnings FINAL WHERE ${joinSql(c, ' AND ')}) AS w
      LEFT JOIN ${CURRENT_STATE} AS c ON c.warning_id = w.id
      GROUP BY month, rule_id ORDER BY month, rule_id`);
    return rows.map((r) => {
      const confirmedN = num(r, 'confirmed');
      const fa = num(r, 'false_alarms');
      return {
        month: String(r.month),
        rule_id: String(r.rule_id),
        rule_name: String(r.rule_name),
        family: String(r.family),
        hits: num(r, 'hits'),
        confirmed: confirmedN,
        false_alarms: fa,
        pending: num(r, 'hits') - confirmedN - fa,
        precision: confirmedN + fa > 0 ? Math.round((confirmedN / (confirmedN + fa)) * 10_000) / 10_000 : null,
      };
    });
  }
}

/** The current and the previous month of `now`: what every refresh recomputes unasked. */
function recentMonths(now: number): string[] {
  return [monthOf(now), previousMonths(monthOf(now), 2)[0]!];
}

function parseJob(raw: string): EvaluationRefreshJob | null {
  try {
    const j = EvaluationRefreshJobSchema.safeParse(JSON.parse(raw));
    return j.success ? j.data : null;
  } catch {
    return null;
  }
}

/** A job just asked for: running, waiting for the evaluation lock. */
function newJob(id: string, by: string, now: number, month?: string): EvaluationRefreshJob {
  return {
    id,
    state: 'running',
    stateLabel: JOB_STATE_LABELS.running,
    phase: 'queued',
    phaseLabel: JOB_PHASE_LABELS.queued,
    ...(month ? { month } : {}),
    requestedBy: by,
    startedAt: now,
    updatedAt: now,
    ledgerRounds: 0,
    deducted: 0,
    reversed: 0,
    months: [],
    monthsDone: 0,
  };
}

/** What is reported for a job whose status can no longer be read. */
function failedJob(id: string): EvaluationRefreshJob {
  return { ...newJob(id, '', Date.now()), state: 'failed', stateLabel: JOB_STATE_LABELS.failed, phase: 'done', phaseLabel: JOB_PHASE_LABELS.done };
}

/**
 * How far back a read computes a month's scores that were never computed: the longest trend the
 * screens ask for. A read of an older month (a replay of years of business, a typed address)
 * shows what was computed; the administrator's refresh (POST /api/v1/evaluation/refresh) computes
 * it. Without the bound any reader could have the hub compute and store every month back to
 * the year 2000, each for the whole city, under the lock the refresh waits on.
 */
export const ON_READ_MONTHS = 36;

/** Whether a read computes `month` when it was never computed: begun, and one of the last ON_READ_MONTHS. */
export function computedOnRead(month: string, now: number): boolean {
  const current = monthOf(now);
  return month <= current && month >= previousMonths(current, ON_READ_MONTHS)[0]!;
}
