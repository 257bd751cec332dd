/** The header's reminder of missing calendar years: read again when old, never twice at once. */
import { afterEach, describe, expect, it, vi } from 'vitest';
import { CALENDAR_STATUS_MAX_AGE_MS, calendarStatus } from '$lib/app/calendar-status.svelte';

// SvelteKit's router is not here: api() only uses it to send a lost session to the login page.
vi.mock('$app/navigation', () => ({ goto: async () => undefined }));

afterEach(() => vi.unstubAllGlobals());

describe('the missing-year reminder', () => {
  it('reads once for callers at the same time, not again while young, again once old, and keeps quiet on failure', async () => {
    let missing = [2027];
    const calls: string[] = [];
    // The browser's fetch as the hub answers GET /api/v1/calendar (only `missing` is read).
    vi.stubGlobal('fetch', async (url: string) => {
      calls.push(url);
      return new Response(JSON.stringify({ hours: {}, years: [], today: '2026-12-07', missing }), { status: 200, headers: { 'content-type': 'application/json' } });
    });
    await Promise.all([calendarStatus.load(), calendarStatus.load()]);
    expect(calls).toEqual(['/api/v1/calendar']);
    expect(calendarStatus.missing).toEqual([2027]);
    // Entered meanwhile (another tab, a colleague): not read again while the reading is young …
    missing = [];
    await calendarStatus.load();
    expect(calls).toHaveLength(1);
    // … and read again once it is older than the limit.
    await calendarStatus.load(CALENDAR_STATUS_MAX_AGE_MS, Date.now() + CALENDAR_STATUS_MAX_AGE_MS + 1);
    expect(calls).toHaveLength(2);
    expect(calendarStatus.missing).toEqual([]);
    // A failed read changes nothing and throws nothing.
    vi.stubGlobal('fetch', async () => {
      throw new TypeError('network down');
    });
    await expect(calendarStatus.load(0, Date.now() + 10 * CALENDAR_STATUS_MAX_AGE_MS)).resolves.toBeUndefined();
    expect(calendarStatus.missing).toEqual([]);
  });
});
