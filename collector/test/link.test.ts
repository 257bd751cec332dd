/**
 * The link against a real socket.io server on /collect: exactly-once-in-order delivery when the
 * hub behaves, same-batch re-sends when it drops an ack, disconnects or restarts, slow retries
 * when it refuses, and an auth rejection that keeps everything in the outbox.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { backoffDelay, Link, type LinkCounters, type LinkEvent } from '../src/link/link.js';
import { Outbox } from '../src/outbox/outbox.js';
import { ackAll, cleanupTmpDirs, startTestHub, tmpDir, TOKEN, waitFor, type TestHub } from './helpers.js';

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
  cleanupTmpDirs();
});

const CID = 'c-link-test';

async function setup(opts: { records: number; hub?: Partial<Parameters<typeof startTestHub>[0]>; token?: string; maxRecords?: number; ackTimeoutMs?: number; backoff?: { minMs: number; maxMs: number } }) {
  const hub = await startTestHub(opts.hub ?? {});
  cleanups.push(() => hub.close());
  const outbox = await Outbox.open(tmpDir(), { fsync: 'never' });
  cleanups.push(() => outbox.close());
  if (opts.records > 0) {
    await outbox.append(
      Array.from({ length: opts.records }, (_, i) => i),
      (_, seq) => ({ id: `${CID}:${seq}`, seq }),
    );
  }
  const counters: LinkCounters = { sent: 0, acked: 0, rejected: 0, batchesSent: 0, batchesAcked: 0, batchFailures: 0, lastAckAt: null };
  const events: LinkEvent[] = [];
  const link = new Link({
    collectorId: CID,
    token: opts.token ?? TOKEN,
    hubUrl: hub.url,
    batch: { maxRecords: opts.maxRecords ?? 50, maxBytes: 512 * 1024, lingerMs: 5 },
    ackTimeoutMs: opts.ackTimeoutMs ?? 2_000,
    backoff: opts.backoff ?? { minMs: 20, maxMs: 200 },
    outbox,
    counters,
    emit: (e) => events.push(e),
  });
  cleanups.push(() => link.stop(100));
  return { hub, outbox, link, counters, events };
}

function expectExactlyOnceInOrder(hub: TestHub, n: number): void {
  expect(hub.order).toEqual(Array.from({ length: n }, (_, i) => `${CID}:${i + 1}`));
}

describe('link', () => {
  it('sends the records as bytes — the text their digest is computed over — to a hub whose hello offers it, and as an array otherwise', async () => {
    const { hub, outbox, link } = await setup({ records: 250, maxRecords: 100, hub: { recordsJson: true } });
    link.start();
    await waitFor(() => outbox.depth() === 0, 15_000, 'outbox drained');
    expectExactlyOnceInOrder(hub, 250);
    expect(hub.recordsJson).toHaveLength(3);
    hub.submissions.forEach((b, i) => {
      expect(b).not.toHaveProperty('recordsJson');
      expect(Buffer.from(hub.recordsJson[i]!).toString('utf8')).toBe(JSON.stringify(b.records));
    });

    const plain = await setup({ records: 30, maxRecords: 100 });
    plain.link.start();
    await waitFor(() => plain.outbox.depth() === 0, 15_000, 'outbox drained');
    expect(plain.hub.recordsJson).toHaveLength(0);
    expect(plain.hub.submissions[0]!.records).toHaveLength(30);
  });

  it('delivers every record exactly once, in order, in stable batches', async () => {
    const { hub, outbox, link, counters, events } = await setup({ records: 1000, maxRecords: 100 });
    link.start();
    await waitFor(() => outbox.depth() === 0, 15_000, 'outbox drained');
    expectExactlyOnceInOrder(hub, 1000);
    expect(hub.duplicates).toBe(0);
    expect(hub.submissions).toHaveLength(10);
    expect(hub.submissions.map((b) => b.batchId)).toEqual(Array.from({ length: 10 }, (_, i) => `${CID}:${i * 100 + 1}-${i * 100 + 100}`));
    for (const b of hub.submissions) {
      expect(b.collectorId).toBe(CID);
      expect(b.records.map((r) => (r as { seq: number }).seq)).toEqual(Array.from({ length: b.lastSeq - b.firstSeq + 1 }, (_, i) => b.firstSeq + i));
    }
    expect(counters).toMatchObject({ sent: 1000, acked: 1000, rejected: 0, batchesSent: 10, batchesAcked: 10, batchFailures: 0 });
    expect(outbox.ackedSeq).toBe(1000);
    expect(link.state).toBe('connected');
    expect(events.filter((e) => e.event === 'batch.acked').map((e) => (e as { batchId: string }).batchId)).toEqual(hub.submissions.map((b) => b.batchId));
    expect(events.some((e) => e.event === 'hub.hello')).toBe(true);

    // Records appended later are picked up after a wake-up.
    await outbox.append([0, 1, 2], (_, seq) => ({ id: `${CID}:${seq}`, seq }));
    link.wake();
    await waitFor(() => outbox.depth() === 0, 5_000, 'late records');
    expectExactlyOnceInOrder(hub, 1003);
    expect(hub.submissions.at(-1)!.batchId).toBe(`${CID}:1001-1003`);
  });

  it('re-sends the same batch (same id, same records) when the first ack never comes', async () => {
    const { hub, outbox, link, counters, events } = await setup({
      records: 120,
      maxRecords: 50,
      ackTimeoutMs: 300,
      hub: { behaviour: (b, s, nth) => (nth === 1 ? 'drop' : ackAll(b, s, nth)) },
    });
    link.start();
    await waitFor(() => outbox.depth() === 0, 10_000, 'outbox drained');
    const ids = hub.submissions.map((b) => b.batchId);
    expect(ids[0]).toBe(`${CID}:1-50`);
    expect(ids[1]).toBe(ids[0]);
    expect(hub.submissions[1]!.records).toEqual(hub.submissions[0]!.records);
    expect(ids.slice(2)).toEqual([`${CID}:51-100`, `${CID}:101-120`]);
    expectExactlyOnceInOrder(hub, 120);
    expect(counters.batchFailures).toBe(1);
    expect(events.find((e) => e.event === 'batch.failed')).toMatchObject({ batchId: `${CID}:1-50`, code: 'ACK_TIMEOUT', retryable: true });
  });

  it('survives the hub disconnecting it mid-batch: reconnects and re-sends the same batch', async () => {
    const { hub, outbox, link, events } = await setup({
      records: 200,
      maxRecords: 40,
      hub: { behaviour: (b, s, nth) => (nth === 3 ? 'disconnect' : ackAll(b, s, nth)) },
    });
    link.start();
    await waitFor(() => outbox.depth() === 0, 10_000, 'outbox drained');
    const ids = hub.submissions.map((b) => b.batchId);
    expect(ids.slice(0, 4)).toEqual([`${CID}:1-40`, `${CID}:41-80`, `${CID}:81-120`, `${CID}:81-120`]);
    expectExactlyOnceInOrder(hub, 200);
    expect(hub.connections).toBe(2);
    expect(events.some((e) => e.event === 'link.disconnected' && e.reason === 'io server disconnect')).toBe(true);
    expect(events.find((e) => e.event === 'batch.failed')).toMatchObject({ batchId: `${CID}:81-120`, code: 'DISCONNECTED' });
  });

  it('reconnects through a hub restart and loses nothing', async () => {
    let restarting: Promise<void> | undefined;
    const ctx = await setup({ records: 300, maxRecords: 30 });
    const { hub, outbox, link } = ctx;
    hub.behaviour = (b, s, nth) => {
      if (nth === 4 && !restarting) {
        restarting = hub.restart(400); // the hub dies while this batch is in flight
        return 'drop';
      }
      return ackAll(b, s, nth);
    };
    link.start();
    await waitFor(() => outbox.depth() === 0, 15_000, 'outbox drained');
    await restarting;
    expectExactlyOnceInOrder(hub, 300);
    const ids = hub.submissions.map((b) => b.batchId);
    expect(ids[3]).toBe(`${CID}:91-120`);
    expect(ids[4]).toBe(`${CID}:91-120`);
    expect(link.state).toBe('connected');
  });

  it('retries a retryable refusal with backoff and a non-retryable one slowly, deleting nothing meanwhile', async () => {
    const depths: number[] = [];
    const ctx = await setup({ records: 10, maxRecords: 10, backoff: { minMs: 20, maxMs: 400 } });
    const { hub, outbox, link, events } = ctx;
    const times: number[] = [];
    hub.behaviour = (b, s, nth) => {
      times.push(Date.now());
      depths.push(outbox.depth());
      if (nth <= 2) return { ok: false, batchId: b.batchId, code: 'STORE_UNAVAILABLE', message: 'store down', retryable: true };
      if (nth === 3) return { ok: false, batchId: b.batchId, code: 'COLLECTOR_MISMATCH', message: 'nope', retryable: false };
      return ackAll(b, s, nth);
    };
    link.start();
    await waitFor(() => outbox.depth() === 0, 10_000, 'outbox drained');
    expect(depths).toEqual([10, 10, 10, 10]);
    expect(new Set(hub.submissions.map((b) => b.batchId))).toEqual(new Set([`${CID}:1-10`]));
    // After the non-retryable refusal the link waited backoff.maxMs.
    expect(times[3]! - times[2]!).toBeGreaterThanOrEqual(380);
    const failed = events.filter((e) => e.event === 'batch.failed');
    expect(failed.map((e) => (e as { retryable: boolean }).retryable)).toEqual([true, true, false]);
    expectExactlyOnceInOrder(hub, 10);
  });

  it('auth rejection: says so, keeps everything, and delivers once the hub accepts the token', async () => {
    const { hub, outbox, link, counters, events } = await setup({ records: 25, token: 'wrong-token-0123456789', backoff: { minMs: 20, maxMs: 300 } });
    link.start();
    await waitFor(() => hub.authFailures >= 2, 5_000, 'two refused handshakes');
    // Between refusals the link waits (disconnected), then tries again (connecting): on a busy
    // machine the poll above may land in either; it is never connected.
    expect(['disconnected', 'connecting']).toContain(link.state);
    const rejected = events.find((e) => e.event === 'link.rejected');
    expect(rejected).toMatchObject({ code: 'AUTH_FAILED', retryInMs: 300 });
    expect(hub.submissions).toHaveLength(0);
    expect(outbox.depth()).toBe(25);
    expect(counters.sent).toBe(0);
    // An operator fixes the hub's credential table: the collector gets in and delivers.
    hub.token = 'wrong-token-0123456789';
    await waitFor(() => outbox.depth() === 0, 5_000, 'delivery after the fix');
    expectExactlyOnceInOrder(hub, 25);
  });

  it('acknowledges records the hub dead-lettered and counts them as rejected', async () => {
    const { hub, outbox, link, counters, events } = await setup({
      records: 5,
      hub: {
        behaviour: (b) => ({
          ok: true,
          batchId: b.batchId,
          stored: 3,
          rejected: [
            { index: 1, id: `${CID}:2`, code: 'RECORD_INVALID', reason: 'occurredAt: expected number' },
            { index: 3, id: `${CID}:4`, code: 'RECORD_INVALID', reason: 'institutionId: required' },
          ],
          warnings: 1,
        }),
      },
    });
    link.start();
    await waitFor(() => outbox.depth() === 0, 5_000, 'outbox drained');
    expect(counters).toMatchObject({ acked: 5, rejected: 2 });
    expect(events.find((e) => e.event === 'batch.rejected_records')).toMatchObject({ batchId: `${CID}:1-5` });
    expect(hub.submissions).toHaveLength(1);
  });

  it('stop() closes the socket and leaves an unanswered batch in the outbox', async () => {
    const { hub, outbox, link } = await setup({ records: 10, hub: { behaviour: () => 'drop' } });
    link.start();
    await waitFor(() => hub.submissions.length === 1, 5_000, 'first submission');
    const t0 = Date.now();
    await link.stop(200);
    expect(Date.now() - t0).toBeLessThan(2_000);
    expect(link.state).toBe('disconnected');
    expect(outbox.depth()).toBe(10);
    expect(hub.stored.size).toBe(0);
  });

  it('backoff is full-jitter exponential within [minMs, maxMs]', () => {
    expect(backoffDelay(1, 100, 10_000, () => 0)).toBe(100);
    expect(backoffDelay(1, 100, 10_000, () => 1)).toBe(200);
    expect(backoffDelay(3, 100, 10_000, () => 1)).toBe(800);
    expect(backoffDelay(30, 100, 10_000, () => 1)).toBe(10_000);
    for (let a = 1; a < 40; a++) {
      const d = backoffDelay(a, 100, 10_000);
      expect(d).toBeGreaterThanOrEqual(100);
      expect(d).toBeLessThanOrEqual(10_000);
    }
  });
});
