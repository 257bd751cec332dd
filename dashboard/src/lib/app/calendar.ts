/**
 * Words and arithmetic of the work-calendar screen (工作日历): month grids (Monday first), how a
 * day counts (working day, rest day, public holiday, adjusted workday), the click cycle of a
 * day's override, dates written as people write them (1月1日（周五） / Fri 1 Jan), the festivals a
 * year's holidays belong to, the year choices, the hub's refusals in words, the institutions
 * filed with hours of their own, and the CSV export.
 * Pure, unit-tested; every date is a 'YYYY-MM-DD' string in China time, computed in UTC so the
 * browser's own time zone never shifts a day.
 */
import { COUNTIES, festivalDays, hoursGroups, INSTITUTION_TYPE_LABELS, type TypeHours } from '@jianguan/rules';
import { english } from './en';
import { csvDocument } from './csv';
import { hoursOf, hoursText } from './hours';
import { L, tr } from './lang';

/** How a day counts for the rules and time limits. */
export type DayKind = 'workday' | 'rest' | 'holiday' | 'extra';
/** What an administrator set on a day: a public holiday, an adjusted workday, or nothing. */
export type Override = 'holiday' | 'extra' | null;

/** One year's entry: public holidays and adjusted weekend workdays (调休上班), 'YYYY-MM-DD'. */
export interface YearDates {
  holidays: readonly string[];
  extraWorkdays: readonly string[];
}

const DAY_MS = 86_400_000;
const WEEKDAYS_ZH = ['周一', '周二', '周三', '周四', '周五', '周六', '周日'] as const;
const WEEKDAYS_EN = ['Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat', 'Sun'] as const;
const MONTHS_EN = ['January', 'February', 'March', 'April', 'May', 'June', 'July', 'August', 'September', 'October', 'November', 'December'] as const;

const pad2 = (n: number) => String(n).padStart(2, '0');
const utc = (date: string) => Date.parse(`${date}T00:00:00Z`);
const dayOf = (ms: number) => new Date(ms).toISOString().slice(0, 10);

export function isoDate(year: number, month: number, day: number): string {
  return `${year}-${pad2(month)}-${pad2(day)}`;
}

/** Days in a month (1–12), leap years included. */
export function daysInMonth(year: number, month: number): number {
  return new Date(Date.UTC(year, month, 0)).getUTCDate();
}

/** ISO weekday of a date: 1 = Monday … 7 = Sunday. */
export function isoWeekday(date: string): number {
  return new Date(utc(date)).getUTCDay() || 7;
}

/** A weekday's name: 周一 … 周日 / Mon … Sun. */
export function weekdayName(iso: number): string {
  return L(WEEKDAYS_ZH[iso - 1] ?? '', WEEKDAYS_EN[iso - 1] ?? '');
}

/** The short weekday heads of a grid, Monday first: 一 … 日 / Mo … Su. */
export function weekdayHeads(): string[] {
  return [1, 2, 3, 4, 5, 6, 7].map((d) => L(WEEKDAYS_ZH[d - 1]!.slice(1), WEEKDAYS_EN[d - 1]!.slice(0, 2)));
}

/** A month's title: 1月 / January. */
export function monthName(month: number): string {
  return L(`${month}月`, MONTHS_EN[month - 1] ?? '');
}

/** A month's cells, Monday first: blanks (null) before the 1st, then every date of the month. */
export function monthCells(year: number, month: number): (string | null)[] {
  const first = isoDate(year, month, 1);
  const cells: (string | null)[] = Array.from({ length: isoWeekday(first) - 1 }, () => null);
  for (let d = 1; d <= daysInMonth(year, month); d++) cells.push(isoDate(year, month, d));
  return cells;
}

/**
 * How a day counts, as the rules' engine decides it: an adjusted workday works, a public holiday
 * does not, otherwise the weekday decides.
 */
export function dayKind(date: string, workingDays: readonly number[], holidays: ReadonlySet<string>, extra: ReadonlySet<string>): DayKind {
  if (extra.has(date)) return 'extra';
  if (holidays.has(date)) return 'holiday';
  return workingDays.includes(isoWeekday(date)) ? 'workday' : 'rest';
}

export function kindName(kind: DayKind): string {
  switch (kind) {
    case 'workday':
      return L('工作日', 'Working day');
    case 'rest':
      return L('休息日', 'Rest day');
    case 'holiday':
      return L('法定节假日', 'Public holiday');
    case 'extra':
      return L('调休上班', 'Adjusted workday');
  }
}

export function overrideOf(dates: YearDates, date: string): Override {
  if (dates.holidays.includes(date)) return 'holiday';
  if (dates.extraWorkdays.includes(date)) return 'extra';
  return null;
}

/** The click cycle of a day: default → public holiday → adjusted workday → default. */
export function nextOverride(o: Override): Override {
  return o === null ? 'holiday' : o === 'holiday' ? 'extra' : null;
}

/** The year's dates with one day moved one step along the click cycle (lists kept sorted). */
export function cycleDay(dates: YearDates, date: string): { holidays: string[]; extraWorkdays: string[] } {
  const next = nextOverride(overrideOf(dates, date));
  const holidays = dates.holidays.filter((d) => d !== date);
  const extraWorkdays = dates.extraWorkdays.filter((d) => d !== date);
  if (next === 'holiday') holidays.push(date);
  if (next === 'extra') extraWorkdays.push(date);
  return { holidays: [...new Set(holidays)].sort(), extraWorkdays: [...new Set(extraWorkdays)].sort() };
}

/** The same dates, whatever their order or repeats. */
export function sameDates(a: YearDates, b: YearDates): boolean {
  const eq = (x: readonly string[], y: readonly string[]) => {
    const sx = [...new Set(x)].sort();
    const sy = [...new Set(y)].sort();
    return sx.length === sy.length && sx.every((d, i) => d === sy[i]);
  };
  return eq(a.holidays, b.holidays) && eq(a.extraWorkdays, b.extraWorkdays);
}

/** Dates of a year's entry that fall in the neighbouring years (a New Year holiday from 30 December). */
export function outsideYear(dates: YearDates, year: number): { date: string; override: Exclude<Override, null> }[] {
  const inYear = (d: string) => d.startsWith(`${year}-`);
  return [
    ...dates.holidays.filter((d) => !inYear(d)).map((date) => ({ date, override: 'holiday' as const })),
    ...dates.extraWorkdays.filter((d) => !inYear(d)).map((date) => ({ date, override: 'extra' as const })),
  ].sort((a, b) => a.date.localeCompare(b.date));
}

/**
 * Dates of `year` that other years' entries hold (2026-12-31 in the entry of 2027, whose New
 * Year holiday starts then). The rules count every entry, so the grid of 2026 shows them too —
 * as the other year's, changed there.
 */
export function borrowedDates(entries: readonly (YearDates & { year: number })[], year: number): Map<string, { override: Exclude<Override, null>; year: number }> {
  const out = new Map<string, { override: Exclude<Override, null>; year: number }>();
  for (const e of entries) {
    if (e.year === year) continue;
    for (const d of e.holidays) if (d.startsWith(`${year}-`)) out.set(d, { override: 'holiday', year: e.year });
    for (const d of e.extraWorkdays) if (d.startsWith(`${year}-`)) out.set(d, { override: 'extra', year: e.year });
  }
  return out;
}

/**
 * A year's dates with those of the entries of the year before and after, for naming festivals
 * across the turn of the year (the own entry wins where they overlap).
 */
export function withNeighbours(dates: YearDates, others: readonly (YearDates & { year: number })[], year: number): YearDates {
  const near = others.filter((e) => e.year === year - 1 || e.year === year + 1);
  const own = new Set([...dates.holidays, ...dates.extraWorkdays]);
  return {
    holidays: [...dates.holidays, ...near.flatMap((e) => e.holidays.filter((d) => !own.has(d)))],
    extraWorkdays: [...dates.extraWorkdays, ...near.flatMap((e) => e.extraWorkdays.filter((d) => !own.has(d)))],
  };
}

/** A date as people write it: 1月1日（周五） / Fri 1 Jan; another year than `year` is named. */
export function dateText(date: string, year?: number): string {
  const [y, m, d] = date.split('-').map(Number) as [number, number, number];
  const wd = isoWeekday(date);
  const other = year !== undefined && y !== year;
  return L(`${other ? `${y}年` : ''}${m}月${d}日（${WEEKDAYS_ZH[wd - 1]}）`, `${WEEKDAYS_EN[wd - 1]} ${d} ${MONTHS_EN[m - 1]!.slice(0, 3)}${other ? ` ${y}` : ''}`);
}

/** Runs of consecutive days, each [first, last]. */
export function dateRuns(dates: readonly string[]): [string, string][] {
  const sorted = [...new Set(dates)].sort();
  const runs: [string, string][] = [];
  for (const d of sorted) {
    const last = runs[runs.length - 1];
    if (last && utc(d) - utc(last[1]) === DAY_MS) last[1] = d;
    else runs.push([d, d]);
  }
  return runs;
}

/** Dates written for reading, consecutive ones as a range: 1月22日（周三）至1月28日（周二）、2月8日（周六）. */
export function datesText(dates: readonly string[], year?: number): string {
  if (dates.length === 0) return '—';
  return dateRuns(dates)
    .map(([a, b]) => (a === b ? dateText(a, year) : `${dateText(a, year)}${L('至', ' – ')}${dateText(b, year)}`))
    .join(L('、', ', '));
}

/** The festivals the State Council's notices name, in English (en.ts holds the same words). */
const FESTIVALS = ['元旦', '春节', '清明节', '劳动节', '端午节', '中秋节', '国庆节'] as const;

/**
 * A festival's name in the current language. A name the screen does not know (a notice's own
 * wording) comes back as it is with `known: false`, so the page marks it as recorded data.
 */
export function festivalText(name: string): { text: string; known: boolean } {
  const parts = name.split('、').filter(Boolean);
  const known = parts.length > 0 && parts.every((p) => english(p) !== p);
  if (!known) return { text: name || L('（未注明节日）', '(no festival named)'), known: name === '' };
  return { text: L(name, parts.map(english).join(' & ')), known: true };
}

/** The festival a day is (元旦 1 January, 春节 lunar new year's day, 清明 4–6 April, …), or null. */
function festivalOn(date: string): (typeof FESTIVALS)[number] | null {
  const md = date.slice(5);
  if (md === '01-01') return '元旦';
  if (md === '05-01') return '劳动节';
  if (md === '10-01') return '国庆节';
  if (md === '04-04' || md === '04-05' || md === '04-06') return '清明节';
  // The lunar festivals' days as the rules date them (the browser's Chinese calendar, cached per year).
  const lunarDay = festivalDays(Number(date.slice(0, 4))).find((f) => f.date === date && (f.name === '春节' || f.name === '端午节' || f.name === '中秋节'));
  return (lunarDay?.name as (typeof FESTIVALS)[number] | undefined) ?? null;
}

/**
 * The festival each date of a year's entry belongs to, in Chinese: a run of holidays is named by
 * the festivals it holds in calendar order, as the notices write them (中秋节、国庆节 in 2023,
 * 国庆节、中秋节 in 2025); an adjusted workday by the
 * nearest run within two weeks. A date of no known festival is left out.
 */
export function festivalsOf(dates: YearDates): Map<string, string> {
  const out = new Map<string, string>();
  const runs = dateRuns(dates.holidays).map(([a, b]) => {
    const names: string[] = [];
    for (let t = utc(a); t <= utc(b); t += DAY_MS) {
      const f = festivalOn(dayOf(t));
      // Qingming is a span of three candidate days; name it once.
      if (f && !names.includes(f)) names.push(f);
    }
    return { a, b, name: names.join('、') };
  });
  for (const r of runs) {
    if (!r.name) continue;
    for (let t = utc(r.a); t <= utc(r.b); t += DAY_MS) out.set(dayOf(t), r.name);
  }
  for (const d of dates.extraWorkdays) {
    let best: { gap: number; name: string } | null = null;
    for (const r of runs) {
      if (!r.name) continue;
      const gap = Math.min(Math.abs(utc(d) - utc(r.a)), Math.abs(utc(d) - utc(r.b))) / DAY_MS;
      if (gap <= 14 && (!best || gap < best.gap)) best = { gap, name: r.name };
    }
    if (best) out.set(d, best.name);
  }
  return out;
}

/** Counts of a year's entry, its cross-year dates included (they belong to its arrangement). */
export function yearCounts(dates: YearDates): { holidays: number; extra: number } {
  return { holidays: new Set(dates.holidays).size, extra: new Set(dates.extraWorkdays).size };
}

/**
 * The years offered in the selector: those with an entry, the missing ones, this year and the
 * next, and the one chosen (any other year 2000–2100 is typed in); newest first.
 */
export function yearChoices(entered: readonly number[], missing: readonly number[], today: string, selected: number | null): number[] {
  const thisYear = Number(today.slice(0, 4));
  const all = new Set<number>([...entered, ...missing, thisYear, thisYear + 1]);
  if (selected !== null) all.add(selected);
  return [...all].filter((y) => Number.isInteger(y) && y >= 2000 && y <= 2100).sort((a, b) => b - a);
}

/** A year typed in by hand, or null when it is not one the hub keeps (2000–2100). */
export function parseYear(s: string): number | null {
  const t = s.trim();
  if (!/^\d{4}$/.test(t)) return null;
  const y = Number(t);
  return y >= 2000 && y <= 2100 ? y : null;
}

/** A time as typed ('8:00', '８：３０', '0830') in the hub's form 'HH:MM'; anything else as typed (the hub then says why). */
export function normaliseTime(s: string): string {
  const t = s
    .trim()
    .replace(/[０-９]/g, (c) => String.fromCharCode(c.charCodeAt(0) - 0xfee0))
    .replace(/[：.]/g, ':');
  const m = /^(\d{1,2}):?(\d{2})$/.exec(t);
  return m ? `${pad2(Number(m[1]))}:${m[2]}` : t;
}

/** The same working hours: weekdays in any order, periods by start time. */
export function sameHours(
  a: { workingDays: readonly number[]; periods: readonly { start: string; end: string }[] },
  b: { workingDays: readonly number[]; periods: readonly { start: string; end: string }[] },
): boolean {
  const days = (x: readonly number[]) => [...new Set(x)].sort((p, q) => p - q).join(',');
  const spans = (x: readonly { start: string; end: string }[]) =>
    x
      .map((p) => `${p.start}-${p.end}`)
      .sort()
      .join(',');
  return days(a.workingDays) === days(b.workingDays) && spans(a.periods) === spans(b.periods);
}

/** The working periods in words: 08:00–12:00、14:30–18:00. */
export function periodsText(periods: readonly { start: string; end: string }[]): string {
  return periods.length ? periods.map((p) => `${p.start}–${p.end}`).join(L('、', ', ')) : '—';
}

/** The working weekdays in words: 周一至周五 / Mon–Fri, or each listed (周一、周三). */
export function weekdaysText(days: readonly number[]): string {
  const sorted = [...new Set(days)].sort((a, b) => a - b);
  if (sorted.length === 0) return L('无', 'none');
  const consecutive = sorted.length > 2 && sorted.every((d, i) => i === 0 || d === sorted[i - 1]! + 1);
  if (consecutive) return `${weekdayName(sorted[0]!)}${L('至', '–')}${weekdayName(sorted[sorted.length - 1]!)}`;
  return sorted.map(weekdayName).join(L('、', ', '));
}


/**
 * The institution types that keep business hours of their own, by name, in words: 机动车检验机构 —
 * 周一至周日 08:00–18:00，节假日照常营业. Ordered as the registry lists the types.
 */
export function typeHoursRows(byType: Readonly<Partial<Record<string, TypeHours>>> | undefined): { type: string; name: string; hours: string }[] {
  const order = Object.keys(INSTITUTION_TYPE_LABELS);
  return Object.entries(byType ?? {})
    .filter((e): e is [string, TypeHours] => e[1] !== undefined)
    .sort(([a], [b]) => (order.indexOf(a) + 1 || 99) - (order.indexOf(b) + 1 || 99))
    .map(([type, h]) => ({
      type,
      name: typeName(type),
      // Days with periods of their own after the usual ones: 周一至周五 08:00–17:00；周六 08:00–12:00.
      hours: `${hoursGroups(h)
        .map((g) => `${weekdaysText(g.days)} ${periodsText(g.periods)}`)
        .join(L('；', '; '))}${h.observesHolidays ? '' : L('，节假日照常营业', ', open on public holidays')}`,
    }));
}

/**
 * The day a new group of days with periods of their own starts with: Saturday when it is a
 * working day of the type and not in a group yet, else the last such working day; null when every
 * working day but one is in a group (the usual periods need a day).
 */
export function ownDaysChoice(workingDays: readonly number[], groups: readonly { days: readonly number[] }[]): number | null {
  const taken = new Set(groups.flatMap((g) => g.days));
  const free = [...new Set(workingDays)].filter((d) => !taken.has(d)).sort((a, b) => a - b);
  if (free.length < 2) return null;
  return free.includes(6) ? 6 : free[free.length - 1]!;
}

/** The same hours of every institution type: the same types, each with the same days, periods, days of their own and holiday rule. */
export function sameTypeHours(a: Readonly<Partial<Record<string, TypeHours>>> | undefined, b: Readonly<Partial<Record<string, TypeHours>>> | undefined): boolean {
  const entries = (x: typeof a) => Object.entries(x ?? {}).filter((e): e is [string, TypeHours] => e[1] !== undefined);
  const ea = entries(a);
  const eb = new Map(entries(b));
  return ea.length === eb.size && ea.every(([t, h]) => {
    const o = eb.get(t);
    return o !== undefined && o.observesHolidays === h.observesHolidays && sameHours(h, o) && JSON.stringify(hoursGroups(h)) === JSON.stringify(hoursGroups(o));
  });
}

/** The institution types that may be given hours of their own and have none yet, by name. */
export function typesWithoutHours(byType: Readonly<Partial<Record<string, TypeHours>>>): { type: string; name: string }[] {
  return Object.entries(INSTITUTION_TYPE_LABELS as Record<string, string>)
    .filter(([t]) => byType[t] === undefined)
    .map(([type, name]) => ({ type, name: tr(name) }));
}

/**
 * The institutions with business hours of their own (filed with their registry record), in
 * words: name and county (data), type by its label, hours in the current language. Ordered by
 * county as the registry lists them, then by name. Institutions without hours are left out.
 */
export function institutionHoursRows(items: readonly Readonly<Record<string, unknown>>[]): { id: string; name: string; type: string; county: string; hours: string }[] {
  const countyOrder = (c: string) => COUNTIES.findIndex((x) => x.adcode === c) + 1 || COUNTIES.length + 1;
  return items
    .flatMap((i) => {
      const h = hoursOf(i.hours);
      if (!h) return [];
      const county = String(i.county ?? '');
      return [{ id: String(i.id ?? ''), name: String(i.name ?? i.id ?? ''), typeCode: String(i.type ?? ''), county, h }];
    })
    .sort((a, b) => countyOrder(a.county) - countyOrder(b.county) || a.name.localeCompare(b.name, 'zh') || a.id.localeCompare(b.id))
    .map((r) => ({ id: r.id, name: r.name, type: typeName(r.typeCode), county: COUNTIES.find((c) => c.adcode === r.county)?.name ?? r.county, hours: hoursText(r.h) }));
}

/** An institution type's name in the current language (its code only if the registry has no such type). */
export function typeName(type: string): string {
  return tr((INSTITUTION_TYPE_LABELS as Record<string, string>)[type] ?? '其他机构类型');
}

/**
 * The hub's refusal of a calendar change (a BODY_INVALID message "Request body is invalid:
 * field.path: message; …") in words: a field path becomes what it names — the period as entered, the date refused — so
 * "periods.1: 时段的结束时间应晚于开始时间" reads 第 2 个时段（18:00–08:00）：时段的结束时间应晚于开始时间.
 * The hub's own sentences are Chinese and kept as they are.
 */
export function refusalText(
  message: string,
  sent: { periods?: readonly { start: string; end: string }[]; holidays?: readonly string[]; extraWorkdays?: readonly string[]; byType?: Readonly<Partial<Record<string, TypeHours>>> } = {},
): string {
  // The hub's English lead-in ('Request body is invalid: ') goes; the field list stays.
  return message
    .replace(/^[A-Z][^:;]*: (?=[\w().]+: )/, '')
    .split('; ')
    .map((part) => {
      const m = /^([\w().]+): (.*)$/s.exec(part);
      if (!m) return part;
      const [, path, text] = m as unknown as [string, string, string];
      const parts = path.split('.');
      // byType.<type>.periods.1: the type's own hours, named by the type.
      if (parts[0] === 'byType' && parts[1]) {
        const type = parts[1];
        const rest = parts.slice(2);
        const own = sent.byType?.[type];
        const j = rest[1] !== undefined && /^\d+$/.test(rest[1]) ? Number(rest[1]) : null;
        const p = j === null ? undefined : own?.periods[j];
        // byType.<type>.byWeekday.<g>[.periods.<k>]: a group of days with periods of their own, named by its days.
        const g = rest[0] === 'byWeekday' && j !== null ? own?.byWeekday?.[j] : undefined;
        const k = rest[2] === 'periods' && rest[3] !== undefined && /^\d+$/.test(rest[3]) ? Number(rest[3]) : null;
        const gp = g && k !== null ? g.periods[k] : undefined;
        const what =
          rest[0] === 'periods'
            ? j === null
              ? ''
              : `${L(`第 ${j + 1} 个时段`, ` period ${j + 1}`)}${p ? `（${p.start}–${p.end}）` : ''}`
            : rest[0] === 'workingDays'
              ? L('工作日', ' working days')
              : rest[0] === 'byWeekday'
                ? `${L('另设时段', ' own periods')}${g ? `（${weekdaysText(g.days)}）` : ''}${k !== null ? `${L(`第 ${k + 1} 个时段`, ` period ${k + 1}`)}${gp ? `（${gp.start}–${gp.end}）` : ''}` : ''}`
                : '';
        return `${typeName(type)}${what}：${text}`;
      }
      const [field, index] = parts;
      const i = index !== undefined && /^\d+$/.test(index) ? Number(index) : null;
      switch (field) {
        case 'periods': {
          if (i === null) return text;
          const p = sent.periods?.[i];
          return `${L(`第 ${i + 1} 个时段`, `Period ${i + 1}`)}${p ? `（${p.start}–${p.end}）` : ''}：${text}`;
        }
        case 'workingDays':
          return `${L('工作日', 'Working days')}：${text}`;
        case 'holidays':
        case 'extraWorkdays': {
          const d = i === null ? undefined : (field === 'holidays' ? sent.holidays : sent.extraWorkdays)?.[i];
          return d ? `${d}：${text}` : text;
        }
        case 'note':
          return `${L('修改说明', 'Note')}：${text}`;
        default:
          return text;
      }
    })
    .join(L('；', '; '));
}

/** The years still to be entered, for a notice: 2027 年 / 2026、2027 年 (en: 2027 / 2026 and 2027). */
export function yearsText(years: readonly number[]): string {
  return L(`${years.join('、')} 年`, years.length > 1 ? `${years.slice(0, -1).join(', ')} and ${years[years.length - 1]}` : String(years[0] ?? ''));
}

/**
 * The year as a CSV file Excel opens directly (UTF-8 with a byte-order mark, CRLF): one row per
 * day of the year plus the entry's cross-year dates — 日期, 星期, 类别, 节日. `others` are the
 * other years' entries (their days in this year count too, see borrowedDates).
 */
export function calendarCsv(year: number, dates: YearDates, workingDays: readonly number[], others: readonly (YearDates & { year: number })[] = []): string {
  // The year's own entry first; days other years' entries hold count as they do for the rules,
  // and name their festival from the whole of their entry (2026-12-31 is 2027's New Year).
  const holidays = new Set(dates.holidays);
  const extra = new Set(dates.extraWorkdays);
  for (const [d, b] of borrowedDates(others, year)) if (!holidays.has(d) && !extra.has(d)) (b.override === 'holiday' ? holidays : extra).add(d);
  const festivals = festivalsOf(withNeighbours(dates, others, year));
  const days = new Set<string>(outsideYear(dates, year).map((o) => o.date));
  for (let m = 1; m <= 12; m++) for (let d = 1; d <= daysInMonth(year, m); d++) days.add(isoDate(year, m, d));
  const rows = [[L('日期', 'Date'), L('星期', 'Weekday'), L('类别', 'Kind'), L('节日', 'Festival')]];
  for (const d of [...days].sort()) {
    const f = festivals.get(d);
    rows.push([d, weekdayName(isoWeekday(d)), kindName(dayKind(d, workingDays, holidays, extra)), f ? festivalText(f).text : '']);
  }
  return csvDocument(rows);
}
