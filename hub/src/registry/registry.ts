/**
 * In-memory view of the registry and the collector credentials, loaded from the store at start
 * and reloaded on demand. Rules read it synchronously (RegistryView); it is small (thousands of
 * rows) and changes rarely.
 *
 * The live tables (`institutions`, `staff`) are the current projection of the versioned registry
 * (registry/changes.ts); list entries (red/black lists), inspection lines and exam routes, and
 * the extra staff fields (permitted classes) come from the current versions.
 *
 * Rules judge a transaction against the registry as it stood at the transaction's time:
 * `at(t)` answers from every version held in memory (rules' createTemporalRegistry), so a
 * backlog drained tomorrow, or a backtest over last month, sees last month's filings and lists.
 * For the records themselves "as of T" (the registry API) use `asOf(at)` (reads the store).
 */
import crypto from 'node:crypto';
import {
  createRegistryView,
  createTemporalRegistry,
  flatten,
  versionAt,
  type Device,
  type Institution,
  type ListName,
  type Listing,
  type RegistryVersion,
  type RegistryView,
  type Staff,
  type TemporalRegistry,
} from '@jianguan/rules';
import type { CollectorCredential } from '../config.js';
import { loadCollectors, loadInstitutions, loadStaff, upsertCollectors, type CollectorRow } from './repo.js';
import { sql } from '../store/sql.js';
import type { Line } from './entities.js';
import { registryViewAsOf, type RegistryViewAsOf } from './changes.js';
import type { Store } from '../store/store.js';

interface VersionRow {
  entity: string;
  key: string;
  version: number | string;
  from_ms: number | string;
  to_ms: number | string | null;
  retired: number;
  data: string;
}

export function sha256Hex(s: string): string {
  return crypto.createHash('sha256').update(s).digest('hex');
}

export class Registry implements RegistryView {
  private institutions = new Map<string, Institution>();
  private staffById = new Map<string, Staff>();
  private collectors = new Map<string, CollectorRow>();
  private listings: Listing[] = [];
  private lineById = new Map<string, Line>();
  private deviceById = new Map<string, Device>();
  private view: RegistryView = createRegistryView([], []);
  private temporal: TemporalRegistry = createTemporalRegistry({ institutions: [], staff: [], listings: [] }, this.view);

  constructor(private readonly store: Store) {}

  private reloading: Promise<void> = Promise.resolve();

  /** Re-reads everything. Calls are serialised, so an older read never replaces a newer one. */
  reload(): Promise<void> {
    const run = this.reloading.catch(() => undefined).then(() => this.load());
    this.reloading = run;
    return run;
  }

  private async load(): Promise<void> {
    const [inst, liveStaff, cols, versions] = await Promise.all([
      loadInstitutions(this.store),
      loadStaff(this.store),
      loadCollectors(this.store),
      // Every version, not only the current ones: at(t) needs the history. Thousands of rows.
      this.store
        .query<VersionRow>(
          sql`SELECT entity, key, version, toUnixTimestamp64Milli(valid_from) AS from_ms,
                if(isNull(valid_to), NULL, toUnixTimestamp64Milli(assumeNotNull(valid_to))) AS to_ms, retired, data
              FROM registry_versions FINAL`,
        )
        .catch(() => [] as VersionRow[]),
    ]);
    const history = {
      institution: [] as RegistryVersion<Institution>[],
      staff: [] as RegistryVersion<Staff>[],
      listing: [] as RegistryVersion<Listing>[],
      device: [] as RegistryVersion<Device>[],
    };
    const byKey = new Map<string, { entity: string; versions: RegistryVersion<unknown>[] }>();
    for (const r of versions) {
      const v = { key: r.key, version: Number(r.version), validFrom: Number(r.from_ms), validTo: r.to_ms === null ? null : Number(r.to_ms), retired: Number(r.retired) === 1, data: JSON.parse(r.data) as unknown };
      if (r.entity in history) (history[r.entity as keyof typeof history] as RegistryVersion<unknown>[]).push(v);
      const k = `${r.entity}\u0000${r.key}`;
      let e = byKey.get(k);
      if (!e) byKey.set(k, (e = { entity: r.entity, versions: [] }));
      e.versions.push(v);
    }
    // Current = the version answering now (the later approval wins where back-dated versions
    // overlap: rules' flatten), unless retired.
    const now = Date.now();
    const current: { entity: string; data: unknown }[] = [];
    for (const { entity, versions: list } of byKey.values()) {
      const v = versionAt(flatten(list), now);
      if (v && !v.retired) current.push({ entity, data: v.data });
    }
    // Versioned staff data carries fields the live table does not (permitted classes, identity hash).
    const filed = new Map<string, Staff>();
    for (const v of current) if (v.entity === 'staff') { const s = v.data as Staff; filed.set(s.id, s); }
    const staff = liveStaff.map((s) => {
      const f = filed.get(s.id);
      if (!f) return s;
      return { ...s, ...(f.classes ? { classes: f.classes } : {}), ...(f.idHash ? { idHash: f.idHash } : {}) };
    });
    this.listings = current.filter((v) => v.entity === 'listing').map((v) => v.data as Listing);
    this.lineById = new Map(current.filter((v) => v.entity === 'line').map((v) => { const l = v.data as Line; return [l.id, l]; }));
    this.deviceById = new Map(current.filter((v) => v.entity === 'device').map((v) => { const d = v.data as Device; return [d.id, d]; }));
    this.institutions = new Map(inst.map((i) => [i.id, i]));
    this.staffById = new Map(staff.map((s) => [s.id, s]));
    this.collectors = new Map(cols.map((c) => [c.collector_id, c]));
    this.view = createRegistryView(inst, staff, this.listings, [...this.deviceById.values()]);
    this.temporal = createTemporalRegistry({ institutions: history.institution, staff: history.staff, listings: history.listing, devices: history.device }, this.view);
  }

  /** The registry as it stood at `at` (epoch ms), for rules; synchronous (in memory). */
  at(at: number): RegistryView {
    return this.temporal.at(at);
  }

  /** The whole history as loaded now; unaffected by later reloads (a backtest holds one). */
  snapshot(): TemporalRegistry {
    return this.temporal;
  }

  institution(id: string): Institution | undefined {
    return this.view.institution(id);
  }

  staff(id: string): Staff | undefined {
    return this.view.staff(id);
  }

  /** The entry of `key` on `list` (red list, black list, VIN check list), in force or not. */
  listing(list: ListName, key: string): Listing | undefined {
    return this.view.listing?.(list, key);
  }

  listListings(): Listing[] {
    return [...this.listings];
  }

  line(id: string): Line | undefined {
    return this.lineById.get(id);
  }

  listLines(): Line[] {
    return [...this.lineById.values()];
  }

  device(id: string): Device | undefined {
    return this.deviceById.get(id);
  }

  listDevices(): Device[] {
    return [...this.deviceById.values()];
  }

  /** The records in force at `at` (epoch ms), read from the store — for the registry API. */
  asOf(at: number): Promise<RegistryViewAsOf> {
    return registryViewAsOf(this.store, at);
  }

  listInstitutions(): Institution[] {
    return [...this.institutions.values()];
  }

  listStaff(): Staff[] {
    return [...this.staffById.values()];
  }

  collectorCount(): number {
    return this.collectors.size;
  }

  /** Registers credentials (token stored as SHA-256 only). */
  async registerCollectors(creds: readonly CollectorCredential[]): Promise<void> {
    if (creds.length === 0) return;
    await upsertCollectors(
      this.store,
      creds.map((c) => ({ collector_id: c.collectorId, institution_id: c.institutionId, token_sha256: sha256Hex(c.token), status: 'active' })),
    );
    await this.reload();
  }

  /** Constant-time token check. Returns the collector's institution or undefined. */
  authenticate(collectorId: string, token: string): { institutionId: string } | undefined {
    const row = this.collectors.get(collectorId);
    if (!row || row.status !== 'active') return undefined;
    const a = Buffer.from(sha256Hex(token), 'hex');
    const b = Buffer.from(row.token_sha256, 'hex');
    if (a.length !== b.length || !crypto.timingSafeEqual(a, b)) return undefined;
    return { institutionId: row.institution_id };
  }
}
