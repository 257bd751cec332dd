/**
 * Rule state held by the hub (JG_RULE_STATE=local, the default).
 *
 * Design note
 * -----------
 * The four rule states (window, interval, fingerprint, sequence) live in the hub thread's memory
 * as the exact reference implementations of @jianguan/rules, and every batch of state calls is
 * applied there: no Lua per call. Evaluation threads send a batch's calls in one message
 * (jobs/eval-threads.ts); the hold path reads the state in place, with no Redis call and no
 * thread hop — the hub thread is where decisions arrive and runs ahead of the others
 * (priority.ts). Redis keeps what is needed to rebuild that memory after a restart, and a lease
 * that makes this process the only writer:
 *
 *   <p>:rsl:owner      string  lease: the owner's token, PX LEASE_MS, renewed by every write
 *   <p>:rsl:epoch      string  incremented whenever the lease is taken after being free
 *   <p>:rsl:gen        string  generation g of the newest complete snapshot (absent = none)
 *   <p>:rsl:snap:<g>   list    the snapshot: chunks of exportRuleState() entries (JSON arrays)
 *   <p>:rsl:log:<g>    list    log entries appended after snapshot g was taken, in apply order
 *
 * A log entry is one applied batch, `[t, ops]` (compact arrays, see encodeOp), or a sweep of
 * expired keys, `[t, "s"]`; t is the wall clock the memory states read for expiry while the entry
 * was applied, so a replay computes the same expiry times. Restore = import snap:<gen>, then replay
 * every log:<k> with k >= gen in order.
 *
 * Ordering. run() applies its operations synchronously and issues the log append before it
 * returns to the event loop, on a connection of its own: Redis receives appends in apply order.
 * The answers are returned only after the append is acknowledged, so a job never completes on
 * state that is not in Redis. A snapshot is taken synchronously at one moment between two runs:
 * from that moment appends go to the next generation's log, so snapshot + that log is the whole
 * state. A commit script switches `gen` and deletes the older snapshot and logs; a snapshot whose
 * commit failed is ignored (restore replays the older generation's logs, which are all still there).
 *
 * Failures. An append that fails, or a batch that fails half-way, leaves memory ahead of the log:
 * the state is marked dirty and the next run first writes a full snapshot (memory is the truth),
 * so later entries never depend on operations the log lacks. (A crash in between loses what the
 * log lacks, as a Redis without AOF loses its last writes; the jobs concerned never completed.) Every write checks the lease in the same script (fencing): a write
 * finding another owner's token means another process may have changed the state — this one
 * stops answering (RULE_STATE_LOST), takes the lease again when it is free and reloads from
 * Redis. A write finding no owner at all (the lease ran out during a long stall, or Redis lost its
 * data) re-takes it; if nobody else held it in between (epoch + 1, or no epoch at all: Redis was
 * emptied), memory is still the truth and is snapshotted, else it reloads.
 *
 * Size. The log is snapshotted once it is larger than max(JG_RULE_STATE_SNAPSHOT_MB, the last
 * snapshot): the cost of snapshots stays proportional to the writes. Writing one stops the hub
 * thread while the state is serialised (export about 1 s per 1.6 million keys; restoring them
 * about 4 s, before the hub takes batches — docs/benchmarks.md, "Rule state in the hub"); at a
 * detachment's volume that is every few weeks. Keys expire as Redis keys
 * do (retainMs after their last write); a sweep every SWEEP_MS drops them and logs that it did.
 *
 * One owner per Redis prefix: replicas that share a prefix must use JG_RULE_STATE=redis (the Lua
 * states of jobs/rule-state.ts, shared by all of them).
 */
import type { Redis } from 'ioredis';
import {
  applyStateOps,
  createMemoryRuleState,
  exportRuleState,
  importRuleState,
  peekStateOps,
  ruleStateSize,
  sweepRuleState,
  type FingerprintMatch,
  type IntervalConflict,
  type MemoryRuleState,
  type SequenceMatch,
  type StateBatcher,
  type StateOp,
  type WindowState,
} from '@jianguan/rules';
import type { PeekRuleStates, RedisRuleStates } from './rule-state.js';

/** The Redis keys of the rule state under `prefix` (the layout in the note above); backups copy them too. */
export function ruleStateKeys(prefix: string) {
  return {
    owner: `${prefix}:rsl:owner`,
    epoch: `${prefix}:rsl:epoch`,
    gen: `${prefix}:rsl:gen`,
    snap: (g: number) => `${prefix}:rsl:snap:${g}`,
    log: (g: number) => `${prefix}:rsl:log:${g}`,
    /** SCAN patterns of every snapshot and every log. */
    snaps: `${prefix}:rsl:snap:*`,
    logs: `${prefix}:rsl:log:*`,
  };
}

/** Every key matching `pattern` (SCAN: Redis is not held as KEYS would hold it). */
export async function scanKeys(redis: Redis, pattern: string): Promise<string[]> {
  const out: string[] = [];
  let cursor = '0';
  do {
    const [next, found] = await redis.scan(cursor, 'MATCH', pattern, 'COUNT', 1000);
    cursor = next;
    out.push(...found);
  } while (cursor !== '0');
  return out;
}

/**
 * The generations of the logs under `prefix` from `from` on, in order: the committed snapshot's
 * and later ones whose snapshot did not commit — what a restore replays, and a backup copies.
 */
export async function logGenerations(redis: Redis, prefix: string, from: number): Promise<number[]> {
  const gens = new Set<number>();
  for (const k of await scanKeys(redis, ruleStateKeys(prefix).logs)) {
    const g = Number(k.slice(k.lastIndexOf(':') + 1));
    if (Number.isInteger(g) && g >= from) gens.add(g);
  }
  return [...gens].sort((a, b) => a - b);
}

export const RULE_STATE_LOST = 'RULE_STATE_LOST';
export const RULE_STATE_OWNED = 'RULE_STATE_OWNED';
export const RULE_STATE_UNAVAILABLE = 'RULE_STATE_UNAVAILABLE';

const DAY_MS = 86_400_000;
/** Lease length; renewed by every write and every LEASE_MS / 3 when idle. */
export const LEASE_MS = 15_000;
const SWEEP_MS = 10_000;
/** Snapshot chunk size (characters): far below Redis's 512 MB string limit, cheap to page. */
const CHUNK_CHARS = 4 << 20;
/** Log entries read per LRANGE on restore. */
const PAGE = 500;

export interface LocalRuleStateOptions {
  /** A connection of its own: its commands reach Redis in the order they are issued. */
  redis: Redis;
  prefix: string;
  /** The lease token: one per hub process, kept by a restarted evaluation thread of the same hub. */
  token: string;
  /** Log size (bytes) below which no snapshot is taken. */
  snapshotMinBytes: number;
  /** How long open() waits for a lease held by another process (it expires LEASE_MS after its owner stopped). */
  waitForLeaseMs?: number;
  log: (event: 'rule_state.restored' | 'rule_state.snapshot' | 'rule_state.lost' | 'rule_state.waiting' | 'rule_state.error', detail: Record<string, unknown>) => void;
  /** Tests: the timers' periods. */
  sweepMs?: number;
  leaseMs?: number;
  /** Tests: the wall clock. */
  now?: () => number;
}

export interface LocalRuleStateStatus {
  state: 'opening' | 'ready' | 'lost' | 'closed';
  keys: number;
  entries: number;
  generation: number;
  logBytes: number;
  snapshotBytes: number;
}

// ---------------------------------------------------------------------------------------------
// Log entry encoding: compact arrays, validated on the way back (Redis content is an input).

type Encoded = (string | number | string[])[];

export function encodeOp(o: StateOp): Encoded {
  switch (o.op) {
    case 'observe':
      return ['o', o.key, o.member, o.at, o.windowMs];
    case 'overlap':
      return ['i', o.key, o.id, o.member, o.start, o.end, o.retainMs];
    case 'claim':
      return ['f', o.key, [...o.fingerprints], o.owner, o.id, o.at, o.windowMs, o.retainMs];
    case 'record':
      return ['r', o.key, o.event, o.id, o.at, o.retainMs];
    case 'latest':
      return ['l', o.key, o.event, o.id, o.at, o.windowMs, o.retainMs];
  }
}

const str = (v: unknown): v is string => typeof v === 'string';
const num = (v: unknown): v is number => typeof v === 'number' && Number.isFinite(v);

export function decodeOp(a: unknown): StateOp {
  if (!Array.isArray(a)) throw new Error('operation is not an array');
  const [c, key] = a as unknown[];
  if (!str(key)) throw new Error('operation key is not a string');
  switch (c) {
    case 'o':
      if (a.length === 5 && str(a[2]) && num(a[3]) && num(a[4])) return { op: 'observe', key, member: a[2], at: a[3], windowMs: a[4] };
      break;
    case 'i':
      if (a.length === 7 && str(a[2]) && str(a[3]) && num(a[4]) && num(a[5]) && num(a[6])) return { op: 'overlap', key, id: a[2], member: a[3], start: a[4], end: a[5], retainMs: a[6] };
      break;
    case 'f':
      if (a.length === 8 && Array.isArray(a[2]) && (a[2] as unknown[]).every(str) && str(a[3]) && str(a[4]) && num(a[5]) && num(a[6]) && num(a[7]))
        return { op: 'claim', key, fingerprints: a[2] as string[], owner: a[3], id: a[4], at: a[5], windowMs: a[6], retainMs: a[7] };
      break;
    case 'r':
      if (a.length === 6 && str(a[2]) && str(a[3]) && num(a[4]) && num(a[5])) return { op: 'record', key, event: a[2], id: a[3], at: a[4], retainMs: a[5] };
      break;
    case 'l':
      if (a.length === 7 && str(a[2]) && str(a[3]) && num(a[4]) && num(a[5]) && num(a[6])) return { op: 'latest', key, event: a[2], id: a[3], at: a[4], windowMs: a[5], retainMs: a[6] };
      break;
  }
  throw new Error(`malformed operation ${JSON.stringify(a).slice(0, 120)}`);
}

type LogEntry = { t: number; ops: StateOp[] } | { t: number; sweep: true };

export function decodeEntry(text: string): LogEntry {
  const v: unknown = JSON.parse(text);
  if (!Array.isArray(v) || v.length !== 2 || !num(v[0])) throw new Error('log entry is not [time, operations]');
  if (v[1] === 's') return { t: v[0], sweep: true };
  if (!Array.isArray(v[1])) throw new Error('log entry operations are not an array');
  return { t: v[0], ops: (v[1] as unknown[]).map(decodeOp) };
}

// ---------------------------------------------------------------------------------------------
// Scripts. Every write is fenced by the lease: KEYS[1] = owner, ARGV[1] = token, ARGV[2] = lease ms.

const FENCE = `
local cur = redis.call('GET', KEYS[1])
if cur ~= ARGV[1] then
  if cur then return {0, cur} end
  return {0, ''}
end
redis.call('PEXPIRE', KEYS[1], ARGV[2])
`;

// KEYS: owner, log. ARGV: token, lease, entry.
const APPEND_LUA = `${FENCE}
redis.call('RPUSH', KEYS[2], ARGV[3])
return {1, ''}
`;

// KEYS: owner. ARGV: token, lease.
const RENEW_LUA = `${FENCE}
return {1, ''}
`;

// KEYS: owner, gen, then the keys to delete. ARGV: token, lease, new generation.
const COMMIT_LUA = `${FENCE}
redis.call('SET', KEYS[2], ARGV[3])
for i = 3, #KEYS do redis.call('UNLINK', KEYS[i]) end
return {1, ''}
`;

// KEYS: owner, epoch. ARGV: token, lease. Takes the lease when free or already ours.
// Returns {taken (1|0), holder or '', epoch after, epoch existed before (1|0)}.
const ACQUIRE_LUA = `
local cur = redis.call('GET', KEYS[1])
local existed = redis.call('EXISTS', KEYS[2])
if cur and cur ~= ARGV[1] then return {0, cur, tonumber(redis.call('GET', KEYS[2]) or '0'), existed} end
redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
local epoch
if cur then epoch = tonumber(redis.call('GET', KEYS[2]) or '0') else epoch = redis.call('INCR', KEYS[2]) end
return {1, '', epoch, existed}
`;

// KEYS: owner. ARGV: token.
const RELEASE_LUA = `
if redis.call('GET', KEYS[1]) == ARGV[1] then redis.call('DEL', KEYS[1]) return 1 end
return 0
`;

type FenceReply = [number, string];
type RedisWithLocal = Redis & {
  jgRslAppend(owner: string, log: string, token: string, lease: string, entry: string): Promise<FenceReply>;
  jgRslRenew(owner: string, token: string, lease: string): Promise<FenceReply>;
  jgRslCommit(numKeys: number, ...args: string[]): Promise<FenceReply>;
  jgRslAcquire(owner: string, epoch: string, token: string, lease: string): Promise<[number, string, number, number]>;
  jgRslRelease(owner: string, token: string): Promise<number>;
};

function define(redis: Redis): RedisWithLocal {
  const r = redis as RedisWithLocal;
  if (typeof r.jgRslAppend !== 'function') {
    redis.defineCommand('jgRslAppend', { numberOfKeys: 2, lua: APPEND_LUA });
    redis.defineCommand('jgRslRenew', { numberOfKeys: 1, lua: RENEW_LUA });
    redis.defineCommand('jgRslCommit', { lua: COMMIT_LUA });
    redis.defineCommand('jgRslAcquire', { numberOfKeys: 2, lua: ACQUIRE_LUA });
    redis.defineCommand('jgRslRelease', { numberOfKeys: 1, lua: RELEASE_LUA });
  }
  return r;
}

const errText = (e: unknown) => (e instanceof Error ? e.message : String(e));
const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

class FenceError extends Error {
  constructor(readonly holder: string) {
    super(holder ? `${RULE_STATE_LOST}: the rule state lease is held by ${holder}` : `${RULE_STATE_LOST}: the rule state lease ran out`);
  }
}

export class LocalRuleState {
  private memory: MemoryRuleState;
  /** The wall clock the memory states read for expiry: set before every apply (see the note). */
  private clock = 0;
  private status_: LocalRuleStateStatus['state'] = 'opening';
  private epoch = 0;
  /** Generation of the committed snapshot, and of the log appends go to (> it after a failed commit). */
  private gen = 0;
  private logGen = 0;
  private logBytes = 0;
  private snapshotBytes = 0;
  private dirty = false;
  private snapshotting: Promise<void> | undefined;
  private recovering: Promise<void> | undefined;
  private readonly timers: NodeJS.Timeout[] = [];
  private readonly r: RedisWithLocal;
  private readonly keys: ReturnType<typeof ruleStateKeys>;
  private readonly leaseMs: number;
  private readonly now: () => number;

  private constructor(private readonly o: LocalRuleStateOptions) {
    this.r = define(o.redis);
    this.keys = ruleStateKeys(o.prefix);
    this.leaseMs = o.leaseMs ?? LEASE_MS;
    this.now = o.now ?? Date.now;
    this.memory = this.fresh();
  }

  /** Takes the lease (waiting up to waitForLeaseMs for another owner's to run out) and restores the state. */
  static async open(o: LocalRuleStateOptions): Promise<LocalRuleState> {
    const s = new LocalRuleState(o);
    await s.acquire(o.waitForLeaseMs ?? LEASE_MS + 5_000);
    await s.restore();
    s.status_ = 'ready';
    s.timers.push(setInterval(() => void s.renew(), Math.max(50, Math.floor(s.leaseMs / 3))));
    s.timers.push(setInterval(() => void s.sweep(), o.sweepMs ?? SWEEP_MS));
    for (const t of s.timers) t.unref();
    return s;
  }

  private fresh(): MemoryRuleState {
    return createMemoryRuleState({ windowRetainBeyondMs: DAY_MS, clock: () => this.clock });
  }

  private snapKey = (g: number) => this.keys.snap(g);
  private logKey = (g: number) => this.keys.log(g);

  private async acquire(waitMs: number): Promise<void> {
    const deadline = this.now() + waitMs;
    let told = false;
    for (;;) {
      const [taken, holder, epoch] = await this.r.jgRslAcquire(this.keys.owner, this.keys.epoch, this.o.token, String(this.leaseMs));
      if (taken === 1) {
        this.epoch = Number(epoch);
        return;
      }
      if (this.now() >= deadline) {
        throw new Error(`${RULE_STATE_OWNED}: the rule state under ${this.o.prefix} is held by ${holder}; replicas sharing a Redis prefix need JG_RULE_STATE=redis`);
      }
      if (!told) this.o.log('rule_state.waiting', { holder, waitMs });
      told = true;
      await sleep(Math.min(1_000, Math.max(50, this.leaseMs / 10)));
    }
  }

  /** Memory from Redis: the committed snapshot, then every log from its generation on. */
  private async restore(): Promise<void> {
    const t0 = performance.now();
    const memory = this.fresh();
    const gen = Number((await this.r.get(this.keys.gen)) ?? '0');
    let snapshotBytes = 0;
    let skipped = 0;
    if (gen > 0) {
      const key = this.snapKey(gen);
      const n = await this.r.llen(key);
      for (let i = 0; i < n; i += 8) {
        for (const chunk of await this.r.lrange(key, i, i + 7)) {
          snapshotBytes += chunk.length;
          importRuleState(memory, JSON.parse(chunk) as unknown[][]);
        }
      }
    }
    // Logs of this generation and of later ones whose snapshot did not commit, in order.
    const ordered = [...new Set([gen, ...(await logGenerations(this.r, this.o.prefix, gen))])].sort((a, b) => a - b);
    let logBytes = 0;
    let entries = 0;
    for (const g of ordered) {
      const key = this.logKey(g);
      for (let i = 0; ; i += PAGE) {
        const page = await this.r.lrange(key, i, i + PAGE - 1);
        for (const text of page) {
          logBytes += text.length;
          entries++;
          try {
            this.replay(memory, decodeEntry(text));
          } catch (e) {
            // A damaged entry cannot be applied; the rest of the log still is (and is reported).
            skipped++;
            this.o.log('rule_state.error', { phase: 'restore', log: key, index: i, err: errText(e) });
          }
        }
        if (page.length < PAGE) break;
      }
    }
    this.memory = memory;
    this.gen = gen;
    this.logGen = ordered[ordered.length - 1]!;
    this.logBytes = logBytes;
    this.snapshotBytes = snapshotBytes;
    // Logs beyond the committed generation mean a snapshot failed: write one now.
    this.dirty = this.logGen > gen || skipped > 0;
    const size = ruleStateSize(memory);
    this.o.log('rule_state.restored', { generation: gen, snapshotBytes, logEntries: entries, logBytes, skipped, keys: size.keys, entries: size.entries, ms: Math.round(performance.now() - t0) });
  }

  private replay(m: MemoryRuleState, e: LogEntry): void {
    this.clock = e.t;
    if ('sweep' in e) sweepRuleState(m, e.t);
    else applyStateOps(m, e.ops);
  }

  private ensureUsable(): void {
    if (this.status_ === 'ready') return;
    if (this.status_ === 'lost') throw new Error(`${RULE_STATE_LOST}: this hub no longer holds the rule state lease; it reloads once the lease is free`);
    throw new Error(`${RULE_STATE_UNAVAILABLE}: the rule state is ${this.status_}`);
  }

  /** Applies the operations in order and answers them once they are in the log (StateBatcher.run). */
  async run(ops: readonly StateOp[]): Promise<unknown[]> {
    // While the lease is being taken back, calls fail at once (jobs retry; holds answer later).
    this.ensureUsable();
    if (this.dirty) await this.snapshot();
    this.ensureUsable();
    if (ops.length === 0) return [];
    this.clock = this.now();
    let answers: unknown[];
    try {
      answers = applyStateOps(this.memory, ops);
    } catch (e) {
      // Some operations may have been applied before the failing one (as a Redis script keeps the
      // writes before a failing call): memory is ahead of the log, so the next run snapshots first.
      this.dirty = true;
      throw e;
    }
    await this.append(JSON.stringify([this.clock, ops.map(encodeOp)]));
    return answers;
  }

  /** What the operations would answer now; records nothing (the hold path). */
  async peek(ops: readonly StateOp[]): Promise<unknown[]> {
    this.ensureUsable();
    return peekStateOps(this.memory, ops);
  }

  private async append(entry: string): Promise<void> {
    let reply: FenceReply;
    try {
      reply = await this.r.jgRslAppend(this.keys.owner, this.logKey(this.logGen), this.o.token, String(this.leaseMs), entry);
    } catch (e) {
      this.dirty = true;
      throw new Error(`${RULE_STATE_UNAVAILABLE}: the rule state log could not be written: ${errText(e)}`);
    }
    if (reply[0] !== 1) {
      this.dirty = true;
      this.fenced(reply[1]);
      throw new FenceError(reply[1]);
    }
    this.logBytes += entry.length;
    if (this.logBytes >= Math.max(this.o.snapshotMinBytes, this.snapshotBytes)) void this.snapshot().catch(() => undefined);
  }

  /** A write found the lease not ours: stop answering until it is ours again (see the note). */
  private fenced(holder: string): void {
    if (this.recovering || this.status_ === 'closed') return;
    this.status_ = 'lost';
    this.o.log('rule_state.lost', { holder, epoch: this.epoch });
    this.recovering = (async () => {
      for (;;) {
        if (this.status_ === 'closed') return;
        try {
          const before = this.epoch;
          const [taken, , epoch, existed] = await this.r.jgRslAcquire(this.keys.owner, this.keys.epoch, this.o.token, String(this.leaseMs));
          if (taken === 1) {
            this.epoch = Number(epoch);
            if (Number(epoch) === before + 1 || existed === 0) {
              // Nobody held it in between (or Redis was emptied): memory is still the truth.
              this.dirty = true;
              this.status_ = 'ready';
              await this.snapshot();
            } else {
              await this.restore();
              this.status_ = 'ready';
            }
            return;
          }
        } catch (e) {
          this.o.log('rule_state.error', { phase: 'recover', err: errText(e) });
        }
        await sleep(Math.min(1_000, Math.max(50, this.leaseMs / 10)));
      }
    })().finally(() => {
      this.recovering = undefined;
    });
    this.recovering.catch(() => undefined);
  }

  /** Writes the whole state as generation logGen + 1 (one at a time). */
  snapshot(): Promise<void> {
    if (!this.snapshotting) {
      this.snapshotting = this.writeSnapshot().finally(() => {
        this.snapshotting = undefined;
      });
    }
    return this.snapshotting;
  }

  private async writeSnapshot(): Promise<void> {
    if (this.status_ !== 'ready') return;
    const t0 = performance.now();
    // Synchronous from here to the last RPUSH issued: one moment of the state, and the appends
    // issued after it go to the new generation's log.
    const chunks: string[] = [];
    let parts: string[] = [];
    let pending = 0;
    let bytes = 0;
    for (const e of exportRuleState(this.memory)) {
      const s = JSON.stringify(e);
      parts.push(s);
      pending += s.length + 1;
      if (pending >= CHUNK_CHARS) {
        chunks.push(`[${parts.join(',')}]`);
        parts = [];
        pending = 0;
      }
    }
    if (parts.length > 0) chunks.push(`[${parts.join(',')}]`);
    const from = this.gen;
    const next = this.logGen + 1;
    this.logGen = next;
    const logBytesBefore = this.logBytes;
    this.logBytes = 0;
    const key = this.snapKey(next);
    const writes: Promise<unknown>[] = [this.r.del(key)];
    for (const c of chunks) {
      bytes += c.length;
      writes.push(this.r.rpush(key, c));
    }
    const stale: string[] = [];
    for (let g = from; g < next; g++) stale.push(this.snapKey(g), this.logKey(g));
    const exportMs = performance.now() - t0;
    const commit = this.r.jgRslCommit(2 + stale.length, this.keys.owner, this.keys.gen, ...stale, this.o.token, String(this.leaseMs), String(next));
    try {
      await Promise.all(writes);
      const reply = await commit;
      if (reply[0] !== 1) {
        this.fenced(reply[1]);
        throw new FenceError(reply[1]);
      }
    } catch (e) {
      this.dirty = true;
      this.logBytes += logBytesBefore;
      commit.catch(() => undefined);
      this.o.log('rule_state.error', { phase: 'snapshot', generation: next, err: errText(e) });
      throw e instanceof FenceError ? e : new Error(`${RULE_STATE_UNAVAILABLE}: the rule state snapshot could not be written: ${errText(e)}`);
    }
    this.gen = next;
    this.snapshotBytes = bytes;
    this.dirty = false;
    const size = ruleStateSize(this.memory);
    this.o.log('rule_state.snapshot', { generation: next, bytes, chunks: chunks.length, keys: size.keys, entries: size.entries, exportMs: Math.round(exportMs), ms: Math.round(performance.now() - t0) });
  }

  private async renew(): Promise<void> {
    if (this.status_ !== 'ready') return;
    try {
      const reply = await this.r.jgRslRenew(this.keys.owner, this.o.token, String(this.leaseMs));
      if (reply[0] !== 1) this.fenced(reply[1]);
    } catch (e) {
      this.o.log('rule_state.error', { phase: 'renew', err: errText(e) });
    }
  }

  /** Drops expired keys and logs that it did (a replay must drop them at the same point). */
  async sweep(): Promise<number> {
    if (this.status_ !== 'ready' || this.recovering) return 0;
    this.clock = this.now();
    const n = sweepRuleState(this.memory, this.clock);
    if (n > 0) {
      try {
        await this.append(JSON.stringify([this.clock, 's']));
      } catch (e) {
        this.o.log('rule_state.error', { phase: 'sweep', err: errText(e) });
      }
    }
    return n;
  }

  status(): LocalRuleStateStatus {
    const size = ruleStateSize(this.memory);
    return { state: this.status_, keys: size.keys, entries: size.entries, generation: this.gen, logBytes: this.logBytes, snapshotBytes: this.snapshotBytes };
  }

  /** Stops the timers and gives the lease back (the log already holds everything answered). */
  async close(): Promise<void> {
    if (this.status_ === 'closed') return;
    this.status_ = 'closed';
    for (const t of this.timers) clearInterval(t);
    await this.snapshotting?.catch(() => undefined);
    await this.r.jgRslRelease(this.keys.owner, this.o.token).catch(() => undefined);
  }

  /** The states an evaluation context takes: every call goes through run() (batched by the engine). */
  context(): { state: WindowState } & RedisRuleStates {
    return statesOver({ run: (ops) => this.run(ops) });
  }

  /** Read-only states for the hold path, over peek(). */
  peekStates(): PeekRuleStates {
    return statesOver({ run: (ops) => this.peek(ops) }, false);
  }
}

/**
 * The four states over one StateBatcher: each single call is a one-operation run. With
 * `batched`, the states expose the batcher, so RuleEngine.evaluateBatch sends a whole batch's
 * calls in one run(); the hold path's peeks are single calls (coalesced by the caller if remote).
 */
export function statesOver(b: StateBatcher, batched = true): { state: WindowState } & RedisRuleStates {
  const one = async <T>(op: StateOp): Promise<T> => (await b.run([op]))[0] as T;
  const batcher = batched ? { batcher: b } : {};
  return {
    state: { ...batcher, observe: (key, member, at, windowMs) => one<number>({ op: 'observe', key, member, at, windowMs }) },
    intervals: { ...batcher, overlap: (key, id, member, start, end, retainMs) => one<IntervalConflict>({ op: 'overlap', key, id, member, start, end, retainMs }) },
    fingerprints: {
      ...batcher,
      claim: async (key, fingerprint, owner, id, at, windowMs, retainMs) => (await one<FingerprintMatch[]>({ op: 'claim', key, fingerprints: [fingerprint], owner, id, at, windowMs, retainMs }))[0]!,
      claimMany: (key, fingerprints, owner, id, at, windowMs, retainMs) => one<FingerprintMatch[]>({ op: 'claim', key, fingerprints, owner, id, at, windowMs, retainMs }),
    },
    sequences: {
      ...batcher,
      record: (key, event, id, at, retainMs) => one<void>({ op: 'record', key, event, id, at, retainMs }),
      latest: (key, event, id, at, windowMs, retainMs) => one<SequenceMatch | null>({ op: 'latest', key, event, id, at, windowMs, retainMs }),
    },
  };
}
