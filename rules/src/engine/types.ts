import type { RegistryView } from '../model/registry.js';
import type { Transaction } from '../model/transaction.js';
import type { HitValues, RuleAction, RuleFamily, Severity, Warning } from '../model/warning.js';
import type { WorkCalendar } from './calendar.js';

/**
 * Sliding-window state behind count and distinct-count rules. The rules package only declares
 * it; the hub implements it in Redis (atomic Lua), tests with `createMemoryWindowState()`.
 *
 * Contract: `observe(key, member, at, windowMs)` records `member` under `key` at time `at`
 * (epoch ms) and returns how many distinct members of `key` have a time in (at - windowMs, at].
 * Recording the same (key, member) again never increases the count (re-delivered batches are
 * harmless); a member's time is the latest time it was observed.
 */
/**
 * A value now or later. The memory states answer synchronously, so an evaluation over them
 * allocates no promise per rule; the hub's Redis states answer with promises.
 */
export type MaybePromise<T> = T | PromiseLike<T>;

export interface WindowState {
  observe(key: string, member: string, at: number, windowMs: number): MaybePromise<number>;
  /** OPTIONAL. Applies many calls at once (see StateBatcher and RuleEngine.evaluateBatch). */
  readonly batcher?: StateBatcher;
}

/**
 * One state call as data: what RuleEngine.evaluateBatch() collects from every rule of every
 * record of a batch, in the order the calls would have been made.
 */
export type StateOp =
  | { op: 'observe'; key: string; member: string; at: number; windowMs: number }
  | { op: 'overlap'; key: string; id: string; member: string; start: number; end: number; retainMs: number }
  | { op: 'claim'; key: string; fingerprints: readonly string[]; owner: string; id: string; at: number; windowMs: number; retainMs: number }
  | { op: 'record'; key: string; event: string; id: string; at: number; retainMs: number }
  | { op: 'latest'; key: string; event: string; id: string; at: number; windowMs: number; retainMs: number };

/** What StateBatcher.run() answers for each operation, by its `op`. */
export interface StateOpAnswer {
  observe: number;
  overlap: IntervalConflict;
  claim: FingerprintMatch[];
  record: undefined;
  latest: SequenceMatch | null;
}

/**
 * A state store that applies a whole list of calls in one go (the hub's Redis: one script per
 * batch instead of one round trip per record and rule).
 *
 * Contract: `run(ops)` applies the operations IN ORDER, each exactly as the single call would
 * (observe → WindowState.observe, overlap → IntervalState.overlap, claim → FingerprintState.
 * claimMany, record / latest → SequenceState), and answers one entry per operation, in order.
 * So answers are those of the same calls made one after another — record i's window count
 * includes records < i of the same batch. A failure rejects the whole run; retrying a batch is
 * safe because every call is idempotent (see above).
 *
 * Any of the four states may expose a batcher; states that share one (the same store) are
 * batched together. States without one are called one by one, as evaluate() does.
 */
export interface StateBatcher {
  run(ops: readonly StateOp[]): Promise<unknown[]>;
}

// ---------------------------------------------------------------------------------------------
// State behind the newer kinds. Common to all three:
//
//  * Answers are REMEMBERED per asking transaction id. The first call for an id computes the
//    answer from what is stored at that moment, stores it with the record, and every later call
//    with the same id (a re-sent batch, a retried job, the hold path followed by the full
//    evaluation) returns that stored answer unchanged, whatever arrived in between. Re-delivery
//    therefore never changes a result, and the warning for a conflict is raised on the record
//    that arrived second.
//  * `retainMs` tells the implementation how long records must be kept: entries older than
//    (the newest time recorded on the key) − retainMs MAY be dropped, younger ones MUST NOT.
//    Guarantees hold for re-deliveries and late records within that horizon. Keys MAY expire
//    retainMs after their last write.
//  * Arguments are finite epoch milliseconds; implementations reject anything else.
//  * Every call is atomic per key (Redis: one Lua script per call).
// ---------------------------------------------------------------------------------------------

/** What IntervalState.overlap() answers. */
export interface IntervalConflict {
  /** Longest overlap in ms with an interval of another member recorded before this id; 0 = none. */
  overlapMs: number;
  /** That interval (absent when overlapMs is 0). */
  other?: { id: string; member: string; start: number; end: number };
}

/**
 * Interval state behind `overlap` rules (one inspector at two lanes, two tests on one line, one
 * examiner at two venues, one account on two terminals).
 *
 * `overlap(key, id, member, start, end, retainMs)`:
 *   1. If `id` is already recorded under `key`, return its stored answer (arguments ignored).
 *   2. Otherwise consider the intervals E recorded under `key` with e.member ≠ member that
 *      intersect the half-open [start, end): e.start < end AND start < e.end. For each,
 *      overlap = min(end, e.end) − max(start, e.start) (> 0). The answer is the e with the
 *      largest overlap — ties: smaller e.start, then smaller e.id (code-unit order) — as
 *      { overlapMs, other: { id, member, start, end } }, or { overlapMs: 0 } when E is empty.
 *   3. Record (id, member, start, end, answer) under `key`; return the answer.
 *   Retention: entries with e.end ≤ (largest start recorded on key) − retainMs may be dropped.
 *
 * Redis sketch (KEYS: `<ns>:iv:<key>` hash id → "member\tstart\tend\tanswer", `<ns>:ive:<key>`
 * zset id scored by end, `<ns>:ivm:<key>` string = largest start): HGET id → return if present;
 * ZRANGEBYSCORE ive (start +inf → candidates with end > start; HMGET them, keep member ≠ and
 * start < end; pick as in 2; HSET + ZADD; SET ivm max(ivm, start); ZRANGEBYSCORE ive -inf
 * (ivm − retainMs] → HDEL + ZREM; PEXPIRE all three keys retainMs. The hub adds `<ns>:ivn:<key>`,
 * member → latest end, so a call skips the scan when no other member has an interval ending
 * after its start (hub/src/jobs/rule-state.ts).
 */
export interface IntervalState {
  overlap(key: string, id: string, member: string, start: number, end: number, retainMs: number): MaybePromise<IntervalConflict>;
  /** OPTIONAL. See StateBatcher. */
  readonly batcher?: StateBatcher;
}

/** What FingerprintState.claim() answers. */
export interface FingerprintMatch {
  /** Distinct owners other than the caller's that claimed the fingerprint within the window. */
  others: number;
  /** The earliest such claim — ties: smaller owner, then smaller id (absent when others is 0). */
  first?: { owner: string; id: string; at: number };
}

/**
 * Fingerprint state behind `fingerprint` rules (one photo hash on different VINs; identical
 * measurement vectors on different vehicles).
 *
 * `claim(key, fingerprint, owner, id, at, windowMs, retainMs)`:
 *   1. If `id` already claimed `fingerprint` under `key`, return its stored answer.
 *   2. Otherwise let C = the claims of (key, fingerprint) with c.owner ≠ owner and
 *      |c.at − at| < windowMs (symmetric: a copy is a copy whichever came first; a claim exactly
 *      windowMs away is outside). Answer { others: |distinct owners in C|, first: the claim in
 *      C with the smallest at (ties: owner, then id) }.
 *   3. Record the claim (id, owner, at, answer); return the answer.
 *   Retention: claims with at ≤ (newest at on (key, fingerprint)) − retainMs may be dropped.
 *
 * Redis sketch (KEYS: `<ns>:fp:<key>:<fingerprint>` zset "owner\tid" scored by at, and
 * `<ns>:fpa:<key>:<fingerprint>` hash id → answer): HGET fpa id → return if present;
 * ZRANGEBYSCORE fp (at−windowMs (at+windowMs; drop own owner; count distinct owners, earliest;
 * ZADD; HSET fpa; trim ZREMRANGEBYSCORE fp -inf (newest − retainMs] (HDEL their ids);
 * PEXPIRE both retainMs.
 */
export interface FingerprintState {
  claim(key: string, fingerprint: string, owner: string, id: string, at: number, windowMs: number, retainMs: number): MaybePromise<FingerprintMatch>;
  /**
   * Optional: claim() of each fingerprint in turn, in one call — a record with several photos
   * costs one Redis script instead of one per photo (all of a key's fingerprints share its
   * hash tag, so the script stays atomic over all of them). The answers are, in the order
   * given, exactly what claim() would have answered for each fingerprint in that order.
   */
  claimMany?(key: string, fingerprints: readonly string[], owner: string, id: string, at: number, windowMs: number, retainMs: number): MaybePromise<FingerprintMatch[]>;
  /** OPTIONAL. See StateBatcher. */
  readonly batcher?: StateBatcher;
}

/** A recorded sequence event. */
export interface SequenceMatch {
  id: string;
  at: number;
}

/**
 * Sequence state behind `sequence` rules (transfer within 90 days of first registration;
 * deregistration then restoration; platform business without a queue ticket).
 *
 * `record(key, event, id, at, retainMs)`: stores that `event` happened for `key` in transaction
 *   `id` at `at`. Idempotent per (key, event, id): the first `at` is kept.
 *   Retention: records with at ≤ (newest at of (key, event)) − retainMs may be dropped.
 * `latest(key, event, id, at, windowMs, retainMs)`:
 *   1. If (key, event) already answered asker `id`, return that stored answer (may be null).
 *   2. Otherwise the record of (key, event) with r.id ≠ id and at − windowMs < r.at ≤ at that
 *      has the largest r.at (ties: smaller r.id), or null; store it for `id` and return it.
 *   Stored answers follow the same retention as records (by the asker's `at`).
 *
 * Redis sketch (KEYS: `<ns>:sq:<key>:<event>` zset id scored by at, `<ns>:sqa:<key>:<event>`
 * hash asker id → "id\tat" or "-"): record = ZADD NX; latest = HGET sqa id, else
 * ZREVRANGEBYSCORE sq at (at−windowMs WITHSCORES, skip own id, take the first (equal scores:
 * smallest member), HSET sqa; both trim below newest − retainMs and PEXPIRE retainMs.
 */
export interface SequenceState {
  record(key: string, event: string, id: string, at: number, retainMs: number): MaybePromise<void>;
  latest(key: string, event: string, id: string, at: number, windowMs: number, retainMs: number): MaybePromise<SequenceMatch | null>;
  /** OPTIONAL. See StateBatcher. */
  readonly batcher?: StateBatcher;
}

export interface EvaluationContext {
  registry: RegistryView;
  state: WindowState;
  calendar: WorkCalendar;
  /** For `overlap` rules; absent → those rules are skipped (no hit, no error). */
  intervals?: IntervalState;
  /** For `fingerprint` rules; absent → skipped. */
  fingerprints?: FingerprintState;
  /** For `sequence` rules; absent → skipped. */
  sequences?: SequenceState;
}

/** What a rule needs besides the transaction: its state, or a scheduled job (peer_deviation). */
export type RuleStateKind = 'none' | 'window' | 'interval' | 'fingerprint' | 'sequence' | 'scheduled';

/** What every rule carries, whatever its shape. */
export interface RuleMeta {
  id: string;
  /** Chinese display name, e.g. 非工作时间办理业务. */
  name: string;
  version: string;
  family: RuleFamily;
  severity: Severity;
  action: RuleAction;
  /** One-sentence Chinese description of what the rule looks for. */
  description: string;
  /** Where the threshold comes from (domain.md §6), e.g. 实际系统默认值 / 建议值. */
  basis: string;
  /** The definition's kind (calendar, window_count, … peer_deviation). */
  kind: string;
  /** The state it uses; 'scheduled' rules never run in evaluate(). */
  state: RuleStateKind;
}

export interface RuleHit {
  rule: RuleMeta;
  /** Chinese explanation naming the observed value and the threshold. */
  explanation: string;
  values: HitValues;
}

/** One entity's counts over a period, as the scheduled job reads them from the store. */
export interface PeerSample {
  /** The entity value (institution id, staff id …) the rule groups by. */
  entity: string;
  /** Its peer group: the institution type for `peers: 'institution_type'`, '' for 'all'. */
  group: string;
  /** Transactions matching the metric's numerator (rate) or `of` (count). */
  numerator: number;
  /** Transactions matching the denominator (rate); ignored for count metrics. */
  denominator: number;
}

export interface PeerFinding {
  rule: RuleMeta;
  entity: string;
  group: string;
  direction: 'above' | 'below';
  explanation: string;
  values: HitValues;
}

/**
 * A compiled `peer_deviation` rule. evaluate() skips these; a scheduled job counts, per entity
 * and period, the transactions the predicates accept (in ClickHouse or by calling them on
 * records) and hands the counts to assess().
 */
export interface PeerRule {
  readonly meta: RuleMeta;
  /** Period length the job should count over. */
  readonly periodDays: number;
  /** Entity of a transaction (undefined → not counted). */
  entityOf(txn: Transaction): string | undefined;
  /** Counts in the denominator (rate) or in the count (count metric). */
  inDenominator(txn: Transaction): boolean;
  /** Counts in the numerator (rate: only when also in the denominator; count: same as inDenominator). */
  inNumerator(txn: Transaction): boolean;
  /** Compares each entity with the rest of its group (leave-one-out) and explains outliers. */
  /** `registry` names the entities in the explanations (`{entity|institution}`, `{entity|staff}`). */
  assess(samples: readonly PeerSample[], calendar?: WorkCalendar, registry?: RegistryView): PeerFinding[];
}

export interface RuleEngine {
  /** Identifies the rule set; every warning records it. */
  readonly version: string;
  /** Every rule of the pack, scheduled ones included (see RuleMeta.state). */
  readonly rules: readonly RuleMeta[];
  /** Runs every real-time rule. Stateful rules record the transaction in their state (idempotently). */
  evaluate(txn: Transaction, ctx: EvaluationContext): Promise<RuleHit[]>;
  /**
   * Runs every real-time rule on each record of a batch, in order, with the same hits as
   * evaluate() called on each record in turn. The state calls of all records go to each state's
   * StateBatcher in one run() (one Redis script for the whole batch); states without a batcher
   * are called directly. `ctx` may be a function giving each record its context (the registry
   * as it stood when the record happened); contexts should be reused across records where
   * they are the same.
   */
  evaluateBatch(txns: readonly Transaction[], ctx: EvaluationContext | ((txn: Transaction, index: number) => EvaluationContext)): Promise<RuleHit[][]>;
  /** Runs only real-time `hold` rules: the synchronous decision path. */
  evaluateBlocking(txn: Transaction, ctx: EvaluationContext): Promise<RuleHit[]>;
}

export interface WarningEnvelope {
  batchId: string;
  county: string;
  raisedAt: number;
}

export type { Warning };
