/**
 * The wall's state, as rune fields the components read.
 *
 * Invariants (the wall runs unattended for days):
 * - Memory is bounded: recent warnings live in a fixed ring (`capacity`), duplicate detection
 *   remembers a fixed number of ids (`dedupeWindow`), per-rule counters are keyed by rule id and
 *   reset when the statistics day changes, pulses are keyed by institution id.
 * - The hub is the source of truth: a snapshot (on every connect and on resync) REPLACES the
 *   KPIs, county and institution statistics and the recent-warning list. Live events in between
 *   are applied in batches (`applyBatch`), never one by one, so a burst costs one render.
 * - A warning id is counted at most once, even if a resync snapshot repeats it.
 *
 * Reactive fields are `$state.raw` and replaced wholesale on each apply: components see one
 * consistent update per batch, and no deep proxies are built over thousands of objects.
 */
import type {
  CountyStat,
  WallBusinessType,
  WallCollectorHealth,
  WallHourly,
  WallInstitution,
  WallKpis,
  WallOverdueItem,
  WallScope,
  WallScoreRank,
  WallSnapshot,
  WallStats,
  WallWarning,
  WALL_RECENT_LIMIT,
} from '@jianguan/protocol';
import { localDate } from '@jianguan/rules';
import { RecentKeys, Ring } from './ring';

export type ConnectionStatus = 'connecting' | 'connected' | 'reconnecting' | 'disconnected';

export interface InstitutionActivity {
  transactions: number;
  warnings: number;
}

export interface RuleCount {
  ruleId: string;
  ruleName: string;
  family: WallWarning['family'];
  count: number;
}

export interface InstitutionRank {
  id: string;
  name: string;
  countyName: string;
  typeName: string;
  warnings: number;
  transactions: number;
}

export interface LiveBatch {
  /** Oldest first, as the hub sends them. */
  warnings: readonly WallWarning[];
  /** The latest statistics received in the batch window, if any. */
  stats: WallStats | null;
}

/**
 * The hub's snapshot carries this many recent warnings; the ring holds the same number, so a
 * reload shows the list the live stream had built. Checked against the protocol at compile time
 * (a value import would pull server-side zod into the bundle).
 */
export const RECENT_CAPACITY: typeof WALL_RECENT_LIMIT = 200;

/** How long an alert banner stays up before the warning is left to the list (ms). */
export const ALERT_MS = 12_000;

/** A warning that must be seen: high severity, a real-time hold, or a collector tamper. */
export function isAlarming(w: WallWarning): boolean {
  return w.severity === 'high' || w.action === 'hold' || w.ruleId === 'collector.tamper';
}

export interface WallAlert {
  warning: WallWarning;
  /** Local time (ms) the banner goes away. */
  until: number;
  /** Further alarming warnings that arrived while this one was up. */
  more: number;
}

export interface WallStateOptions {
  /** Recent warnings kept for the ticker. @defaultValue RECENT_CAPACITY (200) */
  capacity?: number;
  /** Warning ids remembered to drop duplicates. @defaultValue 4096 */
  dedupeWindow?: number;
  /** Rows in each ranking. @defaultValue 8 */
  topN?: number;
}

export const EMPTY_KPIS: WallKpis = {
  day: '',
  transactions: 0,
  warnings: 0,
  holds: 0,
  deadLetters: 0,
  collectorsConnected: 0,
};

export const EMPTY_HEALTH: WallCollectorHealth = { silent: 0, gap: 0, tamper: 0, latest: [] };

export class WallState {
  readonly capacity: number;
  readonly topN: number;

  connection = $state<ConnectionStatus>('connecting');
  /** Why the hub refused this screen, when it did ('auth': no login or kiosk token); null otherwise. */
  refused = $state<'auth' | null>(null);
  /** Local time (ms) of the last snapshot or batch applied. */
  lastUpdate = $state<number | null>(null);
  /** Server clock minus local clock, from the last snapshot. */
  serverOffsetMs = $state(0);
  hasSnapshot = $state(false);
  /** Statistics applied so far (snapshots and county.stats pushes), for diagnostics and tests. */
  statsSeq = $state(0);

  /** The county this screen is limited to (its viewer's scope, from the snapshot); null = the whole city. */
  scope = $state.raw<WallScope | null>(null);
  kpis = $state.raw<WallKpis>(EMPTY_KPIS);
  counties = $state.raw<readonly CountyStat[]>([]);
  institutions = $state.raw<readonly WallInstitution[]>([]);
  activity = $state.raw<ReadonlyMap<string, InstitutionActivity>>(new Map());
  /** Newest first, at most `capacity`. */
  recent = $state.raw<readonly WallWarning[]>([]);
  topRules = $state.raw<readonly RuleCount[]>([]);
  /** 采集终端状态: collector warnings today (replaced by each stats update that carries it). */
  collectorHealth = $state.raw<WallCollectorHealth>(EMPTY_HEALTH);
  /** This month's evaluation ranking (worst first) and its month. */
  scoreRanking = $state.raw<readonly WallScoreRank[]>([]);
  scoreMonth = $state('');
  /** Institutions ranked this month, and those without business (not ranked); null before the hub said. */
  scoreRanked = $state<number | null>(null);
  scoreUnranked = $state<number | null>(null);
  /** Today and yesterday by hour; null until the hub sends them. */
  hourly = $state.raw<{ today: WallHourly; yesterday: WallHourly } | null>(null);
  businessTypes = $state.raw<readonly WallBusinessType[]>([]);
  overdueList = $state.raw<readonly WallOverdueItem[]>([]);
  /** The alert banner: the latest alarming live warning, for ALERT_MS; null when none is up. */
  alert = $state.raw<WallAlert | null>(null);
  /** Institution id → pulse sequence number; bumps when a new warning for it arrives. */
  pulses = $state.raw<Readonly<Record<string, number>>>({});

  institutionRanking: readonly InstitutionRank[] = $derived.by(() => this.#rankInstitutions());

  #ring: Ring<WallWarning>;
  #seen: RecentKeys;
  #ruleCounts = new Map<string, RuleCount>();
  /** Client-side per-institution counts, used only when the hub sent no per-institution stats. */
  #instCounts = new Map<string, number>();
  /** Bumped whenever the client-side counters change, so rankings derived from them re-run. */
  #countsRev = $state(0);
  #countDay = '';
  #pulseSeq = 0;

  constructor(options: WallStateOptions = {}) {
    this.capacity = options.capacity ?? RECENT_CAPACITY;
    this.topN = options.topN ?? 8;
    this.#ring = new Ring<WallWarning>(this.capacity);
    this.#seen = new RecentKeys(Math.max(options.dedupeWindow ?? 4096, this.capacity));
  }

  /** Replaces everything from a snapshot (sent by the hub on connect and on resync). */
  applySnapshot(s: WallSnapshot, now: number = Date.now()): void {
    this.serverOffsetMs = Number.isFinite(s.serverTime) ? s.serverTime - now : 0;
    this.scope = s.scope ?? null;
    this.#applyStats(s);
    this.institutions = s.institutionsList.slice();

    this.#ring.clear();
    const fresh: WallWarning[] = [];
    for (const w of s.recentWarnings) {
      this.#ring.push(w);
      if (this.#seen.add(w.id)) fresh.push(w);
    }
    this.#count(fresh);
    this.recent = this.#ring.newestFirst();
    this.hasSnapshot = true;
    this.lastUpdate = now;
  }

  /** Applies live events gathered over one throttle window. */
  applyBatch(batch: LiveBatch, now: number = Date.now()): void {
    if (batch.stats) this.#applyStats(batch.stats);
    if (batch.warnings.length > 0) {
      const fresh: WallWarning[] = [];
      for (const w of batch.warnings) {
        if (!this.#seen.add(w.id)) continue;
        this.#ring.push(w);
        fresh.push(w);
      }
      if (fresh.length > 0) {
        this.#raiseAlert(fresh, now);
        this.#count(fresh);
        this.recent = this.#ring.newestFirst();
        const pulses = { ...this.pulses };
        for (const w of fresh) if (w.institutionId) pulses[w.institutionId] = ++this.#pulseSeq;
        this.pulses = pulses;
      }
    }
    if (batch.stats || batch.warnings.length > 0) this.lastUpdate = now;
  }

  /** Drops the banner once its time is up (called by the page's clock). */
  expireAlert(now: number = Date.now()): void {
    if (this.alert && now >= this.alert.until) this.alert = null;
  }

  /**
   * Only live warnings raise the banner, never a snapshot: a reload must not replay old alarms.
   * A new alarming warning replaces the one shown (newest is what the room needs) and restarts
   * the time; the count of the others is shown so none is silently swallowed.
   */
  #raiseAlert(fresh: readonly WallWarning[], now: number): void {
    const alarming = fresh.filter(isAlarming);
    if (alarming.length === 0) return;
    const up = this.alert && now < this.alert.until ? this.alert : null;
    const more = (up ? up.more + 1 : 0) + alarming.length - 1;
    this.alert = { warning: alarming[alarming.length - 1]!, until: now + ALERT_MS, more };
  }

  /** Institution by id, for the map and the ticker. */
  institution(id: string): WallInstitution | undefined {
    return this.institutions.find((i) => i.id === id);
  }

  #applyStats(s: WallStats): void {
    this.statsSeq++;
    if (s.kpis.day && s.kpis.day !== this.#countDay) {
      // A new statistics day: yesterday's per-rule counters no longer apply.
      this.#countDay = s.kpis.day;
      this.#ruleCounts.clear();
      this.#instCounts.clear();
      this.topRules = [];
      this.#countsRev++;
    }
    this.kpis = s.kpis;
    if (s.collectorHealth) this.collectorHealth = s.collectorHealth;
    if (s.scoreRanking) this.scoreRanking = s.scoreRanking.slice(0, this.topN);
    if (s.scoreMonth !== undefined) this.scoreMonth = s.scoreMonth;
    if (s.scoreRanked !== undefined) this.scoreRanked = s.scoreRanked;
    if (s.scoreUnranked !== undefined) this.scoreUnranked = s.scoreUnranked;
    if (s.hourly) this.hourly = s.hourly;
    if (s.businessTypes) this.businessTypes = s.businessTypes;
    if (s.overdueList) this.overdueList = s.overdueList;
    this.counties = s.counties.slice();
    this.activity = new Map(s.institutions.map((i) => [i.id, { transactions: i.transactions, warnings: i.warnings }]));
  }

  /** Adds warnings (already de-duplicated) to today's per-rule and per-institution counters. */
  #count(warnings: readonly WallWarning[]): void {
    let changed = false;
    for (const w of warnings) {
      if (this.#countDay && localDate(w.raisedAt) !== this.#countDay) continue;
      const rc = this.#ruleCounts.get(w.ruleId);
      if (rc) {
        rc.count++;
        rc.ruleName = w.ruleName;
      } else {
        this.#ruleCounts.set(w.ruleId, { ruleId: w.ruleId, ruleName: w.ruleName, family: w.family, count: 1 });
      }
      if (w.institutionId) this.#instCounts.set(w.institutionId, (this.#instCounts.get(w.institutionId) ?? 0) + 1);
      changed = true;
    }
    if (changed) {
      this.topRules = [...this.#ruleCounts.values()]
        .sort((a, b) => b.count - a.count || a.ruleId.localeCompare(b.ruleId))
        .slice(0, this.topN)
        .map((r) => ({ ...r }));
      this.#countsRev++;
    }
  }

  #rankInstitutions(): InstitutionRank[] {
    void this.#countsRev;
    const activity = this.activity;
    const useServer = activity.size > 0;
    const countyNames = new Map(this.counties.map((c) => [c.adcode, c.name]));
    const rows: InstitutionRank[] = [];
    for (const inst of this.institutions) {
      const a = activity.get(inst.id);
      const warnings = useServer ? (a?.warnings ?? 0) : (this.#instCounts.get(inst.id) ?? 0);
      if (warnings <= 0) continue;
      rows.push({
        id: inst.id,
        name: inst.name,
        countyName: countyNames.get(inst.county) ?? '',
        typeName: inst.typeName,
        warnings,
        transactions: a?.transactions ?? 0,
      });
    }
    return rows.sort((a, b) => b.warnings - a.warnings || a.id.localeCompare(b.id)).slice(0, this.topN);
  }
}
