/** calendar: working time (working days, periods, holidays, 调休) or a fixed night band. */
import { institutionCalendar, type WorkCalendar } from '../calendar.js';
import { compileFilters, type Run } from '../compile-parts.js';
import type { CalendarRuleDefinition } from '../definition.js';

const WEEKDAYS = ['星期一', '星期二', '星期三', '星期四', '星期五', '星期六', '星期日'];

/** '08:00–18:00' (periods joined by '、') of the day of `at`; cached per periods array. */
const periodTextCache = new WeakMap<readonly { start: string; end: string }[], string>();
function periodText(cal: WorkCalendar, at: number): string {
  const periods = cal.periodsOn?.(at) ?? cal.config.periods;
  let s = periodTextCache.get(periods);
  if (s === undefined) {
    s = periods.map((p) => `${p.start}–${p.end}`).join('、');
    periodTextCache.set(periods, s);
  }
  return s;
}

const minutes = (hhmm: string): number => Number(hhmm.slice(0, 2)) * 60 + Number(hhmm.slice(3, 5));

export function compileCalendar(def: CalendarRuleDefinition): Run {
  const applies = compileFilters(def.when);
  if (def.mode === 'night') {
    // Validated: both set and different. [start, end) in local minutes, wrapping midnight if start > end.
    const start = minutes(def.params.nightStart ?? '22:00');
    const end = minutes(def.params.nightEnd ?? '06:00');
    const nightBand = `${def.params.nightStart}–${def.params.nightEnd}`;
    const inBand = start < end ? (m: number) => m >= start && m < end : (m: number) => m >= start || m < end;
    return (txn, ctx) => {
      if (!applies(txn)) return null;
      const l = ctx.calendar.local(txn.occurredAt);
      if (!inBand(l.minuteOfDay)) return null;
      return { reason: 'night', values: { reason: 'night', date: l.date, time: l.hhmm, weekday: WEEKDAYS[l.isoWeekday - 1] ?? '', nightBand } };
    };
  }
  return (txn, ctx) => {
    if (!applies(txn)) return null;
    // The institution's own filed hours, else its type's (a station open at weekends), else the city's.
    const cal = institutionCalendar(ctx.calendar, ctx.registry.institution(txn.institutionId));
    const at = txn.occurredAt;
    if (cal.isWorkingTime(at)) return null;
    const l = cal.local(at);
    // Day-level reasons first: business on a holiday is reported as such whatever the hour.
    let reason: 'outside_hours' | 'holiday' | 'rest_day';
    let dayType: string;
    if (cal.isWorkingDay(at)) [reason, dayType] = ['outside_hours', '工作日'];
    else if (cal.config.holidays.includes(l.date)) [reason, dayType] = ['holiday', '法定节假日'];
    else [reason, dayType] = ['rest_day', '休息日'];
    return {
      reason,
      values: { reason, date: l.date, time: l.hhmm, weekday: WEEKDAYS[l.isoWeekday - 1] ?? '', period: periodText(cal, at), dayType },
    };
  };
}
