/**
 * Which years the work calendar still lacks (GET /api/v1/calendar `missing`), for the slim
 * banner the office layout shows its editors on every page. Read once per page load, not per
 * navigation; the calendar screen updates it after a save. A failed read shows nothing: the
 * banner is a reminder, never a reason for a page to break.
 */
import type { WorkCalendarView } from '@jianguan/protocol';
import { api } from './api';

class CalendarStatus {
  missing = $state.raw<readonly number[]>([]);
  private loading: Promise<void> | null = null;

  load(): Promise<void> {
    this.loading ??= api<WorkCalendarView>('/api/v1/calendar', { noRedirect: true })
      .then((v) => {
        this.missing = v.missing;
      })
      .catch(() => undefined);
    return this.loading;
  }

  /** What the calendar screen last read or saved. */
  set(missing: readonly number[]): void {
    this.missing = missing;
  }
}

export const calendarStatus = new CalendarStatus();
