/**
 * Two hub replicas over one store and one Redis prefix, as in the cluster layout: a collector
 * enrolled through one is listed by the other, approved on that other it is no longer held where
 * it is connected, and revoked anywhere it is cut off everywhere — each replica keeps the
 * collector records in memory and reads them again when another announces a change. A pending
 * collector's held-batch quota is one quota, wherever it connects.
 */
import { io as connect, type Socket } from 'socket.io-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Hub } from '../src/app.js';
import type { BatchAck } from '../src/protocol/index.js';
import { param, sql } from '../src/store/sql.js';
import { keyAuth, newKey, TestChain } from './collector-signing.js';
import { checkTxn, startTestHub, waitFor } from './helpers.js';

const INSTITUTION = 'JCJ-JYZ';
const HELD_QUOTA = 6_000;
let a: Hub;
let b: Hub;
const sockets: Socket[] = [];

beforeAll(async () => {
  // Two replicas on one prefix share rule state in Redis (the local state allows one holder).
  // A small held-batch quota (a few two-record batches), the same on both, as a cluster's replicas share one configuration.
  const first = await startTestHub({ ruleState: 'redis', heldQuotaBytes: HELD_QUOTA });
  a = first.hub;
  ({ hub: b } = await startTestHub({ dataDir: first.dataDir, queuePrefix: a.config.queuePrefix, ruleState: 'redis', heldQuotaBytes: HELD_QUOTA }));
});

afterAll(async () => {
  for (const s of sockets) s.close();
  await b?.close();
  await a?.close();
});

function hello(hub: Hub, auth: Record<string, unknown>): Promise<{ socket: Socket; status?: string }> {
  const socket = connect(`${hub.url}/collect`, { auth, transports: ['websocket'], reconnection: false, forceNew: true });
  sockets.push(socket);
  return new Promise((resolve, reject) => {
    socket.once('hub.hello', (h: { status?: string }) => resolve({ socket, ...(h.status !== undefined ? { status: h.status } : {}) }));
    socket.once('connect_error', (e: Error & { data?: { code?: string } }) => reject(Object.assign(new Error(e.message), { code: e.data?.code })));
  });
}

const submit = (s: Socket, b: unknown): Promise<BatchAck> => s.timeout(30_000).emitWithAck('batch.submit', b);
const txn = (id: string, seq: number) => checkTxn(seq, { id: `${id}:${seq}`, collectorId: id, institutionId: INSTITUTION });

async function storedIds(prefix: string): Promise<string[]> {
  const rows = await a.store.query<{ id: string }>(sql`SELECT id FROM transactions FINAL WHERE startsWith(id, ${param.String(prefix)}) ORDER BY seq`);
  return rows.map((r) => r.id);
}

describe('collector records across replicas', () => {
  it('enrolled on one, approved on the other, revoked on the first: every replica follows, held batches first', async () => {
    const id = 'c-replica-01';
    const key = newKey();
    const { socket, status } = await hello(b, keyAuth(id, key, { enrol: { institutionId: INSTITUTION, counter: '查验线3' } }));
    expect(status).toBe('pending');
    expect(b.collectors.get(id)?.status).toBe('pending');
    // Listed by the other replica (the administrator's request may land there).
    await waitFor(() => a.collectors.get(id)?.status === 'pending', 'the enrolment known to the other replica');
    expect((await a.collectors.list()).some((c) => c.collectorId === id && c.status === 'pending')).toBe(true);

    // Its batch is held where it is connected.
    const chain = new TestChain(key, id);
    expect(await submit(socket, chain.next([txn(id, 1), txn(id, 2)]))).toMatchObject({ ok: true, held: true, stored: 0 });

    await a.collectors.approve(id, 'admin');
    await waitFor(() => b.collectors.get(id)?.status === 'approved', 'the approval known where the collector is connected');
    // Its next batch is evaluated, not held, and only after the held one.
    const live = await submit(socket, chain.next([txn(id, 3)]));
    expect(live).toMatchObject({ ok: true, stored: 1 });
    expect(live.ok && live.held).toBeFalsy();
    expect(await storedIds(`${id}:`)).toEqual([1, 2, 3].map((n) => `${id}:${n}`));

    const gone = new Promise<string>((resolve) => socket.once('disconnect', (reason: string) => resolve(reason)));
    await a.collectors.revoke(id, '终端丢失', 'admin');
    await waitFor(() => b.collectors.get(id)?.status === 'revoked', 'the revocation known to the other replica');
    // Cut off where it was connected, and refused there from now on.
    expect(await gone).toBeTruthy();
    await expect(hello(b, keyAuth(id, key))).rejects.toMatchObject({ code: 'COLLECTOR_REVOKED' });
  });
});

describe('held batches across replicas', () => {
  it('a pending collector that fills its quota on one replica finds it full on the other; its own re-sent batch still fits', async () => {
    const id = 'c-replica-quota';
    const key = newKey();
    const first = await hello(b, keyAuth(id, key, { enrol: { institutionId: INSTITUTION, counter: '查验线4' } }));
    expect(first.status).toBe('pending');
    const chain = new TestChain(key, id);
    const batchOf = (n: number) => chain.next([txn(id, n * 2 + 1), txn(id, n * 2 + 2)]);
    // Held on the first replica until its quota is reached.
    let lastHeld: unknown;
    let refused: unknown;
    let heldThere = 0;
    for (let n = 0; n < 20 && refused === undefined; n++) {
      const batch = batchOf(n);
      const ack = await submit(first.socket, batch);
      if (ack.ok) {
        expect(ack.held).toBe(true);
        lastHeld = batch;
        heldThere += 1;
      } else {
        expect(ack).toMatchObject({ code: 'HELD_QUOTA', retryable: true });
        refused = batch;
      }
    }
    expect(heldThere).toBeGreaterThan(1);
    expect(refused).toBeDefined();
    first.socket.close();

    // The device reconnects to the other replica and re-sends what is still in its outbox.
    await waitFor(() => a.collectors.get(id)?.status === 'pending', 'the enrolment known to the other replica');
    const second = await hello(a, keyAuth(id, key));
    expect(second.status).toBe('pending');
    expect(await submit(second.socket, refused)).toMatchObject({ ok: false, code: 'HELD_QUOTA', retryable: true });
    // A batch it already holds (its acknowledgement lost) replaces its own row: not counted twice.
    expect(await submit(second.socket, lastHeld)).toMatchObject({ ok: true, held: true });
    const rows = await a.store.query<{ n: string; bytes: string }>(sql`
      SELECT count() AS n, sum(length(payload)) AS bytes FROM held_batches FINAL
      WHERE collector_id = ${param.String(id)} AND isNull(released_at)`);
    expect(Number(rows[0]!.n)).toBe(heldThere);
    expect(Number(rows[0]!.bytes)).toBeLessThanOrEqual(HELD_QUOTA);
  });
});
