/**
 * A full disk: the outbox refuses new records while the disk is down to its reserve (coded
 * OUTBOX_FULL, nothing already in it lost, accepted again once acknowledgements made room), and a
 * state file that cannot be written (ENOSPC) leaves no temp file behind, never moves the batch
 * chain, and stops no more than the batch that needed it.
 *
 * The full disk is simulated without mount privileges: the outbox's free-space probe is a seam,
 * and a `.tmp` path that is a symbolic link to /dev/full makes a state write fail with a real
 * ENOSPC from the kernel.
 */
import fs from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { GENESIS_HASH } from '@jianguan/protocol';
import { writeFileAtomic } from '../src/durable.js';
import { BatchChain, CHAIN_FILE, loadOrCreateIdentity } from '../src/identity/index.js';
import { METRICS_FILE, writeMetricsFile, type MetricsSnapshot } from '../src/metrics.js';
import { Outbox } from '../src/outbox/outbox.js';
import { chainedLink, cleanupTmpDirs, startTestHub, tmpDir, usedBytes, waitFor } from './helpers.js';

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
  cleanupTmpDirs();
});

const CID = 'c-disk-test';
const KiB = 1024;
const hasDevFull = fs.existsSync('/dev/full');


/** A disk of `capacity` bytes holding only `dir`. */
function simulatedDisk(dir: string, capacity: number): { probe: (d: string) => Promise<number>; reads: () => number } {
  let reads = 0;
  return {
    probe: async () => {
      reads += 1;
      return capacity - usedBytes(dir);
    },
    reads: () => reads,
  };
}

/** Makes the next write of `file` fail with ENOSPC: its temp file leads to /dev/full. */
function failNextWrite(file: string): void {
  fs.symlinkSync('/dev/full', `${file}.tmp`);
}

const tmpFiles = (dir: string): string[] => fs.readdirSync(dir).filter((f) => f.endsWith('.tmp'));
const rec = (i: number) => ({ id: `${CID}:${i}`, blob: 'r'.repeat(400) });

describe('outbox on a full disk', () => {
  it('refuses new records with OUTBOX_FULL before the disk is down to its reserve; nothing in it is lost; accepts again once acks made room', async () => {
    const dir = tmpDir();
    const reserve = 64 * KiB;
    const disk = simulatedDisk(dir, reserve + 48 * KiB);
    // A reading is trusted for a long time here: the refusal must come from the fresh reading
    // taken when the estimate says the reserve is near, not from the reading getting old.
    const ob = await Outbox.open(dir, { reserveBytes: reserve, freeSpace: disk.probe, freeSpaceMaxAgeMs: 3_600_000, segmentBytes: 16 * KiB });
    let appended = 0;
    let error: unknown;
    for (let i = 1; i <= 1_000 && !error; i++) {
      try {
        await ob.append([rec(i)]);
        appended += 1;
      } catch (e) {
        error = e;
      }
    }
    expect(error).toMatchObject({ code: 'OUTBOX_FULL' });
    expect((error as Error).message).toMatch(/reserve/);
    expect(appended).toBeGreaterThan(50);
    // Free space never went below the reserve, and the disk was not read once per record.
    expect(reserve + 48 * KiB - usedBytes(dir)).toBeGreaterThanOrEqual(reserve);
    expect(disk.reads()).toBeLessThan(appended / 4);

    // Refused whole: no seq consumed, nothing written, everything before it intact.
    const bytes = ob.bytes();
    await expect(ob.append([rec(9_999)])).rejects.toMatchObject({ code: 'OUTBOX_FULL' });
    expect(ob.bytes()).toBe(bytes);
    expect(ob.nextSeq).toBe(appended + 1);
    expect(ob.depth()).toBe(appended);
    const kept = await ob.peek(0, 10_000);
    expect(kept.map((r) => r.seq)).toEqual(Array.from({ length: appended }, (_, i) => i + 1));
    expect(kept.map((r) => r.payload)).toEqual(Array.from({ length: appended }, (_, i) => rec(i + 1)));
    await ob.close();

    // Across a restart too; and the state files still have room (the reserve is for them).
    const again = await Outbox.open(dir, { reserveBytes: reserve, freeSpace: disk.probe, segmentBytes: 16 * KiB });
    expect(again.depth()).toBe(appended);
    await expect(again.append([rec(9_999)])).rejects.toMatchObject({ code: 'OUTBOX_FULL' });
    // The hub acknowledges: the ledger is written into the reserve, segments are deleted, the
    // refused record gets in.
    await again.ack(appended);
    expect(await again.append([rec(appended + 1)])).toEqual([appended + 1]);
    expect(again.depth()).toBe(1);
    await again.close();
  });

  it('counts the outbox size bound and the reserve separately: 0 turns the disk check off', async () => {
    const dir = tmpDir();
    const ob = await Outbox.open(dir, { reserveBytes: 0, freeSpace: async () => 0 });
    expect(await ob.append([rec(1)])).toEqual([1]);
    await ob.close();
  });

  it('a free-space probe that fails is reported once and does not stop appends', async () => {
    const dir = tmpDir();
    const events: string[] = [];
    const ob = await Outbox.open(dir, {
      freeSpaceMaxAgeMs: 0,
      freeSpace: async () => {
        throw new Error('statfs not supported');
      },
      onEvent: (e) => events.push(e.type),
    });
    for (let i = 1; i <= 3; i++) await ob.append([rec(i)]);
    expect(ob.depth()).toBe(3);
    expect(events.filter((e) => e === 'outbox.free_space_unknown')).toHaveLength(1);
    await ob.close();
  });
});

describe.skipIf(!hasDevFull)('state files on a full disk (ENOSPC from /dev/full)', () => {
  it('writeFileAtomic: a failed write removes its temp file and leaves the old file as it was', async () => {
    const dir = tmpDir();
    const file = path.join(dir, 'state.json');
    await writeFileAtomic(file, '{"v":1}', true);
    failNextWrite(file);
    await expect(writeFileAtomic(file, '{"v":2}', true)).rejects.toMatchObject({ code: 'ENOSPC' });
    expect(tmpFiles(dir)).toEqual([]);
    expect(fs.readFileSync(file, 'utf8')).toBe('{"v":1}');
    await writeFileAtomic(file, '{"v":3}', true);
    expect(fs.readFileSync(file, 'utf8')).toBe('{"v":3}');
  });

  it('metrics.json: a failed write removes its temp file', async () => {
    const dir = tmpDir();
    failNextWrite(path.join(dir, METRICS_FILE));
    await expect(writeMetricsFile(dir, { collectorId: CID } as MetricsSnapshot)).rejects.toMatchObject({ code: 'ENOSPC' });
    expect(tmpFiles(dir)).toEqual([]);
    expect(fs.existsSync(path.join(dir, METRICS_FILE))).toBe(false);
  });

  it('chain.json: a seal whose header cannot be saved changes nothing; the next seal follows the last saved one', async () => {
    const dir = tmpDir();
    const identity = await loadOrCreateIdentity(dir);
    const chain = await BatchChain.open(dir, { collectorId: CID, identity });
    const records = (from: number, n: number) => Array.from({ length: n }, (_, i) => ({ seq: from + i, payload: rec(from + i) }));
    const first = await chain.seal(CID, records(1, 3));
    const saved = fs.readFileSync(path.join(dir, CHAIN_FILE), 'utf8');

    failNextWrite(path.join(dir, CHAIN_FILE));
    await expect(chain.seal(CID, records(4, 3))).rejects.toMatchObject({ code: 'OUTBOX_IO' });
    expect(tmpFiles(dir)).toEqual([]);
    expect(fs.readFileSync(path.join(dir, CHAIN_FILE), 'utf8')).toBe(saved);
    expect(chain.tip).toEqual({ batchSeq: 1, hash: first.hash });
    expect(chain.pendingAfter(0)).toEqual(first);

    const second = await chain.seal(CID, records(4, 3));
    expect(second).toMatchObject({ batchSeq: 2, prevHash: first.hash, firstSeq: 4, lastSeq: 6 });
    // What a restart reads is what was sealed last.
    const reopened = await BatchChain.open(dir, { collectorId: CID, identity });
    expect(reopened.tip).toEqual({ batchSeq: 2, hash: second.hash });
  });

  it('the link sends no batch whose header could not be saved, retries, and delivers everything on one unbroken chain', async () => {
    const hub = await startTestHub();
    cleanups.push(() => hub.close());
    const dir = tmpDir();
    const outbox = await Outbox.open(dir, { fsync: 'never' });
    await outbox.append(Array.from({ length: 25 }, (_, i) => i), (_, seq) => ({ id: `${CID}:${seq}`, seq }));
    const { link, events } = await chainedLink(dir, outbox, hub.url, { collectorId: CID });
    cleanups.push(async () => {
      await link.stop(100);
      await outbox.close();
    });
    failNextWrite(path.join(dir, CHAIN_FILE));
    link.start();
    await waitFor(() => outbox.depth() === 0, 20_000, 'drained');

    expect(events.some((e) => e.event === 'link.error' && /not sent, its chain header could not be saved/.test(e.message))).toBe(true);
    // The first batch the hub saw is the first of the chain: nothing was sent under the header
    // that was never saved, and no batchSeq was skipped or used for other records (a re-send of
    // the same batch on a slow ack is allowed: it is byte-identical).
    expect([...new Set(hub.submissions.map((b) => b.batchSeq))]).toEqual([1, 2, 3]);
    expect(new Set(hub.submissions.map((b) => `${b.batchSeq}:${b.signature}`)).size).toBe(3);
    expect(hub.submissions[0]!.prevHash).toBe(GENESIS_HASH);
    expect(hub.order).toEqual(Array.from({ length: 25 }, (_, i) => `${CID}:${i + 1}`));
    expect(tmpFiles(dir)).toEqual([]);
  });
});
