/**
 * Collector security against a real hub (socket.io, BullMQ on real Redis, chDB): keys of static
 * collectors bound by an administrator (in the credential file or by approval — never by first
 * use), signed and chained batches, tamper / gap / silence warnings (stored,
 * deduplicated, on the wall), enrolment with held batches released in order on approval,
 * revocation, and the REST enrolment.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { io as connect, type Socket } from 'socket.io-client';
import { createWorkCalendar, type Transaction } from '@jianguan/rules';
import type { Hub } from '../src/app.js';
import { canonicalAuthProof, type Batch, type BatchAck, type CollectorInfo, type WallWarning } from '../src/protocol/index.js';
import { param, sql } from '../src/store/sql.js';
import { keyAuth, newKey, sealBatch, TestChain, type TestKey } from './collector-signing.js';
import { checkTxn, startTestHub, TEST_COLLECTOR, workingMorningAfter } from './helpers.js';

const INSTITUTION = 'JCJ-JYZ';
const STATIC = { collectorId: 'c-static-02', institutionId: INSTITUTION, token: 'static-token-0123456789abcdef' };
const STATIC_GAP = { collectorId: 'c-static-gap', institutionId: INSTITUTION, token: 'static-token-gap-0123456789' };
const STATIC_TAMPER = { collectorId: 'c-static-tamper', institutionId: INSTITUTION, token: 'static-token-tamper-012345' };
/** Keys the administrator wrote into the credentials of the gap and tamper collectors. */
const GAP_KEY = newKey();
const TAMPER_KEY = newKey();

let hub: Hub;
let wall: Socket;
const wallWarnings: WallWarning[] = [];
const sockets: Socket[] = [];

function txn(collectorId: string, seq: number, over: Partial<Transaction> = {}): Transaction {
  return checkTxn(seq, { id: `${collectorId}:${seq}`, collectorId, institutionId: INSTITUTION, ...over });
}

function open(auth: Record<string, unknown>): Socket {
  const s = connect(`${hub.url}/collect`, { auth, transports: ['websocket'], reconnection: false, forceNew: true });
  sockets.push(s);
  return s;
}

/** Connects and resolves with hub.hello, or rejects with the handshake error code. */
function hello(s: Socket): Promise<{ status?: string; chain?: { batchSeq: number; hash: string } | null; institutionId: string }> {
  return new Promise((resolve, reject) => {
    s.once('hub.hello', resolve);
    s.once('connect_error', (e: Error & { data?: { code?: string } }) => reject(Object.assign(new Error(e.message), { code: e.data?.code })));
  });
}

async function refused(auth: Record<string, unknown>): Promise<string | undefined> {
  const s = open(auth);
  try {
    await hello(s);
    return undefined;
  } catch (e) {
    return (e as { code?: string }).code;
  }
}

const submit = (s: Socket, b: unknown): Promise<BatchAck> => s.timeout(30_000).emitWithAck('batch.submit', b);

async function storedIds(prefix: string): Promise<string[]> {
  const rows = await hub.store.query<{ id: string }>(sql`SELECT id FROM transactions FINAL WHERE startsWith(id, ${param.String(prefix)}) ORDER BY seq`);
  return rows.map((r) => r.id);
}

async function warningsOf(collectorId: string, ruleId: string) {
  return hub.store.query<{ id: string; explanation: string; family: string; rule_name: string; values_json: string; transaction_id: string }>(
    sql`SELECT id, explanation, family, rule_name, values_json, transaction_id FROM warnings FINAL
        WHERE collector_id = ${param.String(collectorId)} AND rule_id = ${param.String(ruleId)} ORDER BY raised_at`,
  );
}

async function waitFor(cond: () => Promise<boolean> | boolean, ms = 15_000, what = 'condition'): Promise<void> {
  const until = Date.now() + ms;
  while (!(await cond())) {
    if (Date.now() > until) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** Admin requests: with a session once hub/src/auth guards the routes, plain before that. */
async function adminHeaders(): Promise<Record<string, string>> {
  const probe = await hub.app.inject({ method: 'GET', url: '/api/v1/collectors' });
  if (probe.statusCode !== 401) return {};
  const login = await hub.app.inject({ method: 'POST', url: '/api/v1/auth/login', payload: { username: 'admin', password: 'jianguan-demo' } });
  return { authorization: `Bearer ${(login.json() as { token: string }).token}` };
}

async function listCollectors(): Promise<CollectorInfo[]> {
  const res = await hub.app.inject({ method: 'GET', url: '/api/v1/collectors', headers: await adminHeaders() });
  expect(res.statusCode).toBe(200);
  return (res.json() as { items: CollectorInfo[] }).items;
}

beforeAll(async () => {
  ({ hub } = await startTestHub({
    collectors: [TEST_COLLECTOR, STATIC, { ...STATIC_GAP, publicKey: GAP_KEY.publicKey }, { ...STATIC_TAMPER, publicKey: TAMPER_KEY.publicKey }],
  }));
  wall = connect(`${hub.url}/wall`, { transports: ['websocket'], forceNew: true });
  wall.on('warning.raised', (batch: WallWarning[]) => wallWarnings.push(...batch));
  await new Promise<void>((resolve) => wall.once('wall.snapshot', () => resolve()));
});

afterAll(async () => {
  for (const s of sockets) s.close();
  wall?.close();
  await hub?.close();
});

describe('static collectors: a key is bound by an administrator, never by first use', () => {
  let key: TestKey;

  it('files the first key presented with the token as pending; only its approval binds it; the token alone or another key is refused', async () => {
    key = newKey();
    const h = await hello(open(keyAuth(STATIC.collectorId, key, { token: STATIC.token })));
    expect(h).toMatchObject({ status: 'pending', chain: null, institutionId: INSTITUTION });
    const info = (await listCollectors()).find((c) => c.collectorId === STATIC.collectorId)!;
    expect(info).toMatchObject({ origin: 'static', status: 'pending', connected: true });
    expect(info.keyFingerprint).toMatch(/^[0-9a-f]{16}$/);
    // The administrator approves the fingerprint the device shows, and no other.
    const wrong = await hub.app.inject({ method: 'POST', url: `/api/v1/collectors/${STATIC.collectorId}/approve`, headers: await adminHeaders(), payload: { keyFingerprint: '0123456789abcdef' } });
    expect(wrong.json().error.code).toBe('COLLECTOR_KEY_MISMATCH');
    const ok = await hub.app.inject({ method: 'POST', url: `/api/v1/collectors/${STATIC.collectorId}/approve`, headers: await adminHeaders(), payload: { keyFingerprint: info.keyFingerprint } });
    expect(ok.statusCode, ok.body).toBe(200);
    expect(await hello(open(keyAuth(STATIC.collectorId, key, { token: STATIC.token })))).toMatchObject({ status: 'approved' });

    expect(await refused({ collectorId: STATIC.collectorId, token: STATIC.token })).toBe('COLLECTOR_KEY_MISMATCH');
    expect(await refused(keyAuth(STATIC.collectorId, newKey(), { token: STATIC.token }))).toBe('COLLECTOR_KEY_MISMATCH');
    expect(await refused(keyAuth(STATIC.collectorId, key, { token: 'wrong-token-0123456789abc' }))).toBe('AUTH_FAILED');
    // A stale or forged proof is no proof.
    const ts = Date.now() - 10 * 60_000;
    expect(await refused({ collectorId: STATIC.collectorId, token: STATIC.token, publicKey: key.publicKey, ts, proof: key.sign(canonicalAuthProof(STATIC.collectorId, key.publicKey, ts)) })).toBe('AUTH_FAILED');
    expect(await refused({ ...keyAuth(STATIC.collectorId, key, { token: STATIC.token }), proof: newKey().sign('x') })).toBe('AUTH_FAILED');
  });

  it('accepts signed, chained batches; a re-send is acknowledged again without duplicates; hello carries the tip', async () => {
    const s = open(keyAuth(STATIC.collectorId, key, { token: STATIC.token }));
    await hello(s);
    const chain = new TestChain(key, STATIC.collectorId);
    const b1 = chain.next([txn(STATIC.collectorId, 1), txn(STATIC.collectorId, 2)]);
    const b2 = chain.next([txn(STATIC.collectorId, 3)]);
    expect(await submit(s, b1)).toMatchObject({ ok: true, stored: 2 });
    expect(await submit(s, b2)).toMatchObject({ ok: true, stored: 1 });
    expect(await submit(s, b2)).toMatchObject({ ok: true, stored: 1 });
    expect(await storedIds(`${STATIC.collectorId}:`)).toEqual([1, 2, 3].map((n) => `${STATIC.collectorId}:${n}`));

    const again = await hello(open(keyAuth(STATIC.collectorId, key, { token: STATIC.token })));
    expect(again.chain).toEqual({ batchSeq: 2, hash: chain.hash });
    expect((await listCollectors()).find((c) => c.collectorId === STATIC.collectorId)!.lastBatchSeq).toBe(2);

    // An unsigned batch from a collector with a key is refused.
    const unsigned = { ...b2, batchSeq: undefined, prevHash: undefined, signature: undefined, recordsDigest: undefined };
    expect(await submit(s, unsigned)).toMatchObject({ ok: false, code: 'BATCH_SIGNATURE_INVALID', retryable: false });
  });
});

describe('tamper evidence', () => {
  it('refuses an edited batch with BATCH_SIGNATURE_INVALID, stores nothing, raises collector.tamper once and shows it on the wall', async () => {
    const key = TAMPER_KEY;
    const s = open(keyAuth(STATIC_TAMPER.collectorId, key, { token: STATIC_TAMPER.token }));
    await hello(s);
    const chain = new TestChain(key, STATIC_TAMPER.collectorId);
    const sealed = chain.next([txn(STATIC_TAMPER.collectorId, 1), txn(STATIC_TAMPER.collectorId, 2)]);
    // Someone shortens the check duration after the batch was signed.
    const edited: Batch = JSON.parse(JSON.stringify(sealed));
    (edited.records[1] as Transaction).endedAt = (edited.records[1] as Transaction).startedAt! + 400_000 + 1;
    const ack = await submit(s, edited);
    expect(ack).toMatchObject({ ok: false, code: 'BATCH_SIGNATURE_INVALID', retryable: false });
    // The same forged batch again: refused again, but the finding is not duplicated.
    expect(await submit(s, edited)).toMatchObject({ ok: false, code: 'BATCH_SIGNATURE_INVALID' });
    expect(await storedIds(`${STATIC_TAMPER.collectorId}:`)).toEqual([]);

    const w = await warningsOf(STATIC_TAMPER.collectorId, 'collector.tamper');
    expect(w).toHaveLength(1);
    expect(w[0]).toMatchObject({ family: 'collector', rule_name: '采集终端数据被篡改', transaction_id: '' });
    expect(w[0]!.explanation).toContain(sealed.batchId);
    expect(w[0]!.explanation).toContain('签名后被修改');
    await waitFor(() => wallWarnings.some((x) => x.id === w[0]!.id), 5_000, 'the tamper warning on the wall');
    expect(wallWarnings.filter((x) => x.id === w[0]!.id)).toHaveLength(1);
    expect(wallWarnings.find((x) => x.id === w[0]!.id)).toMatchObject({ family: 'collector', severity: 'high', countyName: '金城江区' });

    // A signature by another key (a forger who knows the format) is refused the same way.
    const forged = sealBatch(newKey(), STATIC_TAMPER.collectorId, [txn(STATIC_TAMPER.collectorId, 1)], { batchSeq: 1 }).batch;
    expect(await submit(s, forged)).toMatchObject({ ok: false, code: 'BATCH_SIGNATURE_INVALID' });
    // Within the tamper interval one warning stands for the flood: the refusal still happens.
    expect(await warningsOf(STATIC_TAMPER.collectorId, 'collector.tamper')).toHaveLength(1);

    // The genuine batch still goes through: the chain did not move for the refused ones.
    expect(await submit(s, sealed)).toMatchObject({ ok: true, stored: 2 });
  });

  it('refuses a batch that rewrites accepted history with BATCH_CHAIN_CONFLICT and the hub tip', async () => {
    const key = newKey();
    const id = 'c-conflict-01';
    await hub.collectors.registerStatic([{ collectorId: id, institutionId: INSTITUTION, token: 'conflict-token-0123456789', publicKey: key.publicKey }]);
    const s = open(keyAuth(id, key, { token: 'conflict-token-0123456789' }));
    await hello(s);
    const chain = new TestChain(key, id);
    const b1 = chain.next([txn(id, 1)]);
    expect(await submit(s, b1)).toMatchObject({ ok: true });
    // Another batch 1 with other content, validly signed: a fork.
    const fork = sealBatch(key, id, [txn(id, 1, { counter: 'L2' })], { batchSeq: 1 }).batch;
    const ack = await submit(s, fork);
    expect(ack).toMatchObject({ ok: false, code: 'BATCH_CHAIN_CONFLICT', retryable: false, chain: { batchSeq: 1, hash: chain.hash } });
    // Batch 2 not linked to batch 1.
    const unlinked = sealBatch(key, id, [txn(id, 2)], { batchSeq: 2, prevHash: 'f'.repeat(64) }).batch;
    expect(await submit(s, unlinked)).toMatchObject({ ok: false, code: 'BATCH_CHAIN_CONFLICT' });
    // Both refused; one collector.tamper per collector per interval (JG_TAMPER_INTERVAL_S).
    const w = await warningsOf(id, 'collector.tamper');
    expect(w).toHaveLength(1);
    expect(w.every((x) => x.explanation.includes('数据链不一致'))).toBe(true);
    // Re-sealed on top of the tip it goes through.
    expect(await submit(s, chain.next([txn(id, 2)]))).toMatchObject({ ok: true, stored: 1 });
  });
});

describe('gaps', () => {
  it('accepts a batch after missing batch numbers and raises collector.gap naming them, once', async () => {
    const key = GAP_KEY;
    const s = open(keyAuth(STATIC_GAP.collectorId, key, { token: STATIC_GAP.token }));
    await hello(s);
    const chain = new TestChain(key, STATIC_GAP.collectorId);
    expect(await submit(s, chain.next([txn(STATIC_GAP.collectorId, 1)]))).toMatchObject({ ok: true });
    // Batches 2 and 3 were sealed at the counter but never arrive.
    chain.next([txn(STATIC_GAP.collectorId, 2)]);
    chain.next([txn(STATIC_GAP.collectorId, 3)]);
    const b4 = chain.next([txn(STATIC_GAP.collectorId, 4)]);
    expect(await submit(s, b4)).toMatchObject({ ok: true, stored: 1 });
    expect(await submit(s, b4)).toMatchObject({ ok: true, stored: 1 }); // a re-send is no second gap
    expect(await storedIds(`${STATIC_GAP.collectorId}:`)).toEqual([`${STATIC_GAP.collectorId}:1`, `${STATIC_GAP.collectorId}:4`]);

    const w = await warningsOf(STATIC_GAP.collectorId, 'collector.gap');
    expect(w).toHaveLength(1);
    expect(w[0]!.rule_name).toBe('采集终端数据断档');
    expect(w[0]!.explanation).toContain('缺失 2 个批次');
    expect(w[0]!.explanation).toContain('第 2～3 批');
    expect(JSON.parse(w[0]!.values_json)).toEqual({ expectedBatchSeq: 2, receivedBatchSeq: 4, missingBatches: 2 });
    await waitFor(() => wallWarnings.some((x) => x.id === w[0]!.id), 5_000, 'the gap warning on the wall');
    // The chain continues from batch 4.
    expect(await submit(s, chain.next([txn(STATIC_GAP.collectorId, 5)]))).toMatchObject({ ok: true });
    expect(await warningsOf(STATIC_GAP.collectorId, 'collector.gap')).toHaveLength(1);
  });
});

describe('enrolment (事前备案)', () => {
  const ID = 'c-enrol-01';
  let key: TestKey;
  let chain: TestChain;
  let s: Socket;

  it('files an unknown collector as pending; its batches are held, acknowledged and not evaluated', async () => {
    key = newKey();
    expect(await refused(keyAuth(ID, key))).toBe('AUTH_FAILED'); // no enrol, no token
    s = open(keyAuth(ID, key, { enrol: { institutionId: INSTITUTION, counter: '查验线2' } }));
    expect(await hello(s)).toMatchObject({ status: 'pending', chain: null });
    chain = new TestChain(key, ID);
    // Batch 1 holds a check by an unfiled inspector (a warning once evaluated).
    const acks = [
      await submit(s, chain.next([txn(ID, 1, { staffId: 'JCJ-JYZ-X99' }), txn(ID, 2)])),
      await submit(s, chain.next([txn(ID, 3)])),
    ];
    for (const a of acks) expect(a).toMatchObject({ ok: true, held: true, stored: 0 });
    expect(await storedIds(`${ID}:`)).toEqual([]);
    const info = (await listCollectors()).find((c) => c.collectorId === ID)!;
    expect(info).toMatchObject({ status: 'pending', origin: 'enrolled', counter: '查验线2', heldBatches: 2, lastBatchSeq: 2, connected: true });
  });

  it('on approval evaluates the held batches in order, before any newer batch', async () => {
    const res = await hub.app.inject({ method: 'POST', url: `/api/v1/collectors/${ID}/approve`, headers: await adminHeaders() });
    expect(res.statusCode).toBe(200);
    expect(res.json()).toMatchObject({ collectorId: ID, status: 'approved' });
    // A live batch right after approval is acknowledged only after the held ones are stored.
    const live = await submit(s, chain.next([txn(ID, 4)]));
    expect(live).toMatchObject({ ok: true, stored: 1 });
    expect(live.ok && live.held).toBeFalsy();
    expect(await storedIds(`${ID}:`)).toEqual([1, 2, 3, 4].map((n) => `${ID}:${n}`));
    const w = await hub.store.query<{ rule_id: string }>(sql`SELECT rule_id FROM warnings FINAL WHERE transaction_id = ${param.String(`${ID}:1`)}`);
    expect(w.map((x) => x.rule_id)).toContain('check.inspector_unfiled');
    await waitFor(async () => (await listCollectors()).find((c) => c.collectorId === ID)!.heldBatches === 0, 10_000, 'held batches released');
  });

  it('revocation closes the connection and refuses the next handshake with COLLECTOR_REVOKED', async () => {
    const closed = new Promise<string>((resolve) => s.once('disconnect', resolve));
    const res = await hub.app.inject({ method: 'POST', url: `/api/v1/collectors/${ID}/revoke`, headers: await adminHeaders(), payload: { reason: '设备报失' } });
    expect(res.statusCode).toBe(200);
    expect(res.json()).toMatchObject({ status: 'revoked', revokeReason: '设备报失' });
    expect(await closed).toBe('io server disconnect');
    expect(await refused(keyAuth(ID, key, { enrol: { institutionId: INSTITUTION, counter: '' } }))).toBe('COLLECTOR_REVOKED');
  });

  it('a revoked device re-filed with a new key is pending again and starts a new chain; the old key stays refused', async () => {
    const replaced = newKey();
    const h = await hello(open(keyAuth(ID, replaced, { enrol: { institutionId: INSTITUTION, counter: '查验线2' } })));
    expect(h).toMatchObject({ status: 'pending', chain: null });
    expect(await refused(keyAuth(ID, key, { enrol: { institutionId: INSTITUTION, counter: '' } }))).toBe('COLLECTOR_KEY_MISMATCH');
    const info = (await listCollectors()).find((c) => c.collectorId === ID)!;
    expect(info).toMatchObject({ status: 'pending', lastBatchSeq: null });
    expect(info.keyFingerprint).not.toBe('');
  });

  it('enrols over REST with a proof of the key, and refuses bad requests with coded errors', async () => {
    const k = newKey();
    const ts = Date.now();
    const body = { collectorId: 'c-enrol-rest', institutionId: INSTITUTION, counter: '1号窗口', publicKey: k.publicKey, ts, proof: k.sign(canonicalAuthProof('c-enrol-rest', k.publicKey, ts)) };
    const ok = await hub.app.inject({ method: 'POST', url: '/api/v1/collectors/enrol', payload: body });
    expect(ok.statusCode).toBe(202);
    expect(ok.json()).toMatchObject({ status: 'pending', origin: 'enrolled', counter: '1号窗口' });
    const bad = await hub.app.inject({ method: 'POST', url: '/api/v1/collectors/enrol', payload: { ...body, collectorId: 'c-enrol-rest2' } });
    expect(bad.statusCode).toBe(400);
    expect(bad.json().error.code).toBe('ENROL_INVALID'); // the proof names another id
    const other = await hub.app.inject({ method: 'POST', url: '/api/v1/collectors/enrol', payload: { ...body, publicKey: newKey().publicKey } });
    expect(other.json().error.code).toMatch(/ENROL_INVALID|COLLECTOR_KEY_MISMATCH/);
    // The REST-enrolled collector connects with its key and is pending.
    expect(await hello(open(keyAuth('c-enrol-rest', k)))).toMatchObject({ status: 'pending' });
  });
});

describe('admin routes', () => {
  it('require a system_admin session; enrolment is public (the collector proves its key)', async () => {
    expect((await hub.app.inject({ method: 'GET', url: '/api/v1/collectors' })).statusCode).toBe(401);
    expect((await hub.app.inject({ method: 'POST', url: `/api/v1/collectors/${STATIC.collectorId}/revoke`, payload: {} })).statusCode).toBe(401);
    const login = await hub.app.inject({ method: 'POST', url: '/api/v1/auth/login', payload: { username: 'leader', password: 'jianguan-demo' } });
    const leader = { authorization: `Bearer ${(login.json() as { token: string }).token}` };
    const res = await hub.app.inject({ method: 'POST', url: `/api/v1/collectors/${STATIC.collectorId}/approve`, headers: leader });
    expect(res.statusCode).toBe(403);
    expect(res.json().error.code).toBe('FORBIDDEN');
    expect((await hub.app.inject({ method: 'GET', url: '/api/v1/collectors', headers: await adminHeaders() })).statusCode).toBe(200);
  });
});

describe('silence', () => {
  it('raises collector.silent once per silence episode, in working time only, not for connected collectors', async () => {
    const id = 'c-silent-01';
    const k = newKey();
    await hub.collectors.registerStatic([{ collectorId: id, institutionId: INSTITUTION, token: 'silent-token-0123456789', publicKey: k.publicKey }]);
    const s = open(keyAuth(id, k, { token: 'silent-token-0123456789' }));
    await hello(s);
    const first = workingMorningAfter(Date.now());
    const connectedNow = await hub.collectors.checkSilence(first);
    expect(connectedNow.filter((w) => w.collectorId === id)).toEqual([]);
    const gone = new Promise((r) => s.once('disconnect', r));
    s.close();
    await gone;
    await waitFor(() => !hub.collectors.info(hub.collectors.get(id)!).connected, 5_000, 'disconnect seen by the hub');

    // A Sunday is not working time: nothing.
    const cal = createWorkCalendar();
    let sunday = first;
    while (cal.isWorkingDay(sunday)) sunday += 86_400_000;
    expect((await hub.collectors.checkSilence(sunday)).filter((w) => w.collectorId === id)).toEqual([]);

    const t = workingMorningAfter(first);
    const raised = (await hub.collectors.checkSilence(t)).filter((w) => w.collectorId === id);
    expect(raised).toHaveLength(1);
    expect(raised[0]).toMatchObject({ ruleId: 'collector.silent', ruleName: '采集终端长时间静默', family: 'collector', transactionId: '' });
    expect(raised[0]!.explanation).toContain('超过阈值 30 分钟');
    expect(raised[0]!.explanation).toContain('金城江区机动车检测站');
    // Still silent ten minutes later: the same episode, no second warning.
    expect((await hub.collectors.checkSilence(t + 10 * 60_000)).filter((w) => w.collectorId === id)).toEqual([]);
    expect(await warningsOf(id, 'collector.silent')).toHaveLength(1);
    await waitFor(() => wallWarnings.some((x) => x.id === raised[0]!.id), 5_000, 'the silence warning on the wall');
  });
});
