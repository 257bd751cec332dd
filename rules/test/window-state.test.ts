import { describe, expect, it } from 'vitest';
import { createMemoryWindowState } from '../src/index.js';
import { prng } from './helpers.js';

describe('createMemoryWindowState (WindowState contract)', () => {
  it('counts distinct members with a time in (at - windowMs, at]', async () => {
    const s = createMemoryWindowState();
    expect(await s.observe('k', 'a', 1000, 100)).toBe(1);
    expect(await s.observe('k', 'b', 1050, 100)).toBe(2);
    expect(await s.observe('k', 'c', 1100, 100)).toBe(2); // a (1000) is exactly windowMs old: out
    expect(await s.observe('k', 'd', 1099 + 50, 100)).toBe(3); // b 1050 in (1049,1149]
    expect(await s.observe('other', 'a', 1100, 100)).toBe(1); // keys are independent
  });

  it('is idempotent: re-observing a member never increases the count', async () => {
    const s = createMemoryWindowState();
    await s.observe('k', 'a', 1000, 500);
    expect(await s.observe('k', 'a', 1000, 500)).toBe(1);
    expect(await s.observe('k', 'a', 1200, 500)).toBe(1);
    expect(await s.observe('k', 'b', 1300, 500)).toBe(2);
  });

  it("keeps a member's latest time: an older re-observation does not move it back", async () => {
    const s = createMemoryWindowState();
    await s.observe('k', 'a', 2000, 500);
    expect(await s.observe('k', 'a', 1000, 500)).toBe(0); // a stays at 2000, outside (500, 1000]
    expect(s.members('k').get('a')).toBe(2000);
    expect(await s.observe('k', 'b', 2400, 500)).toBe(2);
  });

  it('rejects nonsensical arguments', async () => {
    const s = createMemoryWindowState();
    expect(() => s.observe('k', 'a', Number.NaN, 10)).toThrow(RangeError);
    expect(() => s.observe('k', 'a', 1, 0)).toThrow(RangeError);
    expect(() => createMemoryWindowState({ retainMs: -1 })).toThrow(RangeError);
  });

  // Model-based: random operations against the contract written out naively.
  it.each([1, 2, 3, 4, 5])('matches a naive model on random sequences (seed %i)', async (seed) => {
    const rnd = prng(seed);
    const s = createMemoryWindowState();
    const model = new Map<string, Map<string, number>>();
    for (let i = 0; i < 2000; i++) {
      const key = `k${Math.floor(rnd() * 3)}`;
      const member = `m${Math.floor(rnd() * 8)}`;
      const at = Math.floor(rnd() * 1000);
      const windowMs = 1 + Math.floor(rnd() * 300);
      const m = model.get(key) ?? new Map<string, number>();
      model.set(key, m);
      m.set(member, Math.max(m.get(member) ?? -Infinity, at));
      const expected = [...m.values()].filter((t) => t > at - windowMs && t <= at).length;
      expect(await s.observe(key, member, at, windowMs)).toBe(expected);
    }
  });

  it('with retainMs, stays exact for in-order traffic and bounds memory', async () => {
    const exact = createMemoryWindowState();
    const pruned = createMemoryWindowState({ retainMs: 1000 });
    for (let i = 0; i < 5000; i++) {
      const at = i * 10;
      const member = `m${i}`;
      expect(await pruned.observe('k', member, at, 1000)).toBe(await exact.observe('k', member, at, 1000));
    }
    expect(pruned.members('k').size).toBeLessThanOrEqual(100);
    expect(exact.members('k').size).toBe(5000);
    pruned.clear();
    expect(pruned.keyCount).toBe(0);
  });
});
