/**
 * The work-calendar screen's pure helpers (src/lib/app/calendar.ts): month grids, how a day
 * counts, the click cycle, dates and festivals in words, the year choices, the hub's refusals
 * and the CSV export. Dates are checked against the real calendar (and the 2026 State Council
 * arrangement the rules ship with), not against the helpers themselves.
 */
import { describe, expect, it } from 'vitest';
import { builtinCalendar } from '@jianguan/rules';
import * as cal from '$lib/app/calendar';
import { inEnglish } from './locale';


/** The 2031 notice of the e2e test, as the hub reads it. */
const Y2031: cal.YearDates = {
  holidays: ['2031-01-01', '2031-01-22', '2031-01-23', '2031-01-24', '2031-01-25', '2031-01-26', '2031-01-27', '2031-01-28'],
  extraWorkdays: ['2031-01-19', '2031-02-08'],
};

describe('month grid', () => {
  it('starts on Monday with blanks before the 1st', () => {
    // 1 January 2027 is a Friday: four blanks (Mon–Thu), then 31 days.
    const jan = cal.monthCells(2027, 1);
    expect(jan.slice(0, 5)).toEqual([null, null, null, null, '2027-01-01']);
    expect(jan.filter(Boolean)).toHaveLength(31);
    expect(jan[jan.length - 1]).toBe('2027-01-31');
    // 1 February 2027 is a Monday: no blank; 28 days.
    const feb = cal.monthCells(2027, 2);
    expect(feb[0]).toBe('2027-02-01');
    expect(feb).toHaveLength(28);
    // 1 November 2026 is a Sunday: six blanks; 30 days.
    const nov = cal.monthCells(2026, 11);
    expect(nov.indexOf('2026-11-01')).toBe(6);
    expect(nov.filter(Boolean)).toHaveLength(30);
  });
  it('knows leap years (2028, 2000) and century years that are not (2100)', () => {
    const feb = cal.monthCells(2028, 2);
    // 1 February 2028 is a Tuesday.
    expect(feb.indexOf('2028-02-01')).toBe(1);
    expect(feb[feb.length - 1]).toBe('2028-02-29');
    expect(cal.daysInMonth(2028, 2)).toBe(29);
    expect(cal.daysInMonth(2000, 2)).toBe(29);
    expect(cal.daysInMonth(2100, 2)).toBe(28);
    expect(cal.daysInMonth(2027, 4)).toBe(30);
    expect(cal.daysInMonth(2027, 12)).toBe(31);
  });
  it('names weekdays and months in either language', () => {
    expect(cal.isoWeekday('2031-01-01')).toBe(3);
    expect(cal.isoWeekday('2031-01-19')).toBe(7);
    expect(cal.weekdayHeads()).toEqual(['一', '二', '三', '四', '五', '六', '日']);
    expect(cal.monthName(1)).toBe('1月');
    inEnglish(() => {
      expect(cal.weekdayHeads()).toEqual(['Mo', 'Tu', 'We', 'Th', 'Fr', 'Sa', 'Su']);
      expect(cal.monthName(9)).toBe('September');
      expect(cal.weekdayName(6)).toBe('Sat');
    });
  });
});

describe('how a day counts', () => {
  const hol = new Set(Y2031.holidays);
  const extra = new Set(Y2031.extraWorkdays);
  it('by the weekday, unless a holiday or an adjusted workday says otherwise', () => {
    expect(cal.dayKind('2031-01-02', [1, 2, 3, 4, 5], hol, extra)).toBe('workday'); // Thursday
    expect(cal.dayKind('2031-01-04', [1, 2, 3, 4, 5], hol, extra)).toBe('rest'); // Saturday
    expect(cal.dayKind('2031-01-01', [1, 2, 3, 4, 5], hol, extra)).toBe('holiday'); // a Wednesday off
    expect(cal.dayKind('2031-01-19', [1, 2, 3, 4, 5], hol, extra)).toBe('extra'); // a Sunday at work
    // Six working days a week: Saturday works, Sunday rests.
    expect(cal.dayKind('2031-01-04', [1, 2, 3, 4, 5, 6], hol, extra)).toBe('workday');
    expect(cal.dayKind('2031-01-05', [1, 2, 3, 4, 5, 6], hol, extra)).toBe('rest');
    // An adjusted workday wins over a holiday, as in the rules' engine.
    expect(cal.dayKind('2031-01-01', [1, 2, 3, 4, 5], hol, new Set(['2031-01-01']))).toBe('extra');
    expect(cal.kindName('holiday')).toBe('法定节假日');
    expect(inEnglish(() => cal.kindName('extra'))).toBe('Adjusted workday');
  });
  it('cycles a clicked day default → holiday → adjusted workday → default', () => {
    const start: cal.YearDates = { holidays: ['2031-10-01'], extraWorkdays: [] };
    const a = cal.cycleDay(start, '2031-10-08');
    expect(a).toEqual({ holidays: ['2031-10-01', '2031-10-08'], extraWorkdays: [] });
    const b = cal.cycleDay(a, '2031-10-08');
    expect(b).toEqual({ holidays: ['2031-10-01'], extraWorkdays: ['2031-10-08'] });
    const c = cal.cycleDay(b, '2031-10-08');
    expect(c).toEqual(start);
    expect(cal.sameDates(c, start)).toBe(true);
    expect(cal.sameDates(a, start)).toBe(false);
    expect([cal.nextOverride(null), cal.nextOverride('holiday'), cal.nextOverride('extra')]).toEqual(['holiday', 'extra', null]);
    // The input is not changed.
    expect(start).toEqual({ holidays: ['2031-10-01'], extraWorkdays: [] });
  });
  it('lists the dates of neighbouring years a year holds, and counts them with the year', () => {
    const y2027: cal.YearDates = { holidays: ['2026-12-31', '2027-01-01', '2027-01-02'], extraWorkdays: ['2026-12-27', '2027-01-09'] };
    expect(cal.outsideYear(y2027, 2027)).toEqual([
      { date: '2026-12-27', override: 'extra' },
      { date: '2026-12-31', override: 'holiday' },
    ]);
    expect(cal.yearCounts(y2027)).toEqual({ holidays: 3, extra: 2 });
    expect(cal.outsideYear(Y2031, 2031)).toEqual([]);
  });
  it("shows a year the days other years' entries hold in it", () => {
    const entries = [
      { year: 2027, holidays: ['2026-12-31', '2027-01-01'], extraWorkdays: ['2026-12-27'] },
      { year: 2026, holidays: ['2026-10-01'], extraWorkdays: [] },
      { year: 2025, holidays: ['2025-01-01'], extraWorkdays: ['2026-01-03'] },
    ];
    expect([...cal.borrowedDates(entries, 2026)]).toEqual([
      ['2026-12-31', { override: 'holiday', year: 2027 }],
      ['2026-12-27', { override: 'extra', year: 2027 }],
      ['2026-01-03', { override: 'extra', year: 2025 }],
    ]);
    expect(cal.borrowedDates(entries, 2027).size).toBe(0);
  });
});

describe('dates and festivals in words', () => {
  it('writes a date as people do: 1月1日（周五） / Fri 1 Jan', () => {
    expect(cal.dateText('2027-01-01')).toBe('1月1日（周五）');
    expect(cal.dateText('2031-10-08')).toBe('10月8日（周三）');
    // Another year than the one shown is named.
    expect(cal.dateText('2026-12-31', 2027)).toBe('2026年12月31日（周四）');
    inEnglish(() => {
      expect(cal.dateText('2027-01-01')).toBe('Fri 1 Jan');
      expect(cal.dateText('2026-12-31', 2027)).toBe('Thu 31 Dec 2026');
    });
  });
  it('writes consecutive days as a range', () => {
    expect(cal.datesText(Y2031.holidays)).toBe('1月1日（周三）、1月22日（周三）至1月28日（周二）');
    expect(cal.datesText(Y2031.extraWorkdays)).toBe('1月19日（周日）、2月8日（周六）');
    expect(cal.datesText([])).toBe('—');
    expect(inEnglish(() => cal.datesText(Y2031.holidays))).toBe('Wed 1 Jan, Wed 22 Jan – Tue 28 Jan');
    expect(cal.dateRuns(['2026-12-31', '2027-01-01', '2027-01-03'])).toEqual([
      ['2026-12-31', '2027-01-01'],
      ['2027-01-03', '2027-01-03'],
    ]);
  });
  it('names the festivals of the 2026 arrangement, adjusted workdays by the nearest holiday', () => {
    const y2026 = builtinCalendar().years.get(2026)!;
    const f = cal.festivalsOf(y2026);
    expect(f.get('2026-01-01')).toBe('元旦');
    expect(f.get('2026-01-04')).toBe('元旦');
    expect(f.get('2026-02-17')).toBe('春节'); // lunar new year's day
    expect(f.get('2026-02-23')).toBe('春节');
    expect(f.get('2026-02-14')).toBe('春节');
    expect(f.get('2026-02-28')).toBe('春节');
    expect(f.get('2026-04-05')).toBe('清明节');
    expect(f.get('2026-05-05')).toBe('劳动节');
    expect(f.get('2026-05-09')).toBe('劳动节');
    expect(f.get('2026-06-19')).toBe('端午节');
    expect(f.get('2026-09-25')).toBe('中秋节');
    expect(f.get('2026-10-07')).toBe('国庆节');
    expect(f.get('2026-10-10')).toBe('国庆节');
    // Every holiday of the year belongs to a festival.
    expect(y2026.holidays.filter((d) => !f.has(d))).toEqual([]);
    // Mid-Autumn and National Day together, in calendar order (2023: 9月29日至10月6日).
    const both = cal.festivalsOf({ holidays: ['2023-09-29', '2023-09-30', '2023-10-01', '2023-10-02', '2023-10-03', '2023-10-04', '2023-10-05', '2023-10-06'], extraWorkdays: ['2023-10-07'] });
    expect(both.get('2023-10-01')).toBe('中秋节、国庆节');
    expect(both.get('2023-10-07')).toBe('中秋节、国庆节');
    // A day off of no festival is not named.
    expect(cal.festivalsOf({ holidays: ['2031-03-10'], extraWorkdays: [] }).size).toBe(0);
  });
  it('gives festival names in English, and marks a name it does not know', () => {
    expect(cal.festivalText('春节')).toEqual({ text: '春节', known: true });
    inEnglish(() => {
      expect(cal.festivalText('春节')).toEqual({ text: 'Spring Festival', known: true });
      expect(cal.festivalText('国庆节、中秋节')).toEqual({ text: 'National Day & Mid-Autumn Festival', known: true });
      expect(cal.festivalText('植树节')).toEqual({ text: '植树节', known: false });
      expect(cal.festivalText('')).toEqual({ text: '(no festival named)', known: true });
    });
  });
});

describe('year choices, hours and refusals', () => {
  it('offers the entered years, the missing ones, this year and the next, and the one chosen', () => {
    expect(cal.yearChoices([2026], [2027], '2026-12-07', null)).toEqual([2027, 2026]);
    expect(cal.yearChoices([2026, 2025], [], '2026-05-01', 2031)).toEqual([2031, 2027, 2026, 2025]);
    expect(cal.parseYear(' 2031 ')).toBe(2031);
    expect(cal.parseYear('1999')).toBeNull();
    expect(cal.parseYear('2101')).toBeNull();
    expect(cal.parseYear('20x1')).toBeNull();
  });
  it('reads times as typed and compares working hours', () => {
    expect(cal.normaliseTime('8:00')).toBe('08:00');
    expect(cal.normaliseTime('８：３０')).toBe('08:30');
    expect(cal.normaliseTime('1430')).toBe('14:30');
    expect(cal.normaliseTime('24:00')).toBe('24:00');
    expect(cal.normaliseTime('noon')).toBe('noon');
    const h = { workingDays: [1, 2, 3, 4, 5], periods: [{ start: '08:00', end: '12:00' }, { start: '14:30', end: '18:00' }] };
    expect(cal.sameHours(h, { workingDays: [5, 4, 3, 2, 1], periods: [{ start: '14:30', end: '18:00' }, { start: '08:00', end: '12:00' }] })).toBe(true);
    expect(cal.sameHours(h, { workingDays: [1, 2, 3, 4, 5], periods: [{ start: '08:00', end: '18:00' }] })).toBe(false);
    expect(cal.sameHours(h, { ...h, workingDays: [1, 2, 3, 4, 5, 6] })).toBe(false);
    expect(cal.weekdaysText([1, 2, 3, 4, 5])).toBe('周一至周五');
    expect(cal.weekdaysText([1, 3])).toBe('周一、周三');
    expect(cal.periodsText(h.periods)).toBe('08:00–12:00、14:30–18:00');
    expect(inEnglish(() => cal.weekdaysText([1, 2, 3, 4, 5, 6]))).toBe('Mon–Sat');
  });
  it('names the institution types with hours of their own, in the registry order', () => {
    const byType = {
      hospital: { workingDays: [1, 2, 3, 4, 5, 6], periods: [{ start: '08:00', end: '12:00' }], observesHolidays: true },
      inspection_station: { workingDays: [1, 2, 3, 4, 5, 6, 7], periods: [{ start: '08:00', end: '18:00' }], observesHolidays: false },
    };
    expect(cal.typeHoursRows(byType)).toEqual([
      { type: 'inspection_station', name: '机动车检验机构', hours: '周一至周日 08:00–18:00，节假日照常营业' },
      { type: 'hospital', name: '体检医院', hours: '周一至周六 08:00–12:00' },
    ]);
    expect(cal.typeHoursRows(undefined)).toEqual([]);
    expect(inEnglish(() => cal.typeHoursRows(byType).map((r) => `${r.name}: ${r.hours}`))).toEqual(['Inspection station: Mon–Sun 08:00–18:00, open on public holidays', 'Hospital: Mon–Sat 08:00–12:00']);
    // Saturdays with periods of their own, after the usual days.
    const saturdays = { hospital: { workingDays: [1, 2, 3, 4, 5, 6], periods: [{ start: '14:30', end: '17:30' }, { start: '08:00', end: '12:00' }], observesHolidays: true, byWeekday: [{ days: [6], periods: [{ start: '08:00', end: '10:30' }] }] } };
    expect(cal.typeHoursRows(saturdays)[0]?.hours).toBe('周一至周五 08:00–12:00、14:30–17:30；周六 08:00–10:30');
    expect(inEnglish(() => cal.typeHoursRows(saturdays)[0]?.hours)).toBe('Mon–Fri 08:00–12:00, 14:30–17:30; Sat 08:00–10:30');
  });
  it('offers Saturday, else the last free working day, for periods of their own — never the last usual day', () => {
    expect(cal.ownDaysChoice([1, 2, 3, 4, 5, 6], [])).toBe(6);
    expect(cal.ownDaysChoice([1, 2, 3, 4, 5, 6, 7], [{ days: [6] }])).toBe(7);
    expect(cal.ownDaysChoice([1, 2, 3, 4, 5], [])).toBe(5);
    expect(cal.ownDaysChoice([1, 6], [{ days: [6] }])).toBeNull();
    expect(cal.ownDaysChoice([1], [])).toBeNull();
  });
  it('lists the institutions filed with hours of their own: by county, then name; type by label, hours in words', () => {
    const own = { workingDays: [1, 2, 3, 4, 5, 6, 7], periods: [{ start: '08:00', end: '17:00' }], observesHolidays: false };
    const items = [
      { id: 'YZ-JYZ', name: '宜州区机动车检测站', type: 'inspection_station', county: '451203', hours: own },
      { id: 'JCJ-CGS', name: '河池市车管所', type: 'vehicle_office', county: '451202', status: 'active' },
      { id: 'JCJ-JYZ', name: '金城江区机动车检测站', type: 'inspection_station', county: '451202', hours: { ...own, workingDays: [1, 2, 3, 4, 5, 6], observesHolidays: true } },
    ];
    expect(cal.institutionHoursRows(items)).toEqual([
      { id: 'JCJ-JYZ', name: '金城江区机动车检测站', type: '机动车检验机构', county: '金城江区', hours: '周一至周六 08:00–17:00；法定节假日休息' },
      { id: 'YZ-JYZ', name: '宜州区机动车检测站', type: '机动车检验机构', county: '宜州区', hours: '每天 08:00–17:00；法定节假日照常营业' },
    ]);
    // English: the type and hours in English; names and counties stay as filed (data).
    expect(inEnglish(() => cal.institutionHoursRows(items)[1])).toEqual({ id: 'YZ-JYZ', name: '宜州区机动车检测站', type: 'Inspection station', county: '宜州区', hours: 'Every day 08:00–17:00; open on public holidays' });
    expect(cal.institutionHoursRows([])).toEqual([]);
    expect(cal.institutionHoursRows([{ id: 'X', name: 'x', type: 'hospital', county: '451202', hours: 'not hours' }])).toEqual([]);
  });
  it('compares the types\' own hours, offers the types without them, and names a type in a refusal', () => {
    const station = { workingDays: [1, 2, 3, 4, 5, 6, 7], periods: [{ start: '08:00', end: '17:00' }], observesHolidays: false };
    expect(cal.sameTypeHours({ inspection_station: station }, { inspection_station: { ...station, workingDays: [7, 6, 5, 4, 3, 2, 1] } })).toBe(true);
    expect(cal.sameTypeHours({ inspection_station: station }, { inspection_station: { ...station, observesHolidays: true } })).toBe(false);
    expect(cal.sameTypeHours({ inspection_station: station }, undefined)).toBe(false);
    expect(cal.sameTypeHours({}, undefined)).toBe(true);
    expect(cal.sameTypeHours({ inspection_station: station }, { hospital: station })).toBe(false);
    const saturdays = { ...station, byWeekday: [{ days: [6], periods: [{ start: '08:00', end: '12:00' }] }] };
    expect(cal.sameTypeHours({ inspection_station: saturdays }, { inspection_station: station })).toBe(false);
    expect(cal.sameTypeHours({ inspection_station: saturdays }, { inspection_station: { ...saturdays, byWeekday: [{ days: [6], periods: [{ start: '08:00', end: '12:00' }] }] } })).toBe(true);
    expect(cal.sameTypeHours({ inspection_station: saturdays }, { inspection_station: { ...saturdays, byWeekday: [{ days: [6], periods: [{ start: '08:00', end: '11:00' }] }] } })).toBe(false);
    const offered = cal.typesWithoutHours({ inspection_station: station }).map((t) => t.type);
    expect(offered).not.toContain('inspection_station');
    expect(offered).toContain('hospital');
    expect(offered).toHaveLength(8);
    const sent = { byType: { inspection_station: { ...station, periods: [{ start: '08:00', end: '07:00' }] } } };
    expect(cal.refusalText('Request body is invalid: byType.inspection_station.periods.0: 时段的结束时间应晚于开始时间', sent)).toBe('机动车检验机构第 1 个时段（08:00–07:00）：时段的结束时间应晚于开始时间');
    expect(cal.refusalText('Request body is invalid: byType.hospital.workingDays: 至少需要一个工作日', sent)).toBe('体检医院工作日：至少需要一个工作日');
    const own = { byType: { hospital: { ...station, byWeekday: [{ days: [6, 7], periods: [{ start: '08:00', end: '12:00' }, { start: '11:00', end: '13:00' }] }] } } };
    expect(cal.refusalText('Request body is invalid: byType.hospital.byWeekday.0.periods: 工作时段 08:00–12:00 与 11:00–13:00 重叠', own)).toBe('体检医院另设时段（周六、周日）：工作时段 08:00–12:00 与 11:00–13:00 重叠');
    expect(cal.refusalText('Request body is invalid: byType.hospital.byWeekday.0.periods.1.end: 时间应为 HH:MM', own)).toBe('体检医院另设时段（周六、周日）第 2 个时段（11:00–13:00）：时间应为 HH:MM');
    expect(cal.refusalText('Request body is invalid: byType.hospital.byWeekday: 周日不是营业日，不能另有营业时段', own)).toBe('体检医院另设时段：周日不是营业日，不能另有营业时段');
    expect(cal.refusalText('Request body is invalid: byType: 未知的机构类型 x（可选：…）', sent)).toBe('未知的机构类型 x（可选：…）');
  });

  it("words the hub's refusals by what they name", () => {
    const periods = [{ start: '08:00', end: '12:00' }, { start: '18:00', end: '08:00' }];
    expect(cal.refusalText('Request body is invalid: periods.1: 时段的结束时间应晚于开始时间', { periods })).toBe('第 2 个时段（18:00–08:00）：时段的结束时间应晚于开始时间');
    expect(cal.refusalText('Request body is invalid: periods: 工作时段 08:00–12:00 与 11:00–18:00 重叠')).toBe('工作时段 08:00–12:00 与 11:00–18:00 重叠');
    expect(cal.refusalText('Request body is invalid: holidays.1: 日期应为 YYYY-MM-DD 格式的真实日期', { holidays: ['2027-01-01', '2027-02-30'] })).toBe('2027-02-30：日期应为 YYYY-MM-DD 格式的真实日期');
    expect(cal.refusalText('Request body is invalid: extraWorkdays: 2027-10-01 既是假日又是调休上班日; workingDays: 工作日有重复')).toBe('2027-10-01 既是假日又是调休上班日；工作日：工作日有重复');
    expect(inEnglish(() => cal.refusalText('Request body is invalid: periods.0: 时段的结束时间应晚于开始时间', { periods }))).toBe('Period 1（08:00–12:00）：时段的结束时间应晚于开始时间');
    expect(cal.yearsText([2027])).toBe('2027 年');
    expect(cal.yearsText([2026, 2027])).toBe('2026、2027 年');
    expect(inEnglish(() => cal.yearsText([2026, 2027]))).toBe('2026 and 2027');
  });
});

describe('CSV export', () => {
  it('is a UTF-8 file with a byte-order mark, one row per day: 日期, 星期, 类别, 节日', () => {
    const csv = cal.calendarCsv(2031, Y2031, [1, 2, 3, 4, 5]);
    expect(csv.startsWith('\uFEFF日期,星期,类别,节日\r\n')).toBe(true);
    const rows = csv.slice(1).trimEnd().split('\r\n');
    expect(rows).toHaveLength(1 + 365);
    expect(rows[1]).toBe('2031-01-01,周三,法定节假日,元旦');
    expect(rows[2]).toBe('2031-01-02,周四,工作日,');
    expect(rows[4]).toBe('2031-01-04,周六,休息日,');
    expect(rows).toContain('2031-01-23,周四,法定节假日,春节');
    expect(rows).toContain('2031-01-19,周日,调休上班,春节');
    expect(rows).toContain('2031-02-08,周六,调休上班,春节');
    expect(rows[rows.length - 1]).toBe('2031-12-31,周三,工作日,');
  });
  it('keeps the cross-year dates, leap days and English', () => {
    const csv = cal.calendarCsv(2028, { holidays: ['2027-12-31', '2028-01-01'], extraWorkdays: [] }, [1, 2, 3, 4, 5]);
    const rows = csv.slice(1).trimEnd().split('\r\n');
    expect(rows).toHaveLength(1 + 1 + 366);
    expect(rows[1]).toBe('2027-12-31,周五,法定节假日,元旦');
    expect(rows).toContain('2028-02-29,周二,工作日,');
    // A day of 2026 held by the 2027 entry counts in the 2026 file as the rules count it.
    const y2027 = { year: 2027, holidays: ['2026-12-31', '2027-01-01', '2027-01-02'], extraWorkdays: ['2026-12-27'] };
    const y2026 = cal.calendarCsv(2026, { holidays: ['2026-10-01'], extraWorkdays: [] }, [1, 2, 3, 4, 5], [y2027]);
    expect(y2026).toContain('\r\n2026-12-31,周四,法定节假日,元旦\r\n');
    expect(y2026).toContain('\r\n2026-12-27,周日,调休上班,元旦\r\n');
    expect(y2026).toContain('\r\n2026-12-30,周三,工作日,\r\n');
    expect(y2026).toContain('\r\n2026-10-01,周四,法定节假日,国庆节\r\n');
    expect(y2026.trimEnd().split('\r\n')).toHaveLength(1 + 365);
    // Its own entry wins over a neighbour's on the same day.
    expect(cal.withNeighbours({ holidays: [], extraWorkdays: ['2026-12-31'] }, [y2027], 2026)).toEqual({ holidays: ['2027-01-01', '2027-01-02'], extraWorkdays: ['2026-12-31', '2026-12-27'] });
    const en = inEnglish(() => cal.calendarCsv(2031, Y2031, [1, 2, 3, 4, 5]));
    expect(en.startsWith('\uFEFFDate,Weekday,Kind,Festival\r\n')).toBe(true);
    expect(en).toContain("2031-01-01,Wed,Public holiday,New Year's Day\r\n");
  });
});
