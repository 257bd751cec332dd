import { describe, expect, it } from 'vitest';
import { fromLocal, lastCovered, localDate, localMinute } from '../src/index.js';

describe('business time', () => {
  it('names the last day a term ending at an exclusive end covers', () => {
    // Ending at Shanghai midnight: the day before, in full.
    expect(localDate(lastCovered(fromLocal(2026, 11, 9)))).toBe('2026-11-08');
    // A year's turn.
    expect(localDate(lastCovered(fromLocal(2027, 1, 1)))).toBe('2026-12-31');
    // Ending during a day: that day, at that time (a second after midnight is not midnight).
    expect(localMinute(lastCovered(fromLocal(2026, 11, 9, 15, 30)))).toBe('2026-11-09 15:30');
    expect(localDate(lastCovered(fromLocal(2026, 11, 9, 0, 0, 1)))).toBe('2026-11-09');
    // UTC midnight is 08:00 in Shanghai, not the end of a local day.
    expect(localMinute(lastCovered(Date.UTC(2026, 10, 9)))).toBe('2026-11-09 08:00');
  });
});
