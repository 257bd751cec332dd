/**
 * Business time: the supervised counters work in China Standard Time (Asia/Shanghai, UTC+8, no
 * daylight saving), so "a day", "a month" and "a local timestamp" mean the Shanghai ones, while
 * stored times are epoch ms (UTC). Every conversion between the two lives here, shared by the
 * hub (which adds the SQL form) and the dashboard, so no two screens disagree by an offset.
 */
export const BUSINESS_TZ = 'Asia/Shanghai';
/** Shanghai has kept UTC+8 since 1991: a fixed offset is exact for every date we store. */
export const BUSINESS_OFFSET_MS = 8 * 3_600_000;
export const DAY_MS = 86_400_000;

/** [from, to) epoch ms of the local day containing `at`, with its date 'YYYY-MM-DD'. */
export function dayBounds(at: number): { from: number; to: number; day: string } {
  const from = Math.floor((at + BUSINESS_OFFSET_MS) / DAY_MS) * DAY_MS - BUSINESS_OFFSET_MS;
  return { from, to: from + DAY_MS, day: localDate(from) };
}

/**
 * The moment whose local date is the last day a period ending at `end` covers. Registry terms end
 * exclusively: one ending at local midnight covers the day before in full and is said to end
 * that day ("至11月8日止"), one ending during a day ends that day, at that time.
 */
export function lastCovered(end: number): number {
  return dayStart(end) === end ? end - DAY_MS : end;
}

/** Local midnight at or before `at`. */
export function dayStart(at: number): number {
  return dayBounds(at).from;
}

/** [from, to) epoch ms of a local month 'YYYY-MM'. */
export function monthBounds(month: string): { from: number; to: number } {
  const [y, m] = month.split('-').map(Number) as [number, number];
  return { from: Date.UTC(y, m - 1, 1) - BUSINESS_OFFSET_MS, to: Date.UTC(y, m, 1) - BUSINESS_OFFSET_MS };
}

/** Local month 'YYYY-MM' of epoch ms. */
export function monthOf(ms: number): string {
  return localIso(ms).slice(0, 7);
}

/** Local date 'YYYY-MM-DD' of epoch ms. */
export function localDate(ms: number): string {
  return localIso(ms).slice(0, 10);
}

/** 'YYYY-MM-DD HH:MM' local. */
export function localMinute(ms: number): string {
  return localIso(ms).replace('T', ' ').slice(0, 16);
}

/** 'YYYY-MM-DD HH:MM:SS' local. */
export function localSecond(ms: number): string {
  return localIso(ms).replace('T', ' ').slice(0, 19);
}

/** Local wall-clock fields → epoch ms (Date.UTC semantics, so months roll over like it). */
export function fromLocal(y: number, mo: number, d: number, h = 0, mi = 0, s = 0): number {
  return Date.UTC(y, mo - 1, d, h, mi, s) - BUSINESS_OFFSET_MS;
}

/** The UTC fields of the returned Date are the local wall-clock fields of `ms`. */
export function localFields(ms: number): Date {
  return new Date(ms + BUSINESS_OFFSET_MS);
}

function localIso(ms: number): string {
  return new Date(ms + BUSINESS_OFFSET_MS).toISOString();
}
