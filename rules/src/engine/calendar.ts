/**
 * Working-hours calendar. China has one time zone and no daylight saving, so local time is UTC
 * plus a fixed offset; no time-zone database is needed and the code stays pure.
 */

export interface WorkCalendarConfig {
  /** Minutes east of UTC; 480 for China Standard Time. */
  utcOffsetMinutes: number;
  /** ISO weekday numbers that are working days (1 = Monday … 7 = Sunday). */
  workingDays: readonly number[];
  /** Working periods in local time, 'HH:MM' half-open [start, end). */
  periods: readonly { start: string; end: string }[];
  /** Public holidays, local dates 'YYYY-MM-DD' (no business even on a weekday). */
  holidays: readonly string[];
  /** Adjusted working days (调休), local dates 'YYYY-MM-DD' worked although they fall on a weekend. */
  extraWorkdays: readonly string[];
  /**
   * OPTIONAL. Business hours of institution types that keep their own (an inspection station
   * open at the weekend, a hospital's medical checks on Saturday mornings), by institution type.
   * A type not listed keeps the hours above. `observesHolidays: false` = open on public holidays
   * too (the holidays and adjusted workdays do not apply to it).
   */
  byType?: Readonly<Record<string, TypeHours>>;
  /**
   * OPTIONAL. Working days whose periods differ from `periods` (an institution's own hours: 周六
   * 08:00–12:00). An adjusted working day (调休) keeps `periods`.
   */
  byWeekday?: readonly DayPeriods[];
}

/** Days of the week with periods of their own. */
export interface DayPeriods {
  days: readonly number[];
  periods: readonly { start: string; end: string }[];
}

/** One institution type's business hours (WorkCalendarConfig.byType), or one institution's own. */
export interface TypeHours {
  workingDays: readonly number[];
  periods: readonly { start: string; end: string }[];
  observesHolidays: boolean;
  byWeekday?: readonly DayPeriods[];
}

/**
 * Defaults are suggestions (domain.md marks working hours as configurable): Monday–Friday
 * 08:00–18:00, and the 2026 national holidays as published by the State Council.
 */
export const DEFAULT_CALENDAR: WorkCalendarConfig = {
  utcOffsetMinutes: 480,
  workingDays: [1, 2, 3, 4, 5],
  periods: [{ start: '08:00', end: '18:00' }],
  holidays: [
    '2026-01-01', '2026-01-02', '2026-01-03',
    '2026-02-15', '2026-02-16', '2026-02-17', '2026-02-18', '2026-02-19', '2026-02-20',
    '2026-02-21', '2026-02-22', '2026-02-23',
    '2026-04-04', '2026-04-05', '2026-04-06',
    '2026-05-01', '2026-05-02', '2026-05-03', '2026-05-04', '2026-05-05',
    '2026-06-19', '2026-06-20', '2026-06-21',
    '2026-09-25', '2026-09-26', '2026-09-27',
    '2026-10-01', '2026-10-02', '2026-10-03', '2026-10-04', '2026-10-05', '2026-10-06', '2026-10-07',
  ],
  extraWorkdays: ['2026-01-04', '2026-02-14', '2026-02-28', '2026-05-09', '2026-09-20', '2026-10-10'],
};

export interface LocalTime {
  /** 'YYYY-MM-DD' */
  date: string;
  /** 1 = Monday … 7 = Sunday */
  isoWeekday: number;
  /** Minutes since local midnight. */
  minuteOfDay: number;
  /** 'HH:MM' */
  hhmm: string;
}

export interface WorkCalendar {
  readonly config: WorkCalendarConfig;
  local(at: number): LocalTime;
  /**
   * OPTIONAL. `local(at).date` without building the LocalTime (state keys bucketed by day ask
   * for it on every record). createWorkCalendar() provides it; callers fall back to local().
   */
  localDate?(at: number): string;
  isWorkingDay(at: number): boolean;
  /** Working day and inside a working period. */
  isWorkingTime(at: number): boolean;
  /**
   * OPTIONAL. The working periods of `at`'s local day (a day with periods of its own has them;
   * any other day the usual ones): what an explanation names. createWorkCalendar() provides it;
   * callers fall back to config.periods.
   */
  periodsOn?(at: number): readonly { start: string; end: string }[];
  /**
   * OPTIONAL. The calendar of an institution type's business hours (config.byType); this
   * calendar itself for a type without hours of its own, or an unknown institution.
   * createWorkCalendar() provides it; rules call it when present.
   */
  forType?(type: string | undefined): WorkCalendar;
  /**
   * OPTIONAL. The calendar of one institution: its own filed hours when it has them, else its
   * type's (forType), else this calendar. createWorkCalendar() provides it; rules call it when
   * present.
   */
  forInstitution?(institution: { type?: string; hours?: TypeHours } | undefined): WorkCalendar;
}

/**
 * The calendar an institution's business is judged by: its own filed hours, else its type's,
 * else `cal` itself — whichever of the optional methods `cal` provides.
 */
export function institutionCalendar(cal: WorkCalendar, institution: { type?: string; hours?: TypeHours } | undefined): WorkCalendar {
  if (cal.forInstitution) return cal.forInstitution(institution);
  return cal.forType ? cal.forType(institution?.type) : cal;
}

const DAY_MS = 86_400_000;

function parseHhmm(s: string): number {
  const m = /^(\d{2}):(\d{2})$/.exec(s);
  if (!m) throw new Error(`calendar: bad time '${s}', expected HH:MM`);
  const h = Number(m[1]);
  const min = Number(m[2]);
  if (h > 24 || min > 59) throw new Error(`calendar: bad time '${s}'`);
  return h * 60 + min;
}

/** 'HH:MM' of every minute of a day, built once: local() formats without padding strings. */
const HHMM: readonly string[] = Array.from({ length: 1440 }, (_, m) => `${String(Math.floor(m / 60)).padStart(2, '0')}:${String(m % 60).padStart(2, '0')}`);

/** What a local day is, computed once per day and calendar (see dayOf below). */
interface DayInfo {
  date: string;
  isoWeekday: number;
  working: boolean;
  /** The day's working periods, minutes [start, end), and as configured. */
  minutes: readonly { start: number; end: number }[];
  periods: readonly { start: string; end: string }[];
}

export function createWorkCalendar(config: WorkCalendarConfig = DEFAULT_CALENDAR): WorkCalendar {
  const periods = config.periods.map((p) => ({ start: parseHhmm(p.start), end: parseHhmm(p.end) }));
  // Per ISO weekday (index 1–7): its own periods when it has them, else the usual ones.
  const weekdayPeriods = Array.from({ length: 8 }, () => ({ minutes: periods, periods: config.periods }));
  for (const g of config.byWeekday ?? []) {
    const own = { minutes: g.periods.map((p) => ({ start: parseHhmm(p.start), end: parseHhmm(p.end) })), periods: g.periods };
    for (const d of g.days) if (d >= 1 && d <= 7) weekdayPeriods[d] = own;
  }
  const holidays = new Set(config.holidays);
  const extra = new Set(config.extraWorkdays);
  const workingDays = new Set(config.workingDays);
  const offsetMs = config.utcOffsetMinutes * 60_000;

  // Every rule asks about the record's local day (keys bucketed by day, working time, ages), and
  // records of one stream fall on few days: the date string, weekday and working-day answer are
  // computed once per local day (a Date and an ISO string each) and cached. The cache is
  // bounded; a backlog spanning years only recomputes more often.
  const days = new Map<number, DayInfo>();
  const dayOf = (shifted: number): DayInfo => {
    const n = Math.floor(shifted / DAY_MS);
    let d = days.get(n);
    if (d === undefined) {
      const dt = new Date(n * DAY_MS);
      const date = dt.toISOString().slice(0, 10);
      const dow = dt.getUTCDay();
      const isoWeekday = dow === 0 ? 7 : dow;
      const worked = extra.has(date);
      const working = worked ? true : holidays.has(date) ? false : workingDays.has(isoWeekday);
      // An adjusted working day (调休) is a usual working day, whatever its weekday's own hours.
      const day = worked ? weekdayPeriods[0]! : weekdayPeriods[isoWeekday]!;
      d = { date, isoWeekday, working, minutes: day.minutes, periods: day.periods };
      if (days.size >= 4096) days.clear();
      days.set(n, d);
    }
    return d;
  };
  const minuteOf = (shifted: number): number => Math.floor((((shifted % DAY_MS) + DAY_MS) % DAY_MS) / 60_000);

  const local = (at: number): LocalTime => {
    const shifted = at + offsetMs;
    const d = dayOf(shifted);
    const minuteOfDay = minuteOf(shifted);
    return { date: d.date, isoWeekday: d.isoWeekday, minuteOfDay, hhmm: HHMM[minuteOfDay]! };
  };

  const withHours = (hours: TypeHours): WorkCalendar =>
    createWorkCalendar({
      utcOffsetMinutes: config.utcOffsetMinutes,
      workingDays: hours.workingDays,
      periods: hours.periods,
      holidays: hours.observesHolidays ? config.holidays : [],
      extraWorkdays: hours.observesHolidays ? config.extraWorkdays : [],
      ...(hours.byWeekday ? { byWeekday: hours.byWeekday } : {}),
    });
  // One calendar per institution type with hours of its own, made on first use: the same object
  // each time, so caches keyed by calendar (the rules' period text) stay warm.
  const byType = new Map<string, WorkCalendar>();
  // One per institution's filed hours, keyed by the hours object: a registry reload brings new
  // objects, and the calendars of the old ones go with them.
  const byHours = new WeakMap<TypeHours, WorkCalendar>();
  const self: WorkCalendar = {
    config,
    local,
    forType(type) {
      // Own keys only: a type named like an Object.prototype member is no type with hours.
      const hours = type !== undefined && config.byType && Object.hasOwn(config.byType, type) ? config.byType[type] : undefined;
      if (!hours) return self;
      let c = byType.get(type!);
      if (c === undefined) {
        c = withHours(hours);
        byType.set(type!, c);
      }
      return c;
    },
    forInstitution(inst) {
      const hours = inst?.hours;
      if (hours === undefined || hours === null || typeof hours !== 'object') return self.forType!(inst?.type);
      let c = byHours.get(hours);
      if (c === undefined) {
        c = withHours(hours);
        byHours.set(hours, c);
      }
      return c;
    },
    localDate: (at) => dayOf(at + offsetMs).date,
    isWorkingDay: (at) => dayOf(at + offsetMs).working,
    isWorkingTime(at) {
      const shifted = at + offsetMs;
      const d = dayOf(shifted);
      if (!d.working) return false;
      const m = minuteOf(shifted);
      for (const p of d.minutes) if (m >= p.start && m < p.end) return true;
      return false;
    },
    periodsOn: (at) => dayOf(at + offsetMs).periods,
  };
  return self;
}
