/**
 * Which thread evaluates (JG_EVALUATION_MODE, hub/src/jobs/overflow.ts), seen from outside: a hub
 * with an evaluation thread evaluates a collector's batches in the hub thread while that thread
 * has room (the default, `overflow`), or in the thread always (`threads`); /healthz says which,
 * and counts the batches each side stored. Real hub, real socket.io collector, real Redis and chDB.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { io as connect, type Socket } from 'socket.io-client';
import type { Hub } from '../src/app.js';
import type { BatchAck, Health } from '../src/protocol/index.js';
import { checkTxn, startTestHub, TEST_COLLECTOR, unsignedBatch } from './helpers.js';

// chDB opens one data directory per process: one hub at a time, each closed by its test.
let hub: Hub | undefined;
const sockets: Socket[] = [];

afterAll(async () => {
  for (const s of sockets) s.close();
  await hub?.close();
});

async function withHub(overrides: Parameters<typeof startTestHub>[0], run: (h: Hub) => Promise<void>): Promise<void> {
  ({ hub } = await startTestHub(overrides));
  try {
    await run(hub);
  } finally {
    for (const s of sockets.splice(0)) s.close();
    await hub.close();
    hub = undefined;
  }
}

async function submitBatches(hub: Hub, count: number, firstSeq: number): Promise<void> {
  const s = connect(`${hub.url}/collect`, { auth: { collectorId: TEST_COLLECTOR.collectorId, token: TEST_COLLECTOR.token }, transports: ['websocket'], reconnection: false, forceNew: true });
  sockets.push(s);
  await new Promise<void>((resolve, reject) => {
    s.once('connect', () => resolve());
    s.once('connect_error', reject);
  });
  for (let b = 0; b < count; b++) {
    const seq = firstSeq + b * 3;
    const ack: BatchAck = await s.timeout(30_000).emitWithAck('batch.submit', unsignedBatch([checkTxn(seq), checkTxn(seq + 1), checkTxn(seq + 2)], seq));
    expect(ack.ok).toBe(true);
    if (ack.ok) expect(ack.stored).toBe(3);
  }
  s.close();
}

const health = async (hub: Hub): Promise<Health> => (await hub.app.inject({ method: 'GET', url: '/healthz' })).json();

describe('evaluation mode', () => {
  it('overflow (the default): the hub thread evaluates while it has room; the thread stays paused', async () => {
    await withHub({ evaluationThreads: 1 }, async (h) => {
      await submitBatches(h, 4, 100);
      expect((await health(h)).evaluation).toEqual({ mode: 'overflow', threads: 1, threads_taking: false, batches_hub: 4, batches_threads: 0 });
    });
  });

  it('threads: every batch in the evaluation thread, none in the hub thread', async () => {
    await withHub({ evaluationThreads: 1, evaluationMode: 'threads' }, async (h) => {
      await submitBatches(h, 3, 200);
      expect((await health(h)).evaluation).toEqual({ mode: 'threads', threads: 1, threads_taking: true, batches_hub: 0, batches_threads: 3 });
    });
  });

  it('no evaluation threads: the hub thread, as on one core', async () => {
    await withHub({ evaluationThreads: 0 }, async (h) => {
      await submitBatches(h, 2, 300);
      expect((await health(h)).evaluation).toEqual({ mode: 'hub', threads: 0, threads_taking: false, batches_hub: 2, batches_threads: 0 });
    });
  });
});
