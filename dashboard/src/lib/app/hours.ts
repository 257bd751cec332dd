/**
 * An institution's own filed business hours (营业时间) in words, in the screen's language. The
 * Chinese is the rules package's formatBusinessHours — the very text the hub exports and reads
 * back — so what a registry administrator sees is what a sheet would hold; the English is written
 * here from the same shape, so an English screen shows hours in English rather than as data.
 */
import { formatBusinessHours, hoursGroups, parseBusinessHours, weekdayRuns, type BusinessHours } from '@jianguan/rules';
import { L } from './lang';

const DAYS_EN = ['', 'Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat', 'Sun'] as const;

/**
 * The hours in English, mirroring formatBusinessHours: `Mon–Sat 08:30–12:00, 14:00–17:30; closed
 * on public holidays`, all seven days `Every day`, two neighbouring days listed (`Sat, Sun`), days
 * with periods of their own after the usual ones (`Mon–Fri 08:00–17:00; Sat 08:00–12:00; …`).
 */
export function hoursInEnglish(h: Pick<BusinessHours, 'workingDays' | 'periods' | 'observesHolidays' | 'byWeekday'>): string {
  const groups = hoursGroups(h).map((g) => `${daysInEnglish(g.days)} ${g.periods.map((p) => `${p.start}–${p.end}`).join(', ')}`);
  return `${groups.join('; ')}; ${h.observesHolidays ? 'closed on public holidays' : 'open on public holidays'}`;
}

function daysInEnglish(days: readonly number[]): string {
  const runs = weekdayRuns(days);
  if (runs.length === 1 && runs[0]![0] === 1 && runs[0]![1] === 7) return 'Every day';
  return runs.map(([a, b]) => (a === b ? DAYS_EN[a] : b === a + 1 ? `${DAYS_EN[a]}, ${DAYS_EN[b]}` : `${DAYS_EN[a]}–${DAYS_EN[b]}`)).join(', ');
}

/** The hours in words in the current language. */
export function hoursText(h: BusinessHours): string {
  return L(formatBusinessHours(h), hoursInEnglish(h));
}

/** A record's `hours` value as filed (an object), or undefined when it has none or is not hours. */
export function hoursOf(v: unknown): BusinessHours | undefined {
  if (!v || typeof v !== 'object') return undefined;
  const h = v as Partial<BusinessHours>;
  return Array.isArray(h.workingDays) && Array.isArray(h.periods) && typeof h.observesHolidays === 'boolean' ? (h as BusinessHours) : undefined;
}

/**
 * What the hub will read from hours being typed, for the line under the input: nothing while
 * empty (empty = the type's hours), else the hours in words or the reason it cannot read them
 * (the rules' Chinese sentence, which quotes the words typed).
 */
export function hoursReading(text: string): { hours: BusinessHours; text: string } | { error: string } | null {
  if (!text.trim()) return null;
  const r = parseBusinessHours(text);
  return 'error' in r ? { error: r.error } : { hours: r.hours, text: hoursText(r.hours) };
}

/** Chinese weekday names as the rules write them, in English. */
const DAY_EN_BY_ZH: Readonly<Record<string, string>> = { 周一: 'Mon', 周二: 'Tue', 周三: 'Wed', 周四: 'Thu', 周五: 'Fri', 周六: 'Sat', 周日: 'Sun' };
const daysEn = (zh: string) => zh.split('、').map((d) => DAY_EN_BY_ZH[d] ?? d).join(', ');

/**
 * The rules' reasons for hours they cannot read (parseBusinessHours and the hours schema), in
 * English. The words quoted are what was typed and stay as typed. A reason not listed here is
 * given as it is (Chinese) rather than guessed at.
 */
const HOURS_ERRORS_EN: readonly [RegExp, (m: RegExpExecArray) => string][] = [
  [/^营业时间为空$/, () => 'The hours are empty'],
  [/^营业时间过长（200 字以内）$/, () => 'The hours are too long (200 characters at most)'],
  [/^看不懂「(.*)」：起止顺序颠倒$/, (m) => `Cannot read “${m[1]}”: the days run backwards`],
  [/^看不懂「(.*)」：时间不存在$/, (m) => `Cannot read “${m[1]}”: no such time`],
  [/^「(.*)」的结束时间应晚于开始时间/, (m) => `“${m[1]}” ends before it starts (write an afternoon as 17:30 or 下午5:30)`],
  [/^看不懂「(.*)」；请写成如「(.*)」$/, (m) => `Cannot read “${m[1]}”; write the hours like ${m[2]}`],
  [/^未写明营业日/, () => 'No days are given (such as 周一至周六 or 每天)'],
  [/^未写明营业时段/, () => 'No periods are given (such as 08:30–17:30)'],
  [/^未写明(.+)的营业时段$/, (m) => `No periods are given for ${daysEn(m[1]!)}`],
  [/^(?:营业日|工作日)有重复$/, () => 'A day is given twice'],
  [/^工作时段 (\S+) 与 (\S+) 重叠$/, (m) => `The periods ${m[1]} and ${m[2]} overlap`],
  [/^时段的结束时间应晚于开始时间$/, () => 'A period ends before it starts'],
  [/^(.+)不是营业日，不能另有营业时段$/, (m) => `${daysEn(m[1]!)} is not an open day, so it cannot have periods of its own`],
  [/^(.+)的营业时段写了两次$/, (m) => `The periods of ${daysEn(m[1]!)} are given twice`],
  [/^每个营业日都另有时段/, () => 'Every open day has periods of its own: no day is left for the usual periods'],
  [/^至少需要一个工作日$/, () => 'At least one day is needed'],
  [/^至少需要一个工作时段$/, () => 'At least one period is needed'],
  [/^最多 6 个工作时段$/, () => 'Six periods at most'],
  [/^时间应为 HH:MM/, () => 'Times are HH:MM (00:00–24:00)'],
];

/** A reason the hours cannot be read, in the current language. */
export function hoursErrorText(error: string): string {
  for (const [re, en] of HOURS_ERRORS_EN) {
    const m = re.exec(error);
    if (m) return L(error, en(m));
  }
  return error;
}

