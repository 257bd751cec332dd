/**
 * Business hours: which weekdays, which periods of the day, and whether public holidays close the
 * place. The city's working hours, an institution type's hours and an institution's own filed
 * hours (营业时间, filed with its registry record) all have this shape.
 *
 * People file hours as words in a spreadsheet cell — 「周一至周六 8:30-12:00，14:00-17:30，节假日
 * 照常营业」 — so this module also reads such text into the shape and writes the shape back as
 * text that reads back the same. What it cannot read it says, naming the words; it never guesses.
 *
 * Pure code (no imports beyond zod): the registry schema, the calendar configuration, the hub's
 * import and the dashboard's form share it.
 */
import { z } from 'zod';

const HHMM_RE = /^([01]\d|2[0-3]):[0-5]\d$|^24:00$/;

/** Minutes since midnight of 'HH:MM'. */
export const hhmmMinutes = (s: string): number => Number(s.slice(0, 2)) * 60 + Number(s.slice(3, 5));

export const WorkPeriodSchema = z
  .object({
    start: z.string().regex(HHMM_RE, '时间应为 HH:MM（00:00–24:00）'),
    end: z.string().regex(HHMM_RE, '时间应为 HH:MM（00:00–24:00）'),
  })
  .strict()
  .refine((p) => hhmmMinutes(p.start) < hhmmMinutes(p.end), { message: '时段的结束时间应晚于开始时间' });
export type WorkPeriod = z.infer<typeof WorkPeriodSchema>;

/** Weekdays once each, periods in order without overlaps: what every set of hours must be. */
export function checkHours(h: { workingDays: readonly number[]; periods: readonly WorkPeriod[] }, ctx: z.RefinementCtx): void {
  if (new Set(h.workingDays).size !== h.workingDays.length) ctx.addIssue({ code: 'custom', path: ['workingDays'], message: '工作日有重复' });
  const sorted = [...h.periods].sort((a, b) => hhmmMinutes(a.start) - hhmmMinutes(b.start));
  for (let i = 1; i < sorted.length; i++) {
    if (hhmmMinutes(sorted[i]!.start) < hhmmMinutes(sorted[i - 1]!.end)) {
      ctx.addIssue({ code: 'custom', path: ['periods'], message: `工作时段 ${sorted[i - 1]!.start}–${sorted[i - 1]!.end} 与 ${sorted[i]!.start}–${sorted[i]!.end} 重叠` });
    }
  }
}

const DAY_NAMES = ['', '周一', '周二', '周三', '周四', '周五', '周六', '周日'];

export const HoursFields = {
  /** ISO weekdays, 1 = Monday … 7 = Sunday. */
  workingDays: z.array(z.number().int().min(1).max(7)).min(1, '至少需要一个工作日').max(7),
  periods: z.array(WorkPeriodSchema).min(1, '至少需要一个工作时段').max(6, '最多 6 个工作时段'),
};

/** Days of the week whose periods differ from the usual ones (周六 08:00–12:00). */
export const DayPeriodsSchema = z
  .object({
    days: z.array(z.number().int().min(1).max(7)).min(1).max(7),
    periods: HoursFields.periods,
  })
  .strict()
  .superRefine((g, ctx) => checkHours({ workingDays: g.days, periods: g.periods }, ctx));
export type DayPeriods = z.infer<typeof DayPeriodsSchema>;

/**
 * Business hours of an institution type (the work calendar's `byType`) or of one institution
 * (its own filed 营业时间): weekdays, the usual periods, and the working days whose periods differ
 * from the usual ones — an inspection station open Monday to Friday all day and on Saturday
 * mornings, a hospital's medical checks on Saturday mornings. `byWeekday`'s days are working
 * days, each in one group at most; every other working day has `periods`; an adjusted working
 * day (调休) has the usual periods. `observesHolidays: false` = open on public holidays too (the
 * holidays and adjusted workdays do not apply to it).
 */
export const BusinessHoursSchema = z
  .object({ ...HoursFields, observesHolidays: z.boolean(), byWeekday: z.array(DayPeriodsSchema).min(1).max(6).optional() })
  .strict()
  .superRefine((h, ctx) => {
    checkHours(h, ctx);
    const seen = new Set<number>();
    for (const g of h.byWeekday ?? []) {
      for (const d of g.days) {
        if (!h.workingDays.includes(d)) ctx.addIssue({ code: 'custom', path: ['byWeekday'], message: `${DAY_NAMES[d]}不是营业日，不能另有营业时段` });
        else if (seen.has(d)) ctx.addIssue({ code: 'custom', path: ['byWeekday'], message: `${DAY_NAMES[d]}的营业时段写了两次` });
        seen.add(d);
      }
    }
    if (h.byWeekday && h.workingDays.every((d) => seen.has(d))) ctx.addIssue({ code: 'custom', path: ['byWeekday'], message: '每个营业日都另有时段：通常的营业时段无日可用' });
  });
/** An institution type's hours: the same shape as an institution's own. */
export const TypeHoursSchema = BusinessHoursSchema;
export type BusinessHours = z.infer<typeof BusinessHoursSchema>;

/**
 * The hours as groups of (days, periods) in order: the usual periods' days first, then each
 * group of days with periods of their own. What both languages' words are written from.
 */
export function hoursGroups(h: { workingDays: readonly number[]; periods: readonly WorkPeriod[]; byWeekday?: readonly { days: readonly number[]; periods: readonly WorkPeriod[] }[] }): { days: number[]; periods: WorkPeriod[] }[] {
  const own = new Set((h.byWeekday ?? []).flatMap((g) => g.days));
  const usual = { days: [...new Set(h.workingDays)].filter((d) => !own.has(d)).sort((a, b) => a - b), periods: sortedPeriods(h.periods) };
  const rest = (h.byWeekday ?? []).map((g) => ({ days: [...g.days].sort((a, b) => a - b), periods: sortedPeriods(g.periods) })).sort((a, b) => a.days[0]! - b.days[0]!);
  return [usual, ...rest];
}

// ---- as words ---------------------------------------------------------------------------------

/**
 * Weekdays (ISO, 1 = Monday) as runs of consecutive days, each [first, last], in order: what the
 * hours in words (either language) are written from.
 */
export function weekdayRuns(workingDays: readonly number[]): [first: number, last: number][] {
  const days = [...new Set(workingDays)].sort((a, b) => a - b);
  const runs: [number, number][] = [];
  for (let i = 0; i < days.length; ) {
    let j = i;
    while (j + 1 < days.length && days[j + 1] === days[j]! + 1) j++;
    runs.push([days[i]!, days[j]!]);
    i = j + 1;
  }
  return runs;
}

/** Periods in order of their start. */
export function sortedPeriods<P extends { start: string }>(periods: readonly P[]): P[] {
  return [...periods].sort((a, b) => hhmmMinutes(a.start) - hhmmMinutes(b.start));
}

/**
 * The hours in words, e.g. 「周一至周六 08:30–12:00、14:00–17:30；法定节假日休息」 or 「周一至周五
 * 08:00–17:00；周六 08:00–12:00；法定节假日休息」. Consecutive weekdays are a range, all seven
 * 「每天」; parseBusinessHours reads it back to the same hours.
 */
export function formatBusinessHours(h: { workingDays: readonly number[]; periods: readonly WorkPeriod[]; observesHolidays: boolean; byWeekday?: readonly { days: readonly number[]; periods: readonly WorkPeriod[] }[] }): string {
  const groups = hoursGroups(h).map((g) => `${dayWords(g.days)} ${g.periods.map((p) => `${p.start}–${p.end}`).join('、')}`);
  return `${groups.join('；')}；${h.observesHolidays ? '法定节假日休息' : '法定节假日照常营业'}`;
}

/** Weekdays in words: 「每天」, 「周一至周五」, 「周一、周三、周五」. */
function dayWords(days: readonly number[]): string {
  const runs = weekdayRuns(days);
  if (runs.length === 1 && runs[0]![0] === 1 && runs[0]![1] === 7) return '每天';
  return runs.map(([a, b]) => (a === b ? DAY_NAMES[a]! : b === a + 1 ? `${DAY_NAMES[a]}、${DAY_NAMES[b]}` : `${DAY_NAMES[a]}至${DAY_NAMES[b]}`)).join('、');
}

export type ParsedBusinessHours = { hours: BusinessHours } | { error: string };

const WEEKDAY_OF: Readonly<Record<string, number>> = { 一: 1, 二: 2, 三: 3, 四: 4, 五: 5, 六: 6, 日: 7, 天: 7, '1': 1, '2': 2, '3': 3, '4': 4, '5': 5, '6': 6, '7': 7 };
const DAY = String.raw`(?:周|星期|礼拜)([一二三四五六日天1-7])`;
const TO = String.raw`\s*(?:至|到|-|~)\s*`;
const TIME = String.raw`(\d{1,2})(?::(\d{2})|[点时](?:(半)|(\d{1,2})分?)?)`;

/**
 * The pieces the text may hold, tried in this order at each position. Filler words people put
 * around hours (营业时间：, 上午, 办公) are read past; anything else is reported.
 */
const TOKENS: readonly [kind: string, re: RegExp][] = [
  ['open_holidays', /^(?:(?:法定)?节假日(?:也|均|都)?(?:照常|正常)(?:营业|办公|上班|开放)|(?:法定)?节假日(?:不休(?:息)?|营业|无休)|全年无休|节假日不打烊)/],
  ['closed_holidays', /^(?:(?:法定)?节假日(?:除外|休息|不营业|闭馆|不办公|休)|(?:法定)?节假日按国家规定(?:放假|休息))/],
  ['day_range', new RegExp(`^${DAY}${TO}(?:周|星期|礼拜)?([一二三四五六日天1-7])`)],
  ['day', new RegExp(`^${DAY}`)],
  ['every_day', /^(?:每天|每日|天天|全周)/],
  ['weekdays', /^(?:工作日|周一至五)/],
  ['weekend', /^(?:周末|双休日|周六日|周六、日)/],
  ['afternoon', /^(?:下午|晚上|傍晚)/],
  ['period', new RegExp(`^${TIME}${TO}(?:(下午|晚上))?${TIME}`)],
  ['filler', /^(?:营业时间|办公时间|工作时间|营业日|营业|办公|开放|上午|中午|早上|全天|时间|和|及|、|，|,|；|;|。|：|:|\s|（|）|\(|\))/],
];

/** Full-width digits, colons, tildes and dashes as their ASCII forms. */
function normalise(text: string): string {
  return text
    .normalize('NFKC')
    .replace(/[～〜]/g, '~')
    .replace(/[—–－―‐]/g, '-')
    .replace(/\s+/g, ' ')
    .trim();
}

function clock(h: string, m: string | undefined, half: string | undefined, m2: string | undefined, pm: boolean): string | null {
  let hour = Number(h);
  const minute = half ? 30 : Number(m ?? m2 ?? 0);
  if (pm && hour < 12) hour += 12;
  if (hour > 24 || minute > 59 || (hour === 24 && minute !== 0)) return null;
  return `${String(hour).padStart(2, '0')}:${String(minute).padStart(2, '0')}`;
}

/**
 * Reads hours written as words: weekdays (周一至周五, 周一、三、五 as 周一、周三、周五, 每天,
 * 工作日, 周末), periods (8:30-12:00, 14:00~17:30, 8点半到12点, 下午2:00-5:30), and whether
 * public holidays close it (法定节假日休息 — the default when it is not said — or 节假日照常营业,
 * 全年无休). Days may have periods of their own (周一至周五 8:00-17:00，周六 8:00-12:00): the
 * periods of the most days are the usual ones, the others are `byWeekday`. Days written without
 * periods of their own, an afternoon it would have to guess and words it does not know are
 * refused with the reason.
 */
export function parseBusinessHours(text: string): ParsedBusinessHours {
  const s = normalise(text);
  if (!s) return { error: '营业时间为空' };
  if (s.length > 200) return { error: '营业时间过长（200 字以内）' };
  // Groups of (days, periods) in the order written: 「周一至周五 8:00-17:00，周六 8:00-12:00」.
  const groups: { days: number[]; periods: WorkPeriod[] }[] = [];
  let openOnHolidays: boolean | undefined;
  let pm = false;
  const current = () => groups[groups.length - 1];
  const addDays = (d: number[]) => {
    const g = current();
    if (!g || g.periods.length > 0) groups.push({ days: [...d], periods: [] });
    else g.days.push(...d);
  };
  let i = 0;
  while (i < s.length) {
    const rest = s.slice(i);
    let matched = false;
    for (const [kind, re] of TOKENS) {
      const m = re.exec(rest);
      if (!m) continue;
      matched = true;
      i += m[0].length;
      switch (kind) {
        case 'open_holidays':
          if (m[0] === '全年无休') addDays([1, 2, 3, 4, 5, 6, 7]);
          openOnHolidays = true;
          break;
        case 'closed_holidays':
          openOnHolidays = false;
          break;
        case 'day_range': {
          const a = WEEKDAY_OF[m[1]!]!;
          const b = WEEKDAY_OF[m[2]!]!;
          if (b < a) return { error: `看不懂「${m[0]}」：起止顺序颠倒` };
          addDays(Array.from({ length: b - a + 1 }, (_, k) => a + k));
          break;
        }
        case 'day': {
          addDays([WEEKDAY_OF[m[1]!]!]);
          // 「周一、三、五」: bare weekday characters after a day belong to the same list.
          let more: RegExpExecArray | null;
          while ((more = /^[、,，]([一二三四五六日天])(?![一二三四五六日天点时])/.exec(s.slice(i)))) {
            addDays([WEEKDAY_OF[more[1]!]!]);
            i += more[0].length;
          }
          break;
        }
        case 'every_day':
          addDays([1, 2, 3, 4, 5, 6, 7]);
          break;
        case 'weekdays':
          addDays([1, 2, 3, 4, 5]);
          break;
        case 'weekend':
          addDays([6, 7]);
          break;
        case 'afternoon':
          pm = true;
          break;
        case 'period': {
          const start = clock(m[1]!, m[2], m[3], m[4], pm);
          const end = clock(m[6]!, m[7], m[8], m[9], pm || m[5] !== undefined);
          if (!start || !end) return { error: `看不懂「${m[0]}」：时间不存在` };
          // 「8:30-5:30」 is not read as 17:30: the hub does not guess an afternoon.
          if (hhmmMinutes(start) >= hhmmMinutes(end)) return { error: `「${m[0]}」的结束时间应晚于开始时间（下午请写作 17:30 或「下午5:30」）` };
          let g = current();
          if (!g) groups.push((g = { days: [], periods: [] }));
          g.periods.push({ start, end });
          break;
        }
        case 'filler':
          // A new clause ends an afternoon marker: 「下午2:00-5:30，周六 8:00-12:00」.
          if (/[，,；;。]/.test(m[0])) pm = false;
          break;
      }
      break;
    }
    if (!matched) {
      const word = /^[^\s，,；;。、]+/.exec(rest)?.[0] ?? rest.slice(0, 8);
      return { error: `看不懂「${word}」；请写成如「周一至周六 08:30–12:00、14:00–17:30；法定节假日休息」` };
    }
  }
  // Periods written before any day (「8:00-17:00 周一至周五」) belong to the days after them.
  const merged: { days: number[]; periods: WorkPeriod[] }[] = [];
  for (const g of groups) {
    const last = merged[merged.length - 1];
    if (last && last.days.length === 0) {
      last.days.push(...g.days);
      last.periods.push(...g.periods);
    } else if (last && g.days.length === 0) last.periods.push(...g.periods);
    else merged.push({ days: [...g.days], periods: [...g.periods] });
  }
  const days = merged.flatMap((g) => g.days);
  if (days.length === 0) return { error: '未写明营业日，如「周一至周六」或「每天」' };
  const withPeriods = merged.filter((g) => g.periods.length > 0);
  if (withPeriods.length === 0) return { error: '未写明营业时段，如「08:30–17:30」' };
  const key = (p: readonly WorkPeriod[]) => sortedPeriods(p).map((x) => `${x.start}–${x.end}`).join('、');
  // 「周一至周五、周六 8:00-17:00」 is one group already (days gather until periods follow).
  const unique = [...new Set(days)].sort((a, b) => a - b);
  if (unique.length !== days.length) return { error: '营业日有重复' };
  // Groups with the same periods are one (周一至周三 8-17，周四 8-12，周五至周六 8-17); the
  // periods of the most days are the usual ones (ties: the one starting earliest in the week),
  // the others are days with periods of their own.
  const bySet = new Map<string, { days: number[]; periods: WorkPeriod[] }>();
  for (const g of merged) {
    if (g.periods.length === 0) return { error: `未写明${g.days.map((d) => DAY_NAMES[d]).join('、')}的营业时段` };
    const k = key(g.periods);
    const same = bySet.get(k);
    if (same) same.days.push(...g.days);
    else bySet.set(k, { days: [...g.days], periods: sortedPeriods(g.periods) });
  }
  const sets = [...bySet.values()].map((g) => ({ ...g, days: g.days.sort((a, b) => a - b) }));
  sets.sort((a, b) => b.days.length - a.days.length || a.days[0]! - b.days[0]!);
  const [usual, ...own] = sets;
  const r = BusinessHoursSchema.safeParse({
    workingDays: unique,
    periods: usual!.periods,
    observesHolidays: !(openOnHolidays ?? false),
    ...(own.length ? { byWeekday: own.sort((a, b) => a.days[0]! - b.days[0]!) } : {}),
  });
  if (!r.success) return { error: r.error.issues[0]?.message ?? '营业时间不正确' };
  return { hours: r.data };
}
