/**
 * The synchronous hold path (实时干预) on a real hub: POST /api/v1/decisions and the collector
 * socket's `decision.request`. Holds with Chinese reasons, allows a clean record, never writes
 * rule state (Redis keys byte-for-byte unchanged) yet reads it (a photo already claimed by an
 * ingested record holds a later request), logs every decision, refuses bad credentials.
 */
import { EventEmitter } from 'node:events';
import { Redis } from 'ioredis';
import { io as connect, type Socket } from 'socket.io-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Transaction } from '@jianguan/rules';
import type { Hub } from '../src/app.js';
import { queryAudit } from '../src/auth/audit.js';
import type { DecisionAck } from '../src/protocol/index.js';
import { decisionSocketHook } from '../src/decisions/routes.js';
import type { CollectSocket } from '../src/sockets.js';
import { param, sql } from '../src/store/sql.js';
import { checkTxn, login, startTestHub, TEST_COLLECTOR, testRedisUrl, withToken } from './helpers.js';

let hub: Hub;
let redis: Redis;
const sockets: Socket[] = [];
const COLLECTOR_AUTH = `Collector ${TEST_COLLECTOR.collectorId}:${TEST_COLLECTOR.token}`;
const PHOTO = 'a1'.repeat(32);

function decide(txn: unknown, authorization = COLLECTOR_AUTH, headers: Record<string, string> = {}) {
  return hub.app.inject({ method: 'POST', url: '/api/v1/decisions', payload: txn as object, headers: { authorization, ...headers } });
}

/**
 * Every rule-state key of this hub with its serialised value (DUMP), for before/after comparison:
 * the Lua states' keys (JG_RULE_STATE=redis) and the local state's snapshot and log (local, the
 * default: a write to the state is an entry appended to the log).
 */
async function stateSnapshot(): Promise<Map<string, string>> {
  const prefix = hub.config.queuePrefix;
  const out = new Map<string, string>();
  for (const kind of ['rs', 'iv', 'ive', 'ivm', 'fp', 'fpa', 'fpn', 'sq', 'sqa', 'sqz', 'sqn', 'rsl:log', 'rsl:snap']) {
    for (const key of await redis.keys(`${prefix}:${kind}:*`)) out.set(key, ((await redis.dumpBuffer(key)) ?? Buffer.alloc(0)).toString('hex'));
  }
  return out;
}

beforeAll(async () => {
  ({ hub } = await startTestHub({ decisionFlushMs: 20 }));
  redis = new Redis(testRedisUrl());
});

afterAll(async () => {
  for (const s of sockets) s.close();
  await redis?.quit();
  await hub?.close();
});

describe('POST /api/v1/decisions', () => {
  it('holds a check by an inspector whose filing expired, with the reason in Chinese', async () => {
    const res = await decide(checkTxn(101, { staffId: 'JCJ-JYZ-I90' }), COLLECTOR_AUTH, { 'x-request-id': 'req-expired' });
    expect(res.statusCode, res.body).toBe(200);
    const body = res.json();
    expect(body).toMatchObject({ ok: true, requestId: 'req-expired', decision: 'hold', postCheck: true, ruleSetVersion: hub.rulesets.versionAt() });
    expect(body.reasons).toEqual([
      expect.objectContaining({ ruleId: 'check.inspector_unfiled', ruleName: '查验员未备案或备案过期', severity: 'high', explanation: '查验员莫桂芳（JCJ-JYZ-I90）备案已于2025-06-30过期' }),
    ]);
    // Its own evaluation time, reported (how fast it is is the bench's hold row, not a test's:
    // a garbage collection on a busy machine is not a defect).
    expect(body.ms).toBeGreaterThanOrEqual(0);
    expect(body.ms).toBeLessThan(1_000);

    const unfiled = (await decide(checkTxn(102, { staffId: 'JCJ-JYZ-I77' }))).json();
    expect(unfiled.decision).toBe('hold');
    expect(unfiled.reasons[0].explanation).toBe('查验员JCJ-JYZ-I77未备案');
  });

  it('allows a clean record', async () => {
    const res = await decide(checkTxn(103));
    expect(res.statusCode, res.body).toBe(200);
    expect(res.json()).toMatchObject({ decision: 'allow', reasons: [], postCheck: false });
  });

  it('reads rule state but never writes it', async () => {
    const before = await stateSnapshot();
    // Stateful hold rules: photo reuse (fingerprint) and one account on two terminals (interval),
    // plus the window rules a check record touches.
    const a = checkTxn(201, { evidence: [PHOTO] });
    const b = checkTxn(202, { evidence: [PHOTO], vehicle: { hpzl: '02', hphm: '桂M20202', vin: 'LSVAA4182E2202020' } });
    for (const t of [a, b, a, b]) expect((await decide(t)).json().decision).toBe('allow');
    expect(await stateSnapshot()).toEqual(before);

    // Once record a is ingested (and recorded in state), a request for b is held: the peek reads it.
    const res = await hub.queue.submit({ batchId: `${TEST_COLLECTOR.collectorId}:201-201`, collectorId: TEST_COLLECTOR.collectorId, receivedAt: Date.now(), records: [a] }, 30_000);
    expect(res.stored).toBe(1);
    const afterIngest = await stateSnapshot();
    expect(afterIngest).not.toEqual(before);
    const held = (await decide(b)).json();
    expect(held.decision).toBe('hold');
    expect(held.reasons.map((r: { ruleId: string }) => r.ruleId)).toEqual(['check.photo_reuse']);
    expect(held.reasons[0].explanation).toContain('疑似套用照片');
    // Asking again answers the same, and still nothing was written.
    expect((await decide(b)).json().reasons).toEqual(held.reasons);
    expect(await stateSnapshot()).toEqual(afterIngest);
    // The decision's record is not business: only a was stored.
    const [n] = await hub.store.query<{ n: string }>(sql`SELECT count() AS n FROM transactions FINAL WHERE id = ${param.String(b.id)}`);
    expect(Number(n!.n)).toBe(0);
  });

  it('refuses callers without valid credentials, and records of another collector', async () => {
    const none = await hub.app.inject({ method: 'POST', url: '/api/v1/decisions', payload: checkTxn(301) });
    expect([none.statusCode, none.json().error.code]).toEqual([401, 'AUTH_REQUIRED']);
    const wrong = await decide(checkTxn(302), `Collector ${TEST_COLLECTOR.collectorId}:wrong-token-0123456789`);
    expect([wrong.statusCode, wrong.json().error.code]).toEqual([401, 'AUTH_FAILED']);
    const unknown = await decide(checkTxn(303), `Collector nobody:${TEST_COLLECTOR.token}`);
    expect([unknown.statusCode, unknown.json().error.code]).toEqual([401, 'AUTH_FAILED']);
    const foreign = await decide(checkTxn(304, { collectorId: 'someone-else', id: 'someone-else:304' }));
    expect([foreign.statusCode, foreign.json().error.code]).toEqual([400, 'COLLECTOR_MISMATCH']);
    const invalid = await decide({ ...checkTxn(305), occurredAt: 'yesterday' });
    expect([invalid.statusCode, invalid.json().error.code]).toEqual([400, 'DECISION_INVALID']);
    // The message names the field at fault, within the transaction.
    expect(invalid.json().error.message).toMatch(/occurredAt: .*expected number/);
  });

  it('answers a logged-in system administrator, and no other role', async () => {
    const token = await login(hub, 'admin');
    const res = await hub.app.inject(withToken(token, { method: 'POST', url: '/api/v1/decisions', payload: checkTxn(401, { staffId: 'JCJ-JYZ-I90' }) }));
    expect(res.statusCode, res.body).toBe(200);
    expect(res.json().decision).toBe('hold');
    const leader = await login(hub, 'leader');
    const refused = await hub.app.inject(withToken(leader, { method: 'POST', url: '/api/v1/decisions', payload: checkTxn(402) }));
    expect([refused.statusCode, refused.json().error.code]).toEqual([403, 'FORBIDDEN']);
  });
});

describe('decision.request over the collector socket', () => {
  it('answers allow / hold with reasons through the acknowledgement', async () => {
    const s = connect(`${hub.url}/collect`, { auth: { collectorId: TEST_COLLECTOR.collectorId, token: TEST_COLLECTOR.token }, transports: ['websocket'], reconnection: false, forceNew: true });
    sockets.push(s);
    await new Promise<void>((resolve, reject) => {
      s.once('connect', () => resolve());
      s.once('connect_error', reject);
    });
    const ask = (requestId: string, transaction: Transaction | object): Promise<DecisionAck> => s.timeout(10_000).emitWithAck('decision.request', { requestId, transaction });

    const hold = await ask(`${TEST_COLLECTOR.collectorId}:d:1`, checkTxn(501, { staffId: 'JCJ-JYZ-I90' }));
    expect(hold).toMatchObject({ ok: true, requestId: `${TEST_COLLECTOR.collectorId}:d:1`, decision: 'hold', ruleSetVersion: hub.rulesets.versionAt() });
    if (hold.ok) expect(hold.reasons[0]).toMatchObject({ ruleId: 'check.inspector_unfiled', explanation: '查验员莫桂芳（JCJ-JYZ-I90）备案已于2025-06-30过期' });

    expect(await ask('r2', checkTxn(502))).toMatchObject({ ok: true, requestId: 'r2', decision: 'allow', reasons: [] });
    expect(await ask('r3', checkTxn(503, { collectorId: 'someone-else', id: 'someone-else:503' }))).toMatchObject({ ok: false, requestId: 'r3', code: 'COLLECTOR_MISMATCH' });
    expect(await ask('r4', { nope: true })).toMatchObject({ ok: false, requestId: 'r4', code: 'DECISION_INVALID' });
    const wrongTime = await ask('r5', { ...checkTxn(504), occurredAt: 'yesterday' });
    expect(wrongTime).toMatchObject({ ok: false, requestId: 'r5', code: 'DECISION_INVALID' });
    expect(!wrongTime.ok && wrongTime.message).toMatch(/occurredAt: .*expected number/);
  });
});

describe('the decision log', () => {
  it('records every decision with its reasons, readable by rule administrators and leaders', async () => {
    await hub.decisions.flush();
    const token = await login(hub, 'rules');
    const res = await hub.app.inject(withToken(token, { url: '/api/v1/decisions?limit=100' }));
    expect(res.statusCode, res.body).toBe(200);
    const items = res.json().items as { requestId: string; decision: string; channel: string; requestedBy: string; reasons: { ruleId: string }[] }[];
    // 2 + 1 + 4 + 2 + 1 (http) + 2 (socket) answered decisions; refused ones are not decisions.
    expect(items.length).toBe(12);
    expect(items.find((i) => i.requestId === 'req-expired')).toMatchObject({ decision: 'hold', channel: 'http', requestedBy: `collector:${TEST_COLLECTOR.collectorId}`, reasons: [{ ruleId: 'check.inspector_unfiled' }] });
    expect(items.filter((i) => i.channel === 'socket').length).toBe(2);
    expect(items.some((i) => i.requestedBy === 'admin')).toBe(true);
    const holds = await hub.app.inject(withToken(token, { url: '/api/v1/decisions?decision=hold' }));
    expect(holds.json().items.every((i: { decision: string }) => i.decision === 'hold')).toBe(true);
  });
});

describe('the audit of socket decisions', () => {
  it('audits each decision.request, answered or refused, with the collector, the record and the outcome', async () => {
    const s = connect(`${hub.url}/collect`, { auth: { collectorId: TEST_COLLECTOR.collectorId, token: TEST_COLLECTOR.token }, transports: ['websocket'], reconnection: false, forceNew: true });
    sockets.push(s);
    await new Promise<void>((resolve, reject) => {
      s.once('connect', () => resolve());
      s.once('connect_error', reject);
    });
    const ask = (requestId: string, transaction: Transaction): Promise<DecisionAck> => s.timeout(10_000).emitWithAck('decision.request', { requestId, transaction });
    const allowed = checkTxn(601);
    expect(await ask('audit-ok', allowed)).toMatchObject({ ok: true, requestId: 'audit-ok', decision: 'allow' });
    // Business of another institution: this collector may not ask about it.
    const foreign = checkTxn(602, { institutionId: 'YZ-JYZ' });
    expect(await ask('audit-denied', foreign)).toMatchObject({ ok: false, requestId: 'audit-denied', code: 'FORBIDDEN' });

    // Answered at once, audited by the spaced writer: poll until both rows are stored.
    const rows = async () => (await queryAudit(hub.store, { limit: 100, offset: 0, action: 'decision.request', actor: `collector:${TEST_COLLECTOR.collectorId}` })).items.filter((a) => a.method === 'WS');
    const requestIdOf = (a: { detail: string }) => (JSON.parse(a.detail) as { requestId?: string }).requestId;
    await expect.poll(async () => (await rows()).filter((a) => requestIdOf(a)?.startsWith('audit-')).length, { timeout: 5_000, interval: 100 }).toBe(2);
    const byRequest = new Map((await rows()).map((a) => [requestIdOf(a), a]));
    expect(byRequest.get('audit-ok')).toMatchObject({ path: '/collect decision.request', result: 'ok', status: 200, targetType: 'transaction', targetId: allowed.id });
    expect(JSON.parse(byRequest.get('audit-ok')!.detail)).toEqual({ decision: 'allow', requestId: 'audit-ok' });
    expect(byRequest.get('audit-denied')).toMatchObject({ path: '/collect decision.request', result: 'denied', status: 403, targetId: '' });
    expect(JSON.parse(byRequest.get('audit-denied')!.detail)).toEqual({ code: 'FORBIDDEN', requestId: 'audit-denied' });
  });
});

describe('decision.request acknowledgements', () => {
  it('an acknowledgement callback that throws stays inside the handler, as on batch.submit', async () => {
    // socket.io's own callbacks do not throw; the handler must not depend on it (safeAck).
    const socket = Object.assign(new EventEmitter(), { data: {}, handshake: { address: '10.0.0.1' } }) as unknown as CollectSocket;
    const audited: string[] = [];
    decisionSocketHook({ decisions: hub.decisions, collectors: hub.collectors, audit: (e) => audited.push(`${e.result}:${e.status}`) }).onSocket!(socket);
    let called = 0;
    const ack = () => {
      called++;
      throw new Error('client callback failed');
    };
    // Not an authenticated socket: refused synchronously, inside the emit.
    expect(() => (socket as unknown as EventEmitter).emit('decision.request', { requestId: 'x', transaction: checkTxn(701) }, ack)).not.toThrow();
    expect(called).toBe(1);
    expect(audited).toEqual(['denied:401']);
  });
});
