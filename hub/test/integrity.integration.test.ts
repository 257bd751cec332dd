/**
 * Integrity of the collector path against hostile or broken collectors, through real socket.io,
 * BullMQ on real Redis and chDB: inputs that used to stop the process, one collector reaching
 * into another's data, and bad records that used to block every later record of a counter.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { io as connect, type Socket } from 'socket.io-client';
import type { Transaction } from '@jianguan/rules';
import type { Hub } from '../src/app.js';
import type { BatchAck } from '../src/protocol/index.js';
import { param, sql } from '../src/store/sql.js';
import { keyAuth, newKey } from './collector-signing.js';
import { checkTxn, login, startTestHub, TEST_COLLECTOR, unsignedBatch, withToken } from './helpers.js';

let hub: Hub;
const sockets: Socket[] = [];

/** A second collector at another institution (宜州区), and one allowed to report for two. */
const OTHER = { collectorId: 'c-other-01', institutionId: 'YZ-JYZ', token: 'other-token-0123456789abcdef' };
const WIDE = { collectorId: 'c-wide-01', institutionId: 'JCJ-CGS', token: 'wide-token-0123456789abcdef', reportsFor: ['JCJ-JYZ'] };
const REFUSED_ID = `${TEST_COLLECTOR.collectorId}:777`;
const REFUSED_BYTES_ID = `${TEST_COLLECTOR.collectorId}:883`;

function open(auth: unknown): Socket {
  const s = connect(`${hub.url}/collect`, { auth: auth as Record<string, unknown>, transports: ['websocket'], reconnection: false, forceNew: true });
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

function refusal(s: Socket): Promise<string | undefined> {
  return new Promise((resolve) => s.once('connect_error', (e: Error & { data?: { code?: string } }) => resolve(e.data?.code)));
}

function submit(s: Socket, b: unknown): Promise<BatchAck> {
  return s.timeout(20_000).emitWithAck('batch.submit', b) as Promise<BatchAck>;
}

const as = (c: { collectorId: string; token: string }) => ({ collectorId: c.collectorId, token: c.token });

function txnOf(c: { collectorId: string; institutionId: string }, seq: number, over: Partial<Transaction> = {}): Transaction {
  return checkTxn(seq, { id: `${c.collectorId}:${seq}`, collectorId: c.collectorId, institutionId: c.institutionId, staffId: undefined, ...over });
}

function batchOf(c: { collectorId: string }, records: { seq: number }[], over: Record<string, unknown> = {}) {
  const first = records[0]!.seq;
  const last = records[records.length - 1]!.seq;
  return { batchId: `${c.collectorId}:${first}-${last}`, collectorId: c.collectorId, firstSeq: first, lastSeq: last, sentAt: Date.now(), records, ...over };
}

async function storedRows(prefix: string): Promise<{ id: string; institution_id: string; counter: string }[]> {
  return hub.store.query(sql`
    SELECT id, institution_id, counter FROM transactions FINAL WHERE startsWith(id, ${param.String(prefix)}) ORDER BY id`);
}

async function deadLetters(batchId: string): Promise<{ record_key: string; code: string; reason: string }[]> {
  return hub.store.query(sql`
    SELECT record_key, code, reason FROM dead_letters FINAL WHERE batch_id = ${param.String(batchId)} ORDER BY record_index`);
}

async function alive(): Promise<void> {
  const r = await hub.app.inject({ method: 'GET', url: '/healthz' });
  expect(r.statusCode).toBe(200);
}

beforeAll(async () => {
  ({ hub } = await startTestHub({
    collectors: [TEST_COLLECTOR, OTHER, WIDE],
    enrolPerAddress: 3,
    heldQuotaBytes: 6_000,
    faultInjection: { refuseTransactionIds: [REFUSED_ID, REFUSED_BYTES_ID] },
  }));
});

afterAll(async () => {
  for (const s of sockets) s.close();
  await hub?.close();
});

describe('inputs that used to stop the hub', () => {
  it('a handshake whose collectorId is an object with a toString member is refused, and the hub stays up', async () => {
    expect(await refusal(open({ collectorId: { toString: 1 } }))).toBe('AUTH_FAILED');
    expect(await refusal(open({ collectorId: { toString: 1, valueOf: 2 }, token: { toString: null } }))).toBe('AUTH_FAILED');
    expect(await refusal(open({ collectorId: 'has:colon', token: 'x'.repeat(20) }))).toBe('AUTH_FAILED');
    await alive();
    const s = open(as(TEST_COLLECTOR));
    await connected(s);
    expect(s.connected).toBe(true);
  });

  it('a batch whose batchId is an object with a toString member is refused with BATCH_INVALID', async () => {
    const s = open(as(TEST_COLLECTOR));
    await connected(s);
    const ack = await submit(s, { ...unsignedBatch([checkTxn(1)], 1), batchId: { toString: 1 } });
    expect(ack).toMatchObject({ ok: false, code: 'BATCH_INVALID', retryable: false });
    // Other shapes that reach the listener: not an object, an ack that is not a function.
    expect(await submit(s, null)).toMatchObject({ ok: false, code: 'BATCH_INVALID' });
    expect(await submit(s, [1, 2, 3])).toMatchObject({ ok: false, code: 'BATCH_INVALID' });
    // An extra argument before the acknowledgement, or no batch at all: answered, not ignored.
    const extra = await new Promise<BatchAck>((resolve) => s.emit('batch.submit', unsignedBatch([checkTxn(2)], 2), 42, resolve));
    expect(extra).toMatchObject({ ok: false, code: 'BATCH_INVALID', retryable: false });
    const none = await new Promise<BatchAck>((resolve) => s.emit('batch.submit', resolve));
    expect(none).toMatchObject({ ok: false, code: 'BATCH_INVALID' });
    s.emit('batch.submit', { batchId: { toString: 1 } }, { notAFunction: true });
    s.emit('batch.submit');
    await alive();
    expect(await submit(s, unsignedBatch([checkTxn(1)], 1))).toMatchObject({ ok: true, stored: 1 });
  });
});

describe('one collector cannot touch another collector’s data', () => {
  it('a batch id of another collector is refused, and that collector’s real batch is stored whole', async () => {
    const a = open(as(OTHER));
    const b = open(as(TEST_COLLECTOR));
    await Promise.all([connected(a), connected(b)]);
    // A pre-empts B's next batch id with one of its own records.
    const preempt = batchOf(OTHER, [txnOf(OTHER, 10)], { batchId: `${TEST_COLLECTOR.collectorId}:10-19` });
    expect(await submit(a, preempt)).toMatchObject({ ok: false, code: 'BATCH_INVALID', retryable: false });
    const real = unsignedBatch(
      Array.from({ length: 10 }, (_, i) => checkTxn(10 + i)),
      10,
    );
    expect(await submit(b, real)).toMatchObject({ ok: true, stored: 10, rejected: [] });
    const rows = await storedRows(`${TEST_COLLECTOR.collectorId}:1`);
    expect(rows.filter((r) => /:1\d$/.test(r.id))).toHaveLength(10);
  });

  it('a record with another collector’s id is dead-lettered, and the original row stays as it was', async () => {
    const b = open(as(TEST_COLLECTOR));
    const a = open(as(OTHER));
    await Promise.all([connected(a), connected(b)]);
    expect(await submit(b, unsignedBatch([checkTxn(30, { counter: 'L1' })], 30))).toMatchObject({ ok: true, stored: 1 });
    // A sends a record carrying B's id (and, to pass the collector check, its own collectorId).
    const forged = txnOf(OTHER, 30, { id: `${TEST_COLLECTOR.collectorId}:30`, counter: 'FORGED' });
    const ack = await submit(a, batchOf(OTHER, [forged]));
    expect(ack).toMatchObject({ ok: true, stored: 0, rejected: [{ index: 0, code: 'RECORD_ID_FOREIGN' }] });
    expect(await storedRows(`${TEST_COLLECTOR.collectorId}:30`)).toEqual([{ id: `${TEST_COLLECTOR.collectorId}:30`, institution_id: TEST_COLLECTOR.institutionId, counter: 'L1' }]);
  });

  it('records for another institution are refused unless the collector is configured to report for it', async () => {
    const a = open(as(OTHER));
    await connected(a);
    const foreign = txnOf(OTHER, 40, { institutionId: TEST_COLLECTOR.institutionId });
    const ack = await submit(a, batchOf(OTHER, [foreign, txnOf(OTHER, 41)]));
    expect(ack).toMatchObject({ ok: true, stored: 1, rejected: [{ index: 0, code: 'INSTITUTION_NOT_ALLOWED' }] });
    expect((await storedRows(`${OTHER.collectorId}:4`)).map((r) => r.id)).toEqual([`${OTHER.collectorId}:41`]);

    const w = open(as(WIDE));
    await connected(w);
    const ok = await submit(w, batchOf(WIDE, [txnOf(WIDE, 1, { institutionId: 'JCJ-JYZ' }), txnOf(WIDE, 2), txnOf(WIDE, 3, { institutionId: 'YZ-JYZ' })]));
    expect(ok).toMatchObject({ ok: true, stored: 2, rejected: [{ index: 2, code: 'INSTITUTION_NOT_ALLOWED' }] });
    // No warning of the refused records reached another county's queue.
    const stray = await hub.store.query<{ n: string }>(sql`
      SELECT count() AS n FROM warnings WHERE transaction_id IN (${param.String(`${OTHER.collectorId}:40`)}, ${param.String(`${WIDE.collectorId}:3`)})`);
    expect(Number(stray[0]!.n)).toBe(0);
  });
});

describe('bad records never block good ones', () => {
  it('a lone surrogate, a control character and impossible times are dead-lettered per record; the good ones are stored', async () => {
    const s = open(as(TEST_COLLECTOR));
    await connected(s);
    const now = Date.now();
    const records = [
      checkTxn(50, { counter: 'A\ud800' }),
      checkTxn(51),
      checkTxn(52, { lsh: 'x\u0000y' }),
      checkTxn(53, { occurredAt: Date.UTC(2099, 0, 1), startedAt: Date.UTC(2099, 0, 1), endedAt: Date.UTC(2099, 0, 1) + 400_000 }),
      // Captured over a span of more than 100 months: the store could not insert it in one block.
      checkTxn(54, { capturedAt: Date.UTC(2001, 0, 1) }),
      checkTxn(55, { capturedAt: now - 30 * 86_400_000 }),
    ];
    const ack = await submit(s, unsignedBatch(records, 50));
    expect(ack).toMatchObject({ ok: true, stored: 2 });
    if (!ack.ok) throw new Error('not ok');
    expect(ack.rejected.map((r) => [r.index, r.code])).toEqual([
      [0, 'RECORD_TEXT_INVALID'],
      [2, 'RECORD_TEXT_INVALID'],
      [3, 'RECORD_TIME_INVALID'],
      [4, 'RECORD_TIME_INVALID'],
    ]);
    expect((await storedRows(`${TEST_COLLECTOR.collectorId}:5`)).map((r) => r.id)).toEqual([`${TEST_COLLECTOR.collectorId}:51`, `${TEST_COLLECTOR.collectorId}:55`]);
    const dead = await deadLetters(`${TEST_COLLECTOR.collectorId}:50-55`);
    expect(dead.map((d) => d.code)).toEqual(['RECORD_TEXT_INVALID', 'RECORD_TEXT_INVALID', 'RECORD_TIME_INVALID', 'RECORD_TIME_INVALID']);
    expect(dead[0]!.reason).toMatch(/^counter:/);
    // The next batch of the same collector flows.
    expect(await submit(s, unsignedBatch([checkTxn(56)], 56))).toMatchObject({ ok: true, stored: 1 });
  });

  it('the same when the records come as bytes: escapes in the text are checked string by string; without any, nesting still is', async () => {
    const s = open(as(TEST_COLLECTOR));
    await connected(s);
    const records = [checkTxn(60, { counter: 'A\ud800' }), checkTxn(61), checkTxn(62, { lsh: 'x\u0000y' }), checkTxn(63, { ywyy: '换证' })];
    const { records: _r, ...envelope } = unsignedBatch(records, 60);
    const text = JSON.stringify(records);
    expect(text).toContain('\\ud800');
    const ack = await submit(s, { ...envelope, recordsJson: Buffer.from(text, 'utf8') });
    expect(ack).toMatchObject({ ok: true, stored: 2 });
    if (!ack.ok) throw new Error('not ok');
    expect(ack.rejected.map((r) => [r.index, r.code])).toEqual([
      [0, 'RECORD_TEXT_INVALID'],
      [2, 'RECORD_TEXT_INVALID'],
    ]);
    expect(ack.rejected[0]!.reason).toMatch(/^counter: contains a lone UTF-16 surrogate/);
    expect(ack.rejected[1]!.reason).toMatch(/^lsh: contains a control character/);

    // No backslash anywhere in the text: the strings need no check, the depth still does.
    let deep: unknown = 'x';
    for (let i = 0; i < 10; i++) deep = { d: deep };
    const plain = [checkTxn(64), { ...checkTxn(65), extra: deep }];
    const plainText = JSON.stringify(plain);
    expect(plainText).not.toContain('\\');
    const { records: _p, ...env2 } = unsignedBatch(plain, 64);
    const ack2 = await submit(s, { ...env2, recordsJson: Buffer.from(plainText, 'utf8') });
    expect(ack2).toMatchObject({ ok: true, stored: 1, rejected: [{ index: 1, code: 'RECORD_TEXT_INVALID' }] });
    if (ack2.ok) expect(ack2.rejected[0]!.reason).toMatch(/nested deeper than 8 levels/);
  });

  it('two invalid records sharing an id are two dead letters', async () => {
    const s = open(as(TEST_COLLECTOR));
    await connected(s);
    const bad = { ...checkTxn(60), occurredAt: 'soon' };
    const ack = await submit(s, unsignedBatch([bad, { ...bad }], 60));
    expect(ack).toMatchObject({ ok: true, stored: 0 });
    expect(await deadLetters(`${TEST_COLLECTOR.collectorId}:60-61`)).toHaveLength(2);
  });

  it('a record the store refuses is split out and dead-lettered; the rest of its batch is stored with its warnings', async () => {
    const s = open(as(TEST_COLLECTOR));
    await connected(s);
    // 775..779; 777 is refused by the (injected) store. A short check (60 s) raises warnings.
    const records = [775, 776, 777, 778, 779].map((n) => checkTxn(n, { endedAt: WORKING(n) + 60_000 }));
    const ack = await submit(s, unsignedBatch(records, 775));
    expect(ack).toMatchObject({ ok: true, stored: 4, rejected: [{ index: 2, id: REFUSED_ID, code: 'STORE_REFUSED' }] });
    expect((await storedRows(`${TEST_COLLECTOR.collectorId}:77`)).map((r) => r.id)).toEqual(
      [775, 776, 778, 779].map((n) => `${TEST_COLLECTOR.collectorId}:${n}`),
    );
    expect(await deadLetters(`${TEST_COLLECTOR.collectorId}:775-779`)).toMatchObject([{ code: 'STORE_REFUSED' }]);
    // A re-send (lost ack) gives the same answer and duplicates nothing.
    expect(await submit(s, unsignedBatch(records, 775))).toMatchObject({ ok: true, stored: 4 });
    expect(await storedRows(`${TEST_COLLECTOR.collectorId}:77`)).toHaveLength(4);
    // No warning without its stored transaction, anywhere.
    const orphans = await hub.store.query<{ n: string }>(sql`
      SELECT count() AS n FROM warnings
      WHERE transaction_id != '' AND transaction_id NOT IN (SELECT id FROM transactions)`);
    expect(Number(orphans[0]!.n)).toBe(0);
    const w = await hub.store.query<{ n: string }>(sql`
      SELECT count() AS n FROM warnings WHERE startsWith(transaction_id, ${param.String(`${TEST_COLLECTOR.collectorId}:77`)})`);
    expect(Number(w[0]!.n)).toBeGreaterThan(0);
  });

  it('the same when the records come as bytes: the halves are read again from the bytes, the refused record is dead-lettered as it arrived', async () => {
    const s = open(as(TEST_COLLECTOR));
    await connected(s);
    // 880..886: 881 is invalid (so valid positions and batch indexes differ), 883 is refused.
    const records: Record<string, unknown>[] = [880, 881, 882, 883, 884, 885, 886].map((n) => checkTxn(n, { endedAt: WORKING(n) + 60_000 }));
    records[1] = { ...records[1], occurredAt: 'soon' };
    const { records: _r, ...envelope } = unsignedBatch(records, 880);
    const bytes = () => Buffer.from(JSON.stringify(records), 'utf8');
    const ack = await submit(s, { ...envelope, recordsJson: bytes() });
    expect(ack).toMatchObject({ ok: true, stored: 5 });
    if (!ack.ok) throw new Error('not ok');
    expect(ack.rejected.map((r) => [r.index, r.id, r.code])).toEqual([
      [1, `${TEST_COLLECTOR.collectorId}:881`, 'RECORD_INVALID'],
      [3, REFUSED_BYTES_ID, 'STORE_REFUSED'],
    ]);
    expect((await storedRows(`${TEST_COLLECTOR.collectorId}:88`)).map((r) => r.id)).toEqual(
      [880, 882, 884, 885, 886].map((n) => `${TEST_COLLECTOR.collectorId}:${n}`),
    );
    const dead = await hub.store.query<{ code: string; record_id: string; payload: string }>(sql`
      SELECT code, record_id, payload FROM dead_letters FINAL WHERE batch_id = ${param.String(envelope.batchId)} ORDER BY record_index`);
    expect(dead.map((d) => [d.code, d.record_id])).toEqual([
      ['RECORD_INVALID', `${TEST_COLLECTOR.collectorId}:881`],
      ['STORE_REFUSED', REFUSED_BYTES_ID],
    ]);
    // The refused record's dead letter is the record as it arrived, read again from the bytes.
    const kept = JSON.parse(dead[1]!.payload) as Record<string, unknown>;
    expect(kept).toMatchObject({ id: REFUSED_BYTES_ID, counter: records[3]!.counter, startedAt: records[3]!.startedAt, endedAt: records[3]!.endedAt });
    const w = await hub.store.query<{ n: string }>(sql`
      SELECT count() AS n FROM warnings WHERE startsWith(transaction_id, ${param.String(`${TEST_COLLECTOR.collectorId}:88`)})`);
    expect(Number(w[0]!.n)).toBeGreaterThan(0);
    // A re-send (lost ack) gives the same answer and duplicates nothing.
    expect(await submit(s, { ...envelope, recordsJson: bytes() })).toMatchObject({ ok: true, stored: 5, rejected: [{ index: 1 }, { index: 3 }] });
    expect(await storedRows(`${TEST_COLLECTOR.collectorId}:88`)).toHaveLength(5);
  });
  it('bytes that are not one record per split (indented text) are read as one text and checked the same; more records than a batch may carry are refused whole', async () => {
    const s = open(as(TEST_COLLECTOR));
    await connected(s);
    const records: Record<string, unknown>[] = [890, 891, 892].map((n) => checkTxn(n));
    records[1] = { ...records[1], kind: 'nonsense' };
    const { records: _r, ...envelope } = unsignedBatch(records, 890);
    const ack = await submit(s, { ...envelope, recordsJson: Buffer.from(JSON.stringify(records, null, 1), 'utf8') });
    expect(ack).toMatchObject({ ok: true, stored: 2, rejected: [{ index: 1, id: `${TEST_COLLECTOR.collectorId}:891`, code: 'RECORD_INVALID' }] });
    expect((await storedRows(`${TEST_COLLECTOR.collectorId}:89`)).map((r) => r.id)).toEqual([890, 892].map((n) => `${TEST_COLLECTOR.collectorId}:${n}`));
    expect(await deadLetters(envelope.batchId)).toMatchObject([{ code: 'RECORD_INVALID' }]);

    // 5,001 records read one at a time: the batch is refused as a whole, nothing of it is kept.
    const many = `[${Array.from({ length: 5_001 }, (_, i) => JSON.stringify({ id: `${TEST_COLLECTOR.collectorId}:${900 + i}` })).join(',')}]`;
    const big = { ...unsignedBatch([checkTxn(900)], 900), firstSeq: 900, lastSeq: 5_900, batchId: `${TEST_COLLECTOR.collectorId}:900-5900` };
    const { records: _b, ...bigEnvelope } = big;
    const refused = await submit(s, { ...bigEnvelope, recordsJson: Buffer.from(many, 'utf8') });
    expect(refused).toMatchObject({ ok: false, code: 'BATCH_INVALID', retryable: false, message: expect.stringContaining('recordsJson: 5001 records (1 to 5000 per batch)') });
    expect(await deadLetters(big.batchId)).toHaveLength(0);
  });
});

function WORKING(seq: number): number {
  return checkTxn(seq).startedAt!;
}

describe('cheap abuse', () => {
  it('a pending device may hold only its quota; the rest stays on the device (retryable)', async () => {
    const key = newKey();
    const id = 'c-pending-quota';
    const s = open(keyAuth(id, key, { enrol: { institutionId: TEST_COLLECTOR.institutionId, counter: '' } }));
    await connected(s);
    const { TestChain } = await import('./collector-signing.js');
    const chain = new TestChain(key, id);
    const acks: BatchAck[] = [];
    for (let i = 0; i < 6; i++) {
      const recs = [txnOf({ collectorId: id, institutionId: TEST_COLLECTOR.institutionId }, i * 2 + 1), txnOf({ collectorId: id, institutionId: TEST_COLLECTOR.institutionId }, i * 2 + 2)];
      const b = chain.next(recs);
      const ack = await submit(s, b);
      acks.push(ack);
      if (!ack.ok) break;
    }
    expect(acks.slice(0, -1).every((a) => a.ok && a.held)).toBe(true);
    expect(acks.at(-1)).toMatchObject({ ok: false, code: 'HELD_QUOTA', retryable: true });
    const held = await hub.store.query<{ n: string }>(sql`
      SELECT sum(length(payload)) AS n FROM held_batches FINAL WHERE collector_id = ${param.String(id)} AND isNull(released_at)`);
    expect(Number(held[0]!.n)).toBeLessThanOrEqual(6_000);
  });

  it('enrolments from one address are rate limited; a known device reconnecting is not counted', async () => {
    // One enrolment above (c-pending-quota); the limit is 3 per window.
    const codes: (string | undefined)[] = [];
    for (const n of [1, 2, 3]) {
      const k = newKey();
      const s = open(keyAuth(`c-flood-${n}`, k, { enrol: { institutionId: TEST_COLLECTOR.institutionId, counter: '' } }));
      codes.push(await Promise.race([refusal(s), connected(s).then(() => 'connected')]));
    }
    expect(codes).toEqual(['connected', 'connected', 'ENROL_RATE_LIMITED']);
    // Over REST the same limit holds.
    const admin = await login(hub, 'admin');
    const list = await hub.app.inject(withToken(admin, { url: '/api/v1/collectors' }));
    expect(list.json().items.filter((c: { collectorId: string }) => c.collectorId.startsWith('c-flood-'))).toHaveLength(2);
  });
});

describe('audit rows from hostile input', () => {
  it('a lone surrogate in a client-supplied target id is stored as well-formed text, and the rows beside it are not lost', async () => {
    const { appendAudit } = await import('../src/auth/audit.js');
    const base = { at: Date.now(), actor: 'fuzz', actorRoles: [], actorScope: '', action: 'registry.import', method: 'POST', path: '/api/v1/registry/imports', targetType: 'file', ip: '127.0.0.1', result: 'denied', status: 400, detail: '' };
    await appendAudit(hub.store, { ...base, result: 'failed' as const, targetId: 'A\ud800.csv' });
    await appendAudit(hub.store, { ...base, result: 'failed' as const, targetId: 'ok.csv' });
    const rows = await hub.store.query<{ target_id: string }>(sql`
      SELECT target_id FROM audit_log WHERE actor = 'fuzz' ORDER BY target_id`);
    expect(rows.map((r) => r.target_id)).toEqual(['A\ufffd.csv', 'ok.csv']);
  });
});
