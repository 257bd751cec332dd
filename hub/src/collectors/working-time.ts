/**
 * Working time between two instants under a work calendar (rules' createWorkCalendar): how long a
 * collector has been silent *while the counters were open*. A collector quiet over a weekend is
 * not silent; one quiet for 40 working minutes on a Monday morning is.
 */
import type { WorkCalendar } from '@jianguan/rules';

const DAY_MS = 86_400_000;
/** Longest span looked at; silence beyond it is already far over any threshold. */
const MAX_SPAN_MS = 400 * DAY_MS;

function minutes(hhmm: string): number {
  const [h, m] = hhmm.split(':').map(Number);
  return (h ?? 0) * 60 + (m ?? 0);
}

/** Milliseconds of working time in [from, to). */
export function workingMsBetween(cal: WorkCalendar, from: number, to: number): number {
  if (!(to > from)) return 0;
  const start = Math.max(from, to - MAX_SPAN_MS);
  const off = cal.config.utcOffsetMinutes * 60_000;
  const periods = cal.config.periods.map((p) => ({ start: minutes(p.start) * 60_000, end: minutes(p.end) * 60_000 }));
  let total = 0;
  for (let day = Math.floor((start + off) / DAY_MS) * DAY_MS - off; day < to; day += DAY_MS) {
    // Noon decides the day: no daylight saving in China, so any instant of the day would do.
    if (!cal.isWorkingDay(day + DAY_MS / 2)) continue;
    for (const p of periods) total += Math.max(0, Math.min(day + p.end, to) - Math.max(day + p.start, start));
  }
  return total;
}
