/**
 * Collectors connected across hub replicas: the wall's "在线采集终端" figures, the collectors
 * page's 在线 column and the silence check all mean "connected to any replica".
 *
 * Design note
 * -----------
 * A collector holds one /collect socket on one replica. Each replica knows its own sockets
 * exactly and at once (ingest's namespace handle: `local()`), and adds what the other replicas
 * published:
 *
 *   `${prefix}:presence`              ZSET  replica id → the time its entry stops being valid
 *   `${prefix}:presence:${replica}`   HASH  collector id → county adcode ('' unknown); PEXPIRE ttlMs
 *
 * Collector ids rather than counts, so a collector seen on two replicas while it moves counts
 * once, and so "is this collector connected anywhere" has an answer. (A province's ten thousand
 * collectors make hashes of a few hundred kilobytes, read every `refreshMs`.)
 *
 * Every `refreshMs` (and `settleMs` after a local connect or disconnect) a replica rewrites its
 * hash in one MULTI and reads the others' (the ZSET's members still valid, their hashes in one
 * pipeline). A replica that stops cleanly deletes its entry; one that dies stops counting within
 * `ttlMs`. So a screen's figure is its own replica's sockets now plus the others' as of at most
 * `refreshMs + settleMs` ago: a collector that moved between replicas may be missing for that
 * long (it is never counted twice).
 *
 * Redis failures are logged and leave the last known entries in place for up to `ttlMs`, then
 * none; they never reach a caller (the wall reads `connected()` / `connectedIn()` synchronously
 * while building its statistics). A single hub sees no other replica: its figures are exactly
 * its own sockets, as before.
 */
import crypto from 'node:crypto';
import type { FastifyBaseLogger } from 'fastify';
import type { Redis } from 'ioredis';
import { errorMessage } from '../errors.js';
import { emit } from '../telemetry/events.js';

/** One replica's connected collectors: collector id → county adcode ('' when unknown). */
export type PresenceMap = ReadonlyMap<string, string>;

export interface ClusterPresenceOptions {
  redis: Redis;
  /** JG_QUEUE_PREFIX: replicas of one hub share it. */
  prefix: string;
  /** This replica's own collectors, now. */
  local: () => PresenceMap;
  log: FastifyBaseLogger;
  /** Called when the other replicas' figures changed (the wall then recomputes its statistics). */
  onChange?: () => void;
  /** @defaultValue 5000 */
  refreshMs?: number;
  /** How long a replica's published entry stays valid without a refresh. @defaultValue 3 × refreshMs */
  ttlMs?: number;
  /** Delay between a local connect or disconnect and publishing it (bursts make one write). @defaultValue 500 */
  settleMs?: number;
}

export class ClusterPresence {
  /** This replica's id in Redis: new for every start, so a restarted replica never reads itself. */
  readonly replicaId = crypto.randomUUID();
  private others: PresenceMap = new Map();
  private readonly refreshMs: number;
  private readonly ttlMs: number;
  private readonly settleMs: number;
  private timer: NodeJS.Timeout | undefined;
  private settle: NodeJS.Timeout | undefined;
  private running: Promise<void> = Promise.resolve();
  private closed = false;
  /** When the others' entries were last read. */
  private lastRead = 0;
  /** This replica's collectors as last listed (`mine`). */
  private local: PresenceMap | undefined;

  constructor(private readonly o: ClusterPresenceOptions) {
    this.refreshMs = o.refreshMs ?? 5_000;
    this.ttlMs = o.ttlMs ?? 3 * this.refreshMs;
    this.settleMs = o.settleMs ?? 500;
  }

  private get zsetKey(): string {
    return `${this.o.prefix}:presence`;
  }

  private hashKey(replica: string): string {
    return `${this.o.prefix}:presence:${replica}`;
  }

  /** Publishes at once and then every `refreshMs`. Resolves after the first round. */
  async start(): Promise<void> {
    await this.refresh();
    this.timer = setInterval(() => void this.refresh(), this.refreshMs);
    this.timer.unref();
  }

  /**
   * This replica's collectors. The wall asks for every scope of every statistics round, and
   * listing them walks all sockets, so the list is kept until a collector connects or leaves
   * (`changed`) or a round refreshes it.
   */
  private mine(): PresenceMap {
    this.local ??= this.o.local();
    return this.local;
  }

  /** A collector connected to or disconnected from this replica. */
  changed(): void {
    this.local = undefined;
    if (this.closed || this.settle) return;
    this.settle = setTimeout(() => {
      this.settle = undefined;
      void this.refresh();
    }, this.settleMs);
    this.settle.unref();
  }

  /** Collectors connected to any replica. */
  connected(): number {
    const mine = this.mine();
    let n = mine.size;
    for (const id of this.others.keys()) if (!mine.has(id)) n++;
    return n;
  }

  /** Collectors connected to any replica at one county's institutions. */
  connectedIn(county: string): number {
    const mine = this.mine();
    let n = 0;
    for (const c of mine.values()) if (c === county) n++;
    for (const [id, c] of this.others) if (c === county && !mine.has(id)) n++;
    return n;
  }

  /** Whether another replica reported this collector connected (as of its last refresh). */
  elsewhere(collectorId: string): boolean {
    return this.others.has(collectorId);
  }

  /** One round: publish this replica's collectors, read the others'. Rounds never overlap. */
  refresh(): Promise<void> {
    this.running = this.running.then(() => (this.closed ? undefined : this.round()));
    return this.running;
  }

  private async round(): Promise<void> {
    const { redis } = this.o;
    const now = Date.now();
    try {
      const fields: string[] = [];
      // Listed afresh every round: a change of an institution's county reaches the figures too.
      this.local = this.o.local();
      for (const [id, county] of this.local) fields.push(id, county);
      const key = this.hashKey(this.replicaId);
      const m = redis.multi().del(key);
      // No collectors here: no hash (Redis has no empty one); the ZSET entry still says "alive".
      if (fields.length > 0) m.hset(key, ...fields).pexpire(key, this.ttlMs);
      await m
        .zadd(this.zsetKey, now + this.ttlMs, this.replicaId)
        .zremrangebyscore(this.zsetKey, '-inf', now)
        .exec();
      const ids = (await redis.zrangebyscore(this.zsetKey, now, '+inf')).filter((id) => id !== this.replicaId);
      const hashes = ids.length === 0 ? [] : ((await redis.pipeline(ids.map((id) => ['hgetall', this.hashKey(id)])).exec()) ?? []);
      const others = new Map<string, string>();
      for (const [err, h] of hashes) {
        if (err || typeof h !== 'object' || h === null) continue;
        for (const [id, county] of Object.entries(h as Record<string, string>)) others.set(id, county);
      }
      this.lastRead = now;
      this.replace(others);
    } catch (e) {
      emit(this.o.log, 'presence.failed', { replica: this.replicaId, err: errorMessage(e) });
      // What the others published is no longer known once it would have expired anyway.
      if (now - this.lastRead > this.ttlMs) this.replace(new Map());
    }
  }

  private replace(others: PresenceMap): void {
    const before = this.others;
    this.others = others;
    if (!sameMap(before, others)) this.o.onChange?.();
  }

  /** Stops publishing and removes this replica's entry (the others drop it at their next round). */
  async close(): Promise<void> {
    this.closed = true;
    if (this.timer) clearInterval(this.timer);
    if (this.settle) clearTimeout(this.settle);
    await this.running;
    try {
      await this.o.redis.multi().del(this.hashKey(this.replicaId)).zrem(this.zsetKey, this.replicaId).exec();
    } catch (e) {
      emit(this.o.log, 'presence.failed', { replica: this.replicaId, err: errorMessage(e) });
    }
  }
}

function sameMap(a: PresenceMap, b: PresenceMap): boolean {
  if (a.size !== b.size) return false;
  for (const [k, v] of a) if (b.get(k) !== v) return false;
  return true;
}
