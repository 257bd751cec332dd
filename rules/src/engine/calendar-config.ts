/**
 * The work calendar as a detachment keeps it: working hours (which weekdays, which periods of the
 * day) and, year by year, the public holidays and the adjusted weekend workdays (调休上班) the
 * State Council publishes each November for the year after. The hub stores one entry per year and
 * one for the hours; this module validates them, merges them into the engine's
 * WorkCalendarConfig, and reads the State Council's notice text into a year's dates, so nobody
 * has to type 33 dates by hand.
 *
 * Pure code: the hub, the dashboard's preview and the tests share it.
 */
import { z } from 'zod';
import { InstitutionType } from '../model/registry.js';
import { HoursFields, TypeHoursSchema, WorkPeriodSchema, checkHours, sortedPeriods, type WorkPeriod } from '../model/business-hours.js';
import { DEFAULT_CALENDAR, type TypeHours, type WorkCalendarConfig } from './calendar.js';

export { TypeHoursSchema, WorkPeriodSchema, type WorkPeriod };

/** China Standard Time; the engine's calendar is fixed-offset (calendar.ts). */
export const CALENDAR_UTC_OFFSET_MINUTES = 480;

const DATE_RE = /^(\d{4})-(\d{2})-(\d{2})$/;

/** True for a real calendar date written 'YYYY-MM-DD' (2027-02-30 is not). */
export function isCalendarDate(s: string): boolean {
  const m = DATE_RE.exec(s);
  if (!m) return false;
  const d = new Date(Date.UTC(Number(m[1]), Number(m[2]) - 1, Number(m[3])));
  return d.toISOString().slice(0, 10) === s;
}

const CalendarDate = z.string().refine(isCalendarDate, { message: '日期应为 YYYY-MM-DD 格式的真实日期' });

/**
 * Which weekdays are working days and when in the day a counter works; `byType`: institution
 * types that keep business hours of their own (inspection stations open at weekends …).
 */
export const WorkHoursSchema = z
  .object({ ...HoursFields, byType: z.partialRecord(InstitutionType, TypeHoursSchema).optional() })
  .strict()
  .superRefine((h, ctx) => checkHours(h, ctx));
export type WorkHours = z.infer<typeof WorkHoursSchema>;

/** How far a year's entry may reach beyond the year: a New Year holiday may start on 30 December. */
const YEAR_REACH_DAYS = 7;

/** The first and last date a year's entry may hold ('YYYY-MM-DD'). */
export function yearReach(year: number): { first: string; last: string } {
  const day = (ms: number) => new Date(ms).toISOString().slice(0, 10);
  return { first: day(Date.UTC(year, 0, 1) - YEAR_REACH_DAYS * 86_400_000), last: day(Date.UTC(year, 11, 31) + YEAR_REACH_DAYS * 86_400_000) };
}

/** The holidays and adjusted workdays of one year. */
export function calendarYearSchema(year: number) {
  const { first, last } = yearReach(year);
  const inReach = (d: string) => d >= first && d <= last;
  return z
    .object({
      holidays: z.array(CalendarDate).max(120),
      extraWorkdays: z.array(CalendarDate).max(60),
    })
    .strict()
    .superRefine((y, ctx) => {
      for (const [key, list] of [['holidays', y.holidays], ['extraWorkdays', y.extraWorkdays]] as const) {
        const out = list.filter((d) => !inReach(d));
        if (out.length) ctx.addIssue({ code: 'custom', path: [key], message: `${out.join('、')} 不在 ${year} 年（可含前后 ${YEAR_REACH_DAYS} 天）` });
      }
      const holidays = new Set(y.holidays);
      const both = [...new Set(y.extraWorkdays.filter((d) => holidays.has(d)))];
      if (both.length) ctx.addIssue({ code: 'custom', path: ['extraWorkdays'], message: `${both.join('、')} 既是假日又是调休上班日` });
    });
}
export interface CalendarYearDates {
  holidays: string[];
  extraWorkdays: string[];
}

/** Sorted, without repeats: what is stored and compared. */
export function normaliseYearDates(y: CalendarYearDates): CalendarYearDates {
  const tidy = (l: readonly string[]) => [...new Set(l)].sort();
  return { holidays: tidy(y.holidays), extraWorkdays: tidy(y.extraWorkdays) };
}

/** A public holiday the law fixes, and its date in a given year. */
export interface FestivalDay {
  /** 元旦, 春节, 清明节, 劳动节, 端午节, 中秋节, 国庆节. */
  name: string;
  /** 'YYYY-MM-DD'. */
  date: string;
  /**
   * The date is computed (a lunar date or the solar term), and may be a day off: a runtime's
   * Chinese calendar puts a new moon minutes from midnight on either side of it (ICU has 2027's
   * New Year on 7 February; the official one is the 6th).
   */
  approximate?: true;
}

/** Qingming's day in April (the solar term): the 21st century's formula, right for 2000–2099. */
function qingmingDay(year: number): number {
  const y = year % 100;
  return Math.floor(y * 0.2422 + 4.81) - Math.floor(y / 4);
}

const festivalCache = new Map<number, readonly FestivalDay[]>();

/**
 * The days the State Council's arrangement always makes holidays (全国年节及纪念日放假办法): New
 * Year's Day, the first day of the lunar year, Qingming, 1 May, the Dragon Boat and Mid-Autumn
 * festivals, National Day. The lunar ones come from the runtime's Chinese calendar (Intl); where
 * the runtime has none they are left out rather than guessed.
 */
export function festivalDays(year: number): readonly FestivalDay[] {
  let out = festivalCache.get(year);
  if (out) return out;
  const iso = (m: number, d: number) => `${year}-${String(m).padStart(2, '0')}-${String(d).padStart(2, '0')}`;
  const lunar = new Map<string, string>();
  try {
    const fmt = new Intl.DateTimeFormat('en-u-ca-chinese', { timeZone: 'UTC', month: 'numeric', day: 'numeric' });
    for (let t = Date.UTC(year, 0, 1); t < Date.UTC(year + 1, 0, 1); t += 86_400_000) {
      const parts = fmt.formatToParts(new Date(t));
      // A leap month is written differently (e.g. '4bis'): only the ordinary month matches.
      const key = `${parts.find((p) => p.type === 'month')?.value}-${parts.find((p) => p.type === 'day')?.value}`;
      if ((key === '1-1' || key === '5-5' || key === '8-15') && !lunar.has(key)) lunar.set(key, new Date(t).toISOString().slice(0, 10));
    }
  } catch {
    // No Chinese calendar in this runtime (small ICU): the solar festivals only.
  }
  const list: (FestivalDay | null)[] = [
    { name: '元旦', date: iso(1, 1) },
    lunar.has('1-1') ? { name: '春节', date: lunar.get('1-1')!, approximate: true } : null,
    year >= 2000 && year <= 2099 ? { name: '清明节', date: iso(4, qingmingDay(year)), approximate: true } : null,
    { name: '劳动节', date: iso(5, 1) },
    lunar.has('5-5') ? { name: '端午节', date: lunar.get('5-5')!, approximate: true } : null,
    lunar.has('8-15') ? { name: '中秋节', date: lunar.get('8-15')!, approximate: true } : null,
    { name: '国庆节', date: iso(10, 1) },
  ];
  out = list.filter((f): f is FestivalDay => f !== null).sort((a, b) => a.date.localeCompare(b.date));
  festivalCache.set(year, out);
  return out;
}

/**
 * The festivals a year's entry leaves as working days: an entry typed by hand that forgot one
 * (its business not flagged, its time limits running). Empty for a complete year.
 */
export function festivalsMissing(year: number, dates: { readonly holidays: readonly string[]; readonly extraWorkdays?: readonly string[] }): FestivalDay[] {
  const holidays = new Set(dates.holidays);
  const near = (date: string, days: number) => new Date(Date.parse(`${date}T00:00:00Z`) + days * 86_400_000).toISOString().slice(0, 10);
  // A computed date counts as present when the day before or after it is a holiday: every
  // festival's holiday spans it, so a day's error in the computation raises no false alarm.
  return festivalDays(year).filter((f) => !holidays.has(f.date) && !(f.approximate && (holidays.has(near(f.date, -1)) || holidays.has(near(f.date, 1)))));
}

/** The hours and the years' dates merged into the engine's calendar configuration. */
export function mergeCalendar(hours: WorkHours, years: readonly CalendarYearDates[]): WorkCalendarConfig {
  const holidays = new Set<string>();
  const extra = new Set<string>();
  for (const y of years) {
    for (const d of y.holidays) holidays.add(d);
    for (const d of y.extraWorkdays) extra.add(d);
  }
  const tidy = <T extends { workingDays: readonly number[]; periods: readonly WorkPeriod[] }>(h: T) => ({
    workingDays: [...new Set(h.workingDays)].sort(),
    periods: sortedPeriods(h.periods).map((p) => ({ start: p.start, end: p.end })),
  });
  const byType: [string, TypeHours][] = [];
  for (const [t, h] of Object.entries(hours.byType ?? {})) if (h) byType.push([t, h]);
  return {
    utcOffsetMinutes: CALENDAR_UTC_OFFSET_MINUTES,
    ...tidy(hours),
    holidays: [...holidays].sort(),
    extraWorkdays: [...extra].sort(),
    ...(byType.length
      ? {
          byType: Object.fromEntries(
            byType.map(([t, h]) => [t, { ...tidy(h), observesHolidays: h.observesHolidays, ...(h.byWeekday?.length ? { byWeekday: h.byWeekday.map((g) => ({ days: [...new Set(g.days)].sort(), periods: sortedPeriods(g.periods).map((p) => ({ start: p.start, end: p.end })) })) } : {}) }]),
          ),
        }
      : {}),
  };
}

/** The built-in hours and the years the built-in calendar knows (the baseline of a new store). */
export function builtinCalendar(): { hours: WorkHours; years: Map<number, CalendarYearDates> } {
  const years = new Map<number, CalendarYearDates>();
  const add = (d: string, key: keyof CalendarYearDates) => {
    const y = Number(d.slice(0, 4));
    const e = years.get(y) ?? { holidays: [], extraWorkdays: [] };
    e[key].push(d);
    years.set(y, e);
  };
  for (const d of DEFAULT_CALENDAR.holidays) add(d, 'holidays');
  for (const d of DEFAULT_CALENDAR.extraWorkdays) add(d, 'extraWorkdays');
  return {
    hours: { workingDays: [...DEFAULT_CALENDAR.workingDays], periods: DEFAULT_CALENDAR.periods.map((p) => ({ ...p })) },
    years: new Map([...years].map(([y, e]) => [y, normaliseYearDates(e)])),
  };
}

// ---- the State Council's notice ------------------------------------------------------------

/** One festival of a notice: its name and the dates read for it. */
export interface NoticeFestival {
  name: string;
  holidays: string[];
  extraWorkdays: string[];
}

export interface ParsedNotice {
  /** The year the notice is for (from its title, or the one asked for). */
  year: number | null;
  holidays: string[];
  extraWorkdays: string[];
  festivals: NoticeFestival[];
  /** Sentences that name a date but say neither 放假 nor 上班: shown, so nothing is lost silently. */
  unread: string[];
}

const FULL_WIDTH_DIGITS = /[０-９]/g;

/** Full-width digits and punctuation variants as the notice's regular forms. */
function normaliseNoticeText(text: string): string {
  return text
    .replace(FULL_WIDTH_DIGITS, (c) => String.fromCharCode(c.charCodeAt(0) - 0xfee0))
    .replace(/\r/g, '')
    .replace(/[ \t\u3000]+/g, '')
    .replace(/[~～—–－-]/g, '至')
    .replace(/到/g, '至')
    .replace(/\(/g, '（')
    .replace(/\)/g, '）')
    .replace(/:/g, '：')
    .replace(/,/g, '，')
    .replace(/;/g, '；')
    // A notice pasted as one paragraph: each numbered festival on a line of its own.
    .replace(/([。；])(?=[一二三四五六七八九十]+、)/g, '$1\n');
}

/** A date written 「[YYYY年]M月D日」 or, after a first one, 「D日」 (the month and year carried over). */
const DATE_TOKEN = /(?:(\d{4})年)?(?:(\d{1,2})月)?(\d{1,2})日/g;

interface DateToken {
  index: number;
  end: number;
  date: string | null;
}

function readDates(clause: string, year: number): DateToken[] {
  const out: DateToken[] = [];
  let y = year;
  let month: number | null = null;
  for (const m of clause.matchAll(DATE_TOKEN)) {
    const explicitYear = m[1] ? Number(m[1]) : null;
    const explicitMonth = m[2] ? Number(m[2]) : null;
    const day = Number(m[3]);
    if (explicitYear !== null) y = explicitYear;
    if (explicitMonth !== null) {
      // 「12月31日至1月2日」 without years: the range runs into the next year.
      if (explicitYear === null && month !== null && explicitMonth < month) y += 1;
      month = explicitMonth;
    }
    const date = month === null ? null : `${y}-${String(month).padStart(2, '0')}-${String(day).padStart(2, '0')}`;
    out.push({ index: m.index, end: m.index + m[0].length, date: date && isCalendarDate(date) ? date : null });
  }
  return out;
}

/** The longest holiday a notice gives (National Day and Spring Festival run 7–9 days). */
const MAX_FESTIVAL_DAYS = 31;

/** Every date from `first` to `last`; stops one past MAX_FESTIVAL_DAYS (the caller refuses that). */
function daysBetween(first: string, last: string): string[] {
  const out: string[] = [];
  const end = Date.parse(`${last}T00:00:00Z`);
  for (let t = Date.parse(`${first}T00:00:00Z`); t <= end && out.length <= MAX_FESTIVAL_DAYS; t += 86_400_000) out.push(new Date(t).toISOString().slice(0, 10));
  return out;
}

/**
 * Reads the State Council's notice on next year's holidays (国务院办公厅关于 YYYY 年部分节假日安排的
 * 通知), as pasted from its web page: each festival's 「M月D日至D日放假调休，共N天」 and
 * 「M月D日（周六）、M月D日（周日）上班」. `year` is used when the text does not name one.
 * Sentences with a date that say neither are returned in `unread`.
 */
export function parseHolidayNotice(text: string, year?: number): ParsedNotice {
  const t = normaliseNoticeText(text);
  const titled = /(\d{4})年(?:部分)?节假日/.exec(t) ?? /关于(\d{4})年/.exec(t);
  const y = titled ? Number(titled[1]) : year ?? null;
  const festivals: NoticeFestival[] = [];
  const unread: string[] = [];
  if (y === null) return { year: null, holidays: [], extraWorkdays: [], festivals, unread: t.trim() ? ['未能从文字中读出年份，请先选择年份'] : [] };

  let current: NoticeFestival | null = null;
  for (const rawLine of t.split('\n')) {
    // A festival starts at 「一、元旦：」 (the numbering is optional); what follows belongs to it.
    let line = rawLine;
    const head = /^(?:[一二三四五六七八九十]+[、．.])?([\u4e00-\u9fa5、]{2,12})：/.exec(line);
    if (head && /节|元旦|春节|清明|端午|中秋|国庆|劳动/.test(head[1]!)) {
      current = { name: head[1]!, holidays: [], extraWorkdays: [] };
      festivals.push(current);
      line = line.slice(head[0].length);
    }
    // Weekday and lunar notes in brackets carry no dates the reader wants (农历腊月二十八、周日).
    const plain = line.replace(/（[^）]*）/g, '');
    for (const sentence of plain.split(/[。；\n]/)) {
      if (!/\d日/.test(sentence)) continue;
      // A bare date (the notice's signature) is not an arrangement.
      if (sentence.replace(DATE_TOKEN, '').trim() === '') continue;
      let understood = false;
      // A range longer than any festival, or a date that does not exist (2月30日): shown, not filed.
      let doubtful = false;
      for (const clause of sentence.split('，')) {
        const dates = readDates(clause, y);
        if (dates.length === 0) continue;
        if (dates.some((d) => d.date === null)) doubtful = true;
        const target = current ?? (festivals.push({ name: '', holidays: [], extraWorkdays: [] }), (current = festivals[festivals.length - 1]!));
        if (/放假|休息/.test(clause)) {
          // Ranges 「A至B」; any other date in the clause is a single day.
          for (let i = 0; i < dates.length; i++) {
            const a = dates[i]!;
            const b = dates[i + 1];
            if (b && /^至$/.test(clause.slice(a.end, b.index)) && a.date && b.date && a.date <= b.date) {
              const days = daysBetween(a.date, b.date);
              // No festival is a month long: such a range is a misreading, shown rather than filed.
              if (days.length > MAX_FESTIVAL_DAYS) doubtful = true;
              else target.holidays.push(...days);
              i++;
            } else if (a.date) target.holidays.push(a.date);
          }
          understood = true;
        } else if (/上班|工作/.test(clause)) {
          for (const d of dates) if (d.date) target.extraWorkdays.push(d.date);
          understood = true;
        }
      }
      if (!understood || doubtful) unread.push(sentence.trim());
    }
  }
  const named = festivals.filter((f) => f.holidays.length || f.extraWorkdays.length);
  const all = normaliseYearDates({ holidays: named.flatMap((f) => f.holidays), extraWorkdays: named.flatMap((f) => f.extraWorkdays) });
  return { year: y, ...all, festivals: named.map((f) => ({ name: f.name, ...normaliseYearDates(f) })), unread };
}
