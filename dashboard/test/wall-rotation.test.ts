import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { parseRotate, ViewRotation } from '../src/lib/state/rotation.svelte';

describe('?rotate= parsing', () => {
  it('accepts whole seconds in range and leaves rotation off otherwise', () => {
    expect(parseRotate('?rotate=60')).toBe(60);
    expect(parseRotate('?lang=en&rotate=2')).toBe(2);
    expect(parseRotate('?rotate=7.6')).toBe(8);
    for (const q of ['', '?rotate=', '?rotate=0', '?rotate=1', '?rotate=-5', '?rotate=abc', '?rotate=99999', '?other=3']) expect(parseRotate(q), q).toBeNull();
  });
});

describe('view rotation', () => {
  beforeEach(() => {
    vi.useFakeTimers();
    vi.setSystemTime(Date.parse('2026-11-25T02:00:00Z'));
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  it('cycles overview → trend → ranking → health → overview every period, counting down', () => {
    const r = new ViewRotation(10);
    r.start();
    expect(r.view).toBe('overview');
    expect(r.remainingS).toBe(10);
    expect(r.nextView).toBe('trend');
    vi.advanceTimersByTime(4_000);
    expect(r.view).toBe('overview');
    expect(r.remainingS).toBe(6);
    vi.advanceTimersByTime(6_000);
    expect(r.view).toBe('trend');
    expect(r.remainingS).toBe(10);
    vi.advanceTimersByTime(10_000);
    expect(r.view).toBe('ranking');
    vi.advanceTimersByTime(10_000);
    expect(r.view).toBe('health');
    vi.advanceTimersByTime(10_000);
    expect(r.view).toBe('overview');
    r.stop();
  });

  it('switches by hand both ways and restarts the countdown', () => {
    const r = new ViewRotation(10);
    r.start();
    vi.advanceTimersByTime(8_000);
    r.step(-1);
    expect(r.view).toBe('health');
    expect(r.remainingS).toBe(10);
    vi.advanceTimersByTime(9_000);
    expect(r.view).toBe('health');
    vi.advanceTimersByTime(1_000);
    expect(r.view).toBe('overview');
    r.step(1);
    expect(r.view).toBe('trend');
    r.stop();
  });

  it('without a period it never switches on its own and holds no timer', () => {
    const r = new ViewRotation(null);
    r.start();
    expect(vi.getTimerCount()).toBe(0);
    expect(r.remainingS).toBeNull();
    vi.advanceTimersByTime(600_000);
    expect(r.view).toBe('overview');
    r.step(1);
    expect(r.view).toBe('trend');
    expect(r.remainingS).toBeNull();
  });

  it('stop() clears its timer (nothing left to fire), and start() twice does not stack timers', () => {
    const r = new ViewRotation(5);
    r.start();
    r.start();
    expect(vi.getTimerCount()).toBe(1);
    r.stop();
    expect(vi.getTimerCount()).toBe(0);
    expect(r.remainingS).toBeNull();
    vi.advanceTimersByTime(60_000);
    expect(r.view).toBe('overview');
  });
});
