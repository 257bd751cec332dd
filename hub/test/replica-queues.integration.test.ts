/**
 * Each replica evaluates the batches it received, on its own queue (jobs/queue.ts, "Records beside
 * the job"): two replicas over one Redis prefix and one store, a batch through each lands as a job
 * on the receiving replica's queue only, carrying its envelope and not its records; a hub that runs
 * no worker (JG_WORKER=0) refuses batches with a retryable code instead of leaving them waiting.
 */
import { io as connect, type Socket } from 'socket.io-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Hub } from '../src/app.js';
import { jobIdForBatch, batchContent } from '../src/jobs/queue.js';
import type { BatchAck } from '../src/protocol/index.js';
import { param, sql } from '../src/store/sql.js';
import { checkTxn, startTestHub, TEST_COLLECTOR, unsignedBatch } from './helpers.js';

let a: Hub;
let b: Hub;
let idle: Hub;
const sockets: Socket[] = [];

beforeAll(async () => {
  // Two replicas on one prefix share rule state in Redis (the local state allows one holder).
  const first = await startTestHub({ replicaName: 'hub-a', ruleState: 'redis' });
  a = first.hub;
  ({ hub: b } = await startTestHub({ dataDir: first.dataDir, queuePrefix: a.config.queuePrefix, replicaName: 'hub-b', ruleState: 'redis' }));
  // chDB opens one data directory per process: the third hub shares it, under a prefix of its own.
  ({ hub: idle } = await startTestHub({ dataDir: first.dataDir, runWorker: false }));
});

afterAll(async () => {
  for (const s of sockets) s.close();
  await idle?.close();
  await b?.close();
  await a?.close();
});

async function submit(hub: Hub, body: unknown): Promise<BatchAck> {
  const s = connect(`${hub.url}/collect`, { auth: { collectorId: TEST_COLLECTOR.collectorId, token: TEST_COLLECTOR.token }, transports: ['websocket'], reconnection: false, forceNew: true });
  sockets.push(s);
  await new Promise<void>((resolve, reject) => {
    s.once('hub.hello', () => resolve());
    s.once('connect_error', reject);
  });
  return s.timeout(30_000).emitWithAck('batch.submit', body);
}

describe('a queue per replica', () => {
  it('a batch is evaluated where it was received; its job holds the envelope, not the records', async () => {
    expect(a.queue.name).toBe('evaluate.hub-a');
    expect(b.queue.name).toBe('evaluate.hub-b');
    const viaA = unsignedBatch([checkTxn(501), checkTxn(502)], 501);
    const viaB = unsignedBatch([checkTxn(503), checkTxn(504), checkTxn(505)], 503);
    expect(await submit(a, viaA)).toMatchObject({ ok: true, stored: 2 });
    expect(await submit(b, viaB)).toMatchObject({ ok: true, stored: 3 });

    const idA = jobIdForBatch(TEST_COLLECTOR.collectorId, viaA.batchId, '', batchContent(viaA));
    const idB = jobIdForBatch(TEST_COLLECTOR.collectorId, viaB.batchId, '', batchContent(viaB));
    expect((await a.queue.queue.getJob(idA))?.data).toMatchObject({ batchId: viaA.batchId, count: 2 });
    expect((await a.queue.queue.getJob(idA))?.data).not.toHaveProperty('records');
    expect(await a.queue.queue.getJob(idB)).toBeUndefined();
    expect((await b.queue.queue.getJob(idB))?.data).toMatchObject({ batchId: viaB.batchId, count: 3 });
    expect(await b.queue.queue.getJob(idA)).toBeUndefined();
    // Nothing held once acknowledged.
    expect(a.queue.records(idA)).toBeUndefined();
    expect(b.queue.records(idB)).toBeUndefined();

    const rows = await a.store.query<{ id: string }>(sql`SELECT id FROM transactions FINAL WHERE collector_id = ${param.String(TEST_COLLECTOR.collectorId)} ORDER BY seq`);
    expect(rows.map((r) => r.id)).toEqual([501, 502, 503, 504, 505].map((n) => checkTxn(n).id));

    // Re-sent to the other replica (the collector reconnected elsewhere): evaluated there again,
    // stored once.
    expect(await submit(b, viaA)).toMatchObject({ ok: true, stored: 2 });
    const again = await a.store.query<{ n: string }>(sql`SELECT count() AS n FROM transactions FINAL WHERE collector_id = ${param.String(TEST_COLLECTOR.collectorId)}`);
    expect(Number(again[0]!.n)).toBe(5);
  });

  it('a hub without a worker refuses batches with a retryable code and stores nothing', async () => {
    const body = unsignedBatch([checkTxn(601)], 601);
    const ack = await submit(idle, body);
    expect(ack).toMatchObject({ ok: false, code: 'EVALUATION_FAILED', retryable: true });
    expect(!ack.ok && ack.message).toMatch(/JG_WORKER=0/);
    expect(await idle.queue.queue.getJob(jobIdForBatch(TEST_COLLECTOR.collectorId, body.batchId, '', batchContent(body)))).toBeUndefined();
    const rows = await idle.store.query<{ n: string }>(sql`SELECT count() AS n FROM transactions WHERE id = ${param.String(checkTxn(601).id)}`);
    expect(Number(rows[0]!.n)).toBe(0);
  });

  it('tells the submitter once when a worker takes the records, before the batch is stored; once at the end if none does', async () => {
    const order: string[] = [];
    const txn = checkTxn(701);
    const res = await a.queue.submit(
      { batchId: `${TEST_COLLECTOR.collectorId}:701-701`, collectorId: TEST_COLLECTOR.collectorId, receivedAt: Date.now(), records: [txn] },
      30_000,
      () => order.push('taken'),
    );
    order.push('stored');
    expect(res).toMatchObject({ stored: 1 });
    expect(order).toEqual(['taken', 'stored']);

    // No worker takes it (this hub runs none): told when the submit gives up.
    let told = 0;
    const waited = idle.queue.submit(
      { batchId: `${TEST_COLLECTOR.collectorId}:702-702`, collectorId: TEST_COLLECTOR.collectorId, receivedAt: Date.now(), records: [checkTxn(702)] },
      300,
      () => (told += 1),
    );
    await expect(waited).rejects.toThrow();
    expect(told).toBe(1);
  });
});
