import { describe, expect, it } from 'vitest';
import { DEFAULT_CALENDAR, DEMO_INSTITUTIONS, DEMO_STAFF, createEngine, createRegistryView, createWorkCalendar, type Transaction } from '../src/index.js';
import { context, cst, txn } from './helpers.js';

const engine = createEngine();
const RULE = 'counter.off_hours';

async function hitsOf(t: Transaction) {
  return (await engine.evaluate(t, context())).filter((h) => h.rule.id === RULE);
}

describe('counter.off_hours (calendar)', () => {
  // Golden cases: local time → fires? (2026-11-26 is a Thursday)
  const golden: [string, boolean, string][] = [
    ['2026-11-26T08:00', false, 'first minute of the working day'],
    ['2026-11-26T17:59', false, 'last minute inside 08:00–18:00'],
    ['2026-11-26T18:00', true, 'end of the period is exclusive'],
    ['2026-11-26T07:59', true, 'one minute before opening'],
    ['2026-11-26T22:15', true, 'late evening'],
    ['2026-10-01T10:00', true, 'National Day (法定节假日), a Thursday'],
    ['2026-02-17T11:00', true, 'Spring Festival'],
    ['2026-11-28T10:00', true, 'ordinary Saturday'],
    ['2026-11-29T10:00', true, 'ordinary Sunday'],
    ['2026-10-10T10:00', false, 'adjusted workday (调休) Saturday'],
    ['2026-02-14T09:30', false, 'adjusted workday (调休) Saturday before Spring Festival'],
    ['2026-10-10T18:30', true, 'adjusted workday, but after hours'],
  ];
  it.each(golden)('%s → fires=%s (%s)', async (local, fires) => {
    expect(await hitsOf(txn({ occurredAt: cst(local) }))).toHaveLength(fires ? 1 : 0);
  });

  it('explains an after-hours business on a working day with the time and the working period', async () => {
    const [hit] = await hitsOf(txn({ occurredAt: cst('2026-11-26T22:15') }));
    expect(hit?.explanation).toBe('业务办理时间2026-11-26 22:15（星期四），不在工作时间08:00–18:00内');
    expect(hit?.values).toMatchObject({ date: '2026-11-26', time: '22:15', period: '08:00–18:00', reason: 'outside_hours' });
    expect(hit?.rule).toMatchObject({ family: 'counter', severity: 'medium', action: 'warn', name: '非工作时间办理业务' });
  });

  it('explains holidays and rest days as such, whatever the hour', async () => {
    const [holiday] = await hitsOf(txn({ occurredAt: cst('2026-10-01T22:00') }));
    expect(holiday?.explanation).toBe('业务办理时间2026-10-01 22:00（星期四）为法定节假日');
    expect(holiday?.values.dayType).toBe('法定节假日');
    const [rest] = await hitsOf(txn({ occurredAt: cst('2026-11-28T10:05') }));
    expect(rest?.explanation).toBe('业务办理时间2026-11-28 10:05（星期六）为休息日');
  });

  it('applies to vehicle, licence, violation and check business at counters and institutions only', async () => {
    const night = cst('2026-11-26T23:00');
    for (const kind of ['vehicle', 'licence', 'violation', 'check'] as const) {
      for (const channel of ['counter', 'institution'] as const) {
        expect(await hitsOf(txn({ occurredAt: night, kind, channel, staffId: 'JCJ-CGS-I01' }))).toHaveLength(1);
      }
    }
    for (const kind of ['inspection', 'exam', 'medical', 'queue', 'online'] as const) {
      expect(await hitsOf(txn({ occurredAt: night, kind }))).toHaveLength(0);
    }
    for (const channel of ['self_service', 'internet'] as const) {
      expect(await hitsOf(txn({ occurredAt: night, channel }))).toHaveLength(0);
    }
  });
});

describe('business hours of an institution type', () => {
  // Inspection stations open every day 08:00–17:00, public holidays included.
  const calendar = createWorkCalendar({
    ...DEFAULT_CALENDAR,
    byType: { inspection_station: { workingDays: [1, 2, 3, 4, 5, 6, 7], periods: [{ start: '08:00', end: '17:00' }], observesHolidays: false } },
  });
  const at = async (institutionId: string, local: string) =>
    (await engine.evaluate(txn({ occurredAt: cst(local), institutionId, kind: 'check', channel: 'institution', staffId: `${institutionId}-I01` }), { ...context(), calendar })).filter((h) => h.rule.id === RULE);

  it("judges a station's Saturday and holiday business by its own hours, and an office's by the city's", async () => {
    expect(await at('JCJ-JYZ', '2026-11-28T10:00')).toHaveLength(0); // Saturday, a station
    expect(await at('JCJ-JYZ', '2026-10-01T10:00')).toHaveLength(0); // National Day, a station
    expect(await at('JCJ-CGS', '2026-11-28T10:00')).toHaveLength(1); // Saturday, the vehicle office
    const [late] = await at('JCJ-JYZ', '2026-11-26T17:30');
    expect(late?.explanation).toBe('业务办理时间2026-11-26 17:30（星期四），不在工作时间08:00–17:00内');
    // An institution the registry does not know keeps the city's hours.
    expect(await at('NO-SUCH-PLACE', '2026-11-28T10:00')).toHaveLength(1);
  });
});

describe("an institution's own filed hours", () => {
  // One station files Monday–Saturday 08:30–12:00 and 14:00–17:30, open on public holidays;
  // the other stations keep their type's hours (every day 08:00–17:00, holidays closed).
  const calendar = createWorkCalendar({
    ...DEFAULT_CALENDAR,
    byType: { inspection_station: { workingDays: [1, 2, 3, 4, 5, 6, 7], periods: [{ start: '08:00', end: '17:00' }], observesHolidays: true } },
  });
  const own = { workingDays: [1, 2, 3, 4, 5, 6], periods: [{ start: '08:30', end: '12:00' }, { start: '14:00', end: '17:30' }], observesHolidays: false };
  const base = DEMO_INSTITUTIONS.find((i) => i.id === 'JCJ-JYZ')!;
  const registry = createRegistryView([...DEMO_INSTITUTIONS, { ...base, id: 'JCJ-JYZ2', name: '自有营业时间检验站', hours: own }], DEMO_STAFF);
  const at = async (institutionId: string, local: string) =>
    (await engine.evaluate(txn({ occurredAt: cst(local), institutionId, kind: 'check', channel: 'institution', staffId: `${institutionId}-I01` }), { ...context({ registry }), calendar })).filter((h) => h.rule.id === RULE);

  it('judges its business by its own hours before its type’s and the city’s', async () => {
    // Lunch break: inside the type's 08:00–17:00, outside its own periods.
    const [lunch] = await at('JCJ-JYZ2', '2026-11-26T12:30');
    expect(lunch?.explanation).toBe('业务办理时间2026-11-26 12:30（星期四），不在工作时间08:30–12:00、14:00–17:30内');
    expect(await at('JCJ-JYZ', '2026-11-26T12:30')).toHaveLength(0);
    // 17:15: inside its own hours, outside the type's.
    expect(await at('JCJ-JYZ2', '2026-11-26T17:15')).toHaveLength(0);
    expect(await at('JCJ-JYZ', '2026-11-26T17:15')).toHaveLength(1);
    // Sunday: its own hours close it, the type's keep it open.
    const [sunday] = await at('JCJ-JYZ2', '2026-11-29T10:00');
    expect(sunday?.values).toMatchObject({ reason: 'rest_day' });
    expect(await at('JCJ-JYZ', '2026-11-29T10:00')).toHaveLength(0);
    // National Day (a Thursday): open by its own filing, closed for the type.
    expect(await at('JCJ-JYZ2', '2026-10-01T10:00')).toHaveLength(0);
    const [holiday] = await at('JCJ-JYZ', '2026-10-01T10:00');
    expect(holiday?.values).toMatchObject({ reason: 'holiday' });
  });

  it('judges a day with periods of its own by them, and an adjusted working day by the usual ones', async () => {
    // Monday–Friday 08:00–17:00, Saturday mornings, holidays closed.
    const saturdays = { workingDays: [1, 2, 3, 4, 5, 6], periods: [{ start: '08:00', end: '17:00' }], observesHolidays: true, byWeekday: [{ days: [6], periods: [{ start: '08:00', end: '12:00' }] }] };
    const reg = createRegistryView([...DEMO_INSTITUTIONS, { ...base, id: 'JCJ-JYZ3', name: '周六上午营业检验站', hours: saturdays }], DEMO_STAFF);
    const at3 = async (local: string) =>
      (await engine.evaluate(txn({ occurredAt: cst(local), institutionId: 'JCJ-JYZ3', kind: 'check', channel: 'institution', staffId: 'JCJ-JYZ3-I01' }), { ...context({ registry: reg }), calendar })).filter((h) => h.rule.id === RULE);
    expect(await at3('2026-11-28T11:30')).toHaveLength(0); // Saturday morning
    const [afternoon] = await at3('2026-11-28T14:00');
    expect(afternoon?.explanation).toBe('业务办理时间2026-11-28 14:00（星期六），不在工作时间08:00–12:00内');
    expect(await at3('2026-11-27T14:00')).toHaveLength(0); // Friday afternoon
    const [friday] = await at3('2026-11-27T17:30');
    expect(friday?.explanation).toBe('业务办理时间2026-11-27 17:30（星期五），不在工作时间08:00–17:00内');
    // Saturday 2026-02-28 is an adjusted working day (调休): a usual working day, afternoon included.
    expect(await at3('2026-02-28T14:00')).toHaveLength(0);
    expect((await at3('2026-11-29T10:00'))[0]?.values).toMatchObject({ reason: 'rest_day' });
    const cal = calendar.forInstitution!({ type: 'inspection_station', hours: saturdays });
    expect(cal.periodsOn!(cst('2026-11-28T09:00'))).toEqual([{ start: '08:00', end: '12:00' }]);
    expect(cal.periodsOn!(cst('2026-02-28T09:00'))).toEqual([{ start: '08:00', end: '17:00' }]);
  });

  it('gives one calendar per hours object, and the type’s calendar without hours', () => {
    const a = calendar.forInstitution!({ type: 'inspection_station', hours: own });
    expect(calendar.forInstitution!({ type: 'inspection_station', hours: own })).toBe(a);
    expect(calendar.forInstitution!({ type: 'inspection_station' })).toBe(calendar.forType!('inspection_station'));
    expect(calendar.forInstitution!(undefined)).toBe(calendar);
    expect(calendar.forInstitution!({ type: 'vehicle_office' })).toBe(calendar);
  });
});
