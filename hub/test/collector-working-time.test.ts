/** Working time between two instants: what collector silence is measured in. */
import { describe, expect, it } from 'vitest';
import { createWorkCalendar } from '@jianguan/rules';
import { workingMsBetween } from '../src/collectors/working-time.js';

const cal = createWorkCalendar();
/** Epoch ms of a China Standard Time wall-clock time. */
const cst = (y: number, m: number, d: number, hh = 0, mm = 0) => Date.UTC(y, m - 1, d, hh, mm) - 8 * 3_600_000;
const MIN = 60_000;

describe('workingMsBetween', () => {
  it('counts only working periods of working days', () => {
    // Wednesday 2026-11-25 09:00 → 09:40: 40 minutes.
    expect(workingMsBetween(cal, cst(2026, 11, 25, 9), cst(2026, 11, 25, 9, 40))).toBe(40 * MIN);
    // Wednesday 17:50 → Thursday 08:10: 10 + 10 minutes.
    expect(workingMsBetween(cal, cst(2026, 11, 25, 17, 50), cst(2026, 11, 26, 8, 10))).toBe(20 * MIN);
    // Friday 17:00 → Monday 09:00 over a weekend: 1 h + 1 h.
    expect(workingMsBetween(cal, cst(2026, 11, 27, 17), cst(2026, 11, 30, 9))).toBe(120 * MIN);
    // National Day holidays (2026-10-01…07) count nothing; 10-10 is an adjusted working Saturday.
    expect(workingMsBetween(cal, cst(2026, 10, 1, 0), cst(2026, 10, 8, 0))).toBe(0);
    expect(workingMsBetween(cal, cst(2026, 10, 10, 8), cst(2026, 10, 10, 9))).toBe(60 * MIN);
  });

  it('is zero for an empty or reversed span', () => {
    expect(workingMsBetween(cal, cst(2026, 11, 25, 10), cst(2026, 11, 25, 10))).toBe(0);
    expect(workingMsBetween(cal, cst(2026, 11, 25, 11), cst(2026, 11, 25, 10))).toBe(0);
  });
});
