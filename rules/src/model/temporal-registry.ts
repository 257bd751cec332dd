/**
 * The registry through time: every approved version of every institution, staff filing and list
 * entry, answering "what did the registry say at T?" synchronously, so a rule judges a
 * transaction against the registry as it stood when the transaction happened — a staff member
 * whose filing was revoked yesterday is still filed for last week's backlog, and an agent put
 * on the black list today does not turn last month's transactions into warnings.
 *
 * Versions of one key have half-open intervals [validFrom, validTo); approval closes the
 * current version and opens the next at the same instant, so they tile time without overlap.
 * A retire is a version too (`retired`), and reads the way the live projection shows it: a
 * retired institution is suspended, a retired filing is not filed, a retired listing is gone.
 * Before a key's first version it does not exist.
 *
 * Keys that have no versions at all (rows written to the live tables directly, e.g. by older
 * seeds) fall back to `fallback` — the current view — at every time.
 */
import type { Institution, ListName, Listing, RegistryView, Staff } from './registry.js';

export interface RegistryVersion<T> {
  key: string;
  validFrom: number;
  /** null = still in force. */
  validTo: number | null;
  retired: boolean;
  data: T;
}

export interface TemporalRegistryInput {
  institutions: readonly RegistryVersion<Institution>[];
  staff: readonly RegistryVersion<Staff>[];
  /** Keyed by `<list>:<key>` (the registry's listing key). */
  listings: readonly RegistryVersion<Listing>[];
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

function index<T>(versions: readonly RegistryVersion<T>[]): Map<string, Timeline<T>> {
  const byKey = new Map<string, RegistryVersion<T>[]>();
  for (const v of versions) {
    let list = byKey.get(v.key);
    if (!list) byKey.set(v.key, (list = []));
    list.push(v);
  }
  for (const list of byKey.values()) list.sort((a, b) => a.validFrom - b.validFrom);
  return byKey;
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
  let settledFrom = Number.NEGATIVE_INFINITY;
  for (const v of [...input.institutions, ...input.staff, ...input.listings]) {
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

  const viewAt = (at: number): RegistryView => ({
    institution: (id) => institutionAt(id, at),
    staff: (id) => staffAt(id, at),
    listing: (list, key) => listingAt(list, key, at),
  });
  const settled = viewAt(settledFrom);
  return {
    settledFrom,
    at: (at: number) => (at >= settledFrom ? settled : viewAt(at)),
  };
}
