import crypto from 'node:crypto';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { createWorkCalendar, type StateOp, type Transaction } from '@jianguan/rules';
import type { InjectOptions } from 'fastify';
import type { Redis } from 'ioredis';
import { startHub, type Hub } from '../src/app.js';
import type { HubConfig } from '../src/config.js';

/** The Redis started by `npm test` (scripts/test.mjs). Tests use real Redis, never a fake. */
export function testRedisUrl(): string {
  const url = process.env.JG_TEST_REDIS_URL;
  if (!url) throw new Error('JG_TEST_REDIS_URL is not set: run the suite with `npm test` (it starts a private Redis)');
  return url;
}

/** Deletes a test's Redis keys: every key starting with `prefix`. */
export async function deleteKeys(redis: Redis, prefix: string): Promise<void> {
  const keys = await redis.keys(`${prefix}*`);
  for (let i = 0; i < keys.length; i += 500) await redis.del(...keys.slice(i, i + 500));
}

export function tmpDir(prefix: string): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), `jg-${prefix}-`));
}

/**
 * Removes a test directory. Retried: the engine (or an outbox) may still be closing files in it
 * when a test ends, and a single attempt then fails with ENOTEMPTY.
 */
export function removeDir(dir: string): void {
  fs.rmSync(dir, { recursive: true, force: true, maxRetries: 10, retryDelay: 100 });
}

export const TEST_COLLECTOR = { collectorId: 'c-test-01', institutionId: 'JCJ-JYZ', token: 'test-token-0123456789abcdef' };

/** A hub on a random port with its own chDB directory and its own queue/key prefix. */
export async function startTestHub(overrides: Partial<HubConfig> = {}): Promise<{ hub: Hub; dataDir: string }> {
  const dataDir = tmpDir('hub');
  const hub = await startHub(
    {
      port: 0,
      host: '127.0.0.1',
      redisUrl: testRedisUrl(),
      queuePrefix: `jgt-${crypto.randomBytes(4).toString('hex')}`,
      dataDir,
      seedDemo: true,
      collectors: [TEST_COLLECTOR],
      logLevel: 'warn',
      wallFlushMs: 50,
      // Fixtures happen on fixed past days: their warnings are "live" for these suites.
      wallLiveMaxAgeMs: 10 * 365 * 86_400_000,
      statsIntervalMs: 200,
      // Suites written before the doors were closed: the wall open (loopback only), static
      // collectors with token-only sessions, collector hashes stored as sent, and logins from
      // one address (inject) well above an office's rate. Tests of those doors override these.
      wallPublic: true,
      collectorKeys: 'optional',
      pseudonymSecrets: 'identity',
      loginRatePerMin: 10_000,
      // No daily backup firing in the middle of a suite run at 03:00 China time.
      backupHour: -1,
      ...overrides,
    },
    {},
  );
  return { hub, dataDir };
}

/** An unsigned batch of TEST_COLLECTOR's records numbered from `firstSeq` (the static-token path). */
export function unsignedBatch(records: unknown[], firstSeq: number) {
  return {
    batchId: `${TEST_COLLECTOR.collectorId}:${firstSeq}-${firstSeq + records.length - 1}`,
    collectorId: TEST_COLLECTOR.collectorId,
    firstSeq,
    lastSeq: firstSeq + records.length - 1,
    sentAt: Date.now(),
    records,
  };
}

const HEX = (s: string) => crypto.createHash('sha256').update(s).digest('hex');

/** 10:00 China Standard Time on the first working day after the day of `after`. */
export function workingMorningAfter(after: number): number {
  const cal = createWorkCalendar();
  const cst = 8 * 3_600_000;
  for (let day = Math.floor((after + cst) / 86_400_000) + 1; ; day++) {
    const t = day * 86_400_000 - cst + 10 * 3_600_000;
    if (cal.isWorkingTime(t)) return t;
  }
}

/** Resolves once `cond` holds (checked every 50 ms); fails naming `what` after `ms`. */
export async function waitFor(cond: () => boolean | Promise<boolean>, what: string, ms = 15_000): Promise<void> {
  const end = Date.now() + ms;
  while (!(await cond())) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** Working time on a known weekday: Wednesday 2026-11-25 10:00 China Standard Time. */
export const WORKING_TIME = Date.UTC(2026, 10, 25, 2, 0, 0);

/** A valid vehicle-check transaction; `over` replaces fields. */
export function checkTxn(seq: number, over: Partial<Transaction> = {}): Transaction {
  const started = WORKING_TIME + seq * 1000;
  return {
    id: `${TEST_COLLECTOR.collectorId}:${seq}`,
    collectorId: TEST_COLLECTOR.collectorId,
    seq,
    source: 'test',
    channel: 'institution',
    institutionId: TEST_COLLECTOR.institutionId,
    counter: 'L1',
    staffId: 'JCJ-JYZ-I01',
    lsh: `2611250${String(seq).padStart(5, '0')}`,
    kind: 'check',
    ywlx: 'A',
    subject: { idHash: HEX(`subject-${seq}`), masked: '4512**********123X' },
    vehicle: { hpzl: '02', hphm: `桂M${String(10000 + seq)}`, vin: `LSVAA4182E2${String(100000 + seq).slice(-6)}` },
    occurredAt: started,
    startedAt: started,
    endedAt: started + 400_000,
    capturedAt: Date.now(),
    outcome: 'pass',
    ...over,
  };
}

/** The password of the demo users (seeded when seedDemo is on, as in startTestHub). */
export const DEMO_PASSWORD = 'jianguan-demo';

/** Logs a demo user in through the API; returns the session token (use as Bearer). */
export async function login(hub: Hub, username: string, password = DEMO_PASSWORD): Promise<string> {
  const res = await hub.app.inject({ method: 'POST', url: '/api/v1/auth/login', payload: { username, password } });
  if (res.statusCode !== 200) throw new Error(`login ${username}: ${res.statusCode} ${res.body}`);
  const body = res.json() as { token: string; mustChangePassword?: boolean };
  if (!body.mustChangePassword) return body.token;
  // An administrator set this password: the first login must replace it (as the login screen does).
  const changed = await hub.app.inject(withToken(body.token, { method: 'POST', url: '/api/v1/auth/password', payload: { current: password, next: firstLoginPassword(password) } }));
  if (changed.statusCode !== 200) throw new Error(`first password change ${username}: ${changed.statusCode} ${changed.body}`);
  return (changed.json() as { token: string }).token;
}

/** The password `login` sets when a user must replace an administrator's password. */
export function firstLoginPassword(password: string): string {
  return `${password}-2nd!`;
}

/** `inject` options with a Bearer token. */
export function withToken(token: string, opts: { method?: InjectOptions['method']; url: string; payload?: InjectOptions['payload']; headers?: Record<string, string> }): InjectOptions {
  return { method: opts.method ?? 'GET', url: opts.url, ...(opts.payload !== undefined ? { payload: opts.payload } : {}), headers: { ...(opts.headers ?? {}), authorization: `Bearer ${token}` } };
}

/** mulberry32: a tiny seeded PRNG in [0, 1), for reproducible random tests. */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/**
 * A random sequence of all five rule-state operations over few keys (re-delivery of an earlier id
 * one time in six, times wandering back and forth over four hours): what the Redis and the local
 * rule states are replayed against the memory references with.
 */
export function randomStateOps(seed: number, count: number, keys: readonly string[] = ['k1', 'k2', 'k{3}']): StateOp[] {
  const T0 = Date.UTC(2026, 10, 1);
  const MIN = 60_000;
  const rnd = prng(seed);
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rnd() * xs.length)]!;
  const ids: string[] = [];
  const ops: StateOp[] = [];
  for (let i = 0; i < count; i++) {
    const id = ids.length > 0 && rnd() < 1 / 6 ? pick(ids) : `t${i}`;
    ids.push(id);
    const at = T0 + Math.floor(rnd() * 240) * MIN;
    const key = pick(keys);
    switch (pick(['observe', 'observe', 'overlap', 'claim', 'record', 'latest'] as const)) {
      case 'observe':
        ops.push({ op: 'observe', key, member: pick(['a', 'b', 'c', id]), at, windowMs: pick([30, 60, 120]) * MIN });
        break;
      case 'overlap':
        ops.push({ op: 'overlap', key, id, member: pick(['L1', 'L2', 'L3']), start: at, end: at + Math.floor(rnd() * 40) * MIN, retainMs: pick([60, 600]) * MIN });
        break;
      case 'claim': {
        const prints = Array.from({ length: Math.floor(rnd() * 3) }, () => pick(['p1', 'p2', 'p3', 'p4']));
        ops.push({ op: 'claim', key, fingerprints: [...new Set(prints)], owner: pick(['o1', 'o2', 'o3']), id, at, windowMs: pick([30, 90]) * MIN, retainMs: pick([100, 1000]) * MIN });
        break;
      }
      case 'record':
        ops.push({ op: 'record', key, event: pick(['e1', 'e2']), id, at, retainMs: pick([100, 1000]) * MIN });
        break;
      case 'latest':
        ops.push({ op: 'latest', key, event: pick(['e1', 'e2']), id, at, windowMs: pick([30, 90]) * MIN, retainMs: pick([100, 1000]) * MIN });
        break;
    }
  }
  return ops;
}

/** A TCP port free on 127.0.0.1 now (for a process the test starts itself). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address() as net.AddressInfo;
      srv.close(() => resolve(port));
    });
  });
}
