/**
 * Sliding-window rule state in Redis: one sorted set per key, member → latest time observed.
 * One Lua script makes "record and count" atomic, so concurrent workers never race, and
 * re-delivering a batch re-adds the same members with the same times: counts do not move.
 */
import type { Redis } from 'ioredis';
import type { WindowState } from '@jianguan/rules';
import { OBSERVE_BODY, redisStateBatcher } from './rule-state.js';

// KEYS[1] = set; ARGV = member, at (ms), windowMs, retainMs (the script: OBSERVE_BODY).
const OBSERVE_LUA = OBSERVE_BODY;

const DAY_MS = 86_400_000;

type RedisWithObserve = Redis & {
  jgObserve(key: string, member: string, at: number, windowMs: number, retainMs: number): Promise<number>;
};

export function createRedisWindowState(redis: Redis, prefix: string): WindowState {
  const r = redis as RedisWithObserve;
  if (typeof r.jgObserve !== 'function') {
    redis.defineCommand('jgObserve', { numberOfKeys: 1, lua: OBSERVE_LUA });
  }
  return {
    // The same script inside the batch of jobs/rule-state.ts (evaluateBatch sends all calls at once).
    batcher: redisStateBatcher(redis, prefix),
    async observe(key, member, at, windowMs) {
      const retain = windowMs + DAY_MS;
      return Number(await r.jgObserve(`${prefix}:rs:${key}`, member, at, windowMs, retain));
    },
  };
}
