/**
 * The hub against real Redis (BullMQ), real chDB and real socket.io connections: auth, per-record
 * validation with dead letters, durable acks, idempotent re-sends, the wall stream, health, CSV.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { io as connect, type Socket } from 'socket.io-client';
import type { Hub } from '../src/app.js';
import type { BatchAck, WallSnapshot, WallWarning } from '../src/protocol/index.js';
import { param, sql } from '../src/store/sql.js';
import { checkTxn, login, startTestHub, TEST_COLLECTOR, unsignedBatch, withToken } from './helpers.js';

let hub: Hub;
const sockets: Socket[] = [];

function collectorSocket(auth: Record<string, unknown> = { collectorId: TEST_COLLECTOR.collectorId, token: TEST_COLLECTOR.token }): Socket {
  const s = connect(`${hub.url}/collect`, { auth, transports: ['websocket'], reconnection: false, forceNew: true });
  sockets.push(s);
  return s;
}

async function connected(s: Socket): Promise<void> {
  if (s.connected) return;
  await new Promise<void>((resolve, reject) => {
    s.once('connect', () => resolve());
    s.once('connect_error', reject);
  });
}

const batch = unsignedBatch;

beforeAll(async () => {
  ({ hub } = await startTestHub());
});

afterAll(async () => {
  for (const s of sockets) s.close();
  await hub?.close();
});

describe('collector handshake', () => {
  it('refuses a wrong token with AUTH_FAILED', async () => {
    const s = collectorSocket({ collectorId: TEST_COLLECTOR.collectorId, token: 'wrong-token-0123456789' });
    const err = await new Promise<Error & { data?: { code?: string } }>((resolve) => s.once('connect_error', resolve));
    expect(err.data?.code).toBe('AUTH_FAILED');
    expect(s.connected).toBe(false);
  });

  it('accepts the registered collector and says hello', async () => {
    const s = collectorSocket();
    const hello = await new Promise<{ institutionId: string; recordsJson?: boolean }>((resolve) => s.once('hub.hello', resolve));
    expect(hello.institutionId).toBe(TEST_COLLECTOR.institutionId);
    // Collectors may send a batch's records as bytes (WireBatchSchema).
    expect(hello.recordsJson).toBe(true);
  });
});

describe('batches', () => {
  it('stores valid records, dead-letters malformed ones with a reason, and acks after the commit', async () => {
    const s = collectorSocket();
    await connected(s);
    const good1 = checkTxn(1);
    const bad = { ...checkTxn(2), occurredAt: 'yesterday' };
    const good3 = checkTxn(3);
    const foreign = checkTxn(4, { collectorId: 'someone-else', id: 'someone-else:4' });
    const unknownInst = checkTxn(5, { institutionId: 'NOPE' });
    const ack: BatchAck = await s.timeout(30_000).emitWithAck('batch.submit', batch([good1, bad, good3, foreign, unknownInst], 1));
    expect(ack.ok).toBe(true);
    if (!ack.ok) return;
    expect(ack.stored).toBe(2);
    expect(ack.rejected.map((r) => [r.index, r.code])).toEqual([
      [1, 'RECORD_INVALID'],
      [3, 'COLLECTOR_MISMATCH'],
      [4, 'UNKNOWN_INSTITUTION'],
    ]);
    expect(ack.rejected[0]!.reason).toMatch(/occurredAt/);

    // Acked means durable: it is already queryable.
    const rows = await hub.store.query<{ id: string }>(sql`SELECT id FROM transactions FINAL ORDER BY id`);
    expect(rows.map((r) => r.id)).toEqual([good1.id, good3.id]);
    const dead = await hub.store.query<{ record_id: string; code: string; reason: string; payload: string }>(
      sql`SELECT record_id, code, reason, payload FROM dead_letters FINAL ORDER BY record_index`,
    );
    expect(dead.map((d) => d.code)).toEqual(['RECORD_INVALID', 'COLLECTOR_MISMATCH', 'UNKNOWN_INSTITUTION']);
    expect(dead[0]!.record_id).toBe(bad.id);
    expect(JSON.parse(dead[0]!.payload).occurredAt).toBe('yesterday');
    // The list names the sender's institution (the collector's, whatever its records claimed).
    const listed = await hub.app.inject(withToken(await login(hub, 'admin'), { url: '/api/v1/dead-letters?limit=10' }));
    expect(listed.statusCode, listed.body).toBe(200);
    const items = (listed.json().items as { recordId: string; collectorId: string; institutionId: string; institutionName: string }[]).filter((d) => d.collectorId === TEST_COLLECTOR.collectorId);
    expect(items.map((d) => d.recordId).sort()).toEqual([bad.id, foreign.id, unknownInst.id].sort());
    for (const d of items) expect(d).toMatchObject({ institutionId: 'JCJ-JYZ', institutionName: '金城江区机动车检测站' });
  });

  it('re-sending a batch stores nothing twice and raises no second warning', async () => {
    const s = collectorSocket();
    await connected(s);
    // 95-second check of a small car: one warning (check.short_duration).
    const short = checkTxn(10, { endedAt: checkTxn(10).startedAt! + 95_000 });
    const b = batch([short, checkTxn(11)], 10);
    const first: BatchAck = await s.timeout(30_000).emitWithAck('batch.submit', b);
    const second: BatchAck = await s.timeout(30_000).emitWithAck('batch.submit', b);
    // A different batching of the same records (as after a collector restart) also dedups.
    const third: BatchAck = await s.timeout(30_000).emitWithAck('batch.submit', batch([short], 10));
    expect([first.ok, second.ok, third.ok]).toEqual([true, true, true]);
    if (first.ok) expect(first.warnings).toBe(1);

    const [t] = await hub.store.query<{ n: string; u: string }>(
      sql`SELECT count() AS n, uniqExact(id) AS u FROM transactions FINAL WHERE id IN (${param.String(short.id)}, ${param.String(checkTxn(11).id)})`,
    );
    expect(Number(t!.n)).toBe(2);
    expect(Number(t!.u)).toBe(2);
    const w = await hub.store.query<{ rule_id: string; explanation: string }>(
      sql`SELECT rule_id, explanation FROM warnings FINAL WHERE transaction_id = ${param.String(short.id)}`,
    );
    expect(w.map((x) => x.rule_id)).toEqual(['check.short_duration']);
    expect(w[0]!.explanation).toContain('95');
    expect(w[0]!.explanation).toContain('180');
  });

  it('a batch id used again for other records stores those records, not the earlier batch\'s answer', async () => {
    const s = collectorSocket();
    await connected(s);
    const a = batch([checkTxn(60)], 60);
    // The same id for the next records (a collector whose numbering restarted, or a careless one).
    const b = { ...batch([checkTxn(61), checkTxn(62)], 61), batchId: a.batchId };
    const first: BatchAck = await s.timeout(30_000).emitWithAck('batch.submit', a);
    const second: BatchAck = await s.timeout(30_000).emitWithAck('batch.submit', b);
    expect(first).toMatchObject({ ok: true, stored: 1 });
    expect(second).toMatchObject({ ok: true, stored: 2 });
    const ids = [60, 61, 62].map((n) => checkTxn(n).id);
    const rows = await hub.store.query<{ id: string }>(sql`SELECT id FROM transactions FINAL WHERE id IN (${param.String(ids[0]!)}, ${param.String(ids[1]!)}, ${param.String(ids[2]!)}) ORDER BY id`);
    expect(rows.map((r) => r.id)).toEqual([...ids].sort());
  });

  it('draws a share of an institution under closer checks for verification, only within the term filed', async () => {
    // 加强抽查 filed for November 2026 (past allowed): the records of the 25th fall in it.
    const [registry, registry2] = [await login(hub, 'registry'), await login(hub, 'registry2')];
    const station = hub.registry.institution(TEST_COLLECTOR.institutionId)!;
    const filed = await hub.app.inject(withToken(registry, { method: 'POST', url: '/api/v1/registry/requests', payload: { summary: '2026年第3季度考核 C 级：书面警示，加强抽查', effectiveFrom: '2026-11-01T00:00:00+08:00', effectiveTo: '2026-12-01T00:00:00+08:00', items: [{ entity: 'institution', data: { ...station, closerChecks: true } }] } }));
    expect(filed.statusCode, filed.body).toBe(201);
    expect((await hub.app.inject(withToken(registry2, { method: 'POST', url: `/api/v1/registry/requests/${filed.json().id}/approve`, payload: {} }))).statusCode).toBe(200);
    const s = collectorSocket();
    await connected(s);
    const within = Array.from({ length: 60 }, (_, i) => checkTxn(500 + i));
    // The same business a week after the term.
    const after = Array.from({ length: 60 }, (_, i) => checkTxn(560 + i, { occurredAt: checkTxn(560 + i).occurredAt + 7 * 86_400_000, startedAt: checkTxn(560 + i).startedAt! + 7 * 86_400_000, endedAt: checkTxn(560 + i).endedAt! + 7 * 86_400_000 }));
    const ack: BatchAck = await s.timeout(30_000).emitWithAck('batch.submit', batch([...within, ...after], 500));
    expect(ack.ok, JSON.stringify(ack)).toBe(true);
    const drawn = await hub.store.query<{ transaction_id: string; explanation: string }>(
      sql`SELECT transaction_id, explanation FROM warnings FINAL WHERE rule_id = 'counter.spot_check' AND transaction_id IN ${param.ArrayString([...within, ...after].map((t) => t.id))}`,
    );
    const ids = new Set(drawn.map((d) => d.transaction_id));
    // About one in ten within the term (10 % by default), none after it.
    expect(ids.size).toBeGreaterThan(0);
    expect(ids.size).toBeLessThan(20);
    expect(after.filter((t) => ids.has(t.id))).toEqual([]);
    expect(drawn[0]!.explanation).toBe(`机构${station.name}处于加强抽查期，本笔业务按10%的比例被抽中核查`);
  });

  it('rejects a batch claiming another collector without touching the store', async () => {
    const s = collectorSocket();
    await connected(s);
    const b = { ...batch([checkTxn(20)], 20), collectorId: 'someone-else' };
    const ack: BatchAck = await s.timeout(10_000).emitWithAck('batch.submit', b);
    expect(ack).toMatchObject({ ok: false, code: 'COLLECTOR_MISMATCH', retryable: false });
    const rows = await hub.store.query(sql`SELECT id FROM transactions FINAL WHERE id = ${param.String(checkTxn(20).id)}`);
    expect(rows).toHaveLength(0);
  });

  it('takes the records as bytes (recordsJson): the same rows, dead letters and acknowledgement as the array form', async () => {
    const s = collectorSocket();
    await connected(s);
    const good = checkTxn(40, { lsh: '桂M流水040' });
    const bad = { ...checkTxn(41), capturedAt: 'yesterday' };
    const { records, ...envelope } = batch([good, bad, checkTxn(42)], 40);
    const ack: BatchAck = await s.timeout(30_000).emitWithAck('batch.submit', { ...envelope, recordsJson: Buffer.from(JSON.stringify(records), 'utf8') });
    expect(ack).toMatchObject({ ok: true, stored: 2, rejected: [{ index: 1, code: 'RECORD_INVALID' }] });
    const rows = await hub.store.query<{ id: string; lsh: string }>(sql`SELECT id, lsh FROM transactions FINAL WHERE id IN (${param.String(good.id)}, ${param.String(checkTxn(42).id)}) ORDER BY id`);
    expect(rows).toEqual([
      { id: good.id, lsh: '桂M流水040' },
      { id: checkTxn(42).id, lsh: checkTxn(42).lsh ?? '' },
    ]);
    const [dl] = await hub.store.query<{ payload: string }>(sql`SELECT payload FROM dead_letters FINAL WHERE record_key = ${param.String(`${envelope.batchId}#1`)}`);
    expect(JSON.parse(dl!.payload)).toMatchObject({ id: bad.id, capturedAt: 'yesterday' });
  });

  it('refuses records as bytes that are not a JSON array of 1–5,000 records, or a batch with both forms, with BATCH_INVALID and a reason', async () => {
    const s = collectorSocket();
    await connected(s);
    const { records, ...envelope } = batch([checkTxn(50)], 50);
    const cases: [unknown, RegExp][] = [
      [Buffer.from('not json'), /recordsJson: not UTF-8 JSON/],
      [Buffer.from([0x5b, 0xff, 0xfe, 0x5d]), /recordsJson: not UTF-8 JSON/],
      [Buffer.from('{"id":"x"}'), /recordsJson: expected a JSON array/],
      [Buffer.from('[]'), /recordsJson: 0 records/],
      [Buffer.from(JSON.stringify(Array.from({ length: 5001 }, () => 1))), /recordsJson: 5001 records/],
      ['[{"id":"x"}]', /recordsJson: expected bytes/],
      [{ length: 3 }, /recordsJson: expected bytes/],
    ];
    for (const [recordsJson, reason] of cases) {
      const ack: BatchAck = await s.timeout(10_000).emitWithAck('batch.submit', { ...envelope, recordsJson });
      expect(ack, String(reason)).toMatchObject({ ok: false, code: 'BATCH_INVALID', retryable: false });
      if (!ack.ok) expect(ack.message, String(reason)).toMatch(reason);
    }
    const both: BatchAck = await s.timeout(10_000).emitWithAck('batch.submit', { ...envelope, records, recordsJson: Buffer.from(JSON.stringify(records)) });
    expect(both).toMatchObject({ ok: false, code: 'BATCH_INVALID' });
    if (!both.ok) expect(both.message).toMatch(/exactly one of records and recordsJson/);
    const neither: BatchAck = await s.timeout(10_000).emitWithAck('batch.submit', envelope);
    expect(neither).toMatchObject({ ok: false, code: 'BATCH_INVALID' });
    // Nothing of it was stored, and the connection still works.
    expect(await hub.store.query(sql`SELECT id FROM transactions WHERE id = ${param.String(checkTxn(50).id)}`)).toHaveLength(0);
    const ok: BatchAck = await s.timeout(30_000).emitWithAck('batch.submit', { ...envelope, recordsJson: Buffer.from(JSON.stringify(records)) });
    expect(ok).toMatchObject({ ok: true, stored: 1 });
  });

  it('answers a malformed envelope with BATCH_INVALID', async () => {
    const s = collectorSocket();
    await connected(s);
    const ack: BatchAck = await s.timeout(10_000).emitWithAck('batch.submit', { batchId: 'x', records: 'nope' });
    expect(ack).toMatchObject({ ok: false, code: 'BATCH_INVALID' });
  });
});

describe('wall', () => {
  it('sends a snapshot, then live warnings with masked subjects and Chinese rule names', async () => {
    const wall = connect(`${hub.url}/wall`, { transports: ['websocket'], forceNew: true });
    sockets.push(wall);
    const snapshot = await new Promise<WallSnapshot>((resolve) => wall.once('wall.snapshot', resolve));
    expect(snapshot.counties).toHaveLength(11);
    expect(snapshot.institutionsList.length).toBeGreaterThanOrEqual(11);
    expect(snapshot.kpis.transactions).toBeGreaterThan(0);
    // Workflow KPIs, collector health, pipeline lag and the score ranking travel with the stats.
    expect(snapshot.kpis.concludedToday).toBeGreaterThanOrEqual(0);
    expect(snapshot.kpis.concludedOnTime).toBeLessThanOrEqual(snapshot.kpis.concludedToday!);
    expect(snapshot.kpis.overdue).toBeGreaterThanOrEqual(0);
    expect(snapshot.kpis.pipelineLagP95Ms === null || snapshot.kpis.pipelineLagP95Ms! >= 0).toBe(true);
    expect(snapshot.collectorHealth).toMatchObject({ silent: expect.any(Number), gap: expect.any(Number), tamper: expect.any(Number) });
    expect(Array.isArray(snapshot.collectorHealth!.latest)).toBe(true);
    expect(Array.isArray(snapshot.scoreRanking)).toBe(true);
    expect(snapshot.scoreMonth).toMatch(/^\d{4}-\d{2}$/);

    // Earlier tests' warnings may still be in flight: wait for the one this test causes.
    const unfiled = checkTxn(30, { staffId: 'JCJ-JYZ-X99' });
    const live = new Promise<WallWarning>((resolve) => {
      const onBatch = (batch: WallWarning[]) => {
        const hit = batch.find((x) => x.transactionId === unfiled.id);
        if (hit) {
          wall.off('warning.raised', onBatch);
          resolve(hit);
        }
      };
      wall.on('warning.raised', onBatch);
    });
    const s = collectorSocket();
    await connected(s);
    const ack: BatchAck = await s.timeout(30_000).emitWithAck('batch.submit', batch([unfiled], 30));
    expect(ack.ok).toBe(true);
    const w = await live;
    expect(w!.ruleId).toBe('check.inspector_unfiled');
    expect(w!.action).toBe('hold');
    expect(w!.ruleName).toMatch(/[\u4e00-\u9fa5]/);
    expect(w!.institutionName).toBe('金城江区机动车检测站');
    expect(w!.countyName).toBe('金城江区');
    // 2 + 2 digits shown (docs/security.md), whatever form the collector sent.
    expect(w!.subjectMasked).toMatch(/^\d{2}\*+\d[\dX]$/);
  });
});

describe('REST', () => {
  it('reports health with the documented fields', async () => {
    const res = await hub.app.inject({ method: 'GET', url: '/healthz' });
    expect(res.statusCode).toBe(200);
    const h = res.json();
    expect(h).toMatchObject({ status: 'ok', store: { driver: 'chdb', status: 'ok' } });
    for (const k of ['transactions_stored', 'warnings_raised', 'dead_letters', 'collectors_connected', 'queue_waiting']) {
      expect(typeof h[k]).toBe('number');
    }
    expect(h.transactions_stored).toBeGreaterThanOrEqual(4);
    expect(h.dead_letters).toBe(4); // three from the first batch, one from the batch sent as bytes
    // Rule state held by the evaluation thread (the default), restored and holding the batches' keys.
    expect(h.rule_state).toMatchObject({ mode: 'local', state: 'ready', generation: 0 });
    expect(h.rule_state.keys).toBeGreaterThan(0);
    expect(h.rule_state.log_bytes).toBeGreaterThan(0);
  });

  it('refuses the warnings API without a login, with AUTH_REQUIRED', async () => {
    for (const url of ['/api/v1/warnings', '/api/v1/warnings.csv', '/api/v1/dead-letters', '/api/v1/institutions', '/api/v1/rules']) {
      const res = await hub.app.inject({ method: 'GET', url });
      expect(res.statusCode, url).toBe(401);
      expect(res.json().error.code, url).toBe('AUTH_REQUIRED');
    }
  });

  it('exports warnings as Excel-ready CSV with Chinese headers', async () => {
    const token = await login(hub, 'leader');
    const res = await hub.app.inject(withToken(token, { url: '/api/v1/warnings.csv' }));
    expect(res.statusCode).toBe(200);
    expect(res.headers['content-type']).toMatch(/text\/csv/);
    const body = res.body;
    expect(body.charCodeAt(0)).toBe(0xfeff);
    const lines = body.slice(1).trimEnd().split('\r\n');
    expect(lines[0]!.split(',').slice(0, 3)).toEqual(['预警编号', '规则编号', '规则名称']);
    expect(lines.length).toBeGreaterThanOrEqual(3);
    expect(body).toContain('查验');
  });

  it('validates query parameters with a coded error', async () => {
    const token = await login(hub, 'auditor');
    const res = await hub.app.inject(withToken(token, { url: '/api/v1/warnings?limit=abc' }));
    expect(res.statusCode).toBe(400);
    expect(res.json().error.code).toBe('QUERY_INVALID');
  });

  it('answers 204 for county boundaries when none is configured (the wall draws its schematic)', async () => {
    const res = await hub.app.inject({ method: 'GET', url: '/api/v1/geo/counties' });
    expect(res.statusCode).toBe(204);
  });
});
