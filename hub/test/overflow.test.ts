/**
 * The overflow policy (hub/src/jobs/overflow.ts): the evaluation threads take jobs only after the
 * hub thread has been busy for a few samples while a core was idle, and give them back once the
 * hub thread could carry their work too; the control applies it to the threads on a timer.
 */
import { afterEach, describe, expect, it, vi } from 'vitest';
import { OVERFLOW_DEFAULTS, overflowStep, startOverflowControl, type LoadSample, type OverflowState } from '../src/jobs/overflow.js';

const run = (samples: LoadSample[], from: OverflowState = { active: false, streak: 0 }) => {
  const states: boolean[] = [];
  let s = from;
  for (const x of samples) {
    s = overflowStep(s, x);
    states.push(s.active);
  }
  return states;
};
const busy: LoadSample = { hubElu: 0.97, threadsElu: 0, idleCores: 0.8 };
const busyNoCore: LoadSample = { hubElu: 0.99, threadsElu: 0, idleCores: 0.1 };
const calm: LoadSample = { hubElu: 0.3, threadsElu: 0.2, idleCores: 1.2 };
const sharing: LoadSample = { hubElu: 0.5, threadsElu: 0.4, idleCores: 0.4 };
const saturated: LoadSample = { hubElu: 0.9, threadsElu: 0.8, idleCores: 0.1 };

describe('overflowStep', () => {
  it('keeps the threads paused while the hub thread has room, or when no core is idle for them', () => {
    expect(run([calm, calm, calm, calm])).toEqual([false, false, false, false]);
    // Both cores busy: a thread would only add the crossing's cost.
    expect(run(Array.from({ length: 8 }, () => busyNoCore))).toEqual(Array.from({ length: 8 }, () => false));
    // Exactly at the thresholds counts as busy.
    expect(run([{ hubElu: OVERFLOW_DEFAULTS.busyElu, threadsElu: 0, idleCores: OVERFLOW_DEFAULTS.minIdleCores }], { active: false, streak: OVERFLOW_DEFAULTS.busySamples - 1 })).toEqual([true]);
  });

  it('resumes the threads after busySamples busy samples in a row, not on a spike', () => {
    const n = OVERFLOW_DEFAULTS.busySamples;
    expect(n).toBeGreaterThan(1);
    const spike = Array.from({ length: n - 1 }, () => busy);
    expect(run([...spike, calm, ...spike, busyNoCore, ...spike, busy])).toEqual([...spike.map(() => false), false, ...spike.map(() => false), false, ...spike.map(() => false), true]);
  });

  it('pauses the threads once the hub thread could carry their work for calmSamples samples in a row', () => {
    const active: OverflowState = { active: true, streak: 0 };
    expect(OVERFLOW_DEFAULTS.calmSamples).toBe(4);
    // What a saturated two-core machine reads with the threads paused: they stay paused.
    expect(run(Array.from({ length: 8 }, () => ({ hubElu: 0.93, threadsElu: 0, idleCores: 0.3 })))).toEqual(Array.from({ length: 8 }, () => false));
    // Hub + threads at 0.9: the hub thread alone could not carry it; the threads stay.
    expect(run([sharing, sharing, sharing, sharing, sharing], active)).toEqual([true, true, true, true, true]);
    // No idle CPU left: the threads only add their crossings' cost; they are paused as well.
    expect(run([saturated, saturated, saturated, saturated], active)).toEqual([true, true, true, false]);
    // A sample that is not calm restarts the count.
    expect(run([calm, calm, calm, sharing, calm, calm, calm, calm], active)).toEqual([true, true, true, true, true, true, true, false]);
  });
});

describe('startOverflowControl', () => {
  afterEach(() => void vi.useRealTimers());

  it('pauses the threads at start, applies every change the policy makes, and reports it', () => {
    vi.useFakeTimers();
    const set: boolean[] = [];
    const changes: [boolean, number][] = [];
    let next: LoadSample = calm;
    const control = startOverflowControl({
      threads: { setActive: (a) => void set.push(a), utilisation: () => 0 },
      sample: () => next,
      onChange: (a, s) => void changes.push([a, s.hubElu]),
    });
    expect(set).toEqual([false]);
    vi.advanceTimersByTime(OVERFLOW_DEFAULTS.intervalMs * 3);
    expect(control.status()).toMatchObject({ active: false, resumed: 0, last: calm });
    next = busy;
    vi.advanceTimersByTime(OVERFLOW_DEFAULTS.intervalMs * (OVERFLOW_DEFAULTS.busySamples - 1));
    expect(set).toEqual([false]);
    vi.advanceTimersByTime(OVERFLOW_DEFAULTS.intervalMs);
    expect(set).toEqual([false, true]);
    expect(control.status()).toMatchObject({ active: true, resumed: 1 });
    vi.advanceTimersByTime(OVERFLOW_DEFAULTS.intervalMs * 5);
    expect(set).toEqual([false, true]);
    next = calm;
    vi.advanceTimersByTime(OVERFLOW_DEFAULTS.intervalMs * 4);
    expect(set).toEqual([false, true, false]);
    expect(changes).toEqual([
      [true, busy.hubElu],
      [false, calm.hubElu],
    ]);
    control.stop();
    next = busy;
    vi.advanceTimersByTime(OVERFLOW_DEFAULTS.intervalMs * 10);
    expect(set).toEqual([false, true, false]);
  });

  it('samples this thread, the threads and the machine by default', async () => {
    let asked = 0;
    const control = startOverflowControl({ threads: { setActive: () => undefined, utilisation: () => (asked++, 0.25) }, options: { intervalMs: 20 } });
    await new Promise((r) => setTimeout(r, 120));
    control.stop();
    const last = control.status().last!;
    expect(asked).toBeGreaterThanOrEqual(2);
    expect(last.threadsElu).toBe(0.25);
    expect(last.hubElu).toBeGreaterThanOrEqual(0);
    expect(last.hubElu).toBeLessThanOrEqual(1);
    expect(last.idleCores).toBeGreaterThanOrEqual(0);
    expect(Number.isFinite(last.idleCores)).toBe(true);
  });
});
