/**
 * The /wall broadcaster. Warnings go out as soon as their batch is committed, at most one emit
 * per `flushMs` (a leading-edge throttle: the first batch after a quiet spell is sent at once, the
 * ones arriving within `flushMs` of an emit wait for the next one and travel together); county
 * counters are recomputed from ClickHouse at most every `statsIntervalMs`, and only when
 * something was stored — a busy pipeline costs the wall a few emits per second, not one per
 * record. A newly connected screen gets a snapshot first.
 *
 * Scopes. A screen's viewer (socket.data.viewer, set by the /wall guard) is the whole city or one
 * county. Each screen joins one socket.io room: `city`, or `county:<adcode>`. Live warnings go to
 * `city` in full and to each county's room filtered, through the room, so the Redis adapter
 * carries them to screens on every replica. Snapshots and statistics are computed per scope with
 * the county filter in the query (never city figures trimmed afterwards), and only for the scopes
 * of screens connected to this replica: a push costs one computation per scope present (at most
 * the city and its eleven counties), however many screens show it, and concurrent snapshots of
 * one scope share one computation.
 */
import type { Server } from 'socket.io';
import { COUNTY_BY_CODE, COUNTIES, INSTITUTION_TYPE_LABELS, type Warning } from '@jianguan/rules';
import {
  WALL_RECENT_LIMIT,
  type WallHourly,
  type WallScope,
  type WallScoreRank,
  type WallSnapshot,
  type WallStats,
  type WallWarning,
} from '../protocol/index.js';
import type { Registry } from '../registry/registry.js';
import {
  collectorHealth,
  dayStats,
  pipelineLagP95,
  recentWarnings,
  wallWorkflowStats,
  warningFromRecord,
} from '../store/repo.js';
import type { Store } from '../store/store.js';
import { wallNamespace, type WallNamespace } from '../sockets.js';
import { hourlyCounts, monthScores, overdueOpen, topBusinessTypes, worstFirst, type MonthScore } from './wall-stats.js';
import type { FastifyBaseLogger } from 'fastify';
import { emit, pipeline } from '../telemetry/events.js';
import { DAY_MS, dayBounds, monthOf } from '../time/business-time.js';

const MAX_PER_EMIT = 200;
/** Pipeline lag window (管道延迟). */
const LAG_WINDOW_MS = 5 * 60_000;
/** Stats are pushed at least this often even when nothing was stored (lag, workflow changes). */
const STATS_MAX_AGE_MS = 30_000;
/**
 * The monthly score ranking changes slowly, but a confirmed veto must reach the wall within
 * seconds, not minutes: re-read at most this often (a few hundred rows of one month).
 */
const SCORES_TTL_MS = 15_000;
const COLLECTOR_LATEST = 5;
/** After a statistics round, wait this many times its duration before the next one. */
const STATS_REST_FACTOR = 4;
const SCORE_TOP = 10;
/** Rows of the business-type breakdown and of the overdue list. */
const BUSINESS_TYPES_TOP = 8;
const OVERDUE_TOP = 8;
/** Yesterday's hours change only with late arrivals: re-read at most this often. */
const YESTERDAY_TTL_MS = 10 * 60_000;

/** Room of the city-wide screens (every warning). */
export const CITY_ROOM = 'city';

/** The socket.io room of a scope: '' (the whole city) → `city`, an adcode → `county:<adcode>`. */
export function wallRoom(scope: string): string {
  return scope === '' ? CITY_ROOM : `county:${scope}`;
}

/**
 * A /wall socket's scope: its viewer's county, or '' for the whole city. A screen with no viewer
 * at all is only possible on a wall left open for a loopback demo (JG_WALL_PUBLIC), which shows
 * the city. A viewer's scope is never widened: whatever non-empty string it holds is the room and
 * the filter, so an unknown county sees nothing rather than everything.
 */
export function viewerScope(data: unknown): string {
  const viewer = (data as { viewer?: { scope?: unknown } } | undefined)?.viewer;
  return typeof viewer?.scope === 'string' ? viewer.scope : '';
}

/**
 * Hands `items` to every scope that may see them: all of them to the city room, each county's to
 * its room. For anything the hub pushes to the wall outside the broadcaster's own batches (the
 * workflow's overdue escalations).
 */
export function emitToScopes<T extends { county: string }>(items: readonly T[], emit: (room: string, items: T[]) => void): void {
  if (items.length === 0) return;
  emit(CITY_ROOM, [...items]);
  const byCounty = new Map<string, T[]>();
  for (const it of items) {
    // A warning without a county is the city's only (an institution the registry does not place).
    if (!it.county) continue;
    const list = byCounty.get(it.county);
    if (list) list.push(it);
    else byCounty.set(it.county, [it]);
  }
  for (const [county, list] of byCounty) emit(wallRoom(county), list);
}

/** [start, end) of the current day in China Standard Time, as epoch ms. */
export const localDay = dayBounds;

export interface WallDeps {
  store: Store;
  registry: Registry;
  log: FastifyBaseLogger;
  flushMs: number;
  statsIntervalMs: number;
  /** Collectors connected to any replica (the city's figure; collectors/cluster-presence.ts). */
  collectorsConnected: () => number;
  /** Collectors connected to any replica at one county's institutions. */
  collectorsConnectedIn: (county: string) => number;
  /**
   * Every institution's evaluation for a month ('YYYY-MM'). Given by the app as the evaluation
   * service's read, which materialises a month never computed, so the wall has a ranking at once
   * instead of after the first periodic refresh. @defaultValue reads evaluation_scores as stored
   */
  monthScores?: (month: string) => Promise<MonthScore[]>;
  /** Warnings about business older than this are not pushed as live. @defaultValue LIVE_MAX_AGE_MS */
  liveMaxAgeMs?: number;
  /** Whether the hub can take batches now (its queue's Redis answers): else the wall says so. @defaultValue always */
  ingestUp?: () => boolean;
}

/** Three days: Monday's first business after a weekend and a collector's ordinary catch-up after an outage still show; a replayed past week does not. */
export const LIVE_MAX_AGE_MS = 72 * 3_600_000;

export class WallBroadcaster {
  private readonly nsp: WallNamespace;
  private pending: WallWarning[] = [];
  private dirty = true;
  private ingestWasUp = true;
  private flushTimer: NodeJS.Timeout | undefined;
  private lastFlushAt = 0;
  private statsRestUntil = 0;
  private closed = false;
  private statsTimer: NodeJS.Timeout;
  /** The statistics round in progress, if any: one at a time, and close() waits for it before the store closes. */
  private statsRound: Promise<void> | undefined;
  private lastStatsAt = 0;
  /** This month's scores of the institutions the registry knows (all counties; ranked per scope). */
  private scores: { at: number; month: string; known: MonthScore[] } | null = null;
  /** Yesterday's hours per scope. */
  private yesterday = new Map<string, { at: number; day: number; hours: WallHourly }>();
  /** Snapshots being computed, per scope: screens connecting together share one. */
  private snapshots = new Map<string, Promise<WallSnapshot>>();

  constructor(
    io: Server,
    private readonly deps: WallDeps,
  ) {
    this.nsp = wallNamespace(io);
    this.nsp.on('connection', (socket) => {
      const scope = viewerScope(socket.data);
      // Joined before anything is sent, so the first live batch already knows the screen's room.
      void socket.join(wallRoom(scope));
      // Closing: no new read of a store about to close (the screen reconnects to a running hub).
      if (this.closed) return;
      this.sharedSnapshot(scope).then(
        (s) => socket.emit('wall.snapshot', s),
        (e) => emit(deps.log, 'wall.snapshot_failed', { err: e, scope }),
      );
      socket.on('wall.resync', (ack) => {
        if (typeof ack !== 'function' || this.closed) return;
        this.sharedSnapshot(scope).then(ack, (e) => emit(deps.log, 'wall.snapshot_failed', { err: e, scope }));
      });
    });
    this.statsTimer = setInterval(() => void this.pushStats(), deps.statsIntervalMs);
    this.statsTimer.unref();
  }

  /**
   * Called by the worker after a batch is stored. Warnings about business older than
   * LIVE_MAX_AGE_MS (a replayed past week, a collector's backlog after days offline) are stored
   * and worked like any other, but are not news: they stay off the live ticker and map.
   */
  published(warnings: readonly Warning[]): void {
    this.dirty = true;
    const liveFrom = Date.now() - (this.deps.liveMaxAgeMs ?? LIVE_MAX_AGE_MS);
    for (const w of warnings) if (w.occurredAt >= liveFrom) this.pending.push(this.toWall(w));
    if (this.pending.length === 0 || this.flushTimer || this.closed) return;
    const wait = this.lastFlushAt + this.deps.flushMs - Date.now();
    if (wait <= 0) {
      this.flush();
      return;
    }
    this.flushTimer = setTimeout(() => {
      this.flushTimer = undefined;
      this.flush();
    }, wait);
    this.flushTimer.unref();
  }

  /** Collector connects and disconnects change a KPI too. */
  touch(): void {
    this.dirty = true;
  }

  private flush(): void {
    if (this.pending.length === 0) return;
    this.lastFlushAt = Date.now();
    const started = performance.now();
    const batch = this.pending;
    this.pending = [];
    emitToScopes(batch, (room, list) => {
      for (let i = 0; i < list.length; i += MAX_PER_EMIT) this.nsp.to(room).emit('warning.raised', list.slice(i, i + MAX_PER_EMIT));
    });
    pipeline.wallPushed(performance.now() - started);
  }

  /** Scopes of the screens connected to this replica ('' = the city). */
  private localScopes(): Set<string> {
    const scopes = new Set<string>();
    for (const socket of this.nsp.sockets.values()) scopes.add(viewerScope(socket.data));
    return scopes;
  }

  private async pushStats(): Promise<void> {
    if (this.closed || this.statsRound || this.nsp.sockets.size === 0) return;
    // Ingest stopping or starting again is news for the screens at once, not at the next round.
    const up = this.deps.ingestUp?.() !== false;
    if (up !== this.ingestWasUp) {
      this.ingestWasUp = up;
      this.dirty = true;
    }
    if (Date.now() < this.statsRestUntil) return;
    if (!this.dirty && Date.now() - this.lastStatsAt < STATS_MAX_AGE_MS) return;
    // Cleared once settled (a callback, so after the assignment even if the round ends at once).
    this.statsRound = this.statsRoundRun().finally(() => (this.statsRound = undefined));
    await this.statsRound;
  }

  private async statsRoundRun(): Promise<void> {
    this.dirty = false;
    const started = Date.now();
    // One scope after the other, not all at once: a dozen scopes must not become a dozen
    // concurrent aggregate bursts on the store.
    for (const scope of this.localScopes()) {
      // Closing: the store closes right after this broadcaster; no new statement on it.
      if (this.closed) return;
      try {
        // Every replica computes the same figures from the store for its own screens: local only.
        this.nsp.local.to(wallRoom(scope)).emit('county.stats', await this.stats(Date.now(), scope));
      } catch (e) {
        this.dirty = true;
        emit(this.deps.log, 'wall.stats_failed', { err: e, scope });
      }
    }
    this.lastStatsAt = Date.now();
    // The figures are aggregates over the day's rows: under a heavy pipeline and a large day
    // one round can take a good part of a second of the store's threads. Rest STATS_REST_FACTOR
    // times as long as it took before the next round, so the wall's figures never take more
    // than a fifth of the store, whatever the data size (live warnings are not affected).
    this.statsRestUntil = this.lastStatsAt + STATS_REST_FACTOR * (this.lastStatsAt - started);
  }



  /**
   * Statistics of one scope: '' = the whole city, an adcode = that county only (every figure
   * filtered in its query). The pipeline lag stays the city's: one pipeline serves every county,
   * and the figure names no business.
   */
  async stats(now = Date.now(), scope = ''): Promise<WallStats> {
    const { from, to, day } = localDay(now);
    const store = this.deps.store;
    const county = scope === '' ? null : scope;
    const s = await dayStats(store, from, to, county);
    const wf = await wallWorkflowStats(store, from, to, county);
    const health = await collectorHealth(store, from, to, COLLECTOR_LATEST, county);
    const lag = await pipelineLagP95(store, now, LAG_WINDOW_MS);
    const scores = await this.scoreRanking(now, scope);
    const yesterday = await this.yesterdayHours(from, now, scope);
    const overdue = await overdueOpen(store, OVERDUE_TOP, county);
    const byCounty = new Map(s.counties.map((c) => [c.county, c]));
    return {
      kpis: {
        day,
        transactions: s.transactions,
        warnings: s.warnings,
        holds: s.holds,
        deadLetters: s.deadLetters,
        collectorsConnected: county === null ? this.deps.collectorsConnected() : this.deps.collectorsConnectedIn(county),
        concludedToday: wf.concluded,
        concludedOnTime: wf.onTime,
        overdue: wf.overdue,
        pipelineLagP95Ms: lag.p95Ms,
        ...(this.deps.ingestUp?.() === false ? { ingestDown: true } : {}),
      },
      counties: COUNTIES.filter((c) => county === null || c.adcode === county).map((c) => ({
        adcode: c.adcode,
        name: c.name,
        transactions: byCounty.get(c.adcode)?.transactions ?? 0,
        warnings: byCounty.get(c.adcode)?.warnings ?? 0,
      })),
      institutions: s.institutions,
      collectorHealth: {
        ...health.counts,
        latest: health.latest.map((r) => this.toWall(warningFromRecord(r))),
      },
      scoreRanking: scores.rows,
      scoreMonth: scores.month,
      scoreRanked: scores.ranked,
      scoreUnranked: scores.unranked,
      hourly: { today: s.hours, yesterday },
      businessTypes: topBusinessTypes(s.types, BUSINESS_TYPES_TOP),
      overdueList: overdue.map((o) => ({
        id: o.id,
        ruleName: o.rule_name,
        severity: o.severity,
        institutionName: this.deps.registry.institution(o.institution_id)?.name ?? '',
        countyName: COUNTY_BY_CODE.get(o.county)?.name ?? '',
        state: o.state,
        stateLabel: o.stateLabel,
        raisedAt: o.raised_at,
        escalatedAt: o.escalated_at,
      })),
    };
  }

  private async yesterdayHours(todayFrom: number, now: number, scope: string): Promise<WallHourly> {
    const day = todayFrom - DAY_MS;
    const cached = this.yesterday.get(scope);
    if (cached && cached.day === day && now - cached.at < YESTERDAY_TTL_MS) return cached.hours;
    const hours = await hourlyCounts(this.deps.store, day, scope === '' ? null : scope);
    // Bounded: one entry per scope ever shown, and scopes are the city and its counties.
    this.yesterday.set(scope, { at: now, day, hours });
    return hours;
  }

  /**
   * This month's evaluation ranking of a scope, worst first. The month's scores are read once for
   * all scopes and cached for SCORES_TTL_MS; a county ranks its own institutions among themselves.
   * A month with no scores yet is not cached, so the ranking appears at the next push once the
   * scores exist.
   */
  private async scoreRanking(now: number, scope: string): Promise<{ month: string; rows: WallScoreRank[]; ranked: number; unranked: number }> {
    const month = monthOf(now);
    let known: MonthScore[];
    if (this.scores && this.scores.month === month && now - this.scores.at < SCORES_TTL_MS) {
      known = this.scores.known;
    } else {
      const all = await (this.deps.monthScores ?? ((m: string) => monthScores(this.deps.store, m)))(month);
      // Only institutions the registry knows: the wall shows names, never bare ids.
      known = all.filter((r) => this.deps.registry.institution(r.institution_id) !== undefined);
      if (all.length > 0) this.scores = { at: now, month, known };
    }
    const inScope = scope === '' ? known : known.filter((r) => this.deps.registry.institution(r.institution_id)?.county === scope);
    const { ranked, total, unranked } = worstFirst(inScope, SCORE_TOP);
    const list = ranked.map((r) => {
      const inst = this.deps.registry.institution(r.institution_id)!;
      return {
        id: r.institution_id,
        name: inst.name,
        county: inst.county,
        countyName: COUNTY_BY_CODE.get(inst.county)?.name ?? '',
        typeName: INSTITUTION_TYPE_LABELS[inst.type] ?? '',
        score: Math.round(r.score * 10) / 10,
        grade: r.grade,
        veto: r.veto,
      };
    });
    return { month, rows: list, ranked: total, unranked };
  }

  /** A snapshot of `scope`, shared with any computation of the same scope already under way. */
  private sharedSnapshot(scope: string): Promise<WallSnapshot> {
    const running = this.snapshots.get(scope);
    if (running) return running;
    const next = this.snapshot(scope).finally(() => this.snapshots.delete(scope));
    this.snapshots.set(scope, next);
    return next;
  }

  /** Everything a screen of `scope` ('' = the city, else an adcode) shows, for its first paint and resyncs. */
  async snapshot(scope = ''): Promise<WallSnapshot> {
    const county = scope === '' ? null : scope;
    const [stats, recent] = await Promise.all([this.stats(Date.now(), scope), recentWarnings(this.deps.store, WALL_RECENT_LIMIT, county)]);
    const place: WallScope | null = county === null ? null : { adcode: county, name: COUNTY_BY_CODE.get(county)?.name ?? '' };
    return {
      ...stats,
      serverTime: Date.now(),
      scope: place,
      institutionsList: this.deps.registry
        .listInstitutions()
        .filter((i) => county === null || i.county === county)
        .map((i) => ({
        id: i.id,
        name: i.name,
        type: i.type,
        typeName: INSTITUTION_TYPE_LABELS[i.type] ?? i.type,
        county: i.county,
        lon: i.lon ?? null,
        lat: i.lat ?? null,
      })),
      // Oldest first, like the live stream.
      recentWarnings: recent.map((r) => this.toWall(warningFromRecord(r))).reverse(),
    };
  }

  private toWall(w: Warning): WallWarning {
    const inst = this.deps.registry.institution(w.institutionId);
    return {
      id: w.id,
      ruleId: w.ruleId,
      ruleName: w.ruleName,
      family: w.family,
      severity: w.severity,
      action: w.action,
      transactionId: w.transactionId,
      batchId: w.batchId,
      institutionId: w.institutionId,
      institutionName: inst?.name ?? w.institutionId,
      county: w.county,
      countyName: COUNTY_BY_CODE.get(w.county)?.name ?? '',
      occurredAt: w.occurredAt,
      capturedAt: w.capturedAt,
      raisedAt: w.raisedAt,
      explanation: w.explanation,
      subjectMasked: w.subjectMasked,
    };
  }

  /**
   * Stops the timers, sends what is pending and waits for a statistics round and any screen's
   * snapshot in progress: the store closes after the services (infrastructure.ts), and a read
   * still running then failed on the closed store (wall.stats_failed or wall.snapshot_failed in
   * the log of an orderly shutdown).
   */
  async close(): Promise<void> {
    this.closed = true;
    if (this.flushTimer) clearTimeout(this.flushTimer);
    this.flushTimer = undefined;
    clearInterval(this.statsTimer);
    this.flush();
    // Screens' snapshots being read as well (their failures are logged where they are asked for).
    await Promise.allSettled([this.statsRound, ...this.snapshots.values()]);
  }
}
