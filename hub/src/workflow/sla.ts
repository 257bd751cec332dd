/**
 * Time limits on the working-hours calendar (domain.md §7, configurable): high severity
 * acknowledged within 1 working hour and verified within 1 working day; other severities
 * verified within 3 working days. "Working time" is the calendar's working periods on working
 * days (holidays off, adjusted weekend workdays on), so a warning raised on Friday evening is
 * due on Monday.
 */
import type { WorkCalendar } from '@jianguan/rules';

const DAY_MS = 86_400_000;
const MIN_MS = 60_000;

export interface SlaConfig {
  highAckMinutes: number;
  highVerifyMinutes: number;
  verifyMinutes: number;
}

function minutesOf(hhmm: string): number {
  const [h, m] = hhmm.split(':').map(Number) as [number, number];
  return h * 60 + m;
}

/** `start` plus `minutes` of working time, as epoch ms. */
export function addWorkingMinutes(cal: WorkCalendar, start: number, minutes: number): number {
  const offset = cal.config.utcOffsetMinutes * MIN_MS;
  const periods = cal.config.periods.map((p) => ({ start: minutesOf(p.start), end: minutesOf(p.end) })).sort((a, b) => a.start - b.start);
  if (periods.length === 0 || minutes <= 0) return start;
  let remaining = minutes * MIN_MS;
  // Local midnight of the start day, as epoch ms.
  let dayStart = Math.floor((start + offset) / DAY_MS) * DAY_MS - offset;
  for (let guard = 0; guard < 3660; guard++, dayStart += DAY_MS) {
    // Noon avoids any doubt about which local day is asked.
    if (!cal.isWorkingDay(dayStart + DAY_MS / 2)) continue;
    for (const p of periods) {
      const from = Math.max(dayStart + p.start * MIN_MS, start);
      const to = dayStart + p.end * MIN_MS;
      if (to <= from) continue;
      if (to - from >= remaining) return from + remaining;
      remaining -= to - from;
    }
  }
  return Number.POSITIVE_INFINITY;
}

export interface Deadlines {
  /** High severity only. */
  acknowledgeBy: number | null;
  verifyBy: number;
}

export function deadlinesOf(cal: WorkCalendar, sla: SlaConfig, severity: string, raisedAt: number): Deadlines {
  const high = severity === 'high';
  return {
    acknowledgeBy: high ? addWorkingMinutes(cal, raisedAt, sla.highAckMinutes) : null,
    verifyBy: addWorkingMinutes(cal, raisedAt, high ? sla.highVerifyMinutes : sla.verifyMinutes),
  };
}

/** The first deadline missed by `now` for a warning in `state`, if any. */
export function missedDeadline(d: Deadlines, state: string, now: number): { kind: 'acknowledge' | 'verify'; dueAt: number } | null {
  if (d.acknowledgeBy !== null && (state === 'raised' || state === 'assigned') && now > d.acknowledgeBy) return { kind: 'acknowledge', dueAt: d.acknowledgeBy };
  if (['raised', 'assigned', 'acknowledged', 'verifying'].includes(state) && now > d.verifyBy) return { kind: 'verify', dueAt: d.verifyBy };
  return null;
}

/**
 * The deadline that applies now to a warning in `state` (what an auditor's countdown shows):
 * acknowledgement while a high warning is not yet acknowledged, otherwise verification while
 * the warning is open; null when closed or when no working time is left in the calendar.
 */
export function activeDeadline(d: Deadlines, state: string): { kind: 'acknowledge' | 'verify'; dueAt: number } | null {
  const pick = (): { kind: 'acknowledge' | 'verify'; dueAt: number } | null => {
    if (d.acknowledgeBy !== null && (state === 'raised' || state === 'assigned')) return { kind: 'acknowledge', dueAt: d.acknowledgeBy };
    if (['raised', 'assigned', 'acknowledged', 'verifying'].includes(state)) return { kind: 'verify', dueAt: d.verifyBy };
    return null;
  };
  const due = pick();
  return due && Number.isFinite(due.dueAt) ? due : null;
}
