/**
 * Which years the work calendar still lacks (GET /api/v1/calendar `missing`), for the slim
 * banner the office layout shows its editors on every page. Read when a page loads and again,
 * at most every few minutes, as they move between screens or come back to the tab — a year
 * entered in another tab or by a colleague stops being announced without a reload. The calendar
 * screen updates it after a save. A failed read shows nothing: the banner is a reminder, never
 * a reason for a page to break.
 */
import type { WorkCalendarView } from '@jianguan/protocol';
import { api } from './api';

/** How old a reading may be before a navigation or a return to the tab reads again. */
export const CALENDAR_STATUS_MAX_AGE_MS = 5 * 60_000;

class CalendarStatus {
  missing = $state.raw<readonly number[]>([]);
  private loading: Promise<void> | null = null;
  private readAt = 0;

  /** Reads the missing years unless a reading younger than `maxAgeMs` is at hand (or one is under way). */
  load(maxAgeMs = CALENDAR_STATUS_MAX_AGE_MS, now = Date.now()): Promise<void> {
    if (this.loading) return this.loading;
    if (this.readAt > 0 && now - this.readAt < maxAgeMs) return Promise.resolve();
    this.loading = api<WorkCalendarView>('/api/v1/calendar', { noRedirect: true })
      .then((v) => {
        this.missing = v.missing;
        this.readAt = Date.now();
      })
      .catch(() => undefined)
      .finally(() => {
        this.loading = null;
      });
    return this.loading;
  }

  /** What the calendar screen last read or saved. */
  set(missing: readonly number[]): void {
    this.missing = missing;
    this.readAt = Date.now();
  }
}

export const calendarStatus = new CalendarStatus();
