/**
 * Sliding-window rule state in Redis: one sorted set per key, member → latest time observed.
 * One Lua script makes "record and count" atomic, so concurrent workers never race, and
 * re-delivering a batch re-adds the same members with the same times: counts do not move.
 */
import type { Redis } from 'ioredis';
import type { WindowState } from '@jianguan/rules';

// KEYS[1] = set; ARGV = member, at (ms), windowMs, retainMs
// ZADD GT keeps the latest time for a member (adds new members as usual). Entries older than
// the longest window plus a day of grace for late records are trimmed; the key expires when idle.
const OBSERVE_LUA = `
redis.call('ZADD', KEYS[1], 'GT', ARGV[2], ARGV[1])
local at = tonumber(ARGV[2])
local win = tonumber(ARGV[3])
local retain = tonumber(ARGV[4])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', '(' .. (at - retain))
redis.call('PEXPIRE', KEYS[1], retain)
return redis.call('ZCOUNT', KEYS[1], '(' .. (at - win), at)
`;

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
    async observe(key, member, at, windowMs) {
      const retain = windowMs + DAY_MS;
      return Number(await r.jgObserve(`${prefix}:rs:${key}`, member, at, windowMs, retain));
    },
  };
}
