import { describe, expect, it } from 'vitest';
import {
  DEFAULT_CALENDAR,
  WorkHoursSchema,
  builtinCalendar,
  calendarYearSchema,
  createWorkCalendar,
  festivalDays,
  festivalsMissing,
  isCalendarDate,
  mergeCalendar,
  parseHolidayNotice,
} from '../src/index.js';

// The 2026 arrangement in the form the State Council publishes it (the built-in calendar's dates).
const NOTICE_2026 = `国务院办公厅关于2026年部分节假日安排的通知
各省、自治区、直辖市人民政府，国务院各部委、各直属机构：
经国务院批准，现将2026年元旦、春节、清明节、劳动节、端午节、中秋节和国庆节放假调休日期的具体安排通知如下。
一、元旦：1月1日（周四）至3日（周六）放假调休，共3天。1月4日（周日）上班。
二、春节：2月15日（农历腊月二十八、周日）至23日（农历正月初七、周一）放假调休，共9天。2月14日（周六）、2月28日（周六）上班。
三、清明节：4月4日（周六）至6日（周一）放假，共3天。
四、劳动节：5月1日（周五）至5日（周二）放假调休，共5天。5月9日（周六）上班。
五、端午节：6月19日（周五）至21日（周日）放假，共3天。
六、中秋节：9月25日（周五）至27日（周日）放假，共3天。9月20日（周日）上班。
七、国庆节：10月1日（周四）至7日（周三）放假调休，共7天。10月10日（周六）上班。
节假日期间，各地区、各部门要妥善安排好值班和安全、保卫等工作，遇有重大突发事件，要按规定及时报告并妥善处置，确保人民群众祥和平安度过节日假期。
国务院办公厅
2025年11月4日`;

describe('the State Council notice', () => {
  it('reads every festival of the 2026 notice into the built-in dates', () => {
    const n = parseHolidayNotice(NOTICE_2026);
    expect(n.year).toBe(2026);
    expect(n.holidays).toEqual([...DEFAULT_CALENDAR.holidays].sort());
    expect(n.extraWorkdays).toEqual([...DEFAULT_CALENDAR.extraWorkdays].sort());
    expect(n.festivals.map((f) => f.name)).toEqual(['元旦', '春节', '清明节', '劳动节', '端午节', '中秋节', '国庆节']);
    expect(n.festivals[1]).toEqual({
      name: '春节',
      holidays: ['2026-02-15', '2026-02-16', '2026-02-17', '2026-02-18', '2026-02-19', '2026-02-20', '2026-02-21', '2026-02-22', '2026-02-23'],
      extraWorkdays: ['2026-02-14', '2026-02-28'],
    });
    expect(n.unread).toEqual([]);
  });

  it('reads the notice pasted as one paragraph, with full-width digits and dashes', () => {
    const flat = NOTICE_2026.replace(/\n/g, '').replace(/[0-9]/g, (c) => String.fromCharCode(c.charCodeAt(0) + 0xfee0)).replace('至3日', '—3日');
    const n = parseHolidayNotice(flat);
    expect(n.year).toBe(2026);
    expect(n.holidays).toEqual([...DEFAULT_CALENDAR.holidays].sort());
    expect(n.extraWorkdays).toEqual([...DEFAULT_CALENDAR.extraWorkdays].sort());
    expect(n.festivals).toHaveLength(7);
  });

  it('follows a range across the new year and single days 与周末连休', () => {
    const n = parseHolidayNotice(`一、元旦：2022年12月31日至2023年1月2日放假调休，共3天。
二、清明节：4月5日放假，与周末连休。
三、劳动节：4月29日至5月3日放假调休，共5天。4月23日（周日）、5月6日（周六）上班。`, 2023);
    expect(n.year).toBe(2023);
    expect(n.holidays).toEqual(['2022-12-31', '2023-01-01', '2023-01-02', '2023-04-05', '2023-04-29', '2023-04-30', '2023-05-01', '2023-05-02', '2023-05-03']);
    expect(n.extraWorkdays).toEqual(['2023-04-23', '2023-05-06']);
    expect(calendarYearSchema(2023).safeParse({ holidays: n.holidays, extraWorkdays: n.extraWorkdays }).success).toBe(true);
  });

  it('reads a combined festival head and a range written 12月31日至1月2日', () => {
    const n = parseHolidayNotice('七、国庆节、中秋节：9月29日至10月6日放假调休，共8天。10月7日（周六）、10月8日（周日）上班。\n一、元旦：12月30日至1月1日放假', 2023);
    expect(n.festivals.map((f) => f.name)).toEqual(['国庆节、中秋节', '元旦']);
    expect(n.festivals[0]!.holidays).toHaveLength(8);
    expect(n.festivals[1]!.holidays).toEqual(['2023-12-30', '2023-12-31', '2024-01-01']);
  });

  it('returns the sentences it could not read, and asks for a year when none is named', () => {
    const n = parseHolidayNotice('一、春节：2月10日调整安排，另行通知。', 2030);
    expect(n.holidays).toEqual([]);
    expect(n.unread).toEqual(['2月10日调整安排，另行通知']);
    const none = parseHolidayNotice('春节：2月10日至12日放假');
    expect(none.year).toBeNull();
    expect(none.unread[0]).toMatch(/年份/);
    expect(parseHolidayNotice('', undefined).unread).toEqual([]);
  });

  it('shows a range longer than any festival instead of filing it', () => {
    const n = parseHolidayNotice('一、春节：1月1日至12月31日放假。1月2日上班。', 2027);
    expect(n.holidays).toEqual([]);
    expect(n.unread).toEqual(['1月1日至12月31日放假']);
    expect(n.extraWorkdays).toEqual(['2027-01-02']);
  });

  it('drops impossible dates instead of inventing them', () => {
    const n = parseHolidayNotice('春节：2月30日放假。2月31日上班。', 2027);
    expect(n.holidays).toEqual([]);
    expect(n.extraWorkdays).toEqual([]);
    expect(n.unread).toEqual(['2月30日放假', '2月31日上班']);
  });
});

describe('calendar entries', () => {
  it('validates a year: real dates, within the year give or take a week, not both holiday and workday', () => {
    const s = calendarYearSchema(2027);
    expect(s.safeParse({ holidays: ['2027-01-01'], extraWorkdays: [] }).success).toBe(true);
    expect(s.safeParse({ holidays: ['2026-12-28'], extraWorkdays: [] }).success).toBe(true);
    const bad = (v: unknown) => {
      const r = s.safeParse(v);
      expect(r.success).toBe(false);
      return r.success ? '' : r.error.issues.map((i) => i.message).join(' | ');
    };
    expect(bad({ holidays: ['2027-02-30'], extraWorkdays: [] })).toMatch(/真实日期/);
    expect(bad({ holidays: ['2027-1-1'], extraWorkdays: [] })).toMatch(/YYYY-MM-DD/);
    expect(bad({ holidays: ['2026-12-01'], extraWorkdays: [] })).toMatch(/不在 2027 年/);
    expect(bad({ holidays: ['2027-10-01'], extraWorkdays: ['2027-10-01'] })).toMatch(/既是假日又是调休上班日/);
    expect(bad({ holidays: [], extraWorkdays: [], other: 1 })).toMatch(/other|Unrecognized/i);
    expect(isCalendarDate('2028-02-29')).toBe(true);
    expect(isCalendarDate('2027-02-29')).toBe(false);
  });

  it('validates the hours: periods that do not overlap, weekdays once each', () => {
    expect(WorkHoursSchema.safeParse({ workingDays: [1, 2, 3, 4, 5, 6], periods: [{ start: '08:00', end: '12:00' }, { start: '14:30', end: '18:00' }] }).success).toBe(true);
    const msg = (v: unknown) => {
      const r = WorkHoursSchema.safeParse(v);
      return r.success ? '' : r.error.issues.map((i) => i.message).join(' | ');
    };
    expect(msg({ workingDays: [1, 1], periods: [{ start: '08:00', end: '12:00' }] })).toMatch(/重复/);
    expect(msg({ workingDays: [1], periods: [{ start: '08:00', end: '12:00' }, { start: '11:00', end: '18:00' }] })).toMatch(/重叠/);
    expect(msg({ workingDays: [1], periods: [{ start: '18:00', end: '08:00' }] })).toMatch(/晚于/);
    expect(msg({ workingDays: [1], periods: [{ start: '8:00', end: '12:00' }] })).toMatch(/HH:MM/);
    expect(msg({ workingDays: [1], periods: [] })).toMatch(/至少/);
    expect(msg({ workingDays: [8], periods: [{ start: '08:00', end: '12:00' }] })).not.toBe('');
  });

  it('validates and merges the hours of institution types; a type without them keeps the city calendar', () => {
    const hours = {
      workingDays: [5, 4, 3, 2, 1],
      periods: [{ start: '08:00', end: '18:00' }],
      byType: {
        inspection_station: { workingDays: [7, 1, 2, 3, 4, 5, 6], periods: [{ start: '08:00', end: '17:00' }], observesHolidays: false },
        hospital: { workingDays: [1, 2, 3, 4, 5, 6], periods: [{ start: '14:30', end: '17:30' }, { start: '08:00', end: '12:00' }], observesHolidays: true },
      },
    };
    expect(WorkHoursSchema.safeParse(hours).success).toBe(true);
    const msg = (v: unknown) => {
      const r = WorkHoursSchema.safeParse(v);
      return r.success ? '' : r.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join(' | ');
    };
    expect(msg({ ...hours, byType: { gas_station: hours.byType.hospital } })).not.toBe('');
    expect(msg({ ...hours, byType: { hospital: { ...hours.byType.hospital, periods: [{ start: '08:00', end: '12:00' }, { start: '11:00', end: '13:00' }] } } })).toMatch(/byType\.hospital\.periods: .*重叠/);
    expect(msg({ ...hours, byType: { hospital: { workingDays: [1], periods: [{ start: '08:00', end: '12:00' }] } } })).toMatch(/observesHolidays/);

    const merged = mergeCalendar(hours, [...builtinCalendar().years.values()]);
    expect(merged.workingDays).toEqual([1, 2, 3, 4, 5]);
    expect(merged.byType).toEqual({
      inspection_station: { workingDays: [1, 2, 3, 4, 5, 6, 7], periods: [{ start: '08:00', end: '17:00' }], observesHolidays: false },
      hospital: { workingDays: [1, 2, 3, 4, 5, 6], periods: [{ start: '08:00', end: '12:00' }, { start: '14:30', end: '17:30' }], observesHolidays: true },
    });
    const cal = createWorkCalendar(merged);
    const at = (local: string) => Date.parse(`${local}+08:00`);
    const station = cal.forType!('inspection_station');
    expect(station.isWorkingTime(at('2026-10-01T10:00:00'))).toBe(true); // open on National Day
    expect(station.isWorkingTime(at('2026-11-28T16:59:00'))).toBe(true); // and on Saturday
    expect(station.isWorkingTime(at('2026-11-28T17:00:00'))).toBe(false);
    const hospital = cal.forType!('hospital');
    expect(hospital.isWorkingTime(at('2026-11-28T09:00:00'))).toBe(true); // Saturday morning
    expect(hospital.isWorkingTime(at('2026-11-26T13:00:00'))).toBe(false); // lunch
    expect(hospital.isWorkingTime(at('2026-10-01T09:00:00'))).toBe(false); // closed on National Day
    expect(hospital.isWorkingTime(at('2026-10-10T09:00:00'))).toBe(true); // an adjusted workday
    expect(cal.forType!('hospital')).toBe(hospital); // made once
    expect(cal.forType!('vehicle_office')).toBe(cal);
    expect(cal.forType!(undefined)).toBe(cal);
    expect(cal.forType!('constructor')).toBe(cal);
    expect(mergeCalendar({ workingDays: [1], periods: [{ start: '08:00', end: '12:00' }] }, [])).not.toHaveProperty('byType');
    // A type whose Saturdays have periods of their own: hospitals' medical checks on Saturday mornings only.
    const saturdays = { ...hours, byType: { hospital: { workingDays: [6, 1, 2, 3, 4, 5], periods: [{ start: '08:00', end: '17:00' }], observesHolidays: true, byWeekday: [{ days: [6], periods: [{ start: '08:00', end: '10:30' }] }] } } };
    expect(msg(saturdays)).toBe('');
    expect(msg({ ...hours, byType: { hospital: { ...saturdays.byType.hospital, byWeekday: [{ days: [7], periods: [{ start: '08:00', end: '10:30' }] }] } } })).toMatch(/byType\.hospital\.byWeekday: 周日不是营业日/);
    const medical = createWorkCalendar(mergeCalendar(saturdays, [...builtinCalendar().years.values()])).forType!('hospital');
    expect(medical.config.byWeekday).toEqual([{ days: [6], periods: [{ start: '08:00', end: '10:30' }] }]);
    expect(medical.isWorkingTime(at('2026-11-28T10:00:00'))).toBe(true); // Saturday morning
    expect(medical.isWorkingTime(at('2026-11-28T11:00:00'))).toBe(false); // Saturday, after its own periods
    expect(medical.isWorkingTime(at('2026-11-27T16:00:00'))).toBe(true); // Friday afternoon
    expect(medical.isWorkingTime(at('2026-10-10T16:00:00'))).toBe(true); // an adjusted working Saturday: the usual periods
  });

  it('merges hours and years into the engine calendar; the built-in one is the default calendar', () => {
    const b = builtinCalendar();
    expect([...b.years.keys()]).toEqual([2026]);
    const merged = mergeCalendar(b.hours, [...b.years.values()]);
    expect(merged).toEqual({ ...DEFAULT_CALENDAR, holidays: [...DEFAULT_CALENDAR.holidays].sort(), extraWorkdays: [...DEFAULT_CALENDAR.extraWorkdays].sort() });

    const y2027 = { holidays: ['2027-01-01'], extraWorkdays: ['2027-01-03'] };
    const cal = createWorkCalendar(mergeCalendar({ workingDays: [1, 2, 3, 4, 5], periods: [{ start: '14:30', end: '18:00' }, { start: '08:00', end: '12:00' }] }, [...b.years.values(), y2027]));
    const at = (local: string) => Date.parse(`${local}+08:00`);
    expect(cal.isWorkingTime(at('2027-01-01T10:00:00'))).toBe(false); // a Friday made a holiday
    expect(cal.isWorkingTime(at('2027-01-03T10:00:00'))).toBe(true); // a Sunday made a workday
    expect(cal.isWorkingTime(at('2027-01-04T13:00:00'))).toBe(false); // the lunch break
    expect(cal.isWorkingTime(at('2027-01-04T14:30:00'))).toBe(true);
    expect(cal.isWorkingTime(at('2026-10-01T10:00:00'))).toBe(false); // the 2026 entry still counts
  });
});

describe('the festivals the law fixes', () => {
  it('dates them: the solar ones fixed, the lunar ones from the Chinese calendar, Qingming by the solar term', () => {
    // The 2026 notice's festival days, as published.
    expect(festivalDays(2026)).toEqual([
      { name: '元旦', date: '2026-01-01' },
      { name: '春节', date: '2026-02-17', approximate: true },
      { name: '清明节', date: '2026-04-05', approximate: true },
      { name: '劳动节', date: '2026-05-01' },
      { name: '端午节', date: '2026-06-19', approximate: true },
      { name: '中秋节', date: '2026-09-25', approximate: true },
      { name: '国庆节', date: '2026-10-01' },
    ]);
    // Qingming on 4 April in 2024 and 2025, on the 5th in 2023 (as the notices had it).
    const qingming = (y: number) => festivalDays(y).find((f) => f.name === '清明节')?.date;
    expect([qingming(2023), qingming(2024), qingming(2025)]).toEqual(['2023-04-05', '2024-04-04', '2025-04-04']);
    // Mid-Autumn inside the National Day holiday in 2025: both are listed, in date order.
    expect(festivalDays(2025).map((f) => f.name).slice(-2)).toEqual(['国庆节', '中秋节']);
  });

  it('finds the festivals a year leaves as working days, tolerating a computed date a day off', () => {
    const { years } = builtinCalendar();
    expect(festivalsMissing(2026, years.get(2026)!)).toEqual([]);
    // The notice read into exactly its dates is complete.
    const n = parseHolidayNotice(NOTICE_2026);
    expect(festivalsMissing(2026, { holidays: n.holidays, extraWorkdays: n.extraWorkdays })).toEqual([]);
    // Qingming and National Day forgotten.
    const forgot = years.get(2026)!.holidays.filter((d) => !d.startsWith('2026-04') && !d.startsWith('2026-10'));
    expect(festivalsMissing(2026, { holidays: forgot, extraWorkdays: [] }).map((f) => f.name)).toEqual(['清明节', '国庆节']);
    // 2027's New Year is 6 February; a runtime's Chinese calendar may put it on the 7th. A holiday
    // on either day counts; nothing within a day of it does not.
    expect(festivalsMissing(2027, { holidays: ['2027-02-06'], extraWorkdays: [] }).map((f) => f.name)).not.toContain('春节');
    expect(festivalsMissing(2027, { holidays: ['2027-02-07'], extraWorkdays: [] }).map((f) => f.name)).not.toContain('春节');
    expect(festivalsMissing(2027, { holidays: ['2027-02-10'], extraWorkdays: [] }).map((f) => f.name)).toContain('春节');
    // A fixed date is not tolerated: 2 October alone does not make National Day a holiday.
    expect(festivalsMissing(2027, { holidays: ['2027-10-02'], extraWorkdays: [] }).map((f) => f.name)).toContain('国庆节');
  });
});
