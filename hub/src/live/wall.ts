/**
 * The /wall broadcaster. Warnings are buffered and emitted in batches every `flushMs`; county
 * counters are recomputed from ClickHouse at most every `statsIntervalMs`, and only when
 * something was stored — a busy pipeline costs the wall a few emits per second, not one per
 * record. A newly connected screen gets a snapshot first.
 */
import type { Namespace, Server } from 'socket.io';
import { COUNTY_BY_CODE, COUNTIES, INSTITUTION_TYPE_LABELS, type Warning } from '@jianguan/rules';
import {
  NAMESPACE_WALL,
  WALL_RECENT_LIMIT,
  type WallClientToServer,
  type WallHourly,
  type WallScoreRank,
  type WallServerToClient,
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
import { businessTypes, hourlyCounts, monthScores, overdueOpen, worstFirst, type MonthScore } from './wall-stats.js';
import type { FastifyBaseLogger } from 'fastify';

const DAY_MS = 86_400_000;
const CST_OFFSET_MS = 8 * 3_600_000;
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
const SCORE_TOP = 10;
/** Rows of the business-type breakdown and of the overdue list. */
const BUSINESS_TYPES_TOP = 8;
const OVERDUE_TOP = 8;
/** Yesterday's hours change only with late arrivals: re-read at most this often. */
const YESTERDAY_TTL_MS = 10 * 60_000;

/** [start, end) of the current day in China Standard Time, as epoch ms. */
export function localDay(now: number): { from: number; to: number; day: string } {
  const from = Math.floor((now + CST_OFFSET_MS) / DAY_MS) * DAY_MS - CST_OFFSET_MS;
  return { from, to: from + DAY_MS, day: new Date(from + CST_OFFSET_MS).toISOString().slice(0, 10) };
}

export interface WallDeps {
  store: Store;
  registry: Registry;
  log: FastifyBaseLogger;
  flushMs: number;
  statsIntervalMs: number;
  collectorsConnected: () => number;
  /**
   * Every institution's evaluation for a month ('YYYY-MM'). Given by the app as the evaluation
   * service's read, which materialises a month never computed, so the wall has a ranking at once
   * instead of after the first periodic refresh. @defaultValue reads evaluation_scores as stored
   */
  monthScores?: (month: string) => Promise<MonthScore[]>;
  /** Warnings about business older than this are not pushed as live. @defaultValue LIVE_MAX_AGE_MS */
  liveMaxAgeMs?: number;
}

/** Six hours: a collector's ordinary catch-up after an outage still shows; a replayed week does not. */
export const LIVE_MAX_AGE_MS = 6 * 3_600_000;

export class WallBroadcaster {
  private readonly nsp: Namespace<WallClientToServer, WallServerToClient>;
  private pending: WallWarning[] = [];
  private dirty = true;
  private flushTimer: NodeJS.Timeout;
  private statsTimer: NodeJS.Timeout;
  private computing = false;
  private lastStatsAt = 0;
  private scores: { at: number; month: string; rows: WallScoreRank[]; ranked: number; unranked: number } | null = null;
  private yesterday: { at: number; day: number; hours: WallHourly } | null = null;

  constructor(io: Server, private readonly deps: WallDeps) {
    this.nsp = io.of(NAMESPACE_WALL) as unknown as Namespace<WallClientToServer, WallServerToClient>;
    this.nsp.on('connection', (socket) => {
      this.snapshot().then(
        (s) => socket.emit('wall.snapshot', s),
        (e) => deps.log.error({ event: 'wall.snapshot_failed', err: e }),
      );
      socket.on('wall.resync', (ack) => {
        if (typeof ack !== 'function') return;
        this.snapshot().then(ack, (e) => deps.log.error({ event: 'wall.snapshot_failed', err: e }));
      });
    });
    this.flushTimer = setInterval(() => this.flush(), deps.flushMs);
    this.statsTimer = setInterval(() => void this.pushStats(), deps.statsIntervalMs);
    this.flushTimer.unref();
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
  }

  /** Collector connects and disconnects change a KPI too. */
  touch(): void {
    this.dirty = true;
  }

  private flush(): void {
    if (this.pending.length === 0) return;
    const batch = this.pending;
    this.pending = [];
    for (let i = 0; i < batch.length; i += MAX_PER_EMIT) this.nsp.emit('warning.raised', batch.slice(i, i + MAX_PER_EMIT));
  }

  private async pushStats(): Promise<void> {
    if (this.computing || this.nsp.sockets.size === 0) return;
    if (!this.dirty && Date.now() - this.lastStatsAt < STATS_MAX_AGE_MS) return;
    this.computing = true;
    this.dirty = false;
    try {
      // Every replica computes the same figures from the store for its own screens: local only.
      this.nsp.local.emit('county.stats', await this.stats());
      this.lastStatsAt = Date.now();
    } catch (e) {
      this.dirty = true;
      this.deps.log.error({ event: 'wall.stats_failed', err: e });
    } finally {
      this.computing = false;
    }
  }

  async stats(now = Date.now()): Promise<WallStats> {
    const { from, to, day } = localDay(now);
    const store = this.deps.store;
    const s = await dayStats(store, from, to);
    const wf = await wallWorkflowStats(store, from, to);
    const health = await collectorHealth(store, from, to, COLLECTOR_LATEST);
    const lag = await pipelineLagP95(store, now, LAG_WINDOW_MS);
    const scores = await this.scoreRanking(now);
    const today = await hourlyCounts(store, from);
    const yesterday = await this.yesterdayHours(from, now);
    const types = await businessTypes(store, from, to, BUSINESS_TYPES_TOP);
    const overdue = await overdueOpen(store, OVERDUE_TOP);
    const byCounty = new Map(s.counties.map((c) => [c.county, c]));
    return {
      kpis: {
        day,
        transactions: s.transactions,
        warnings: s.warnings,
        holds: s.holds,
        deadLetters: s.deadLetters,
        collectorsConnected: this.deps.collectorsConnected(),
        concludedToday: wf.concluded,
        concludedOnTime: wf.onTime,
        overdue: wf.overdue,
        pipelineLagP95Ms: lag.p95Ms,
      },
      counties: COUNTIES.map((c) => ({
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
      hourly: { today, yesterday },
      businessTypes: types,
      overdueList: overdue.map((o) => ({
        id: o.id,
        ruleName: o.rule_name,
        severity: o.severity,
        institutionName: this.deps.registry.institution(o.institution_id)?.name ?? '',
        countyName: COUNTY_BY_CODE.get(o.county)?.name ?? '',
        stateLabel: o.stateLabel,
        raisedAt: o.raised_at,
        escalatedAt: o.escalated_at,
      })),
    };
  }

  private async yesterdayHours(todayFrom: number, now: number): Promise<WallHourly> {
    const day = todayFrom - DAY_MS;
    if (this.yesterday && this.yesterday.day === day && now - this.yesterday.at < YESTERDAY_TTL_MS) return this.yesterday.hours;
    const hours = await hourlyCounts(this.deps.store, day);
    this.yesterday = { at: now, day, hours };
    return hours;
  }

  /**
   * This month's evaluation ranking, worst first, cached for SCORES_TTL_MS. A month with no scores
   * yet is not cached, so the ranking appears at the next push once the scores exist.
   */
  private async scoreRanking(now: number): Promise<{ month: string; rows: WallScoreRank[]; ranked: number; unranked: number }> {
    const month = new Date(now + CST_OFFSET_MS).toISOString().slice(0, 7);
    if (this.scores && this.scores.month === month && now - this.scores.at < SCORES_TTL_MS) return this.scores;
    const all = await (this.deps.monthScores ?? ((m: string) => monthScores(this.deps.store, m)))(month);
    // Only institutions the registry knows: the wall shows names, never bare ids.
    const known = all.filter((r) => this.deps.registry.institution(r.institution_id) !== undefined);
    const { ranked, total, unranked } = worstFirst(known, SCORE_TOP);
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
    const result = { at: now, month, rows: list, ranked: total, unranked };
    if (all.length > 0) this.scores = result;
    return result;
  }

  async snapshot(): Promise<WallSnapshot> {
    const [stats, recent] = await Promise.all([this.stats(), recentWarnings(this.deps.store, WALL_RECENT_LIMIT)]);
    return {
      ...stats,
      serverTime: Date.now(),
      institutionsList: this.deps.registry.listInstitutions().map((i) => ({
        id: i.id,
        name: i.name,
        type: i.type,
        typeName: INSTITUTION_TYPE_LABELS[i.type] ?? i.type,
        county: i.county,
        lon: i.lon,
        lat: i.lat,
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

  close(): void {
    clearInterval(this.flushTimer);
    clearInterval(this.statsTimer);
    this.flush();
  }
}
