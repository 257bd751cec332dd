/**
 * The registry through time: every approved version of every institution, staff filing and list
 * entry, answering "what did the registry say at T?" synchronously, so a rule judges a
 * transaction against the registry as it stood when the transaction happened — a staff member
 * whose filing was revoked yesterday is still filed for last week's backlog, and an agent put
 * on the black list today does not turn last month's transactions into warnings.
 *
 * Versions of one key have half-open intervals [validFrom, validTo). An ordinary approval closes
 * the current version and opens the next at the same instant, so they tile time. A change with
 * an effective time in the past (a correction, or an import of filings that began years ago)
 * may overlap versions approved earlier: the history is append-only, so nothing is rewritten,
 * and where intervals overlap the later approval (higher `version`) wins. At any instant at
 * most one version answers, and the answer for a time before the correction stays what the
 * older versions said wherever the correction does not reach.
 * A retire is a version too (`retired`), and reads the way the live projection shows it: a
 * retired institution is suspended, a retired filing is not filed, a retired listing or device
 * is gone. Where no version answers, the key does not exist (not yet filed, or its filing ended).
 *
 * Keys that have no versions at all (rows written to the live tables directly, e.g. by older
 * seeds) fall back to `fallback` — the current view — at every time.
 */
import type { Device, Institution, ListName, Listing, RegistryView, Staff } from './registry.js';

export interface RegistryVersion<T> {
  key: string;
  validFrom: number;
  /** null = still in force. */
  validTo: number | null;
  retired: boolean;
  data: T;
  /**
   * OPTIONAL. The version number (1, 2, 3 … per key, in approval order): where intervals
   * overlap, the higher one wins. Absent = the order given.
   */
  version?: number;
}

export interface TemporalRegistryInput {
  institutions: readonly RegistryVersion<Institution>[];
  staff: readonly RegistryVersion<Staff>[];
  /** Keyed by `<list>:<key>` (the registry's listing key). */
  listings: readonly RegistryVersion<Listing>[];
  /** OPTIONAL. Filed devices. */
  devices?: readonly RegistryVersion<Device>[];
}

export interface TemporalRegistry {
  /** The registry as it stood at `at` (epoch ms). */
  at(at: number): RegistryView;
  /**
   * The last instant at which any version starts or ends (-Infinity when there are none): every
   * view at or after it is one and the same object, so live traffic allocates nothing.
   */
  readonly settledFrom: number;
}

type Timeline<T> = readonly RegistryVersion<T>[];

/**
 * A key's versions flattened into disjoint segments sorted by validFrom: versions are painted in
 * approval order, each over the part of time it covers, so a later approval hides an earlier
 * one only where they overlap. Segments keep the version they came from.
 */
export function flatten<T>(versions: readonly RegistryVersion<T>[]): RegistryVersion<T>[] {
  const ordered = versions.map((v, i) => ({ v, i })).sort((a, b) => (a.v.version ?? a.i) - (b.v.version ?? b.i) || a.i - b.i);
  let segs: RegistryVersion<T>[] = [];
  for (const { v } of ordered) {
    const from = v.validFrom;
    const to = v.validTo ?? Number.POSITIVE_INFINITY;
    if (!(to > from)) continue; // an empty interval (superseded before it took effect) never answers
    const next: RegistryVersion<T>[] = [];
    for (const s of segs) {
      const sTo = s.validTo ?? Number.POSITIVE_INFINITY;
      if (sTo <= from || s.validFrom >= to) {
        next.push(s);
        continue;
      }
      if (s.validFrom < from) next.push({ ...s, validTo: from });
      if (sTo > to) next.push({ ...s, validFrom: to });
    }
    next.push(v);
    segs = next.sort((a, b) => a.validFrom - b.validFrom);
  }
  return segs;
}

function index<T>(versions: readonly RegistryVersion<T>[]): Map<string, Timeline<T>> {
  const byKey = new Map<string, RegistryVersion<T>[]>();
  for (const v of versions) {
    let list = byKey.get(v.key);
    if (!list) byKey.set(v.key, (list = []));
    list.push(v);
  }
  const out = new Map<string, Timeline<T>>();
  for (const [k, list] of byKey) out.set(k, flatten(list));
  return out;
}

/** The version whose [validFrom, validTo) contains `at`, if any (binary search on validFrom). */
export function versionAt<T>(timeline: Timeline<T>, at: number): RegistryVersion<T> | undefined {
  let lo = 0;
  let hi = timeline.length - 1;
  let found = -1;
  while (lo <= hi) {
    const mid = (lo + hi) >> 1;
    if (timeline[mid]!.validFrom <= at) {
      found = mid;
      lo = mid + 1;
    } else hi = mid - 1;
  }
  if (found < 0) return undefined;
  const v = timeline[found]!;
  return v.validTo === null || at < v.validTo ? v : undefined;
}

export function createTemporalRegistry(input: TemporalRegistryInput, fallback: RegistryView): TemporalRegistry {
  const inst = index(input.institutions);
  const staff = index(input.staff);
  const lists = index(input.listings);
  const devices = index(input.devices ?? []);
  // Institutions with any device version: device rules judge only these (RegistryView.filesDevices).
  const withDevices = new Set((input.devices ?? []).map((d) => d.data.institutionId));
  let settledFrom = Number.NEGATIVE_INFINITY;
  for (const v of [...input.institutions, ...input.staff, ...input.listings, ...(input.devices ?? [])]) {
    settledFrom = Math.max(settledFrom, v.validFrom, v.validTo ?? Number.NEGATIVE_INFINITY);
  }

  const institutionAt = (id: string, at: number): Institution | undefined => {
    const t = inst.get(id);
    if (!t) return fallback.institution(id);
    const v = versionAt(t, at);
    if (!v) return undefined;
    return v.retired ? { ...v.data, status: 'suspended' } : v.data;
  };
  const staffAt = (id: string, at: number): Staff | undefined => {
    const t = staff.get(id);
    if (!t) return fallback.staff(id);
    const v = versionAt(t, at);
    if (!v) return undefined;
    return v.retired ? { ...v.data, filed: false } : v.data;
  };
  const listingAt = (list: ListName, key: string, at: number): Listing | undefined => {
    const t = lists.get(`${list}:${key}`);
    if (!t) return fallback.listing?.(list, key);
    const v = versionAt(t, at);
    return v && !v.retired ? v.data : undefined;
  };

  const deviceAt = (id: string, at: number): Device | undefined => {
    const t = devices.get(id);
    if (!t) return fallback.device?.(id);
    const v = versionAt(t, at);
    return v && !v.retired ? v.data : undefined;
  };
  const filesDevices = (id: string): boolean => withDevices.has(id) || (fallback.filesDevices?.(id) ?? false);

  const viewAt = (at: number): RegistryView => ({
    institution: (id) => institutionAt(id, at),
    staff: (id) => staffAt(id, at),
    listing: (list, key) => listingAt(list, key, at),
    device: (id) => deviceAt(id, at),
    filesDevices,
  });
  const settled = viewAt(settledFrom);
  return {
    settledFrom,
    at: (at: number) => (at >= settledFrom ? settled : viewAt(at)),
  };
}
