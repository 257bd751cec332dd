/**
 * In-memory view of the registry and the collector credentials, loaded from the store at start
 * and reloaded on demand. Rules read it synchronously (RegistryView); it is small (thousands of
 * rows) and changes rarely.
 *
 * The live tables (`institutions`, `staff`) are the current projection of the versioned registry
 * (registry/changes.ts); list entries (red/black lists), inspection lines and exam routes, and
 * the extra staff fields (permitted classes) come from the current versions. For "as of T" use
 * `asOf(at)` (reads the versions).
 */
import crypto from 'node:crypto';
import { createRegistryView, type Institution, type ListName, type Listing, type RegistryView, type Staff } from '@jianguan/rules';
import type { CollectorCredential } from '../config.js';
import { loadCollectors, loadInstitutions, loadStaff, upsertCollectors, type CollectorRow } from '../store/repo.js';
import { param, sql } from '../store/sql.js';
import type { Line } from './entities.js';
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
  private view: RegistryView = createRegistryView([], []);

  constructor(private readonly store: Store) {}

  async reload(): Promise<void> {
    const [inst, liveStaff, cols, versions] = await Promise.all([
      loadInstitutions(this.store),
      loadStaff(this.store),
      loadCollectors(this.store),
      this.store
        .query<{ entity: string; data: string }>(
          sql`SELECT entity, data FROM registry_versions FINAL WHERE entity IN ${param.ArrayString(['listing', 'line', 'staff'])} AND isNull(valid_to) AND retired = 0`,
        )
        .catch(() => [] as { entity: string; data: string }[]),
    ]);
    // Versioned staff data carries fields the live table does not (permitted classes).
    const filed = new Map<string, Staff>();
    for (const v of versions) if (v.entity === 'staff') { const s = JSON.parse(v.data) as Staff; filed.set(s.id, s); }
    const staff = liveStaff.map((s) => {
      const f = filed.get(s.id);
      return f?.classes ? { ...s, classes: f.classes } : s;
    });
    this.listings = versions.filter((v) => v.entity === 'listing').map((v) => JSON.parse(v.data) as Listing);
    this.lineById = new Map(versions.filter((v) => v.entity === 'line').map((v) => { const l = JSON.parse(v.data) as Line; return [l.id, l]; }));
    this.institutions = new Map(inst.map((i) => [i.id, i]));
    this.staffById = new Map(staff.map((s) => [s.id, s]));
    this.collectors = new Map(cols.map((c) => [c.collector_id, c]));
    this.view = createRegistryView(inst, staff, this.listings);
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

  /** The registry as it stood at `at` (epoch ms), from the versions — for backtests and audits. */
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
