/**
 * The simulated business clock.
 *
 * Rules reason on a transaction's `occurredAt` (and startedAt/endedAt), and one of them flags
 * business outside working hours. The demo may run at night or on a weekend, yet its normal
 * traffic must look like office-hours business. So the simulator stamps normal records with
 * `businessNow(t)`:
 *
 *   - inside working time (calendar.isWorkingTime(t)) it is simply t, the real clock;
 *   - otherwise it replays the most recent working day D: let `anchor` be the end of the latest
 *     working period that ended at or before t (on a working day D) and W the total length of
 *     D's working periods. Then businessNow(t) = the point `(t − anchor) mod W` into D's working
 *     periods, laid end to end. It is always inside working time, advances one second per real
 *     second, and wraps around to D's opening time every W (10 h with the default calendar).
 *
 * `capturedAt` always stays the real clock, so pipeline latency is measured truthfully.
 */
import type { WorkCalendar } from '@jianguan/rules';

export const MINUTE_MS = 60_000;
export const HOUR_MS = 3_600_000;
export const DAY_MS = 86_400_000;

function mod(a: number, n: number): number {
  return ((a % n) + n) % n;
}

function parseHhmm(s: string): number {
  const m = /^(\d{2}):(\d{2})$/.exec(s);
  if (!m) throw new Error(`calendar: bad time '${s}'`);
  return (Number(m[1]) * 60 + Number(m[2])) * MINUTE_MS;
}

export interface BusinessClock {
  readonly calendar: WorkCalendar;
  /** Epoch ms of the local midnight that starts the local day containing t. */
  localMidnight(t: number): number;
  /** Real t when it is working time, else the replayed working-day time (see above). */
  businessNow(t: number): number;
  /** The working period (epoch ms, [start, end)) containing t, or undefined. */
  periodAt(t: number): { start: number; end: number } | undefined;
  /**
   * Places an interval of `durationMs` that ends at or just after `end` wholly inside the
   * working period containing `end` (moving it later if it would start before the period
   * opened). Returns [start, end].
   */
  placeInPeriod(end: number, durationMs: number): [number, number];
}

export function createBusinessClock(calendar: WorkCalendar): BusinessClock {
  const offsetMs = calendar.config.utcOffsetMinutes * MINUTE_MS;
  const periods = calendar.config.periods
    .map((p) => ({ start: parseHhmm(p.start), end: parseHhmm(p.end) }))
    .filter((p) => p.end > p.start)
    .sort((a, b) => a.start - b.start);
  const totalMs = periods.reduce((s, p) => s + (p.end - p.start), 0);
  if (periods.length === 0 || totalMs <= 0) throw new Error('calendar has no working periods');

  const localMidnight = (t: number): number => t - mod(t + offsetMs, DAY_MS);

  const periodAt = (t: number): { start: number; end: number } | undefined => {
    if (!calendar.isWorkingTime(t)) return undefined;
    const m = localMidnight(t);
    for (const p of periods) if (t >= m + p.start && t < m + p.end) return { start: m + p.start, end: m + p.end };
    return undefined;
  };

  const businessNow = (t: number): number => {
    if (calendar.isWorkingTime(t)) return t;
    let m = localMidnight(t);
    for (let i = 0; i < 800; i++, m -= DAY_MS) {
      if (!calendar.isWorkingDay(m + DAY_MS / 2)) continue;
      let anchor = -Infinity;
      for (const p of periods) if (m + p.end <= t) anchor = Math.max(anchor, m + p.end);
      if (anchor === -Infinity) continue;
      let rem = mod(t - anchor, totalMs);
      for (const p of periods) {
        const len = p.end - p.start;
        if (rem < len) return m + p.start + rem;
        rem -= len;
      }
    }
    throw new Error('calendar: no working day in the last 800 days');
  };

  return {
    calendar,
    localMidnight,
    businessNow,
    periodAt,
    placeInPeriod(end, durationMs) {
      const p = periodAt(end);
      if (!p) return [end - durationMs, end];
      let e = end;
      if (e - durationMs < p.start) e = Math.min(p.start + durationMs, p.end - 1);
      return [Math.max(p.start, e - durationMs), e];
    },
  };
}
