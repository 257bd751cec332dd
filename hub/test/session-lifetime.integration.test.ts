/**
 * The absolute lifetime of a login session (src/auth/sessions.ts) on a real hub with real Redis:
 * a session used every second, far inside its idle lifetime, is still refused once
 * JG_SESSION_MAX_S has passed since the login, and activity never pushes its Redis expiry past
 * that end. Run with a lifetime of 12 s (the configuration accepts 10 s and more) and an idle lifetime
 * of an hour, so only the absolute limit can end the session.
 */
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Hub } from '../src/app.js';
import { queryAudit } from '../src/auth/audit.js';
import { tokenId } from '../src/auth/sessions.js';
import { DEMO_PASSWORD, startTestHub, testRedisUrl, withToken } from './helpers.js';

const MAX_S = 12;
const IDLE_S = 3_600;

let hub: Hub;
let redis: Redis;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, Math.max(0, ms)));
const sessionKey = (token: string) => `${hub.config.queuePrefix}:sess:${tokenId(token)}`;

async function loginAt(username: string, remoteAddress: string): Promise<{ token: string; expiresInS: number; cookie: string; issuedBy: number }> {
  const res = await hub.app.inject({ method: 'POST', url: '/api/v1/auth/login', payload: { username, password: DEMO_PASSWORD }, remoteAddress });
  expect(res.statusCode, res.body).toBe(200);
  const body = res.json() as { token: string; expiresInS: number };
  return { token: body.token, expiresInS: body.expiresInS, cookie: String(res.headers['set-cookie']), issuedBy: Date.now() };
}

beforeAll(async () => {
  ({ hub } = await startTestHub({ sessionMaxS: MAX_S, sessionTtlS: IDLE_S }));
  redis = new Redis(testRedisUrl());
});

afterAll(async () => {
  await redis?.quit();
  await hub?.close();
});

describe('absolute session lifetime', () => {
  it('announces the absolute lifetime, not the idle one, as the token and cookie lifetime', async () => {
    const s = await loginAt('auditor', '10.31.0.1');
    expect(s.expiresInS).toBe(MAX_S);
    expect(s.cookie).toMatch(new RegExp(`Max-Age=${MAX_S}(;|$)`));
  });

  it(
    'a session in use every second is refused with AUTH_REQUIRED once the absolute lifetime has passed',
    async () => {
      const s = await loginAt('leader', '10.31.0.2');
      const end = s.issuedBy + MAX_S * 1000;
      let requests = 0;
      let longestGapMs = 0;
      let last = s.issuedBy;
      // Busy until shortly before the end: never idle, and activity does not extend the session.
      while (Date.now() < end - 1_500) {
        const res = await hub.app.inject({ ...withToken(s.token, { url: '/api/v1/warnings?limit=1' }), remoteAddress: '10.31.0.2' });
        expect(res.statusCode, res.body).toBe(200);
        requests++;
        const pttl = await redis.pttl(sessionKey(s.token));
        expect(pttl).toBeGreaterThan(0);
        // Redis forgets the session no later than its absolute end, however often it is renewed.
        expect(pttl).toBeLessThanOrEqual(end - Date.now() + 50);
        longestGapMs = Math.max(longestGapMs, Date.now() - last);
        last = Date.now();
        await sleep(Math.min(1_000, end - 1_500 - Date.now()));
      }
      expect(requests).toBeGreaterThanOrEqual(8);
      expect(longestGapMs).toBeLessThan(2_500);
      expect((await hub.app.inject(withToken(s.token, { url: '/api/v1/auth/me' }))).json()).toMatchObject({ username: 'leader' });

      await sleep(end + 500 - Date.now());
      const refused = await hub.app.inject({ ...withToken(s.token, { url: '/api/v1/warnings?limit=1' }), remoteAddress: '10.31.0.2' });
      expect([refused.statusCode, refused.json().error.code]).toEqual([401, 'AUTH_REQUIRED']);
      expect(await redis.exists(sessionKey(s.token))).toBe(0);
      // The refusal is audited as a token that no longer resolves.
      const audit = await queryAudit(hub.store, { limit: 50, offset: 0, action: 'auth.token_invalid' });
      expect(audit.items.some((a) => a.ip === '10.31.0.2' && a.status === 401 && a.result === 'denied' && a.path === '/api/v1/warnings?limit=1')).toBe(true);
    },
    (MAX_S + 30) * 1000,
  );

  it('the issue time, not Redis expiry alone, ends a session: a stored session past its lifetime is refused and deleted', async () => {
    const s = await loginAt('rules', '10.31.0.3');
    expect((await hub.app.inject(withToken(s.token, { url: '/api/v1/auth/me' }))).statusCode).toBe(200);
    // The stored session as it would be after MAX_S of use (its key kept alive, e.g. by a clock
    // step or an older hub's renewal): issued MAX_S + 1 s ago, with its Redis TTL still running.
    const key = sessionKey(s.token);
    const stored = JSON.parse((await redis.get(key))!) as { issuedAt: number; username: string };
    expect(stored.username).toBe('rules');
    expect(stored.issuedAt).toBeLessThanOrEqual(s.issuedBy);
    await redis.set(key, JSON.stringify({ ...stored, issuedAt: Date.now() - (MAX_S + 1) * 1000 }), 'PX', 30_000);
    const res = await hub.app.inject(withToken(s.token, { url: '/api/v1/auth/me' }));
    expect([res.statusCode, res.json().error.code]).toEqual([401, 'AUTH_REQUIRED']);
    expect(await redis.exists(key)).toBe(0);
  });
});
