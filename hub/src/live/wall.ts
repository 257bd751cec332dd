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
  type WallClientToServer,
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
  monthScoreRanking,
  pipelineLagP95,
  recentWarnings,
  wallWorkflowStats,
  warningFromRecord,
} from '../store/repo.js';
import type { Store } from '../store/store.js';
import type { FastifyBaseLogger } from 'fastify';

const DAY_MS = 86_400_000;
const CST_OFFSET_MS = 8 * 3_600_000;
const MAX_PER_EMIT = 200;
/** Pipeline lag window (管道延迟). */
const LAG_WINDOW_MS = 5 * 60_000;
/** Stats are pushed at least this often even when nothing was stored (lag, workflow changes). */
const STATS_MAX_AGE_MS = 30_000;
/** The monthly score ranking changes slowly: re-read at most this often. */
const SCORES_TTL_MS = 60_000;
const COLLECTOR_LATEST = 5;
const SCORE_TOP = 10;

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
}

export class WallBroadcaster {
  private readonly nsp: Namespace<WallClientToServer, WallServerToClient>;
  private pending: WallWarning[] = [];
  private dirty = true;
  private flushTimer: NodeJS.Timeout;
  private statsTimer: NodeJS.Timeout;
  private computing = false;
  private lastStatsAt = 0;
  private scores: { at: number; month: string; rows: WallScoreRank[] } | null = null;

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

  /** Called by the worker after a batch is stored. */
  published(warnings: readonly Warning[]): void {
    this.dirty = true;
    for (const w of warnings) this.pending.push(this.toWall(w));
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
    };
  }

  /** This month's evaluation ranking, cached for SCORES_TTL_MS (read only; never materialised here). */
  private async scoreRanking(now: number): Promise<{ month: string; rows: WallScoreRank[] }> {
    const month = new Date(now + CST_OFFSET_MS).toISOString().slice(0, 7);
    if (this.scores && this.scores.month === month && now - this.scores.at < SCORES_TTL_MS) return this.scores;
    const rows = await monthScoreRanking(this.deps.store, month, SCORE_TOP);
    const list = rows.map((r) => {
      const inst = this.deps.registry.institution(r.institution_id);
      const county = inst?.county ?? '';
      return {
        id: r.institution_id,
        name: inst?.name ?? r.institution_id,
        county,
        countyName: COUNTY_BY_CODE.get(county)?.name ?? '',
        typeName: inst ? (INSTITUTION_TYPE_LABELS[inst.type] ?? inst.type) : '',
        score: Math.round(r.score * 10) / 10,
        grade: r.grade,
        veto: r.veto,
      };
    });
    this.scores = { at: now, month, rows: list };
    return this.scores;
  }

  async snapshot(): Promise<WallSnapshot> {
    const [stats, recent] = await Promise.all([this.stats(), recentWarnings(this.deps.store, 50)]);
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
