/**
 * County walls see their county. Two real screens on a closed /wall — the city's (the `wall`
 * user) and 宜州区's (a kiosk token issued for 451203) — while a collector stores business of
 * 金城江区 and 宜州区, collector warnings and escalated (超期督办) warnings exist in 宜州区 and
 * 南丹县: the county screen receives only 宜州区's live warnings, escalations, snapshot and
 * statistics; the city screen receives everything.
 */
import { io as connect, type Socket } from 'socket.io-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Hub } from '../src/app.js';
import type { BatchAck, WallOverdue, WallSnapshot, WallStats, WallWarning } from '../src/protocol/index.js';
import { checkTxn, login, startTestHub, TEST_COLLECTOR, unsignedBatch, withToken } from './helpers.js';
import { seedWarnings } from './seed.js';

const YZ = { institutionId: 'YZ-JYZ', county: '451203' };
const ND = { institutionId: 'ND-CGFS', county: '451221' };
const YZ_INSTITUTIONS = ['YZ-CGFS', 'YZ-JYZ'];
const DAY = 86_400_000;
/**
 * Today's transactions (by capture time): the batch's two (金城江区, 宜州区) and the one stored with
 * each seeded warning (captured now, two in 宜州区 and two in 南丹县).
 */
const CITY_TX = 6;
const YZ_TX = 3;

let hub: Hub;
const sockets: Socket[] = [];

/** Everything one screen received, by event. */
interface Screen {
  socket: Socket;
  snapshot: WallSnapshot;
  warnings: WallWarning[];
  stats: WallStats[];
  overdue: WallOverdue[];
}

async function screen(auth: Record<string, string>): Promise<Screen> {
  const socket = connect(`${hub.url}/wall`, { auth, transports: ['websocket'], reconnection: false, forceNew: true });
  sockets.push(socket);
  const got: Omit<Screen, 'snapshot'> = { socket, warnings: [], stats: [], overdue: [] };
  socket.on('warning.raised', (batch: WallWarning[]) => got.warnings.push(...batch));
  socket.on('county.stats', (s: WallStats) => got.stats.push(s));
  socket.on('warning.overdue', (items: WallOverdue[]) => got.overdue.push(...items));
  const snapshot = await new Promise<WallSnapshot>((resolve, reject) => {
    socket.once('wall.snapshot', resolve);
    socket.once('connect_error', reject);
  });
  return { ...got, snapshot };
}

const resync = (s: Screen): Promise<WallSnapshot> => s.socket.timeout(20_000).emitWithAck('wall.resync');
const sum = (xs: readonly number[]) => xs.reduce((a, b) => a + b, 0);

beforeAll(async () => {
  ({ hub } = await startTestHub({
    // The door closed, as in production: every screen is a user or a kiosk token with a scope.
    wallPublic: false,
    statsIntervalMs: 100,
    workflowIntervalMs: 3_600_000,
    evaluationIntervalMs: 3_600_000,
    // One collector that also reports for 宜州区's station: business in two counties.
    collectors: [{ ...TEST_COLLECTOR, reportsFor: [YZ.institutionId] }],
  }));
});

afterAll(async () => {
  for (const s of sockets) s.close();
  await hub?.close();
});

describe('county walls', () => {
  it('a 宜州区 screen receives only 宜州区; a city screen receives the whole city', async () => {
    const admin = await login(hub, 'admin');
    const issued = await hub.app.inject(withToken(admin, { method: 'POST', url: '/api/v1/kiosk-tokens', payload: { name: '宜州区大屏', scope: YZ.county } }));
    expect(issued.statusCode, issued.body).toBe(201);
    const kiosk = new URL(`http://x${(issued.json() as { wallUrl: string }).wallUrl}`).searchParams.get('kiosk')!;

    const now = Date.now();
    // Collector warnings raised today (their business two days back, so today's counts are only
    // the batch below), and warnings ten days old that the sweep will escalate.
    await seedWarnings(hub, [
      { id: 'ch-nd', ...ND, family: 'collector', ruleId: 'collector.silent', raisedAt: now, occurredAt: now - 2 * DAY },
      { id: 'ch-yz', ...YZ, family: 'collector', ruleId: 'collector.gap', raisedAt: now, occurredAt: now - 2 * DAY },
      { id: 'ov-nd', ...ND, severity: 'high', raisedAt: now - 10 * DAY },
      { id: 'ov-yz', ...YZ, severity: 'high', raisedAt: now - 10 * DAY },
    ]);

    const city = await screen({ token: await login(hub, 'wall') });
    const county = await screen({ kiosk });
    // A county user's session is scoped the same way as a county kiosk.
    const user = await screen({ token: await login(hub, 'auditor-yz') });
    expect(city.snapshot.scope ?? null).toBeNull();
    expect(county.snapshot.scope).toEqual({ adcode: YZ.county, name: '宜州区' });
    expect(user.snapshot.scope).toEqual({ adcode: YZ.county, name: '宜州区' });
    expect(user.snapshot.institutionsList.map((i) => i.id).sort()).toEqual(YZ_INSTITUTIONS);

    // Escalations reach the screens of their county and the city's.
    const sweep = await hub.app.inject(withToken(admin, { method: 'POST', url: '/api/v1/workflow/sweep' }));
    expect(sweep.statusCode, sweep.body).toBe(200);
    await expect.poll(() => city.overdue.map((o) => o.id).sort(), { timeout: 10_000 }).toEqual(['ov-nd', 'ov-yz']);
    await expect.poll(() => county.overdue.map((o) => o.id), { timeout: 10_000 }).toEqual(['ov-yz']);

    // Business of 金城江区 (the collector's own station) and of 宜州区, each by an unfiled inspector,
    // plus one record naming no known institution (a dead letter of this 金城江区 collector).
    const collector = connect(`${hub.url}/collect`, { auth: { collectorId: TEST_COLLECTOR.collectorId, token: TEST_COLLECTOR.token }, transports: ['websocket'], reconnection: false, forceNew: true });
    sockets.push(collector);
    await new Promise<void>((resolve, reject) => (collector.once('connect', () => resolve()), collector.once('connect_error', reject)));
    const jcj = checkTxn(1, { staffId: 'JCJ-JYZ-NOBODY' });
    const yz = checkTxn(2, { institutionId: YZ.institutionId, staffId: 'YZ-JYZ-NOBODY' });
    const bad = checkTxn(3, { institutionId: 'NOWHERE' });
    const ack: BatchAck = await collector.timeout(30_000).emitWithAck('batch.submit', unsignedBatch([jcj, yz, bad], 1));
    expect(ack.ok, JSON.stringify(ack)).toBe(true);

    await expect.poll(() => new Set(city.warnings.map((w) => w.transactionId)), { timeout: 15_000 }).toEqual(new Set([jcj.id, yz.id]));
    await expect.poll(() => county.warnings.some((w) => w.transactionId === yz.id), { timeout: 15_000 }).toBe(true);
    // Statistics pushed after the batch was stored: each screen its own scope's figures.
    await expect.poll(() => city.stats.at(-1)?.kpis.transactions, { timeout: 15_000 }).toBe(CITY_TX);
    await expect.poll(() => county.stats.at(-1)?.kpis.transactions, { timeout: 15_000 }).toBe(YZ_TX);
    // Past a few more flushes and pushes: nothing of another county ever reached the county screen.
    await new Promise((r) => setTimeout(r, 500));
    expect(county.warnings.length).toBeGreaterThan(0);
    expect(county.warnings.filter((w) => w.county !== YZ.county)).toEqual([]);
    expect(county.stats.length).toBeGreaterThan(0);
    for (const s of county.stats) {
      expect(s.counties.map((c) => c.adcode)).toEqual([YZ.county]);
      expect(s.institutions.filter((i) => !YZ_INSTITUTIONS.includes(i.id))).toEqual([]);
    }
    expect(city.stats.at(-1)!.counties.length).toBe(11);

    const [c, y] = [await resync(city), await resync(county)];
    const cityLive = new Set(city.warnings.map((w) => w.id));
    const countyLive = new Set(county.warnings.map((w) => w.id));

    // KPIs.
    expect(c.kpis).toMatchObject({ transactions: CITY_TX, warnings: cityLive.size, deadLetters: 1, overdue: 2, collectorsConnected: 1 });
    expect(y.kpis).toMatchObject({ transactions: YZ_TX, warnings: countyLive.size, deadLetters: 0, overdue: 1, collectorsConnected: 0 });
    expect(countyLive.size).toBeLessThan(cityLive.size);
    // Counties and institutions.
    expect(y.counties).toEqual([{ adcode: YZ.county, name: '宜州区', transactions: YZ_TX, warnings: countyLive.size }]);
    expect(c.counties.filter((x) => x.transactions > 0).map((x) => [x.adcode, x.transactions])).toEqual([['451202', 1], [YZ.county, YZ_TX], [ND.county, 2]]);
    expect(y.institutions.map((i) => i.id)).toEqual([YZ.institutionId]);
    expect(c.institutions.map((i) => i.id).sort()).toEqual(['JCJ-JYZ', ND.institutionId, YZ.institutionId]);
    expect(y.institutionsList.map((i) => i.id).sort()).toEqual(YZ_INSTITUTIONS);
    expect(c.institutionsList.length).toBe(15);
    // Hours of today and business types add up to each scope's transactions.
    expect(sum(y.hourly!.today.transactions)).toBe(YZ_TX);
    expect(sum(c.hourly!.today.transactions)).toBe(CITY_TX);
    expect(sum(y.businessTypes!.map((b) => b.transactions))).toBe(YZ_TX);
    expect(sum(c.businessTypes!.map((b) => b.transactions))).toBe(CITY_TX);
    // The overdue list, with the state code beside its Chinese label.
    expect(y.overdueList!.map((o) => o.id)).toEqual(['ov-yz']);
    expect(c.overdueList!.map((o) => o.id).sort()).toEqual(['ov-nd', 'ov-yz']);
    for (const o of c.overdueList!) expect(['raised', 'assigned', 'acknowledged', 'verifying']).toContain(o.state);
    // Collector health of the county's own institutions.
    expect(y.collectorHealth).toMatchObject({ silent: 0, gap: 1, tamper: 0 });
    expect(y.collectorHealth!.latest.map((w) => w.id)).toEqual(['ch-yz']);
    expect(c.collectorHealth).toMatchObject({ silent: 1, gap: 1, tamper: 0 });
    // The score ranking: a county ranks its own institutions only (ranked + unranked = all of them).
    expect((y.scoreRanked ?? 0) + (y.scoreUnranked ?? 0)).toBe(YZ_INSTITUTIONS.length);
    expect((c.scoreRanked ?? 0) + (c.scoreUnranked ?? 0)).toBe(15);
    expect(y.scoreRanking!.filter((r) => r.county !== YZ.county)).toEqual([]);
    // Recent warnings: the county's only, the city's all.
    expect(y.recentWarnings.filter((w) => w.county !== YZ.county)).toEqual([]);
    expect(y.recentWarnings.map((w) => w.id)).toEqual(expect.arrayContaining(['ov-yz', 'ch-yz', ...countyLive]));
    expect(c.recentWarnings.map((w) => w.id)).toEqual(expect.arrayContaining(['ov-nd', 'ch-nd', 'ov-yz', ...cityLive]));
  });
});
