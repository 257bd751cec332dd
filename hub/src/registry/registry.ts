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
  type Device,
  type Institution,
  type ListName,
  type Listing,
  type RegistryView,
  type Staff,
  type TemporalRegistry,
} from '@jianguan/rules';
import type { CollectorCredential } from '../config.js';
import { loadCollectors, loadInstitutions, loadStaff, upsertCollectors, type CollectorRow } from './repo.js';
import { sql } from '../store/sql.js';
import type { Line } from './entities.js';
import { buildRegistryState, type RegistrySource, type VersionRow } from './build.js';
import { registryViewAsOf, type RegistryViewAsOf } from './changes.js';
import type { Store } from '../store/store.js';

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

  private source: RegistrySource = { institutions: [], staff: [], versions: [] };
  private readonly listeners = new Set<(source: RegistrySource) => void>();

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
    const source: RegistrySource = { institutions: inst, staff: liveStaff, versions };
    const st = buildRegistryState(source);
    this.source = source;
    this.listings = st.listings;
    this.lineById = st.lineById;
    this.deviceById = st.deviceById;
    this.institutions = st.institutions;
    this.staffById = st.staffById;
    this.collectors = new Map(cols.map((c) => [c.collector_id, c]));
    this.view = st.view;
    this.temporal = st.temporal;
    for (const l of this.listeners) l(source);
  }

  /** Called after every reload with what the registry was built from (evaluation threads rebuild from it). */
  onReload(listener: (source: RegistrySource) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** What the registry was last built from. */
  currentSource(): RegistrySource {
    return this.source;
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
