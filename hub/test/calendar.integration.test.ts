/**
 * The work calendar (hub/src/calendar): a new store starts from the built-in calendar; the
 * years it lacks are said on the API, /healthz and /metrics; rule administrators read the State
 * Council's notice and save a year, and the pipeline judges the next batch by it; the hours with
 * a lunch break; history kept; another replica's save followed; bad input refused in words.
 */
import { Redis } from 'ioredis';
import { connect, type Socket } from 'socket.io-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEFAULT_CALENDAR, stateKindOf } from '@jianguan/rules';
import type { Health, HolidayNotice, RecheckResult, WorkCalendarView } from '@jianguan/protocol';
import type { Hub } from '../src/app.js';
import { chinaDay, WorkCalendars, yearsNeeded } from '../src/calendar/calendar.js';
import type { BatchAck } from '../src/protocol/index.js';
import { param, sql } from '../src/store/sql.js';
import { checkTxn, login, startTestHub, TEST_COLLECTOR, testRedisUrl, unsignedBatch, waitFor, withToken } from './helpers.js';

let hub: Hub;
let socket: Socket;
const tokens: Record<string, string> = {};
const PREFIX = `jgt-cal-${process.pid}-${Date.now().toString(36)}`;

beforeAll(async () => {
  ({ hub } = await startTestHub({ queuePrefix: PREFIX, workflowIntervalMs: 3_600_000, evaluationIntervalMs: 3_600_000 }));
  for (const u of ['rules', 'admin', 'auditor', 'leader', 'registry', 'registry2']) tokens[u] = await login(hub, u);
  socket = connect(`${hub.url}/collect`, { auth: { collectorId: TEST_COLLECTOR.collectorId, token: TEST_COLLECTOR.token }, transports: ['websocket'], reconnection: false, forceNew: true });
  await new Promise<void>((resolve, reject) => (socket.once('connect', () => resolve()), socket.once('connect_error', reject)));
});

afterAll(async () => {
  socket?.close();
  await hub?.close();
});

const call = (user: string, method: 'GET' | 'PUT' | 'POST', url: string, payload?: unknown) =>
  hub.app.inject(withToken(tokens[user]!, { method, url, ...(payload !== undefined ? { payload: payload as object } : {}) }));

function submit(records: object[], firstSeq: number): Promise<BatchAck> {
  return socket.timeout(30_000).emitWithAck('batch.submit', unsignedBatch(records, firstSeq));
}

async function rulesFired(transactionId: string): Promise<string[]> {
  const rows = await hub.store.query<{ rule_id: string }>(sql`SELECT rule_id FROM warnings FINAL WHERE transaction_id = ${param.String(transactionId)} ORDER BY rule_id`);
  return rows.map((r) => r.rule_id);
}

/** 10:00 China time on 2025-01-28, a Tuesday: a working morning unless the calendar says otherwise. */
const TUESDAY_2025 = Date.parse('2025-01-28T10:00:00+08:00');
const at = (t: number) => ({ occurredAt: t, startedAt: t, endedAt: t + 400_000 });

// A past year the built-in calendar does not know (records from the future are refused at ingest),
// in the form the State Council publishes; the arrangement stands for any year's.
const NOTICE_2025 = `国务院办公厅关于2025年部分节假日安排的通知
一、元旦：1月1日（周三）放假，共1天。
二、春节：1月28日（农历除夕、周二）至2月4日（农历正月初七、周二）放假调休，共8天。1月26日（周日）、2月8日（周六）上班。
国务院办公厅
2024年11月12日`;

describe('the work calendar', () => {
  it('a new store starts from the built-in calendar, and says which years it lacks on the API, /healthz and /metrics', async () => {
    const res = await call('auditor', 'GET', '/api/v1/calendar');
    expect(res.statusCode, res.body).toBe(200);
    const v = res.json() as WorkCalendarView;
    expect(v.hours).toMatchObject({ workingDays: [1, 2, 3, 4, 5], periods: [{ start: '08:00', end: '18:00' }], updatedBy: 'system' });
    expect(v.years.map((y) => [y.year, y.updatedBy, y.revisions])).toEqual([[2026, 'system', 1]]);
    expect(v.years[0]!.holidays).toEqual([...DEFAULT_CALENDAR.holidays].sort());
    // The built-in 2026 makes every festival the law fixes a holiday.
    expect(v.years[0]!.festivalsMissing).toEqual([]);
    const expected = yearsNeeded(Date.now()).filter((y) => y !== 2026);
    expect(v.missing).toEqual(expected);
    expect(v.today).toMatch(/^\d{4}-\d{2}-\d{2}$/);

    const health = (await hub.app.inject({ method: 'GET', url: '/healthz' })).json() as Health;
    expect(health.calendar_missing).toEqual(expected);
    const metrics = await hub.app.inject({ method: 'GET', url: '/metrics', remoteAddress: '127.0.0.1' });
    expect(metrics.body).toMatch(new RegExp(`^jg_calendar_years_missing ${expected.length}$`, 'm'));
  });

  it('only rule and system administrators change it; reading a notice saves nothing', async () => {
    expect((await call('auditor', 'PUT', '/api/v1/calendar/years/2025', { holidays: [], extraWorkdays: [] })).statusCode).toBe(403);
    expect((await call('leader', 'PUT', '/api/v1/calendar/hours', { workingDays: [1], periods: [{ start: '08:00', end: '12:00' }] })).statusCode).toBe(403);
    expect((await call('auditor', 'POST', '/api/v1/calendar/notice', { text: NOTICE_2025 })).statusCode).toBe(403);
    const read = await call('rules', 'POST', '/api/v1/calendar/notice', { text: NOTICE_2025 });
    expect(read.statusCode, read.body).toBe(200);
    const n = read.json() as HolidayNotice;
    expect(n).toMatchObject({ year: 2025, extraWorkdays: ['2025-01-26', '2025-02-08'], unread: [] });
    expect(n.holidays).toEqual(['2025-01-01', '2025-01-28', '2025-01-29', '2025-01-30', '2025-01-31', '2025-02-01', '2025-02-02', '2025-02-03', '2025-02-04']);
    expect(n.festivals.map((f) => f.name)).toEqual(['元旦', '春节']);
    expect(((await call('rules', 'GET', '/api/v1/calendar')).json() as WorkCalendarView).years.map((y) => y.year)).toEqual([2026]);
  });

  it('a saved year judges the next batch: business on a day made a holiday is off-hours, with the reason in words', async () => {
    const before = checkTxn(101, { ...at(TUESDAY_2025), channel: 'counter' });
    expect((await submit([before], 101)).ok).toBe(true);
    expect(await rulesFired(before.id)).not.toContain('counter.off_hours');
    const sundayBefore = checkTxn(102, { ...at(Date.parse('2025-01-26T10:00:00+08:00')), channel: 'counter' });
    expect((await submit([sundayBefore], 102)).ok).toBe(true);
    expect(await rulesFired(sundayBefore.id)).toContain('counter.off_hours');

    const n = (await call('rules', 'POST', '/api/v1/calendar/notice', { text: NOTICE_2025 })).json() as HolidayNotice;
    const saved = await call('rules', 'PUT', '/api/v1/calendar/years/2025', { holidays: n.holidays, extraWorkdays: n.extraWorkdays, note: '按国务院办公厅通知录入' });
    expect(saved.statusCode, saved.body).toBe(200);
    const v = saved.json() as WorkCalendarView;
    expect(v.years.map((y) => y.year)).toEqual([2026, 2025]);
    expect(v.years[1]).toMatchObject({ year: 2025, updatedBy: 'rules', note: '按国务院办公厅通知录入', revisions: 1, holidays: n.holidays });
    // The notice above is cut after the Spring Festival: the festivals it leaves as working days are said.
    expect(v.years[1]!.festivalsMissing).toEqual([
      { name: '清明节', date: '2025-04-04' },
      { name: '劳动节', date: '2025-05-01' },
      { name: '端午节', date: '2025-05-31' },
      { name: '国庆节', date: '2025-10-01' },
      { name: '中秋节', date: '2025-10-06' },
    ]);

    const after = checkTxn(103, { ...at(TUESDAY_2025 + 60_000), channel: 'counter' });
    expect((await submit([after], 103)).ok).toBe(true);
    expect(await rulesFired(after.id)).toContain('counter.off_hours');
    const [w] = await hub.store.query<{ explanation: string }>(sql`SELECT explanation FROM warnings FINAL WHERE transaction_id = ${param.String(after.id)} AND rule_id = 'counter.off_hours'`);
    expect(w?.explanation).toMatch(/法定节假日/);
    // An adjusted workday (a Sunday worked) is working time now.
    const sunday = checkTxn(104, { ...at(Date.parse('2025-01-26T10:05:00+08:00')), channel: 'counter' });
    expect((await submit([sunday], 104)).ok).toBe(true);
    expect(await rulesFired(sunday.id)).not.toContain('counter.off_hours');

    // The audit log names the change.
    await waitFor(async () => (await hub.store.query(sql`SELECT 1 FROM audit_log WHERE action = 'calendar.year'`)).length > 0, 'the audit row');
    const audit = await hub.store.query<{ action: string; target_id: string; actor: string; result: string }>(sql`SELECT action, target_id, actor, result FROM audit_log WHERE action = 'calendar.year' ORDER BY at`);
    // The auditor's refused attempt is in the log as well.
    expect(audit.map((a) => [a.actor, a.result])).toEqual([['auditor', 'denied'], ['rules', 'ok']]);
    expect(audit[1]).toMatchObject({ target_id: '2025' });
  });

  it('saving a year again replaces it and keeps the count of revisions; the hours take a lunch break', async () => {
    const again = await call('admin', 'PUT', '/api/v1/calendar/years/2025', { holidays: ['2025-01-01'], extraWorkdays: [] });
    expect(again.statusCode, again.body).toBe(200);
    expect((again.json() as WorkCalendarView).years[1]).toMatchObject({ year: 2025, holidays: ['2025-01-01'], extraWorkdays: [], revisions: 2, updatedBy: 'admin', note: '' });
    const hours = await call('rules', 'PUT', '/api/v1/calendar/hours', { workingDays: [6, 1, 2, 3, 4, 5], periods: [{ start: '14:30', end: '18:00' }, { start: '08:00', end: '12:00' }], note: '夏季作息' });
    expect(hours.statusCode, hours.body).toBe(200);
    expect((hours.json() as WorkCalendarView).hours).toMatchObject({ workingDays: [1, 2, 3, 4, 5, 6], updatedBy: 'rules', note: '夏季作息' });
    expect(hub.app.calendar.isWorkingTime(Date.parse('2030-01-03T13:00:00+08:00'))).toBe(false);
    expect(hub.app.calendar.isWorkingTime(Date.parse('2030-01-03T14:30:00+08:00'))).toBe(true);
    expect(hub.app.calendar.isWorkingTime(Date.parse('2030-01-05T09:00:00+08:00'))).toBe(true); // a Saturday
    // Back as it was, so that the suites' fixtures keep their working days.
    expect((await call('rules', 'PUT', '/api/v1/calendar/hours', { workingDays: [1, 2, 3, 4, 5], periods: [{ start: '08:00', end: '18:00' }] })).statusCode).toBe(200);
  });

  it("judges an institution type with hours of its own by them: a station's Saturday is not off-hours while stations keep weekend hours", async () => {
    const saturday = Date.parse('2025-03-15T10:00:00+08:00');
    const before = checkTxn(201, at(saturday)); // JCJ-JYZ, an inspection station
    expect((await submit([before], 201)).ok).toBe(true);
    expect(await rulesFired(before.id)).toContain('counter.off_hours');
    const unknown = await call('rules', 'PUT', '/api/v1/calendar/hours', { workingDays: [1, 2, 3, 4, 5], periods: [{ start: '08:00', end: '18:00' }], byType: { gas_station: { workingDays: [6], periods: [{ start: '08:00', end: '12:00' }], observesHolidays: true } } });
    expect(unknown.statusCode).toBe(400);
    expect(unknown.json().error.message).toMatch(/未知的机构类型 gas_station（可选：.*inspection_station（机动车检验机构）/);
    const saved = await call('rules', 'PUT', '/api/v1/calendar/hours', {
      workingDays: [1, 2, 3, 4, 5],
      periods: [{ start: '08:00', end: '18:00' }],
      byType: { inspection_station: { workingDays: [1, 2, 3, 4, 5, 6, 7], periods: [{ start: '08:00', end: '17:00' }], observesHolidays: false } },
      note: '检验机构周末营业',
    });
    expect(saved.statusCode, saved.body).toBe(200);
    expect((saved.json() as WorkCalendarView).hours.byType).toEqual({ inspection_station: { workingDays: [1, 2, 3, 4, 5, 6, 7], periods: [{ start: '08:00', end: '17:00' }], observesHolidays: false } });
    const after = checkTxn(202, at(saturday + 60_000));
    expect((await submit([after], 202)).ok).toBe(true);
    expect(await rulesFired(after.id)).not.toContain('counter.off_hours');
    // Saturdays with periods of their own (mornings only): 10:01 is working time, 14:00 is not,
    // and the explanation names Saturday's periods.
    const mornings = await call('rules', 'PUT', '/api/v1/calendar/hours', {
      workingDays: [1, 2, 3, 4, 5],
      periods: [{ start: '08:00', end: '18:00' }],
      byType: { inspection_station: { workingDays: [1, 2, 3, 4, 5, 6], periods: [{ start: '08:00', end: '17:00' }], observesHolidays: true, byWeekday: [{ days: [6], periods: [{ start: '08:00', end: '12:00' }] }] } },
    });
    expect(mornings.statusCode, mornings.body).toBe(200);
    expect((mornings.json() as WorkCalendarView).hours.byType?.inspection_station?.byWeekday).toEqual([{ days: [6], periods: [{ start: '08:00', end: '12:00' }] }]);
    const morning = checkTxn(204, at(saturday + 90_000));
    const afternoon = checkTxn(205, at(saturday + 4 * 3_600_000));
    expect((await submit([morning, afternoon], 204)).ok).toBe(true);
    expect(await rulesFired(morning.id)).not.toContain('counter.off_hours');
    expect(await rulesFired(afternoon.id)).toContain('counter.off_hours');
    const [offHours] = await hub.store.query<{ explanation: string }>(sql`SELECT explanation FROM warnings WHERE transaction_id = ${param.String(afternoon.id)} AND rule_id = 'counter.off_hours'`);
    expect(offHours?.explanation).toContain('不在工作时间08:00–12:00内');
    // A day of its own that is no working day is refused in words.
    const sunday = await call('rules', 'PUT', '/api/v1/calendar/hours', {
      workingDays: [1, 2, 3, 4, 5],
      periods: [{ start: '08:00', end: '18:00' }],
      byType: { inspection_station: { workingDays: [1, 2, 3, 4, 5, 6], periods: [{ start: '08:00', end: '17:00' }], observesHolidays: true, byWeekday: [{ days: [7], periods: [{ start: '08:00', end: '12:00' }] }] } },
    });
    expect([sunday.statusCode, sunday.json().error.code]).toEqual([400, 'BODY_INVALID']);
    expect(sunday.json().error.message).toContain('周日不是营业日');
    // Hours of another type only: the station is back on the city's hours.
    const hospitals = await call('rules', 'PUT', '/api/v1/calendar/hours', {
      workingDays: [1, 2, 3, 4, 5],
      periods: [{ start: '08:00', end: '18:00' }],
      byType: { hospital: { workingDays: [1, 2, 3, 4, 5, 6], periods: [{ start: '08:00', end: '12:00' }], observesHolidays: true } },
    });
    expect(hospitals.statusCode, hospitals.body).toBe(200);
    const again = checkTxn(203, at(saturday + 120_000));
    expect((await submit([again], 203)).ok).toBe(true);
    expect(await rulesFired(again.id)).toContain('counter.off_hours');
    expect((await call('rules', 'PUT', '/api/v1/calendar/hours', { workingDays: [1, 2, 3, 4, 5], periods: [{ start: '08:00', end: '18:00' }] })).statusCode).toBe(200);
    expect(((await call('rules', 'GET', '/api/v1/calendar')).json() as WorkCalendarView).hours).not.toHaveProperty('byType');
  });

  it("judges an institution with its own filed hours by them, before its type's", async () => {
    const saturday = Date.parse('2025-03-22T10:00:00+08:00');
    const before = checkTxn(211, at(saturday)); // JCJ-JYZ on the city's hours: Saturday is off-hours
    expect((await submit([before], 211)).ok).toBe(true);
    expect(await rulesFired(before.id)).toContain('counter.off_hours');
    // Stations keep weekday hours as a type; this one files every day 08:00–17:00.
    const typeHours = await call('rules', 'PUT', '/api/v1/calendar/hours', {
      workingDays: [1, 2, 3, 4, 5],
      periods: [{ start: '08:00', end: '18:00' }],
      byType: { inspection_station: { workingDays: [1, 2, 3, 4, 5], periods: [{ start: '08:00', end: '18:00' }], observesHolidays: true } },
    });
    expect(typeHours.statusCode, typeHours.body).toBe(200);
    const current = ((await call('registry', 'GET', '/api/v1/registry/institutions')).json().items as { id: string }[]).find((i) => i.id === 'JCJ-JYZ')!;
    const hours = { workingDays: [1, 2, 3, 4, 5, 6, 7], periods: [{ start: '08:00', end: '17:00' }], observesHolidays: false };
    // Filed from 1 March 2025 (the registry answers as of each record's time; these records are in 2025).
    const filed = await call('registry', 'POST', '/api/v1/registry/requests', { effectiveFrom: '2025-03-01T00:00:00+08:00', items: [{ entity: 'institution', data: { ...current, hours } }] });
    expect(filed.statusCode, filed.body).toBe(201);
    expect((await call('registry2', 'POST', `/api/v1/registry/requests/${filed.json().id}/approve`, {})).statusCode).toBe(200);
    const after = checkTxn(212, at(saturday + 60_000));
    expect((await submit([after], 212)).ok).toBe(true);
    expect(await rulesFired(after.id)).not.toContain('counter.off_hours');
    // 17:30 on a Monday: inside the type's 08:00–18:00, outside its own filed hours.
    const late = checkTxn(213, at(Date.parse('2025-03-24T17:30:00+08:00')));
    expect((await submit([late], 213)).ok).toBe(true);
    const rows = await hub.store.query<{ explanation: string }>(sql`SELECT explanation FROM warnings FINAL WHERE transaction_id = ${param.String(late.id)} AND rule_id = 'counter.off_hours'`);
    expect(rows.map((r) => r.explanation)).toEqual(['业务办理时间2025-03-24 17:30（星期一），不在工作时间08:00–17:00内']);
    // Its filing withdrawn (the record without hours): back on its type's hours.
    const withdrawn = await call('registry', 'POST', '/api/v1/registry/requests', { effectiveFrom: '2025-03-25T00:00:00+08:00', items: [{ entity: 'institution', data: current }] });
    expect((await call('registry2', 'POST', `/api/v1/registry/requests/${withdrawn.json().id}/approve`, {})).statusCode).toBe(200);
    const again = checkTxn(214, at(Date.parse('2025-03-29T10:00:00+08:00')));
    expect((await submit([again], 214)).ok).toBe(true);
    expect(await rulesFired(again.id)).toContain('counter.off_hours');
    expect((await call('rules', 'PUT', '/api/v1/calendar/hours', { workingDays: [1, 2, 3, 4, 5], periods: [{ start: '08:00', end: '18:00' }] })).statusCode).toBe(200);
  });

  it('checks warnings again under the filings and calendar now in force, without changing them', async () => {
    // Business on 2025-04-12 (a Saturday) and 2025-04-14 at 18:30 by JCJ-JYZ: both off the city's
    // hours (08:00–18:00) when they arrive.
    const sat = checkTxn(221, at(Date.parse('2025-04-12T10:00:00+08:00')));
    const late = checkTxn(222, at(Date.parse('2025-04-14T18:30:00+08:00')));
    expect((await submit([sat, late], 221)).ok).toBe(true);
    const idOf = async (txnId: string) =>
      (await hub.store.query<{ id: string }>(sql`SELECT id FROM warnings FINAL WHERE transaction_id = ${param.String(txnId)} AND rule_id = 'counter.off_hours'`))[0]!.id;
    const [satWarning, lateWarning] = [await idOf(sat.id), await idOf(late.id)];
    const eventsOf = async (id: string) => ((await call('auditor', 'GET', `/api/v1/warnings/${id}`)).json().events as { type: string }[]).map((e) => e.type);
    const recheck = (user: string, ids: string[]) => call(user, 'POST', '/api/v1/warnings/recheck', { ids });
    const first = await recheck('auditor', [satWarning, lateWarning]);
    expect(first.statusCode, first.body).toBe(200);
    expect(first.json()).toMatchObject({ checked: 2, still: 2, noLonger: 0, notCheckable: 0 });
    // The station's hours filed afterwards, back-dated to 1 April: Monday–Saturday 08:00–18:00.
    const current = ((await call('registry', 'GET', '/api/v1/registry/institutions')).json().items as { id: string }[]).find((i) => i.id === 'JCJ-JYZ')!;
    const filed = await call('registry', 'POST', '/api/v1/registry/requests', {
      effectiveFrom: '2025-04-01T00:00:00+08:00',
      items: [{ entity: 'institution', data: { ...current, hours: { workingDays: [1, 2, 3, 4, 5, 6], periods: [{ start: '08:00', end: '17:00' }], observesHolidays: true } } }],
    });
    expect((await call('registry2', 'POST', `/api/v1/registry/requests/${filed.json().id}/approve`, {})).statusCode).toBe(200);
    // A warning of a rule that counts history cannot be replayed from one record; an unknown id is said.
    // The same business number checked three times in a working morning: check.repeated_checks.
    const tuesday = Date.parse('2025-04-15T10:00:00+08:00');
    const repeats = [231, 232, 233].map((seq, i) => checkTxn(seq, { ...at(tuesday + i * 600_000), lsh: '2504150099999' }));
    expect((await submit(repeats, 231)).ok).toBe(true);
    const statefulRules = hub.app.rulesets.engineAt().definitions.filter((d) => stateKindOf(d) !== 'none').map((d) => d.id);
    const [stateful] = await hub.store.query<{ id: string }>(
      sql`SELECT id FROM warnings FINAL WHERE transaction_id = ${param.String(repeats[2]!.id)} AND rule_id IN ${param.ArrayString(statefulRules)}`,
    );
    expect(stateful, 'a warning of a rule that counts history').toBeDefined();
    const ids = [satWarning, lateWarning, 'no-such-warning', stateful!.id];
    const after = await recheck('auditor', ids);
    expect(after.statusCode, after.body).toBe(200);
    const r = after.json() as RecheckResult;
    expect(r.results.find((x) => x.id === satWarning)).toMatchObject({ outcome: 'no_longer', explanationThen: expect.stringContaining('休息日') });
    expect(r.results.find((x) => x.id === lateWarning)).toMatchObject({
      outcome: 'still',
      explanationNow: '业务办理时间2025-04-14 18:30（星期一），不在工作时间08:00–17:00内',
    });
    expect(r.results.find((x) => x.id === 'no-such-warning')).toEqual({ id: 'no-such-warning', outcome: 'not_checkable', reason: 'not_found' });
    expect(r.results.find((x) => x.id === stateful!.id)).toMatchObject({ outcome: 'not_checkable', reason: 'stateful' });
    expect(r).toMatchObject({ checked: ids.length, still: 1, noLonger: 1, notCheckable: ids.length - 2 });
    // The institutions given (as a list shows them) only narrow the read: the same answer; a
    // warning of an institution not given is not found.
    const narrowed = await call('auditor', 'POST', '/api/v1/warnings/recheck', { ids, institutions: ['JCJ-JYZ'] });
    expect((narrowed.json() as RecheckResult).results).toEqual(r.results);
    const elsewhere = await call('auditor', 'POST', '/api/v1/warnings/recheck', { ids: [satWarning], institutions: ['NO-SUCH'] });
    expect((elsewhere.json() as RecheckResult).results).toEqual([{ id: satWarning, outcome: 'not_checkable', reason: 'not_found' }]);
    // Advice only: nothing but the automatic assignment on raise has happened to the warnings.
    for (const id of [satWarning, lateWarning]) expect((await eventsOf(id)).filter((t) => t !== 'assigned')).toEqual([]);
    // Who may ask, and what they may send.
    expect((await recheck('registry', [satWarning])).statusCode).toBe(403);
    expect((await recheck('auditor', [])).statusCode).toBe(400);
    expect((await call('auditor', 'POST', '/api/v1/warnings/recheck', { ids: Array.from({ length: 501 }, (_, i) => `w${i}`) })).statusCode).toBe(400);
    expect((await call('auditor', 'POST', '/api/v1/warnings/recheck', { ids: 'all' })).statusCode).toBe(400);
    // The filing withdrawn again for the tests after this one.
    const back = await call('registry', 'POST', '/api/v1/registry/requests', { effectiveFrom: '2025-04-01T00:00:00+08:00', items: [{ entity: 'institution', data: current }] });
    expect((await call('registry2', 'POST', `/api/v1/registry/requests/${back.json().id}/approve`, {})).statusCode).toBe(200);
  });

  it('refuses bad input in words and keeps what was in force', async () => {
    const refused = async (method: 'PUT' | 'POST', url: string, payload: unknown, pattern: RegExp) => {
      const r = await call('rules', method, url, payload);
      expect(r.statusCode, r.body).toBe(400);
      expect(r.json().error.message).toMatch(pattern);
      return r;
    };
    await refused('PUT', '/api/v1/calendar/years/2031', { holidays: ['2031-02-30'], extraWorkdays: [] }, /真实日期/);
    await refused('PUT', '/api/v1/calendar/years/2031', { holidays: ['2031-10-01'], extraWorkdays: ['2031-10-01'] }, /既是假日又是调休上班日/);
    await refused('PUT', '/api/v1/calendar/years/2031', { holidays: ['2029-10-01'], extraWorkdays: [] }, /不在 2031 年/);
    await refused('PUT', '/api/v1/calendar/years/1999', { holidays: [], extraWorkdays: [] }, /./);
    await refused('PUT', '/api/v1/calendar/years/abc', { holidays: [], extraWorkdays: [] }, /./);
    await refused('PUT', '/api/v1/calendar/years/2031', { holidays: 'all of them' }, /./);
    await refused('PUT', '/api/v1/calendar/hours', { workingDays: [1], periods: [{ start: '08:00', end: '12:00' }, { start: '11:00', end: '18:00' }] }, /重叠/);
    await refused('PUT', '/api/v1/calendar/hours', { workingDays: [1, 1], periods: [{ start: '08:00', end: '12:00' }] }, /重复/);
    await refused('PUT', '/api/v1/calendar/hours', { workingDays: [1], periods: [{ start: '18:00', end: '08:00' }] }, /晚于/);
    await refused('PUT', '/api/v1/calendar/hours', { workingDays: [1], periods: [] }, /至少/);
    await refused('POST', '/api/v1/calendar/notice', { text: 'x'.repeat(20_001) }, /./);
    const notJson = await hub.app.inject(withToken(tokens.rules!, { method: 'PUT', url: '/api/v1/calendar/hours', payload: 'weekdays please', headers: { 'content-type': 'application/json' } }));
    expect(notJson.statusCode).toBe(400);
    const v = (await call('rules', 'GET', '/api/v1/calendar')).json() as WorkCalendarView;
    expect(v.years.map((y) => y.year)).toEqual([2026, 2025]);
    expect(v.hours.periods).toEqual([{ start: '08:00', end: '18:00' }]);
  });

  it('follows a save made by another replica', async () => {
    // What another hub's save leaves: a row in the shared store and a message on the channel.
    await hub.store.insert('work_calendar', [{ kind: 'year', year: 2032, data: JSON.stringify({ holidays: ['2032-01-01'], extraWorkdays: [] }), note: '', updated_by: 'elsewhere', updated_at: Date.now() }]);
    const redis = new Redis(testRedisUrl());
    try {
      await redis.publish(`${PREFIX}:calendar`, String(Date.now()));
      await waitFor(async () => ((await call('rules', 'GET', '/api/v1/calendar')).json() as WorkCalendarView).years.some((y) => y.year === 2032), 'the other replica’s year');
    } finally {
      await redis.quit();
    }
    expect(hub.app.calendar.isWorkingDay(Date.parse('2032-01-01T10:00:00+08:00'))).toBe(false);
  });

  it('needs next year from 1 November, China time, and says a missing year once a day', async () => {
    const cst = (local: string) => Date.parse(`${local}+08:00`);
    expect(yearsNeeded(cst('2027-10-31T23:59:00'))).toEqual([2027]);
    expect(yearsNeeded(cst('2027-11-01T00:00:00'))).toEqual([2027, 2028]);
    // 16:30 UTC on 31 December is already New Year's Day in China.
    expect(chinaDay(Date.parse('2027-12-31T16:30:00Z'))).toEqual({ date: '2028-01-01', year: 2028, month: 1 });
    expect(yearsNeeded(Date.parse('2027-12-31T16:30:00Z'))).toEqual([2028]);

    let now = cst('2026-11-02T09:00:00');
    const said: { event: string; year?: unknown }[] = [];
    const gauge: number[] = [];
    const redis = new Redis(testRedisUrl());
    const c = await WorkCalendars.open({ store: hub.store, redis, prefix: `${PREFIX}-days`, emit: (event, fields) => void said.push({ event, year: fields.year }), missingGauge: (n) => void gauge.push(n), now: () => now });
    try {
      // 2026 is in the store, 2027 not: one warning, and not again the same day.
      expect(c.missing()).toEqual([2027]);
      c.checkMissing();
      now += 3_600_000;
      c.checkMissing();
      expect(said.filter((e) => e.event === 'calendar.missing_year')).toEqual([{ event: 'calendar.missing_year', year: 2027 }]);
      now += 86_400_000;
      c.checkMissing();
      expect(said.filter((e) => e.event === 'calendar.missing_year')).toHaveLength(2);
      expect(gauge.at(-1)).toBe(1);
      // In October neither year is missing: the gauge goes back to 0.
      now = cst('2026-10-15T09:00:00');
      c.checkMissing();
      expect(gauge.at(-1)).toBe(0);
      // 2027 entered by hand without Qingming and the Dragon Boat festival (and nothing after May):
      // not missing, but said once a day as incomplete, naming the festivals.
      now = cst('2026-11-20T09:00:00');
      await c.saveYear(2027, { holidays: ['2027-01-01', '2027-02-06', '2027-02-07', '2027-02-08', '2027-05-01'], extraWorkdays: [] }, '', 'test');
      expect(c.missing()).toEqual([]);
      const year = c.view().years.find((y) => y.year === 2027)!;
      expect(year.festivalsMissing.map((f) => f.name)).toEqual(['清明节', '端午节', '中秋节', '国庆节']);
      c.checkMissing();
      c.checkMissing();
      expect(said.filter((e) => e.event === 'calendar.incomplete_year')).toEqual([{ event: 'calendar.incomplete_year', year: 2027 }]);
    } finally {
      c.close();
      await redis.quit();
    }
  });

  it('two replicas starting together on a new store seed the built-in calendar once', async () => {
    await hub.store.command(sql`TRUNCATE TABLE work_calendar`);
    const redis = new Redis(testRedisUrl());
    const prefix = `${PREFIX}-seed`;
    const events: string[] = [];
    const deps = { store: hub.store, redis, prefix, emit: (event: string) => void events.push(event) };
    const both = await Promise.all([WorkCalendars.open(deps), WorkCalendars.open(deps)]);
    try {
      const rows = await hub.store.query<{ kind: string; year: number; updated_by: string }>(sql`SELECT kind, year, updated_by FROM work_calendar ORDER BY kind, year`);
      expect(rows.map((r) => [r.kind, Number(r.year), r.updated_by])).toEqual([['hours', 0, 'system'], ['year', 2026, 'system']]);
      expect(events.filter((e) => e === 'calendar.seeded')).toHaveLength(1);
      for (const c of both) expect(c.view().years.map((y) => [y.year, y.revisions])).toEqual([[2026, 1]]);
    } finally {
      for (const c of both) c.close();
      await redis.quit();
    }
  });
});
