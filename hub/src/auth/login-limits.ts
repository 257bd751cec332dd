/**
 * Failed-login budgets, per client address and per address + user name, in Redis (shared by hub
 * replicas).
 *
 * Why not per user name: a lock per name is a weapon — 400 anonymous guesses locked every
 * account. Here a spray from one address exhausts that address's budgets only; the same user
 * logging in from their own desk is unaffected.
 *
 * Why reserve before checking: a "read the count, verify the password, then increment" limiter
 * lets every concurrent guess read the same count (59 of 60 parallel guesses were checked). Each
 * attempt here takes its slot first, in one Lua script (INCR both counters, set their window on
 * the first, compare): of 60 concurrent guesses exactly `perUser` get a slot, the rest are
 * refused before any password is verified. A successful login gives its address slot back and
 * clears the address + user counter.
 */
import crypto from 'node:crypto';
import type { Redis } from 'ioredis';

export interface LoginLimitOptions {
  prefix: string;
  /** Failed logins per address per window, whatever the user names. */
  perAddress: number;
  /** Failed logins per address and user name per window. */
  perUser: number;
  windowS: number;
}

export interface Reservation {
  allowed: boolean;
  /** Seconds until the exhausted budget refills (only when refused). */
  retryAfterS: number;
  /** Call after a successful login. */
  succeeded(): Promise<void>;
}

const RESERVE = `
local a = redis.call('INCR', KEYS[1])
if a == 1 then redis.call('PEXPIRE', KEYS[1], ARGV[3]) end
local u = redis.call('INCR', KEYS[2])
if u == 1 then redis.call('PEXPIRE', KEYS[2], ARGV[3]) end
if a > tonumber(ARGV[1]) or u > tonumber(ARGV[2]) then
  local t1 = redis.call('PTTL', KEYS[1])
  local t2 = redis.call('PTTL', KEYS[2])
  return {0, math.max(t1, t2)}
end
return {1, 0}
`;

const RELEASE = `
local a = redis.call('DECR', KEYS[1])
if a <= 0 then redis.call('DEL', KEYS[1]) end
redis.call('DEL', KEYS[2])
return 1
`;

function h(s: string): string {
  return crypto.createHash('sha256').update(s).digest('hex').slice(0, 32);
}

export class LoginLimits {
  constructor(
    private readonly redis: Redis,
    private readonly o: LoginLimitOptions,
  ) {}

  private keys(address: string, username: string): [string, string] {
    // Hashed: user names and addresses are attacker-chosen text; keys stay short and inert.
    return [`${this.o.prefix}:loginfail:a:${h(address)}`, `${this.o.prefix}:loginfail:u:${h(`${address}\n${username.toLowerCase()}`)}`];
  }

  /** Takes one attempt slot for `username` from `address`, atomically. */
  async reserve(address: string, username: string): Promise<Reservation> {
    const keys = this.keys(address, username);
    const [ok, ttl] = (await this.redis.eval(RESERVE, 2, ...keys, this.o.perAddress, this.o.perUser, this.o.windowS * 1000)) as [number, number];
    return {
      allowed: ok === 1,
      retryAfterS: Math.max(1, Math.ceil(Number(ttl) / 1000)),
      succeeded: async () => {
        await this.redis.eval(RELEASE, 2, ...keys);
      },
    };
  }
}
