/**
 * The go-live check (GET /api/v1/readiness) against a real hub with the demo registry: every step
 * of docs/go-live.md in order, worded by the same facts the other screens show (the calendar's
 * missing years, the collectors' list), changing as the system changes; system administrators only.
 */
import fs from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { READINESS_KEYS, type Readiness, type ReadinessItem, type WorkCalendarView } from '@jianguan/protocol';
import type { Hub } from '../src/app.js';
import { checkTxn, login, startTestHub, TEST_COLLECTOR, unsignedBatch, withToken } from './helpers.js';
import { connect, type Socket } from 'socket.io-client';

let hub: Hub;
const tokens: Record<string, string> = {};

beforeAll(async () => {
  ({ hub } = await startTestHub({ workflowIntervalMs: 3_600_000, evaluationIntervalMs: 3_600_000 }));
  for (const u of ['admin', 'registry', 'auditor', 'leader']) tokens[u] = await login(hub, u);
});

afterAll(async () => {
  await hub?.close();
});

const call = (user: string, url: string) => hub.app.inject(withToken(tokens[user]!, { method: 'GET', url }));
async function readiness(): Promise<Readiness> {
  const r = await call('admin', '/api/v1/readiness');
  expect(r.statusCode, r.body).toBe(200);
  return r.json() as Readiness;
}
const byKey = (r: Readiness) => Object.fromEntries(r.items.map((i) => [i.key, i])) as Record<(typeof READINESS_KEYS)[number], ReadinessItem>;

describe('the go-live check', () => {
  it('checks every step in order, naming what is still to do by name', async () => {
    const r = await readiness();
    expect(r.items.map((i) => i.key)).toEqual([...READINESS_KEYS]);
    expect(r.demo).toBe(true);
    const it = byKey(r);
    // The demo has an administrator, two registry administrators and a city-wide auditor.
    expect(it.admins).toMatchObject({ status: 'ok', counts: { systemAdmins: 1, registryAdmins: 2 } });
    expect(it.auditors.status).toBe('ok');
    // Institutions of the demo registry, each in its county; the staff and lines as filed.
    const institutions = (await call('admin', '/api/v1/registry/institutions')).json().items as { id: string; name: string; county: string }[];
    expect(it.institutions.counts.institutions).toBe(institutions.length);
    // No registry request waits for a decision in the demo store.
    expect(it.requests).toMatchObject({ status: 'ok', counts: { pending: 0, items: 0 }, subjects: [] });
    // One collector (the test's), for one station: every other institution is listed by name.
    expect(it.collectors).toMatchObject({ status: 'warn', counts: { approved: 1, pending: 0 } });
    expect(it.collectors.total).toBe(it.collectors.counts.institutions! - 1);
    const unserved = it.collectors.subjects[0]!;
    expect(institutions.find((i) => i.id === unserved.id)).toMatchObject({ name: unserved.name, county: unserved.county });
    expect(it.collectors.subjects.map((s) => s.id)).not.toContain(TEST_COLLECTOR.institutionId);
    // Never connected: silent, named by its institution and counter.
    expect(it.collectors_silent).toMatchObject({ status: 'warn', counts: { silent: 1 }, subjects: [{ id: TEST_COLLECTOR.collectorId, county: '451202' }] });
    expect(it.collectors_silent.subjects[0]!.name).toMatch(/^金城江区.*检/);
    // The calendar's missing years, as the calendar says them.
    const cal = (await call('admin', '/api/v1/calendar')).json() as WorkCalendarView;
    expect(it.calendar.counts.missing).toBe(cal.missing.length);
    expect(it.calendar.subjects.filter((s) => s.id.startsWith('missing:')).map((s) => Number(s.name))).toEqual(cal.missing);
    expect(it.calendar.status).toBe(cal.missing.length ? 'todo' : 'ok');
    // A new deployment runs this version's built-in rule definitions.
    expect(it.rules).toMatchObject({ status: 'ok', counts: { current: 1, pending: 0 } });
    // Nothing replayed yet; no backup made yet (the embedded store, daily backups off in tests).
    expect(it.replay).toMatchObject({ status: 'warn', counts: { replayed: 0, transactions: 0 } });
    expect(it.backups).toMatchObject({ status: 'todo', counts: { supported: 1, hour: -1, ageHours: -1, verified: 0 } });
    // The data directory's disk as the kernel says it, judged against JG_DISK_LOW_BYTES (2 GiB).
    const st = fs.statfsSync(hub.config.dataDir);
    expect(it.disk.counts).toMatchObject({ known: 1, totalMiB: Math.floor((st.blocks * st.bsize) / 2 ** 20), lowMiB: 2048 });
    expect(it.disk.status).toBe(it.disk.counts.freeMiB! < 2048 ? 'warn' : 'ok');
    // Demo mode: the doors are not judged.
    expect([it.transport.status, it.wall.status]).toEqual(['info', 'info']);
  });

  it('names a registry request filed and not yet approved: its filings are not in force', async () => {
    const staff = (await call('registry', '/api/v1/registry/staff')).json().items as Record<string, unknown>[];
    const person = staff.find((s) => s.filed === true)!;
    const filed = await hub.app.inject(withToken(tokens.registry!, { method: 'POST', url: '/api/v1/registry/requests', payload: { summary: '上线前补录', items: [{ entity: 'staff', data: { ...person, name: '补录' } }] } }));
    expect(filed.statusCode, filed.body).toBe(201);
    const it = byKey(await readiness());
    expect(it.requests).toMatchObject({ status: 'warn', counts: { pending: 1, items: 1 }, subjects: [{ id: filed.json().id, name: '上线前补录' }] });
    const rejected = await hub.app.inject(withToken(await login(hub, 'registry2'), { method: 'POST', url: `/api/v1/registry/requests/${filed.json().id}/reject`, payload: { comment: '测试' } }));
    expect(rejected.statusCode).toBe(200);
    expect(byKey(await readiness()).requests.status).toBe('ok');
  });

  it('changes as the system changes: past business replayed, a collector heard from', async () => {
    const socket: Socket = connect(`${hub.url}/collect`, { auth: { collectorId: TEST_COLLECTOR.collectorId, token: TEST_COLLECTOR.token }, transports: ['websocket'], reconnection: false, forceNew: true });
    try {
      await new Promise<void>((resolve, reject) => (socket.once('connect', () => resolve()), socket.once('connect_error', reject)));
      // A record of 25 November captured now: business replayed from the past (go-live step 6).
      const ack = await socket.timeout(30_000).emitWithAck('batch.submit', unsignedBatch([checkTxn(1)], 1));
      expect(ack.ok, JSON.stringify(ack)).toBe(true);
      const it = byKey(await readiness());
      expect(it.replay).toMatchObject({ status: 'ok', counts: { replayed: 1, transactions: 1 } });
      expect(it.collectors_silent).toMatchObject({ status: 'ok', counts: { silent: 0 }, subjects: [] });
    } finally {
      socket.close();
    }
  });

  it('lists as many subjects as asked, for an export of the whole check', async () => {
    const few = (await call('admin', '/api/v1/readiness?subjects=2')).json() as Readiness;
    const collectors = byKey(few).collectors;
    expect(collectors.subjects).toHaveLength(2);
    expect(collectors.total).toBeGreaterThan(2);
    const all = byKey((await call('admin', '/api/v1/readiness?subjects=10000')).json() as Readiness).collectors;
    expect(all.subjects).toHaveLength(all.total);
    for (const bad of ['0', '10001', 'all']) expect((await call('admin', `/api/v1/readiness?subjects=${bad}`)).json().error.code, bad).toBe('QUERY_INVALID');
  });

  it('is for system administrators only', async () => {
    for (const u of ['registry', 'auditor', 'leader']) expect((await call(u, '/api/v1/readiness')).statusCode, u).toBe(403);
    expect((await hub.app.inject({ method: 'GET', url: '/api/v1/readiness' })).statusCode).toBe(401);
  });
});
