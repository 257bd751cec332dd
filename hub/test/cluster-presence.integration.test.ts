/**
 * Collectors connected across hub replicas (collectors/cluster-presence.ts) on real Redis: each
 * replica's own collectors plus what the others publish, counted once; a replica that stops or
 * dies drops out; Redis failures cost the figures, never the caller. Then a real hub beside a
 * second "replica" publishing to the same prefix: the wall's figures, the collectors list and the
 * silence check see a collector connected there, and the silence check reads the last-seen times
 * another replica saved before calling a collector silent.
 */
import crypto from 'node:crypto';
import type { FastifyBaseLogger } from 'fastify';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Hub } from '../src/app.js';
import { ClusterPresence } from '../src/collectors/cluster-presence.js';
import { saveSeen } from '../src/collectors/repo.js';
import { login, startTestHub, testRedisUrl, waitFor, withToken, workingMorningAfter } from './helpers.js';

const JYZ_COUNTY = '451202'; // 金城江区 (JCJ-JYZ's county in the demo registry)

function capturingLog(lines: Record<string, unknown>[]): FastifyBaseLogger {
  const put = (o: unknown) => void lines.push(o as Record<string, unknown>);
  const log = { warn: put, error: put, info: put, debug: put, trace: put, fatal: put, level: 'warn', silent: () => {}, child: () => log };
  return log as unknown as FastifyBaseLogger;
}

const redisClients: Redis[] = [];
function redis(): Redis {
  const r = new Redis(testRedisUrl());
  redisClients.push(r);
  return r;
}

afterAll(() => {
  for (const r of redisClients) r.disconnect();
});

function replica(prefix: string, local: Map<string, string>, opts: { ttlMs?: number; onChange?: () => void; log?: Record<string, unknown>[] } = {}): ClusterPresence {
  return new ClusterPresence({
    redis: redis(),
    prefix,
    local: () => local,
    log: capturingLog(opts.log ?? []),
    refreshMs: 60_000,
    ...(opts.ttlMs !== undefined ? { ttlMs: opts.ttlMs } : {}),
    ...(opts.onChange ? { onChange: opts.onChange } : {}),
  });
}

describe('ClusterPresence', () => {
  it('adds the other replicas\' collectors to its own, each collector once, per county too', async () => {
    const prefix = `jgt-presence-${crypto.randomBytes(4).toString('hex')}`;
    let changes = 0;
    const a = replica(prefix, new Map([['c-1', 'X']]), { onChange: () => void changes++ });
    const b = replica(prefix, new Map([['c-1', 'X'], ['c-2', 'Y'], ['c-3', '']]));
    await a.refresh();
    expect(a.connected()).toBe(1);
    expect(changes).toBe(0);
    await b.refresh();
    await a.refresh();
    expect(changes).toBe(1);
    // c-1 is on both (moving between them): counted once.
    expect(a.connected()).toBe(3);
    expect(a.connectedIn('X')).toBe(1);
    expect(a.connectedIn('Y')).toBe(1);
    expect(a.connectedIn('Z')).toBe(0);
    expect(a.elsewhere('c-2')).toBe(true);
    expect(a.elsewhere('c-9')).toBe(false);
    expect(b.connected()).toBe(3);
    // Nothing changed: no change reported.
    await a.refresh();
    expect(changes).toBe(1);

    // Its own list is kept until a collector connects or leaves (changed()), then listed again.
    const bLocal = new Map([['c-1', 'X'], ['c-2', 'Y'], ['c-3', '']]);
    // (A new list each time, as ingest's namespace handle gives.)
    const c = new ClusterPresence({ redis: redis(), prefix, local: () => new Map(bLocal), log: capturingLog([]), refreshMs: 60_000 });
    expect(c.connected()).toBe(3);
    bLocal.set('c-4', 'Y');
    expect(c.connected()).toBe(3);
    c.changed();
    expect(c.connected()).toBe(4);
    expect(c.connectedIn('Y')).toBe(2);
    await c.close();

    // A replica that stops removes itself.
    await b.close();
    await a.refresh();
    expect(a.connected()).toBe(1);
    expect(a.elsewhere('c-2')).toBe(false);
    expect(changes).toBe(2);
    await a.close();
  });

  it('a replica that died drops out once its entry lapses; one with no collectors publishes none', async () => {
    const prefix = `jgt-presence-${crypto.randomBytes(4).toString('hex')}`;
    const a = replica(prefix, new Map());
    const dead = replica(prefix, new Map([['c-7', 'X']]), { ttlMs: 300 });
    await dead.refresh(); // published once, then never again (no close: the process "died")
    await a.refresh();
    expect(a.connected()).toBe(1);
    expect(dead.connected()).toBe(1);
    await new Promise((r) => setTimeout(r, 400));
    await a.refresh();
    expect(a.connected()).toBe(0);
    const r = redis();
    expect(await r.exists(`${prefix}:presence:${a.replicaId}`)).toBe(0);
    expect(await r.zscore(`${prefix}:presence`, a.replicaId)).not.toBeNull();
    expect(await r.zscore(`${prefix}:presence`, dead.replicaId)).toBeNull();
    await a.close();
    expect(await r.zscore(`${prefix}:presence`, a.replicaId)).toBeNull();
  });

  it('Redis failing: the figures fall back to this replica\'s own collectors and the failure is logged, never thrown', async () => {
    const lines: Record<string, unknown>[] = [];
    const down = new Redis({ port: 1, host: '127.0.0.1', lazyConnect: true, maxRetriesPerRequest: 0, enableOfflineQueue: false, retryStrategy: () => null });
    down.on('error', () => {});
    redisClients.push(down);
    const p = new ClusterPresence({ redis: down, prefix: 'jgt-presence-down', local: () => new Map([['c-1', 'X']]), log: capturingLog(lines), refreshMs: 60_000, ttlMs: 1 });
    await expect(p.refresh()).resolves.toBeUndefined();
    expect(p.connected()).toBe(1);
    expect(p.connectedIn('X')).toBe(1);
    expect(lines.some((l) => l.event === 'presence.failed')).toBe(true);
    await expect(p.close()).resolves.toBeUndefined();
  });
});

describe('a hub beside another replica', () => {
  let hub: Hub;
  let other: ClusterPresence;
  const otherLocal = new Map<string, string>();

  beforeAll(async () => {
    ({ hub } = await startTestHub({ presenceRefreshMs: 100 }));
    other = replica(hub.config.queuePrefix, otherLocal);
  });

  afterAll(async () => {
    await other?.close();
    await hub?.close();
  });

  it('counts on the wall, shows online and is never silent while connected to the other replica', async () => {
    const id = 'c-elsewhere-01';
    await hub.collectors.registerStatic([{ collectorId: id, institutionId: 'JCJ-JYZ', token: 'elsewhere-token-0123456789' }]);
    expect((await hub.wall.stats()).kpis.collectorsConnected).toBe(0);
    otherLocal.set(id, JYZ_COUNTY);
    await other.refresh();
    await waitFor(async () => (await hub.wall.stats()).kpis.collectorsConnected === 1, 'the other replica\'s collector on the wall');
    expect((await hub.wall.stats(Date.now(), JYZ_COUNTY)).kpis.collectorsConnected).toBe(1);
    expect((await hub.wall.stats(Date.now(), '451221')).kpis.collectorsConnected).toBe(0);
    expect(hub.collectors.info(hub.collectors.get(id)!).connected).toBe(true);

    // Days later, still connected over there: not silent.
    const t = workingMorningAfter(Date.now());
    expect((await hub.collectors.checkSilence(t)).filter((w) => w.collectorId === id)).toEqual([]);

    // It leaves the other replica: offline here too, and silent once the threshold passed.
    otherLocal.delete(id);
    await other.refresh();
    await waitFor(() => !hub.collectors.info(hub.collectors.get(id)!).connected, 'the collector offline');
    expect((await hub.wall.stats()).kpis.collectorsConnected).toBe(0);
    const raised = (await hub.collectors.checkSilence(t)).filter((w) => w.collectorId === id);
    expect(raised).toHaveLength(1);
    expect(raised[0]).toMatchObject({ ruleId: 'collector.silent' });
  });

  it('reads the last-seen times another replica saved before calling a collector silent', async () => {
    const id = 'c-elsewhere-02';
    await hub.collectors.registerStatic([{ collectorId: id, institutionId: 'JCJ-JYZ', token: 'elsewhere-token-abcdef012345' }]);
    const t = workingMorningAfter(Date.now() + 86_400_000);
    // The other replica had it connected until a minute before t and saved that, as every
    // replica's periodic check does; this replica never saw it.
    await saveSeen(hub.store, new Map([[id, t - 60_000]]));
    expect((await hub.collectors.checkSilence(t)).filter((w) => w.collectorId === id)).toEqual([]);
    expect(hub.collectors.info(hub.collectors.get(id)!).lastSeenAt).toBe(t - 60_000);
    // Silent for real from there on: raised once the working minutes pass the threshold.
    const later = t + 3_600_000;
    const raised = (await hub.collectors.checkSilence(later)).filter((w) => w.collectorId === id);
    expect(raised).toHaveLength(1);
    expect(raised[0]!.explanation).toContain('超过阈值 30 分钟');
  });

  it("misses a station's collector on a Saturday only while stations keep weekend hours", async () => {
    const id = 'c-weekend-01';
    await hub.collectors.registerStatic([{ collectorId: id, institutionId: 'JCJ-JYZ', token: 'weekend-token-0123456789ab' }]);
    const cal = hub.app.calendar;
    // 11:00 China time on the first Saturday ahead that the city calendar rests on.
    let saturday = workingMorningAfter(Date.now()) + 3_600_000;
    while (new Date(saturday + 8 * 3_600_000).getUTCDay() !== 6 || cal.isWorkingDay(saturday)) saturday += 86_400_000;
    const silentAt = async (t: number) => (await hub.collectors.checkSilence(t)).filter((w) => w.collectorId === id);
    expect(await silentAt(saturday)).toEqual([]);
    const city = { workingDays: [1, 2, 3, 4, 5], periods: [{ start: '08:00', end: '18:00' }] };
    await hub.app.calendars.saveHours({ ...city, byType: { inspection_station: { workingDays: [1, 2, 3, 4, 5, 6, 7], periods: [{ start: '08:00', end: '17:00' }], observesHolidays: false } } }, '', 'test');
    try {
      const raised = await silentAt(saturday);
      expect(raised).toHaveLength(1);
      expect(raised[0]).toMatchObject({ ruleId: 'collector.silent', institutionId: 'JCJ-JYZ' });
    } finally {
      await hub.app.calendars.saveHours(city, '', 'test');
    }
  });

  it("misses a collector on a Saturday when its institution's own filed hours open it then", async () => {
    const id = 'c-own-hours-01';
    await hub.collectors.registerStatic([{ collectorId: id, institutionId: 'JCJ-JYZ', token: 'own-hours-token-0123456789' }]);
    let saturday = workingMorningAfter(Date.now()) + 3_600_000;
    while (new Date(saturday + 8 * 3_600_000).getUTCDay() !== 6 || hub.app.calendar.isWorkingDay(saturday)) saturday += 86_400_000;
    const silentAt = async (t: number) => (await hub.collectors.checkSilence(t)).filter((w) => w.collectorId === id);
    expect(await silentAt(saturday)).toEqual([]);
    const [maker, checker] = [await login(hub, 'registry'), await login(hub, 'registry2')];
    const call = (token: string, method: 'GET' | 'POST', url: string, payload?: object) => hub.app.inject(withToken(token, { method, url, ...(payload ? { payload } : {}) }));
    const file = async (data: object) => {
      const filed = await call(maker, 'POST', '/api/v1/registry/requests', { items: [{ entity: 'institution', data }] });
      expect(filed.statusCode, filed.body).toBe(201);
      expect((await call(checker, 'POST', `/api/v1/registry/requests/${filed.json().id}/approve`, {})).statusCode).toBe(200);
    };
    const current = ((await call(maker, 'GET', '/api/v1/registry/institutions')).json().items as { id: string }[]).find((i) => i.id === 'JCJ-JYZ')!;
    await file({ ...current, hours: { workingDays: [1, 2, 3, 4, 5, 6], periods: [{ start: '08:00', end: '17:00' }], observesHolidays: true } });
    try {
      const raised = await silentAt(saturday);
      expect(raised).toHaveLength(1);
      expect(raised[0]).toMatchObject({ ruleId: 'collector.silent', institutionId: 'JCJ-JYZ' });
    } finally {
      await file(current);
    }
    expect(hub.registry.institution('JCJ-JYZ')).not.toHaveProperty('hours');
  });
});
