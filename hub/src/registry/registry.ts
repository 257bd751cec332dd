/**
 * In-memory view of the registry and the collector credentials, loaded from the store at start
 * and reloaded on demand. Rules read it synchronously (RegistryView); it is small (thousands of
 * rows) and changes rarely.
 */
import crypto from 'node:crypto';
import { createRegistryView, type Institution, type RegistryView, type Staff } from '@jianguan/rules';
import type { CollectorCredential } from '../config.js';
import { loadCollectors, loadInstitutions, loadStaff, upsertCollectors, type CollectorRow } from '../store/repo.js';
import type { Store } from '../store/store.js';

export function sha256Hex(s: string): string {
  return crypto.createHash('sha256').update(s).digest('hex');
}

export class Registry implements RegistryView {
  private institutions = new Map<string, Institution>();
  private staffById = new Map<string, Staff>();
  private collectors = new Map<string, CollectorRow>();
  private view: RegistryView = createRegistryView([], []);

  constructor(private readonly store: Store) {}

  async reload(): Promise<void> {
    const [inst, staff, cols] = await Promise.all([loadInstitutions(this.store), loadStaff(this.store), loadCollectors(this.store)]);
    this.institutions = new Map(inst.map((i) => [i.id, i]));
    this.staffById = new Map(staff.map((s) => [s.id, s]));
    this.collectors = new Map(cols.map((c) => [c.collector_id, c]));
    this.view = createRegistryView(inst, staff);
  }

  institution(id: string): Institution | undefined {
    return this.view.institution(id);
  }

  staff(id: string): Staff | undefined {
    return this.view.staff(id);
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
