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
