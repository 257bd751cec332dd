/**
 * Building the in-memory registry from what the store holds: pure, so the hub thread
 * (registry.ts) and the evaluation threads (jobs/eval-thread.ts) build the same registry from the
 * same rows — a thread receives the rows, never a half-built view.
 */
import {
  createRegistryView,
  createTemporalRegistry,
  flatten,
  versionAt,
  type Device,
  type Institution,
  type Listing,
  type RegistryVersion,
  type RegistryView,
  type Staff,
  type TemporalRegistry,
} from '@jianguan/rules';
import type { FiledStaff, Line } from './entities.js';

/** One row of `registry_versions` as read. */
export interface VersionRow {
  entity: string;
  key: string;
  version: number | string;
  from_ms: number | string;
  to_ms: number | string | null;
  retired: number;
  data: string;
}

/** What the registry is built from: the live tables and every version. Structured-cloneable. */
export interface RegistrySource {
  institutions: Institution[];
  staff: Staff[];
  versions: VersionRow[];
}

export interface RegistryState {
  institutions: Map<string, Institution>;
  staffById: Map<string, Staff>;
  listings: Listing[];
  lineById: Map<string, Line>;
  deviceById: Map<string, Device>;
  view: RegistryView;
  temporal: TemporalRegistry;
}

export function buildRegistryState(src: RegistrySource, now = Date.now()): RegistryState {
  const history = {
    institution: [] as RegistryVersion<Institution>[],
    staff: [] as RegistryVersion<Staff>[],
    listing: [] as RegistryVersion<Listing>[],
    device: [] as RegistryVersion<Device>[],
  };
  const byKey = new Map<string, { entity: string; versions: RegistryVersion<unknown>[] }>();
  for (const r of src.versions) {
    const v = { key: r.key, version: Number(r.version), validFrom: Number(r.from_ms), validTo: r.to_ms === null ? null : Number(r.to_ms), retired: Number(r.retired) === 1, data: JSON.parse(r.data) as unknown };
    if (r.entity in history) (history[r.entity as keyof typeof history] as RegistryVersion<unknown>[]).push(v);
    const k = `${r.entity}\u0000${r.key}`;
    let e = byKey.get(k);
    if (!e) byKey.set(k, (e = { entity: r.entity, versions: [] }));
    e.versions.push(v);
  }
  // Current = the version answering now (the later approval wins where back-dated versions
  // overlap: rules' flatten), unless retired.
  const current: { entity: string; data: unknown }[] = [];
  for (const { entity, versions: list } of byKey.values()) {
    const v = versionAt(flatten(list), now);
    if (v && !v.retired) current.push({ entity, data: v.data });
  }
  // Versioned staff data carries fields the live table does not (permitted classes, identity hash
  // and its masked form). The masked form too: the staff list and its export show it, and an
  // export read back without it would file every identity's masked form away.
  const filed = new Map<string, FiledStaff>();
  for (const v of current) if (v.entity === 'staff') { const s = v.data as FiledStaff; filed.set(s.id, s); }
  const staff = src.staff.map((s) => {
    const f = filed.get(s.id);
    if (!f) return s;
    return { ...s, ...(f.classes ? { classes: f.classes } : {}), ...(f.idHash ? { idHash: f.idHash } : {}), ...(f.idMasked ? { idMasked: f.idMasked } : {}) };
  });
  // Likewise every field of an institution's filing beyond the live table's columns (the wall's:
  // identity, place, status), such as its business hours and closer checks.
  const filedInstitutions = new Map<string, Institution>();
  for (const v of current) if (v.entity === 'institution') { const i = v.data as Institution; filedInstitutions.set(i.id, i); }
  const institutions = src.institutions.map((i) => {
    const f = filedInstitutions.get(i.id);
    if (!f) return i;
    const { id: _id, name: _name, type: _type, county: _county, lon: _lon, lat: _lat, status: _status, ...beyond } = f;
    return { ...i, ...beyond };
  });
  const listings = current.filter((v) => v.entity === 'listing').map((v) => v.data as Listing);
  const lineById = new Map(current.filter((v) => v.entity === 'line').map((v) => { const l = v.data as Line; return [l.id, l] as const; }));
  const deviceById = new Map(current.filter((v) => v.entity === 'device').map((v) => { const d = v.data as Device; return [d.id, d] as const; }));
  const view = createRegistryView(institutions, staff, listings, [...deviceById.values()]);
  return {
    institutions: new Map(institutions.map((i) => [i.id, i])),
    staffById: new Map(staff.map((s) => [s.id, s])),
    listings,
    lineById,
    deviceById,
    view,
    temporal: createTemporalRegistry({ institutions: history.institution, staff: history.staff, listings: history.listing, devices: history.device }, view),
  };
}
