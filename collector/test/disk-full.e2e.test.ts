/**
 * End to end, a collector on a full disk: it runs against a hub that is not there until its disk
 * is down to the reserve (the source is held, nothing is dropped), then restarts on that full disk
 * with the backlog against a real hub (socket.io, BullMQ on real Redis, chDB), drains it, and
 * takes records again — every record stored exactly once, seqs without a gap.
 *
 * The disk is simulated through the outbox's free-space seam (capacity minus the bytes of the
 * files in the outbox directory), so the test needs no mount privileges.
 */
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startHub, type Hub } from '@jianguan/hub/app';
import { DEMO_COLLECTORS } from '@jianguan/rules';
import { loadOrCreateIdentity, startCollector, type CollectorEvent, type CollectorHandle } from '../src/index.js';
import { removeDir, usedBytes, waitFor } from './helpers.js';

const redisUrl = process.env.JG_TEST_REDIS_URL;
if (!redisUrl) throw new Error('JG_TEST_REDIS_URL is not set: run the suite with `npm test` (it starts a private Redis)');

const KiB = 1024;
const RESERVE = 64 * KiB;
const CID = 'e2e-diskfull';
const INSTITUTION = DEMO_COLLECTORS[0]!.institutionId;
const TOKEN = crypto.randomBytes(16).toString('hex');
const PSEUDONYM_KEY = 'e2e-pseudonym-key-0123456789abcdef';

let tmp: string;
let hub: Hub | undefined;
const running = new Set<CollectorHandle>();


/** A disk of `capacity` bytes holding only the outbox directory. */
const diskOf = (dir: string, capacity: number) => async (): Promise<number> => capacity - usedBytes(dir);

async function run(outboxDir: string, hubUrl: string, maxRecords: number, freeSpace: () => Promise<number>, events: CollectorEvent[]): Promise<CollectorHandle> {
  const c = await startCollector(
    {
      collectorId: CID,
      token: TOKEN,
      hubUrl,
      institutionId: INSTITUTION,
      outboxDir,
      pseudonymKey: PSEUDONYM_KEY,
      batch: { maxRecords: 20, maxBytes: 512 * KiB, lingerMs: 5 },
      backoff: { minMs: 50, maxMs: 500 },
      // No spare file: this disk fills through the outbox itself (spare.test.ts fills it from outside).
      outbox: { reserveBytes: RESERVE, spareBytes: 0, segmentBytes: 16 * KiB },
      simulator: { enabled: true, ratePerSec: 2_000, anomalyRate: 0, malformedRate: 0, maxRecords, seed: 11 },
    },
    { freeSpace, onEvent: (e) => events.push(e) },
  );
  running.add(c);
  return c;
}

async function stop(c: CollectorHandle): Promise<void> {
  await c.stop();
  running.delete(c);
}

beforeAll(() => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'jg-diskfull-'));
});

afterAll(async () => {
  for (const c of running) await c.stop();
  await hub?.close();
  if (tmp) removeDir(tmp);
});

describe('a collector whose disk filled up', () => {
  it('holds its source at the reserve, then drains the backlog to the hub after a restart on the full disk and takes records again', async () => {
    const outboxDir = path.join(tmp, 'outbox', CID);
    fs.mkdirSync(outboxDir, { recursive: true });
    const publicKey = (await loadOrCreateIdentity(outboxDir)).publicKey;

    // 1. No hub: the outbox grows until the disk is down to the reserve, and then refuses.
    const offline: CollectorEvent[] = [];
    const capacity = RESERVE + 160 * KiB;
    const first = await run(outboxDir, 'http://127.0.0.1:1', 100_000, diskOf(outboxDir, capacity), offline);
    await waitFor(() => offline.some((e) => e.event === 'outbox.full'), 30_000, 'the outbox to refuse records');
    // The first refusal may be of a large chunk; the source then tries smaller ones (down to one
    // record, about 800 bytes) until not even that fits above the reserve.
    await waitFor(() => capacity - usedBytes(outboxDir) < RESERVE + 4 * KiB, 30_000, 'the disk to be down to the reserve');
    const held = first.status();
    await stop(first);
    // The source may finish one more append while it stops (a chunk already on its way when the
    // status was read): what went into the outbox is counted after the stop.
    const offlineGenerated = first.status().generated;
    expect(offlineGenerated).toBeGreaterThanOrEqual(held.generated);
    expect(held.generated).toBeGreaterThan(100);
    expect(held.sourceDone).toBe(false);
    expect(held.outboxDepth).toBe(held.generated); // nothing acknowledged, nothing dropped
    // Records never went into the reserve; the state files written since (metrics, the chain's
    // and acks' files) may take a little of it, which is what it is kept for.
    const files = fs.readdirSync(outboxDir).map((f) => `${f} ${fs.statSync(path.join(outboxDir, f)).size}`).join(', ');
    expect(capacity - usedBytes(outboxDir), files).toBeGreaterThanOrEqual(RESERVE - 4 * KiB);
    const full = offline.find((e) => e.event === 'outbox.full');
    expect(full && 'message' in full ? full.message : '').toMatch(/reserve/);

    // 2. The hub comes up; the collector restarts on a disk left just short of the reserve.
    hub = await startHub(
      {
        backupHour: -1,
        port: 0,
        host: '127.0.0.1',
        redisUrl,
        queuePrefix: `jgdf-${crypto.randomBytes(4).toString('hex')}`,
        dataDir: path.join(tmp, 'hub'),
        seedDemo: true,
        collectors: [{ collectorId: CID, institutionId: INSTITUTION, token: TOKEN, publicKey }],
        logLevel: 'warn',
      },
      {},
    );
    const online: CollectorEvent[] = [];
    const more = 150;
    const second = await run(outboxDir, hub.url, more, diskOf(outboxDir, usedBytes(outboxDir) + RESERVE - 1), online);
    await second.drained(120_000);
    const done = second.status();
    await stop(second);

    // It started refused (the disk was full), and took records only after the backlog drained.
    // The events named in each message: a failure on another machine says what happened.
    const order = online.slice(0, 30).map((e) => e.event).join(' ');
    const firstFull = online.findIndex((e) => e.event === 'outbox.full');
    const firstCaptured = online.findIndex((e) => e.event === 'records.captured');
    expect(firstFull, order).toBeGreaterThanOrEqual(0);
    expect(firstCaptured, order).toBeGreaterThan(firstFull);
    expect(online.slice(0, firstCaptured).some((e) => e.event === 'batch.acked'), order).toBe(true);
    expect(online.filter((e) => e.event === 'link.error')).toEqual([]);
    expect(done.generated).toBe(more);
    expect(done.outboxDepth).toBe(0);

    // Every record of both runs is on the hub exactly once, seqs 1..N without a gap.
    const total = offlineGenerated + more;
    const rows = await hub.store.query<{ id: string; n: string }>({
      sql: 'SELECT id, count() AS n FROM transactions FINAL WHERE collector_id = {c:String} GROUP BY id',
      params: { c: CID },
    });
    expect(rows.filter((r) => Number(r.n) !== 1)).toEqual([]);
    const seqs = rows.map((r) => Number(r.id.slice(CID.length + 1))).sort((a, b) => a - b);
    expect(seqs).toEqual(Array.from({ length: total }, (_, i) => i + 1));
    const [dead] = await hub.store.query<{ n: string }>({ sql: 'SELECT count() AS n FROM dead_letters WHERE collector_id = {c:String}', params: { c: CID } });
    expect(Number(dead!.n)).toBe(0);
  });
});
