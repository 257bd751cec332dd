/**
 * The work calendar in force: the working hours and, year by year, the public holidays and the
 * adjusted weekend workdays. Every rule that asks "was this working time?" (counter.off_hours and
 * its kin), every workflow time limit, the collectors' silence and the peer comparisons read it.
 *
 * Design:
 * - Stored in `work_calendar` (migration 110), rows only added: the newest row per (kind, year)
 *   is in force, the older ones are its history (who changed what, when, why). A new store is
 *   seeded with the built-in calendar (the hours and the 2026 holidays, rules' DEFAULT_CALENDAR)
 *   as `system`'s rows, so an upgraded hub behaves as before until someone edits it.
 * - One WorkCalendar object for the whole process (LiveWorkCalendar, `app.calendar`): services
 *   keep it from their construction, and a change swaps what it delegates to, so nothing has to
 *   be rebuilt. The evaluation threads get the merged configuration by message (onChange).
 * - Replicas follow `<prefix>:calendar` (redis-follow.ts) and reload; a save publishes on it.
 * - The State Council publishes next year's holidays each November. A year the calendar needs
 *   (this one, and from 1 November the next) without an entry is reported: `missing` in the
 *   view and on /healthz, the gauge jg_calendar_years_missing, and a warning in the log once a
 *   day. Until it is entered, that year's holidays count as working days. An entry that leaves
 *   out a festival the law fixes (rules' festivalsMissing: a date typed by hand forgotten) is
 *   said in the view (`festivalsMissing` per year) and in the log once a day.
 * - Saving affects what is evaluated from then on (including a backlog drained later); warnings
 *   already raised stay as they are — a rule-set backtest shows what the change would have done.
 */
import type { Redis } from 'ioredis';
import {
  INSTITUTION_TYPE_LABELS,
  WorkHoursSchema,
  builtinCalendar,
  calendarYearSchema,
  createWorkCalendar,
  festivalsMissing,
  institutionCalendar,
  mergeCalendar,
  normaliseYearDates,
  type CalendarYearDates,
  type LocalTime,
  type TypeHours,
  type WorkCalendar,
  type WorkCalendarConfig,
  type WorkHours,
} from '@jianguan/rules';
import { z } from 'zod';
import { HubError } from '../errors.js';
import type { CalendarYearView, WorkCalendarView, WorkHoursView } from '../protocol/index.js';
import { followChannel } from '../redis-follow.js';
import { param, sql } from '../store/sql.js';
import type { Store } from '../store/store.js';
import { describeIssues } from '../validation/issues.js';

const CHINA_OFFSET_MS = 8 * 3_600_000;
const BUILTIN_NOTE = '内置日历（首次启动时作为基线）';

/** The one calendar object every service holds; replace() swaps what it answers from. */
export class LiveWorkCalendar implements WorkCalendar {
  private inner: WorkCalendar;

  constructor(config: WorkCalendarConfig) {
    this.inner = createWorkCalendar(config);
  }

  get config(): WorkCalendarConfig {
    return this.inner.config;
  }

  replace(config: WorkCalendarConfig): void {
    this.inner = createWorkCalendar(config);
  }

  local(at: number): LocalTime {
    return this.inner.local(at);
  }

  localDate(at: number): string {
    return this.inner.localDate ? this.inner.localDate(at) : this.inner.local(at).date;
  }

  isWorkingDay(at: number): boolean {
    return this.inner.isWorkingDay(at);
  }

  isWorkingTime(at: number): boolean {
    return this.inner.isWorkingTime(at);
  }

  periodsOn(at: number): readonly { start: string; end: string }[] {
    return this.inner.periodsOn ? this.inner.periodsOn(at) : this.inner.config.periods;
  }

  /** The calendar of an institution type's own hours (or the city's); one object per type until the next change. */
  forType(type: string | undefined): WorkCalendar {
    return this.inner.forType ? this.inner.forType(type) : this.inner;
  }

  /** The calendar of one institution: its own filed hours, else its type's, else the city's. */
  forInstitution(institution: { type?: string; hours?: TypeHours } | undefined): WorkCalendar {
    return institutionCalendar(this.inner, institution);
  }
}

interface CalendarRow {
  kind: string;
  year: number | string;
  data: string;
  note: string;
  updated_by: string;
  at: number | string;
}

/** China-time date and year of an instant. */
export function chinaDay(now: number): { date: string; year: number; month: number } {
  const date = new Date(now + CHINA_OFFSET_MS).toISOString().slice(0, 10);
  return { date, year: Number(date.slice(0, 4)), month: Number(date.slice(5, 7)) };
}

/** The years the calendar must know at `now`: this one, and from 1 November the next. */
export function yearsNeeded(now: number): number[] {
  const { year, month } = chinaDay(now);
  return month >= 11 ? [year, year + 1] : [year];
}

const YearData = z.object({ holidays: z.array(z.string()), extraWorkdays: z.array(z.string()) });

export interface WorkCalendarsDeps {
  store: Store;
  redis: Redis;
  prefix: string;
  /** Operational events (telemetry/events.ts emit, bound to the hub's log). */
  emit: (event: 'calendar.changed' | 'calendar.missing_year' | 'calendar.incomplete_year' | 'calendar.reload_failed' | 'calendar.seeded', fields: Record<string, unknown>, msg?: string) => void;
  /** The gauge of missing years (telemetry/events.ts calendarYearsMissing). */
  missingGauge?: (count: number) => void;
  now?: () => number;
}

export class WorkCalendars {
  readonly live: LiveWorkCalendar;
  private hours: WorkHoursView;
  private years = new Map<number, CalendarYearView>();
  private readonly listeners = new Set<(config: WorkCalendarConfig) => void>();
  private reloading: Promise<void> = Promise.resolve();
  private unfollow: (() => void) | undefined;
  private timer: NodeJS.Timeout | undefined;
  /** Which missing (year) or incomplete (-year) year was last reported, on which day: once a day each. */
  private readonly reported = new Map<number, string>();
  private readonly now: () => number;

  private constructor(private readonly deps: WorkCalendarsDeps) {
    this.now = deps.now ?? Date.now;
    const b = builtinCalendar();
    this.hours = { ...b.hours, note: BUILTIN_NOTE, updatedBy: 'system', updatedAt: 0 };
    this.live = new LiveWorkCalendar(mergeCalendar(b.hours, [...b.years.values()]));
  }

  /** Loads the calendar (seeding a new store with the built-in one) and follows other replicas' saves. */
  static async open(deps: WorkCalendarsDeps): Promise<WorkCalendars> {
    const c = new WorkCalendars(deps);
    // One read on an ordinary start. Replicas starting together on a new store: one seeds (a
    // minute's claim in Redis), the others read what it wrote, so the built-in year does not show
    // as saved three times.
    let rows = await c.read();
    if (rows.length === 0) {
      if ((await deps.redis.set(`${c.channel}:seed`, '1', 'EX', 60, 'NX')) === 'OK') {
        const b = builtinCalendar();
        const at = c.now();
        await deps.store.insert('work_calendar', [
          { kind: 'hours', year: 0, data: JSON.stringify(b.hours), note: BUILTIN_NOTE, updated_by: 'system', updated_at: at },
          ...[...b.years].map(([year, d]) => ({ kind: 'year', year, data: JSON.stringify(d), note: BUILTIN_NOTE, updated_by: 'system', updated_at: at })),
        ]);
        deps.emit('calendar.seeded', { years: [...b.years.keys()] });
        rows = await c.read();
      } else {
        // Another replica's seed may still be on its way: wait for it a little (the built-in
        // calendar answers meanwhile, and the channel's reload brings the rows when they land).
        for (let i = 0; i < 20 && rows.length === 0; i++) {
          await new Promise((r) => setTimeout(r, 250));
          rows = await c.read();
        }
      }
    }
    c.apply(rows);
    c.unfollow = await followChannel(deps.redis, c.channel, {
      // A (re)subscription reloads too: what another replica saved meanwhile is picked up.
      reload: () => void c.reload().catch((e: unknown) => deps.emit('calendar.reload_failed', { err: e instanceof Error ? e.message : String(e) })),
      onError: (e) => deps.emit('calendar.reload_failed', { err: e instanceof Error ? e.message : String(e) }),
    });
    c.checkMissing();
    c.timer = setInterval(() => c.checkMissing(), 3_600_000);
    c.timer.unref();
    return c;
  }

  close(): void {
    if (this.timer) clearInterval(this.timer);
    this.unfollow?.();
  }

  private get channel(): string {
    return `${this.deps.prefix}:calendar`;
  }

  private read(): Promise<CalendarRow[]> {
    return this.deps.store.query<CalendarRow>(
      sql`SELECT kind, year, data, note, updated_by, toUnixTimestamp64Milli(updated_at) AS at FROM work_calendar ORDER BY kind, year, updated_at`,
    );
  }

  /** Re-reads the store. Calls are serialised, so an older read never replaces a newer one. */
  reload(): Promise<void> {
    const run = this.reloading.catch(() => undefined).then(() => this.load());
    this.reloading = run;
    return run;
  }

  private async load(): Promise<void> {
    this.apply(await this.read());
  }

  /** Takes the rows read: the newest entry per (kind, year) in force, the rest counted as revisions. */
  private apply(rows: readonly CalendarRow[]): void {
    let hours = this.hours;
    const years = new Map<number, CalendarYearView>();
    for (const r of rows) {
      const change = { note: r.note, updatedBy: r.updated_by, updatedAt: Number(r.at) };
      let data: unknown;
      try {
        data = JSON.parse(r.data);
      } catch {
        continue; // rows are only written by save(); a damaged one is skipped, the previous stays
      }
      if (r.kind === 'hours') {
        const h = WorkHoursSchema.safeParse(data);
        if (h.success) hours = { ...h.data, ...change };
      } else if (r.kind === 'year') {
        const year = Number(r.year);
        const y = YearData.safeParse(data);
        if (!y.success) continue;
        const before = years.get(year);
        const dates = normaliseYearDates(y.data);
        years.set(year, { year, ...dates, revisions: (before?.revisions ?? 0) + 1, festivalsMissing: [], ...change });
      }
    }
    // A festival counts as entered when any year's entry makes its day a holiday (a New Year
    // holiday may be filed with the year before): judged against every entry's holidays.
    const allHolidays = [...years.values()].flatMap((y) => y.holidays);
    for (const y of years.values()) y.festivalsMissing = festivalsMissing(y.year, { holidays: allHolidays }).map(({ name, date }) => ({ name, date }));
    this.hours = hours;
    this.years = years;
    const config = this.config();
    this.live.replace(config);
    for (const l of this.listeners) l(config);
    this.deps.missingGauge?.(this.missing().length);
  }

  /** The merged configuration the engine's calendar is built from (evaluation threads get it). */
  config(): WorkCalendarConfig {
    return mergeCalendar(this.hours, [...this.years.values()]);
  }

  /** Called with the new configuration after every reload. */
  onChange(listener: (config: WorkCalendarConfig) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** Years needed now and without an entry. */
  missing(now = this.now()): number[] {
    return yearsNeeded(now).filter((y) => !this.years.has(y));
  }

  view(now = this.now()): WorkCalendarView {
    return {
      hours: this.hours,
      years: [...this.years.values()].sort((a, b) => b.year - a.year),
      today: chinaDay(now).date,
      missing: this.missing(now),
    };
  }

  async saveHours(input: WorkHours, note: string, by: string): Promise<WorkCalendarView> {
    // A type the registry does not have is named with the ones it has (zod would only say "invalid key").
    const unknown = Object.keys(input.byType ?? {}).filter((t) => !Object.hasOwn(INSTITUTION_TYPE_LABELS, t));
    if (unknown.length) {
      const known = Object.entries(INSTITUTION_TYPE_LABELS).map(([code, label]) => `${code}（${label}）`);
      throw new HubError('BODY_INVALID', `byType: 未知的机构类型 ${unknown.join('、')}（可选：${known.join('、')}）`);
    }
    const h = WorkHoursSchema.safeParse(input);
    if (!h.success) throw new HubError('BODY_INVALID', describeIssues(h.error));
    const { byType, ...rest } = mergeCalendar(h.data, []);
    const hours: WorkHours = { workingDays: [...rest.workingDays], periods: [...rest.periods], ...(byType ? { byType: byType as WorkHours['byType'] } : {}) };
    await this.save({ kind: 'hours', year: 0, data: JSON.stringify(hours), note, updated_by: by });
    this.deps.emit('calendar.changed', { kind: 'hours', by, workingDays: hours.workingDays, periods: hours.periods.map((p) => `${p.start}-${p.end}`), types: Object.keys(hours.byType ?? {}) });
    return this.view();
  }

  async saveYear(year: number, input: CalendarYearDates, note: string, by: string): Promise<WorkCalendarView> {
    const y = calendarYearSchema(year).safeParse(input);
    if (!y.success) throw new HubError('BODY_INVALID', describeIssues(y.error));
    const dates = normaliseYearDates(y.data);
    await this.save({ kind: 'year', year, data: JSON.stringify(dates), note, updated_by: by });
    const missed = this.years.get(year)?.festivalsMissing ?? [];
    this.deps.emit('calendar.changed', { kind: 'year', year, by, holidays: dates.holidays.length, extraWorkdays: dates.extraWorkdays.length, ...(missed.length ? { festivalsMissing: missed.map((f) => f.name) } : {}) });
    return this.view();
  }

  private async save(row: { kind: string; year: number; data: string; note: string; updated_by: string }): Promise<void> {
    // Strictly after the newest row of its entry, so it wins even against a clock that stepped back.
    const last = row.kind === 'hours' ? this.hours.updatedAt : this.years.get(row.year)?.updatedAt ?? 0;
    const [newest] = await this.deps.store.query<{ at: number | string }>(
      sql`SELECT toUnixTimestamp64Milli(max(updated_at)) AS at FROM work_calendar WHERE kind = ${param.String(row.kind)} AND year = ${param.UInt32(row.year)}`,
    );
    const at = Math.max(this.now(), last + 1, Number(newest?.at ?? 0) + 1);
    await this.deps.store.insert('work_calendar', [{ ...row, updated_at: at }]);
    await this.reload();
    // Other replicas reload; a failed publish only delays them until their next resubscription.
    await this.deps.redis.publish(this.channel, String(at)).catch(() => undefined);
  }

  /** Reports each missing year once a day (and keeps the gauge current across midnight and 1 November). */
  checkMissing(): void {
    const now = this.now();
    const missing = this.missing(now);
    this.deps.missingGauge?.(missing.length);
    const { date } = chinaDay(now);
    for (const year of missing) {
      if (this.reported.get(year) === date) continue;
      this.reported.set(year, date);
      this.deps.emit(
        'calendar.missing_year',
        { year },
        `the work calendar has no holidays for ${year}: until they are entered (工作日历, or PUT /api/v1/calendar/years/${year}), its holidays count as working days for every rule and time limit`,
      );
    }
    // An entry typed by hand that left out a festival: that day counts as a working day.
    for (const year of yearsNeeded(now)) {
      const missed = this.years.get(year)?.festivalsMissing ?? [];
      const key = -year;
      if (!missed.length || this.reported.get(key) === date) continue;
      this.reported.set(key, date);
      this.deps.emit(
        'calendar.incomplete_year',
        { year, festivals: missed.map((f) => `${f.name} ${f.date}`) },
        `the work calendar's ${year} has no holiday on ${missed.map((f) => `${f.name} (${f.date})`).join(', ')}: those days count as working days until the year is corrected (工作日历)`,
      );
    }
  }
}
