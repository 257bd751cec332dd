/**
 * Go-live readiness: the steps of docs/go-live.md checked against the system as it is now —
 * accounts, filings, collectors, the work calendar, the rule definitions in force, a replay of
 * past business, backups, the data disk and the doors — so that a system administrator sees in
 * one place what is still to do before the counters are switched on.
 *
 * `readinessOf` is pure (the facts in, the items out: unit-tested); `gatherReadiness` reads the
 * facts from the services the hub already has. Nothing here changes anything. Each item names
 * what it is about (institutions, counties, collectors, years) by name, at most SUBJECTS_MAX of
 * them with the total beside, so a register of thousands stays a short answer.
 */
import { COUNTIES, COUNTY_BY_CODE, type Institution, type Staff } from '@jianguan/rules';
import type { CollectorView, Readiness, ReadinessItem, ReadinessKey, ReadinessStatus, ReadinessSubject, WorkCalendarView } from '../protocol/index.js';
import type { Line } from '../registry/entities.js';

/** Subjects listed per item by default (the screen); the total is given beside them. */
export const SUBJECTS_MAX = 100;
/** The most an item lists when asked for all (an export of the whole check). */
export const SUBJECTS_ALL = 10_000;

/** A collector unheard of for this long is silent (its counter's business is not reaching the hub). */
export const SILENT_AFTER_MS = 24 * 3_600_000;

/** A newest verified backup older than this (a day and a half: one daily backup missed) is stale. */
export const BACKUP_STALE_MS = 36 * 3_600_000;

/** What the checks are computed from. */
export interface ReadinessFacts {
  now: number;
  demo: boolean;
  users: readonly { roles: readonly string[]; scope: string | null; active: boolean }[];
  institutions: readonly Institution[];
  staff: readonly Staff[];
  lines: readonly Line[];
  /** Registry requests waiting for a decision (filed, neither approved nor rejected). */
  pendingRequests: readonly { id: string; summary: string; itemCount: number; counties: readonly string[] }[];
  collectors: readonly Pick<CollectorView, 'collectorId' | 'institutionId' | 'institutionName' | 'counter' | 'status' | 'reportsFor' | 'lastSeenAt' | 'connected'>[];
  calendar: Pick<WorkCalendarView, 'missing' | 'years'>;
  /**
   * The rule set in force against this version's built-in pack (RuleSetService.builtinStatus):
   * after a software upgrade its new rule definitions run only once released, and a replay
   * (the next item) should run under them.
   */
  rules: { current: boolean; pending: string | null };
  /** Whether any stored record is business replayed from the past (step 6); how many are stored. */
  replayed: boolean;
  transactions: number;
  backups: { supported: boolean; hour: number | null; newestVerifiedAt: number | null };
  /** The data directory's disk (statfs) and JG_DISK_LOW_BYTES; null when it cannot be read. */
  disk: { freeBytes: number; totalBytes: number; lowBytes: number } | null;
  tls: boolean;
  proxy: boolean;
  wallPublic: boolean;
}

const institutionSubject = (i: Institution): ReadinessSubject => ({ id: i.id, name: i.name, county: i.county });
const countySubject = (adcode: string): ReadinessSubject => ({ id: adcode, name: COUNTY_BY_CODE.get(adcode)?.name ?? adcode, county: adcode });

function itemOf(max: number) {
  return (key: ReadinessKey, status: ReadinessStatus, counts: Record<string, number>, subjects: readonly ReadinessSubject[] = []): ReadinessItem => ({
    key,
    status,
    counts,
    subjects: subjects.slice(0, max),
    total: subjects.length,
  });
}

/** `todo` when nothing is there at all, `warn` when some are missing, else `ok`. */
const graded = (none: boolean, missing: number): ReadinessStatus => (none ? 'todo' : missing > 0 ? 'warn' : 'ok');

/** The check's items from the facts; each lists at most `subjectsMax` subjects. */
export function readinessOf(f: ReadinessFacts, subjectsMax = SUBJECTS_MAX): Readiness {
  const item = itemOf(Math.min(Math.max(1, subjectsMax), SUBJECTS_ALL));
  const active = f.users.filter((u) => u.active);
  const withRole = (r: string) => active.filter((u) => u.roles.includes(r));
  const systemAdmins = withRole('system_admin').length;
  const registryAdmins = withRole('registry_admin').length;

  // Auditors: a whole-city auditor (scope null) covers every county.
  const auditors = withRole('auditor');
  const covered = new Set(auditors.some((u) => u.scope === null) ? COUNTIES.map((c) => c.adcode) : auditors.map((u) => u.scope ?? ''));
  const uncovered = COUNTIES.filter((c) => !covered.has(c.adcode)).map((c) => countySubject(c.adcode));

  // Institutions in register order: by county (the city's order), then name.
  const order = new Map(COUNTIES.map((c, i) => [c.adcode, i]));
  const institutions = [...f.institutions].sort((a, b) => (order.get(a.county) ?? 99) - (order.get(b.county) ?? 99) || a.name.localeCompare(b.name, 'zh-Hans-CN') || a.id.localeCompare(b.id));
  const live = institutions.filter((i) => i.status === 'active');
  const filedCounties = new Set(institutions.map((i) => i.county));
  const countiesWithout = COUNTIES.filter((c) => !filedCounties.has(c.adcode)).map((c) => countySubject(c.adcode));
  const placeless = institutions.filter((i) => i.lon === undefined || i.lat === undefined);

  // Staff filings in force now, by institution.
  const staffed = new Set(f.staff.filter((s) => s.filed && s.validFrom <= f.now && (s.validTo === null || s.validTo >= f.now)).map((s) => s.institutionId));
  const unstaffed = live.filter((i) => !staffed.has(i.id));

  // Inspection stations test on filed lines, exam venues examine on filed routes.
  const lineKinds = new Set(f.lines.filter((l) => l.status === 'active').map((l) => `${l.institutionId}\u0000${l.kind}`));
  const lineless = live.filter(
    (i) => (i.type === 'inspection_station' && !lineKinds.has(`${i.id}\u0000inspection_line`)) || (i.type === 'exam_venue' && !lineKinds.has(`${i.id}\u0000exam_route`)),
  );

  // Collectors: an institution is served by an approved collector of its own or one reporting for it.
  const approved = f.collectors.filter((c) => c.status === 'approved');
  const served = new Set(approved.flatMap((c) => [c.institutionId, ...c.reportsFor]));
  const unserved = live.filter((i) => !served.has(i.id));
  const county = new Map(institutions.map((i) => [i.id, i.county]));
  const silent = approved
    .filter((c) => !c.connected && (c.lastSeenAt === null || f.now - c.lastSeenAt > SILENT_AFTER_MS))
    .map((c): ReadinessSubject => ({ id: c.collectorId, name: `${c.institutionName} ${c.counter}`.trim(), county: county.get(c.institutionId) ?? '' }));

  // The calendar: years with no arrangement first, then years whose arrangement misses a festival.
  const incomplete = f.calendar.years.filter((y) => y.festivalsMissing.length > 0).sort((a, b) => a.year - b.year);
  const calendarSubjects = [
    ...f.calendar.missing.map((y): ReadinessSubject => ({ id: `missing:${y}`, name: String(y), county: '' })),
    ...incomplete.map((y): ReadinessSubject => ({ id: `incomplete:${y.year}`, name: y.festivalsMissing.map((m) => m.name).join('、'), county: '' })),
  ];

  const b = f.backups;
  const ageMs = b.newestVerifiedAt === null ? null : Math.max(0, f.now - b.newestVerifiedAt);
  const backupStatus: ReadinessStatus = !b.supported ? 'info' : ageMs === null ? 'todo' : b.hour === null || ageMs > BACKUP_STALE_MS ? 'warn' : 'ok';

  const MiB = 1024 * 1024;
  const d = f.disk;
  const diskItem = d
    ? item('disk', d.freeBytes < d.lowBytes ? 'warn' : 'ok', { known: 1, freeMiB: Math.floor(d.freeBytes / MiB), totalMiB: Math.floor(d.totalBytes / MiB), lowMiB: Math.floor(d.lowBytes / MiB) })
    : item('disk', 'info', { known: 0 });

  const items: ReadinessItem[] = [
    item('admins', systemAdmins >= 1 && registryAdmins >= 2 ? 'ok' : 'todo', { systemAdmins, registryAdmins }),
    item('auditors', auditors.length === 0 ? 'todo' : uncovered.length ? 'warn' : 'ok', { auditors: auditors.length, counties: COUNTIES.length, uncovered: uncovered.length }, uncovered),
    item('institutions', graded(institutions.length === 0, countiesWithout.length), { institutions: institutions.length, counties: COUNTIES.length, countiesWithout: countiesWithout.length }, countiesWithout),
    item('places', institutions.length === 0 ? 'todo' : placeless.length ? 'warn' : 'ok', { institutions: institutions.length, without: placeless.length }, placeless.map(institutionSubject)),
    item('staff', graded(staffed.size === 0, unstaffed.length), { institutions: live.length, without: unstaffed.length, staff: f.staff.length }, unstaffed.map(institutionSubject)),
    item('lines', lineless.length ? 'warn' : 'ok', { without: lineless.length }, lineless.map(institutionSubject)),
    item(
      'requests',
      f.pendingRequests.length ? 'warn' : 'ok',
      { pending: f.pendingRequests.length, items: f.pendingRequests.reduce((n, r) => n + r.itemCount, 0) },
      f.pendingRequests.map((r) => ({ id: r.id, name: r.summary || r.id, county: r.counties.length === 1 ? r.counties[0]! : '' })),
    ),
    item('collectors', graded(approved.length === 0, unserved.length), { approved: approved.length, pending: f.collectors.filter((c) => c.status === 'pending').length, institutions: live.length, without: unserved.length }, unserved.map(institutionSubject)),
    item('collectors_silent', silent.length ? 'warn' : 'ok', { approved: approved.length, silent: silent.length }, silent),
    item('calendar', f.calendar.missing.length ? 'todo' : incomplete.length ? 'warn' : 'ok', { missing: f.calendar.missing.length, incomplete: incomplete.length }, calendarSubjects),
    // A set still to come is named only while the definitions in force are not this version's.
    item('rules', f.rules.current ? 'ok' : 'warn', { current: f.rules.current ? 1 : 0, pending: !f.rules.current && f.rules.pending ? 1 : 0 }, !f.rules.current && f.rules.pending ? [{ id: f.rules.pending, name: f.rules.pending, county: '' }] : []),
    item('replay', f.replayed ? 'ok' : 'warn', { replayed: f.replayed ? 1 : 0, transactions: f.transactions }),
    item('backups', backupStatus, { supported: b.supported ? 1 : 0, hour: b.hour ?? -1, ageHours: ageMs === null ? -1 : Math.floor(ageMs / 3_600_000), verified: b.newestVerifiedAt === null ? 0 : 1 }),
    diskItem,
    item('transport', f.demo ? 'info' : f.tls || f.proxy ? 'ok' : 'warn', { tls: f.tls ? 1 : 0, proxy: f.proxy ? 1 : 0 }),
    item('wall', f.demo ? 'info' : f.wallPublic ? 'warn' : 'ok', { public: f.wallPublic ? 1 : 0 }),
  ];
  return { checkedAt: f.now, demo: f.demo, items };
}
