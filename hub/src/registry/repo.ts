/**
 * The registry's SQL: the live projections (`institutions`, `staff`) the in-memory Registry loads
 * and the maker-checker writes, and the collectors' registry rows.
 */
import type { Institution, Staff } from '@jianguan/rules';
import { sql } from '../store/sql.js';
import type { Store } from '../store/store.js';

export async function loadInstitutions(store: Store): Promise<Institution[]> {
  const rows = await store.query<Record<string, unknown>>(sql`
    SELECT id, name, type, county, lon, lat, status FROM institutions FINAL ORDER BY id`);
  return rows.map((r) => ({
    id: String(r.id),
    name: String(r.name),
    type: r.type as Institution['type'],
    county: String(r.county),
    // Both or neither (InstitutionSchema): an institution filed without its place has none.
    ...(r.lon === null || r.lat === null ? {} : { lon: Number(r.lon), lat: Number(r.lat) }),
    status: r.status as Institution['status'],
  }));
}

export async function loadStaff(store: Store): Promise<Staff[]> {
  const rows = await store.query<Record<string, unknown>>(sql`
    SELECT id, institution_id, role, name, filed, toUnixTimestamp64Milli(valid_from) AS valid_from,
      if(isNull(valid_to), NULL, toUnixTimestamp64Milli(assumeNotNull(valid_to))) AS valid_to
    FROM staff FINAL ORDER BY id`);
  return rows.map((r) => ({
    id: String(r.id),
    institutionId: String(r.institution_id),
    role: r.role as Staff['role'],
    name: String(r.name),
    filed: Number(r.filed) === 1,
    validFrom: Number(r.valid_from),
    validTo: r.valid_to === null ? null : Number(r.valid_to),
  }));
}

export async function upsertInstitutions(store: Store, list: readonly Institution[]): Promise<void> {
  const now = Date.now();
  await store.insert('institutions', list.map((i) => ({ ...i, version: now })));
}

export async function upsertStaff(store: Store, list: readonly Staff[]): Promise<void> {
  const now = Date.now();
  await store.insert(
    'staff',
    list.map((s) => ({
      id: s.id,
      institution_id: s.institutionId,
      role: s.role,
      name: s.name,
      filed: s.filed ? 1 : 0,
      valid_from: s.validFrom,
      valid_to: s.validTo,
      version: now,
    })),
  );
}

export interface CollectorRow {
  collector_id: string;
  institution_id: string;
  token_sha256: string;
  status: string;
}

export async function loadCollectors(store: Store): Promise<CollectorRow[]> {
  return store.query<CollectorRow>(sql`SELECT collector_id, institution_id, token_sha256, status FROM collectors FINAL`);
}

export async function upsertCollectors(store: Store, rows: readonly CollectorRow[]): Promise<void> {
  const now = Date.now();
  await store.insert('collectors', rows.map((r) => ({ ...r, version: now })));
}
