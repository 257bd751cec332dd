/**
 * Presence and silence of collectors: open sockets per collector, last-seen times (persisted in
 * batches, so a restart does not forget who was quiet), and collector.silent for approved
 * collectors unseen for `silentMinutes` of working time. Time the hub was not running is not a
 * collector's silence: silence counts from the later of last seen and the hub's start.
 *
 * With several hub replicas a collector is connected to one of them; the others know it only
 * through `elsewhere` (collectors/cluster-presence.ts, Redis) and through the last-seen times
 * every replica saves. So a replica counts as connected what another reports connected, and
 * before it raises collector.silent it reads the saved last-seen times again: a collector busy on
 * another replica is never reported silent by this one (it was, before: its last-seen time here
 * stayed at this replica's start).
 */
import { institutionCalendar, type Warning, type WorkCalendar } from '@jianguan/rules';
import type { Registry } from '../registry/registry.js';
import type { Store } from '../store/store.js';
import { loadSeen, saveSeen, type CollectorRecord } from './repo.js';
import { silentWarning, type CollectorWarnings } from './warnings.js';
import { workingMsBetween } from './working-time.js';

export interface PresenceDeps {
  store: Store;
  registry: Registry;
  calendar: WorkCalendar;
  warnings: CollectorWarnings;
  silentMinutes: number;
  startedAt: number;
  now: () => number;
  /** OPTIONAL. Whether another hub replica has this collector connected. @defaultValue never */
  elsewhere?: (collectorId: string) => boolean;
}

export class CollectorPresence {
  private readonly lastSeen = new Map<string, number>();
  private readonly seenDirty = new Map<string, number>();
  private readonly sockets = new Map<string, number>();

  constructor(private readonly deps: PresenceDeps) {}

  /** Records activity at `at`; `dirty` = to be saved (false for times read back from the store). */
  seen(collectorId: string, at: number, dirty = true): void {
    if (at > (this.lastSeen.get(collectorId) ?? 0)) {
      this.lastSeen.set(collectorId, at);
      if (dirty) this.seenDirty.set(collectorId, at);
    }
  }

  connected(collectorId: string): void {
    this.sockets.set(collectorId, (this.sockets.get(collectorId) ?? 0) + 1);
    this.seen(collectorId, this.deps.now());
  }

  disconnected(collectorId: string): void {
    const n = (this.sockets.get(collectorId) ?? 1) - 1;
    if (n > 0) this.sockets.set(collectorId, n);
    else this.sockets.delete(collectorId);
    this.seen(collectorId, this.deps.now());
  }

  /** Connected to this replica or, as another replica reported, to that one. */
  isConnected(collectorId: string): boolean {
    return this.sockets.has(collectorId) || (this.deps.elsewhere?.(collectorId) ?? false);
  }

  /** Now while connected, else the last time it was seen (null: never). */
  lastSeenAt(collectorId: string): number | null {
    return this.isConnected(collectorId) ? this.deps.now() : (this.lastSeen.get(collectorId) ?? null);
  }

  /** Raises collector.silent for the approved `records` unseen too long; returns those raised now. */
  async checkSilence(records: Iterable<CollectorRecord>, now: number): Promise<Warning[]> {
    for (const id of this.sockets.keys()) this.seen(id, now);
    const raised: Warning[] = [];
    const thresholdMs = this.deps.silentMinutes * 60_000;
    // A counter is expected to be up during its institution's business hours (its own filed
    // hours, else its type's): a station open at the weekend is missed on Saturday, an office
    // closed then is not.
    const calendarOf = (rec: CollectorRecord): WorkCalendar => institutionCalendar(this.deps.calendar, this.deps.registry.institution(rec.institutionId));
    const silentFor = (rec: CollectorRecord): { last: number | null; since: number; silentMs: number } | null => {
      if (rec.status !== 'approved' || this.isConnected(rec.collectorId)) return null;
      const cal = calendarOf(rec);
      if (!cal.isWorkingTime(now)) return null;
      const last = this.lastSeen.get(rec.collectorId) ?? null;
      const since = last ?? rec.approvedAt ?? this.deps.startedAt;
      const silentMs = workingMsBetween(cal, Math.max(since, this.deps.startedAt), now);
      return silentMs < thresholdMs ? null : { last, since, silentMs };
    };
    const candidates = [...records].filter((rec) => silentFor(rec) !== null);
    if (candidates.length === 0) return raised;
    // Other replicas save the last-seen times of their collectors on every check: read them again
    // before calling anyone silent.
    for (const [id, at] of await loadSeen(this.deps.store)) this.seen(id, at, false);
    for (const rec of candidates) {
      const silent = silentFor(rec);
      if (!silent) continue;
      const { last, since, silentMs } = silent;
      const w = await this.deps.warnings.raise(
        silentWarning({
          collectorId: rec.collectorId,
          institutionId: rec.institutionId,
          institutionName: this.deps.registry.institution(rec.institutionId)?.name ?? rec.institutionId,
          lastSeenAt: last,
          since,
          silentMinutes: Math.floor(silentMs / 60_000),
          thresholdMinutes: this.deps.silentMinutes,
          at: now,
        }),
      );
      if (w) raised.push(w);
    }
    return raised;
  }

  /** Saves last-seen times changed since the previous save (kept for the next try on failure). */
  async save(): Promise<void> {
    if (this.seenDirty.size === 0) return;
    const batch = new Map(this.seenDirty);
    this.seenDirty.clear();
    try {
      await saveSeen(this.deps.store, batch);
    } catch (e) {
      for (const [id, at] of batch) if (!this.seenDirty.has(id)) this.seenDirty.set(id, at);
      throw e;
    }
  }
}
