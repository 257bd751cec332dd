/**
 * The go-live check's judgements (readiness/readiness.ts readinessOf), from facts given directly:
 * what makes each step done, to do or worth a look, and what it names.
 */
import { describe, expect, it } from 'vitest';
import { COUNTIES, type Institution } from '@jianguan/rules';
import { readinessOf, SUBJECTS_MAX, type ReadinessFacts } from '../src/readiness/readiness.js';

const NOW = Date.UTC(2026, 11, 7, 2, 0, 0);
const HOUR = 3_600_000;
const GiB = 1024 ** 3;
const station = (id: string, county: string, over: Partial<Institution> = {}): Institution => ({ id, name: `${id}站`, type: 'inspection_station', county, lon: 108, lat: 24.5, status: 'active', ...over });

function facts(over: Partial<ReadinessFacts> = {}): ReadinessFacts {
  // Every county with one station; each staffed, with a line and a collector heard from an hour ago.
  const institutions = COUNTIES.map((c) => station(`S-${c.adcode}`, c.adcode));
  return {
    now: NOW,
    demo: false,
    users: [
      { roles: ['system_admin'], scope: null, active: true },
      { roles: ['registry_admin'], scope: null, active: true },
      { roles: ['registry_admin'], scope: null, active: true },
      { roles: ['auditor'], scope: null, active: true },
    ],
    institutions,
    staff: institutions.map((i) => ({ id: `${i.id}-I01`, institutionId: i.id, role: 'inspector', name: '', filed: true, validFrom: 0, validTo: null })),
    lines: institutions.map((i) => ({ id: `${i.id}-L1`, institutionId: i.id, kind: 'inspection_line', name: '1号线', minSeconds: 300, dailyCapacity: 100, status: 'active' })),
    collectors: institutions.map((i) => ({ collectorId: `c-${i.id}`, institutionId: i.id, institutionName: i.name, counter: '1号线', status: 'approved', reportsFor: [], lastSeenAt: NOW - HOUR, connected: false })),
    pendingRequests: [],
    calendar: { missing: [], years: [] },
    rules: { current: true, pending: null },
    replayed: true,
    transactions: 1_000,
    backups: { supported: true, hour: 3, newestVerifiedAt: NOW - 5 * HOUR },
    disk: { freeBytes: 50 * GiB, totalBytes: 100 * GiB, lowBytes: 2 * GiB },
    tls: true,
    proxy: false,
    wallPublic: false,
    ...over,
  };
}
const statuses = (f: ReadinessFacts) => Object.fromEntries(readinessOf(f).items.map((i) => [i.key, i.status]));
const itemOf = (f: ReadinessFacts, key: string) => readinessOf(f).items.find((i) => i.key === key)!;

describe('the go-live check', () => {
  it('is done when every step is', () => {
    expect(Object.values(statuses(facts())).every((s) => s === 'ok')).toBe(true);
  });

  it('asks for a look while the rules in force are not this version\'s definitions, naming the set still to come', () => {
    expect(itemOf(facts(), 'rules')).toMatchObject({ status: 'ok', counts: { current: 1, pending: 0 }, subjects: [], total: 0 });
    // A tuning draft of the same definitions is nothing to do with the upgrade.
    expect(itemOf(facts({ rules: { current: true, pending: 'pack-tuned' } }), 'rules')).toMatchObject({ status: 'ok', counts: { pending: 0 }, subjects: [] });
    expect(itemOf(facts({ rules: { current: false, pending: null } }), 'rules')).toMatchObject({ status: 'warn', counts: { current: 0, pending: 0 }, total: 0 });
    expect(itemOf(facts({ rules: { current: false, pending: 'pack-2027.01-abcd' } }), 'rules')).toMatchObject({
      status: 'warn',
      counts: { current: 0, pending: 1 },
      subjects: [{ id: 'pack-2027.01-abcd', name: 'pack-2027.01-abcd', county: '' }],
    });
    // Before the replay: past business is replayed under the rules that will run.
    const keys = readinessOf(facts()).items.map((i) => i.key);
    expect(keys.indexOf('rules')).toBe(keys.indexOf('replay') - 1);
  });

  it('wants two registry administrators and an auditor for every county', () => {
    const f = facts();
    expect(itemOf({ ...f, users: f.users.slice(0, 2) }, 'admins')).toMatchObject({ status: 'todo', counts: { systemAdmins: 1, registryAdmins: 1 } });
    // A disabled administrator does not count.
    expect(itemOf({ ...f, users: [{ ...f.users[0]!, active: false }, ...f.users.slice(1)] }, 'admins').status).toBe('todo');
    // County auditors: the counties none covers are named.
    const yz = { roles: ['auditor'], scope: '451203', active: true };
    const county = itemOf({ ...f, users: [...f.users.slice(0, 3), yz] }, 'auditors');
    expect(county).toMatchObject({ status: 'warn', counts: { auditors: 1, counties: COUNTIES.length, uncovered: COUNTIES.length - 1 }, total: COUNTIES.length - 1 });
    expect(county.subjects[0]).toEqual({ id: '451202', name: '金城江区', county: '451202' });
    expect(itemOf({ ...f, users: f.users.slice(0, 3) }, 'auditors').status).toBe('todo');
  });

  it('names the counties without institutions, and institutions without a place, staff, lines or a collector', () => {
    const f = facts();
    const [first, ...rest] = f.institutions;
    const placeless = { ...first!, lon: undefined, lat: undefined };
    const venue = station('EXAM', first!.county, { type: 'exam_venue', name: '金城江区考场' });
    const g = { ...f, institutions: [placeless, ...rest.slice(1), venue], staff: f.staff.filter((s) => s.institutionId !== first!.id), collectors: f.collectors.filter((c) => c.institutionId !== first!.id) };
    const r = Object.fromEntries(readinessOf(g).items.map((i) => [i.key, i]));
    expect(r.institutions).toMatchObject({ status: 'warn', counts: { countiesWithout: 1 }, subjects: [{ id: rest[0]!.county, name: COUNTIES[1]!.name }] });
    expect(r.places).toMatchObject({ status: 'warn', counts: { without: 1 }, subjects: [{ id: first!.id, name: first!.name, county: first!.county }] });
    // The exam venue has no staff filed either; staff filed for it by the station's name do not count.
    expect(r.staff!.subjects.map((s) => s.id).sort()).toEqual(['EXAM', first!.id]);
    expect(r.lines).toMatchObject({ status: 'warn', subjects: [{ id: 'EXAM', name: '金城江区考场' }] });
    expect(r.collectors!.subjects.map((s) => s.id).sort()).toEqual(['EXAM', first!.id]);
    // A collector reporting for another institution serves it; a suspended institution needs none.
    const reporting = { ...g, collectors: [...g.collectors, { ...g.collectors[0]!, collectorId: 'c-x', institutionId: rest[1]!.id, reportsFor: [first!.id, 'EXAM'] }] };
    expect(itemOf(reporting, 'collectors').status).toBe('ok');
    expect(itemOf({ ...g, institutions: g.institutions.map((i) => (i.id === 'EXAM' ? { ...i, status: 'suspended' as const } : i)) }, 'lines').status).toBe('ok');
    // Nothing filed at all: to do, not a look.
    const empty = facts({ institutions: [], staff: [], lines: [], collectors: [] });
    expect([itemOf(empty, 'institutions').status, itemOf(empty, 'places').status, itemOf(empty, 'staff').status, itemOf(empty, 'collectors').status]).toEqual(['todo', 'todo', 'todo', 'todo']);
  });

  it('names the registry requests no second administrator has decided yet', () => {
    const pending = itemOf(facts({ pendingRequests: [{ id: 'rr-1', summary: '导入 人员.xlsx（5,000 行）', itemCount: 5_000, counties: ['451203'] }, { id: 'rr-2', summary: '', itemCount: 2, counties: ['451202', '451203'] }] }), 'requests');
    expect(pending).toMatchObject({ status: 'warn', counts: { pending: 2, items: 5_002 }, total: 2 });
    expect(pending.subjects).toEqual([
      { id: 'rr-1', name: '导入 人员.xlsx（5,000 行）', county: '451203' },
      { id: 'rr-2', name: 'rr-2', county: '' },
    ]);
  });

  it('counts staff filings in force now only', () => {
    const f = facts();
    const expired = f.staff.map((s, i) => (i === 0 ? { ...s, validTo: NOW - 1 } : s));
    expect(itemOf({ ...f, staff: expired }, 'staff')).toMatchObject({ status: 'warn', counts: { without: 1 } });
    const unapproved = f.staff.map((s, i) => (i === 0 ? { ...s, filed: false } : s));
    expect(itemOf({ ...f, staff: unapproved }, 'staff').counts.without).toBe(1);
  });

  it('names collectors unheard of for a day, or never', () => {
    const f = facts();
    const c = f.collectors;
    const g = { ...f, collectors: [{ ...c[0]!, lastSeenAt: NOW - 25 * HOUR }, { ...c[1]!, lastSeenAt: null }, { ...c[2]!, lastSeenAt: null, connected: true }, { ...c[3]!, status: 'pending' as const, lastSeenAt: null }, ...c.slice(4)] };
    const silent = itemOf(g, 'collectors_silent');
    expect(silent).toMatchObject({ status: 'warn', counts: { silent: 2 } });
    expect(silent.subjects).toEqual([
      { id: c[0]!.collectorId, name: `${c[0]!.institutionName} 1号线`, county: COUNTIES[0]!.adcode },
      { id: c[1]!.collectorId, name: `${c[1]!.institutionName} 1号线`, county: COUNTIES[1]!.adcode },
    ]);
    expect(itemOf(g, 'collectors').counts.pending).toBe(1);
  });

  it('names the years without an arrangement and the festivals a year misses', () => {
    const year = (y: number, names: string[]) => ({ year: y, holidays: [], extraWorkdays: [], revisions: 1, festivalsMissing: names.map((name) => ({ name, date: `${y}-04-05` })), note: '', updatedBy: 'x', updatedAt: 0 });
    const missing = itemOf(facts({ calendar: { missing: [2027], years: [year(2026, ['清明节', '国庆节'])] } }), 'calendar');
    expect(missing).toMatchObject({ status: 'todo', counts: { missing: 1, incomplete: 1 } });
    expect(missing.subjects).toEqual([
      { id: 'missing:2027', name: '2027', county: '' },
      { id: 'incomplete:2026', name: '清明节、国庆节', county: '' },
    ]);
    expect(itemOf(facts({ calendar: { missing: [], years: [year(2026, ['清明节'])] } }), 'calendar').status).toBe('warn');
  });

  it('wants a replay, a fresh verified backup and a daily one, room on the data disk, HTTPS and a closed wall — except in demo mode', () => {
    expect(itemOf(facts({ replayed: false }), 'replay').status).toBe('warn');
    expect(itemOf(facts({ backups: { supported: true, hour: 3, newestVerifiedAt: null } }), 'backups')).toMatchObject({ status: 'todo', counts: { ageHours: -1, verified: 0 } });
    expect(itemOf(facts({ backups: { supported: true, hour: 3, newestVerifiedAt: NOW - 37 * HOUR } }), 'backups')).toMatchObject({ status: 'warn', counts: { ageHours: 37 } });
    expect(itemOf(facts({ backups: { supported: true, hour: null, newestVerifiedAt: NOW - HOUR } }), 'backups')).toMatchObject({ status: 'warn', counts: { hour: -1 } });
    expect(itemOf(facts({ backups: { supported: false, hour: null, newestVerifiedAt: null } }), 'backups').status).toBe('info');
    expect(itemOf(facts(), 'disk')).toMatchObject({ status: 'ok', counts: { known: 1, freeMiB: 50 * 1024, totalMiB: 100 * 1024, lowMiB: 2 * 1024 } });
    expect(itemOf(facts({ disk: { freeBytes: GiB, totalBytes: 100 * GiB, lowBytes: 2 * GiB } }), 'disk')).toMatchObject({ status: 'warn', counts: { freeMiB: 1024 } });
    expect(itemOf(facts({ disk: null }), 'disk')).toMatchObject({ status: 'info', counts: { known: 0 } });
    expect(itemOf(facts({ tls: false }), 'transport').status).toBe('warn');
    expect(itemOf(facts({ tls: false, proxy: true }), 'transport').status).toBe('ok');
    expect(itemOf(facts({ wallPublic: true }), 'wall')).toMatchObject({ status: 'warn', counts: { public: 1 } });
    expect([itemOf(facts({ demo: true, tls: false, wallPublic: true }), 'transport').status, itemOf(facts({ demo: true, wallPublic: true }), 'wall').status]).toEqual(['info', 'info']);
  });

  it(`lists at most ${SUBJECTS_MAX} subjects, with the total beside`, () => {
    const many = Array.from({ length: 250 }, (_, i) => station(`X${String(i).padStart(3, '0')}`, '451202'));
    const placeless = itemOf(facts({ institutions: many.map((i) => ({ ...i, lon: undefined, lat: undefined })) }), 'places');
    expect(placeless.subjects).toHaveLength(SUBJECTS_MAX);
    expect(placeless.total).toBe(250);
    // All of them when asked (an export of the whole check), within SUBJECTS_ALL.
    const all = readinessOf(facts({ institutions: many.map((i) => ({ ...i, lon: undefined, lat: undefined })) }), 1_000).items.find((i) => i.key === 'places')!;
    expect([all.subjects.length, all.total]).toEqual([250, 250]);
    expect(readinessOf(facts({ institutions: many.map((i) => ({ ...i, lon: undefined, lat: undefined })) }), 10).items.find((i) => i.key === 'places')!.subjects).toHaveLength(10);
  });
});
