/** Rule window state in a real Redis: exact at the edge, idempotent on re-delivery, atomic. */
import crypto from 'node:crypto';
import { Redis } from 'ioredis';
import { afterAll, describe, expect, it } from 'vitest';
import { createRedisWindowState } from '../src/jobs/window-state.js';
import { testRedisUrl } from './helpers.js';

const redis = new Redis(testRedisUrl());
const prefix = `jgt-ws-${crypto.randomBytes(4).toString('hex')}`;
const state = createRedisWindowState(redis, prefix);
const DAY = 86_400_000;
const T0 = Date.UTC(2026, 10, 1);

afterAll(async () => {
  const keys = await redis.keys(`${prefix}:*`);
  if (keys.length) await redis.del(...keys);
  await redis.quit();
});

describe('redis window state', () => {
  it('counts distinct members inside (at - window, at]', async () => {
    expect(await state.observe('k1', 'a', T0, 30 * DAY)).toBe(1);
    expect(await state.observe('k1', 'b', T0 + DAY, 30 * DAY)).toBe(2);
    // Exactly one window after `a`: a falls out (the window is open at its lower end).
    expect(await state.observe('k1', 'c', T0 + 30 * DAY, 30 * DAY)).toBe(2);
    // One millisecond earlier it would still count.
    expect(await state.observe('k2', 'a', T0, 30 * DAY)).toBe(1);
    expect(await state.observe('k2', 'c', T0 + 30 * DAY - 1, 30 * DAY)).toBe(2);
  });

  it('never double-counts a re-delivered member', async () => {
    for (let i = 0; i < 3; i++) expect(await state.observe('k3', 'txn-1', T0, DAY)).toBe(1);
    expect(await state.observe('k3', 'txn-2', T0 + 1, DAY)).toBe(2);
    // Counts are "as of" the observed time: at T0 only txn-1 had happened.
    expect(await state.observe('k3', 'txn-1', T0, DAY)).toBe(1);
    expect(await state.observe('k3', 'txn-2', T0 + 1, DAY)).toBe(2);
  });

  it('is atomic under concurrent observers', async () => {
    const n = 200;
    const counts = await Promise.all(Array.from({ length: n }, (_, i) => state.observe('k4', `m${i}`, T0 + i, DAY)));
    // Every count is distinct and the last one sees all members.
    expect(new Set(counts).size).toBe(n);
    expect(Math.max(...counts)).toBe(n);
  });

  it('expires idle keys', async () => {
    await state.observe('k5', 'x', T0, 1000);
    const keys = await redis.keys(`${prefix}:rs:k5`);
    expect(keys).toHaveLength(1);
    const ttl = await redis.pttl(keys[0]!);
    expect(ttl).toBeGreaterThan(0);
    expect(ttl).toBeLessThanOrEqual(DAY + 1000);
  });
});
