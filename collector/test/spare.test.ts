/**
 * The outbox's spare file (outbox.ts, "Disk space"): part of the reserve held as spare.bin, so a
 * disk that another program fills to the last block still lets the state files be written and
 * the backlog drain.
 *
 * - on a simulated disk (the free-space seam): written at open, counted as reserve, deleted on
 *   request, written again after acknowledgements once there is room, removed when turned off;
 * - the link: a chain.json write that fails with a real ENOSPC (its temp file a link to
 *   /dev/full) deletes the spare and is retried at once, not after the backoff;
 * - a whole collector on a real, small file system (tmpfs; needs root and mount, skipped
 *   otherwise) filled to the last block from outside while the hub is away: when the hub comes,
 *   every record arrives, once.
 */
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { DEMO_COLLECTORS } from '@jianguan/rules';
import { buildSnapshot, inspectOutbox, renderPrometheus, startCollector, type CollectorEvent } from '../src/index.js';
import { CHAIN_FILE } from '../src/identity/index.js';
import { Outbox, SPARE_FILE, type OutboxEvent } from '../src/outbox/outbox.js';
import { chainedLink, cleanupTmpDirs, freePort, PSEUDONYM_KEY, startTestHub, tmpDir, TOKEN, usedBytes, waitFor } from './helpers.js';

const KiB = 1024;
const CID = 'c-spare-test';
const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
  cleanupTmpDirs();
});

const spareSize = (dir: string): number | undefined => (fs.existsSync(path.join(dir, SPARE_FILE)) ? fs.statSync(path.join(dir, SPARE_FILE)).size : undefined);
const rec = (i: number) => ({ id: `${CID}:${i}`, blob: 'r'.repeat(400) });

describe('the outbox spare file', () => {
  it('is written at open, counts as reserve, is deleted on request and written again after acks once there is room; another size or 0 replaces or removes it', async () => {
    const dir = tmpDir();
    const reserve = 128 * KiB;
    const spare = 32 * KiB;
    const capacity = reserve + 96 * KiB;
    const events: OutboxEvent[] = [];
    const opts = { reserveBytes: reserve, spareBytes: spare, spareRetryMs: 0, segmentBytes: 8 * KiB, freeSpace: async () => capacity - usedBytes(dir), onEvent: (e: OutboxEvent) => events.push(e) };
    const ob = await Outbox.open(dir, opts);
    expect(spareSize(dir)).toBe(spare);
    expect(ob.spareBytes).toBe(spare);
    expect(events.map((e) => e.type)).toContain('outbox.spare_written');

    // Records go in until the disk is down to the reserve, the spare counted as part of it.
    let n = 0;
    for (;;) {
      try {
        await ob.append([rec(n + 1)], (r) => r);
        n += 1;
      } catch (e) {
        expect((e as { code?: string }).code).toBe('OUTBOX_FULL');
        break;
      }
    }
    const free = capacity - usedBytes(dir);
    expect(n).toBeGreaterThan(50);
    expect(free + spare).toBeGreaterThanOrEqual(reserve);
    expect(free + spare - 1024).toBeLessThan(reserve);

    // Deleted on request (once), its bytes free on the disk.
    expect(await ob.releaseSpare()).toBe(true);
    expect(spareSize(dir)).toBeUndefined();
    expect(capacity - usedBytes(dir)).toBe(free + spare);
    expect(await ob.releaseSpare()).toBe(false);
    expect(events.filter((e) => e.type === 'outbox.spare_released')).toEqual([{ type: 'outbox.spare_released', bytes: spare }]);
    // Without the spare the same disk is short of the reserve: nothing more goes in.
    await expect(ob.append([rec(n + 1)], (r) => r)).rejects.toMatchObject({ code: 'OUTBOX_FULL' });

    // Acknowledgements delete segments; with the reserve free again the spare is written again.
    await ob.ack(n);
    expect(spareSize(dir)).toBe(spare);
    expect(events.filter((e) => e.type === 'outbox.spare_written')).toHaveLength(2);
    await ob.close();

    // Reopened: the spare taken over as it is; turned off: removed.
    const again = await Outbox.open(dir, opts);
    expect(again.spareBytes).toBe(spare);
    await again.close();
    const smaller = await Outbox.open(dir, { ...opts, spareBytes: spare / 2 });
    expect(spareSize(dir)).toBe(spare / 2);
    await smaller.close();
    const off = await Outbox.open(dir, { ...opts, spareBytes: 0 });
    expect(spareSize(dir)).toBeUndefined();
    expect(off.spareBytes).toBe(0);
    await off.close();
  });

  it('is at most half the reserve, and not written while the disk is short of the reserve', async () => {
    const dir = tmpDir();
    const big = await Outbox.open(dir, { reserveBytes: 64 * KiB, spareBytes: 1024 * KiB, freeSpace: async () => 10 * 1024 * KiB });
    expect(spareSize(dir)).toBe(32 * KiB);
    await big.close();
    const other = tmpDir();
    const short = await Outbox.open(other, { reserveBytes: 64 * KiB, spareBytes: 16 * KiB, freeSpace: async () => 63 * KiB });
    expect(spareSize(other)).toBeUndefined();
    expect(short.spareBytes).toBe(0);
    await short.close();
  });

  it('a chain.json write that finds the disk full deletes the spare and is retried at once, not after the backoff', async () => {
    const hub = await startTestHub();
    cleanups.push(() => hub.close());
    const dir = tmpDir();
    const chainTmp = path.join(dir, `${CHAIN_FILE}.tmp`);
    // The disk gives the spare's bytes back: the write that failed for want of them now fits.
    const outbox = await Outbox.open(dir, {
      fsync: 'never',
      reserveBytes: 256 * KiB,
      spareBytes: 64 * KiB,
      onEvent: (e) => {
        if (e.type === 'outbox.spare_released') fs.rmSync(chainTmp, { force: true });
      },
    });
    expect(outbox.spareBytes).toBe(64 * KiB);
    await outbox.append(Array.from({ length: 12 }, (_, i) => i), (_, seq) => ({ id: `${CID}:${seq}`, seq }));
    // A retry after the backoff would come after the wait below has given up.
    const { link, events } = await chainedLink(dir, outbox, hub.url, { collectorId: CID, maxRecords: 5, backoff: { minMs: 60_000, maxMs: 60_000 } });
    cleanups.push(async () => {
      await link.stop(100);
      await outbox.close();
    });
    fs.symlinkSync('/dev/full', chainTmp);
    link.start();
    await waitFor(() => outbox.depth() === 0, 15_000, 'the backlog to drain');

    expect(events.filter((e) => e.event === 'link.error').map((e) => (e as { message: string }).message)).toEqual([
      expect.stringMatching(/chain header could not be saved: .*ENOSPC.*spare file was deleted to make room, retrying now/),
    ]);
    expect(outbox.spareBytes).toBe(0);
    expect(hub.order).toEqual(Array.from({ length: 12 }, (_, i) => `${CID}:${i + 1}`));
    expect(hub.duplicates).toBe(0);
  });
});

// ---- a real small disk ------------------------------------------------------------------------

/** A tmpfs of `bytes` mounted on a new directory, or the reason there is none. */
function mountSmallDisk(bytes: number): { dir: string } | { reason: string } {
  if (process.platform !== 'linux' || process.getuid?.() !== 0) return { reason: 'needs root on Linux to mount a tmpfs' };
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'jg-smalldisk-'));
  try {
    execFileSync('mount', ['-t', 'tmpfs', '-o', `size=${bytes}`, 'tmpfs', dir], { stdio: 'pipe' });
    return { dir };
  } catch (e) {
    fs.rmSync(dir, { recursive: true, force: true });
    return { reason: `mount refused: ${String((e as { stderr?: Buffer }).stderr ?? e).trim()}` };
  }
}

const disk = mountSmallDisk(4 * 1024 * KiB);
afterAll(() => {
  if (!('dir' in disk)) return;
  // A mount left behind is litter, not a failure of what was tested: lazily detached if busy.
  for (const args of [[disk.dir], ['-l', disk.dir]]) {
    try {
      execFileSync('umount', args, { stdio: 'pipe' });
      fs.rmSync(disk.dir, { recursive: true, force: true });
      return;
    } catch (e) {
      console.warn(`spare.test.ts: umount ${args.join(' ')}: ${String((e as { stderr?: Buffer }).stderr ?? e).trim()}`);
    }
  }
});
if ('reason' in disk) console.warn(`spare.test.ts: the small-disk test is skipped (${disk.reason})`);

describe.skipIf(!('dir' in disk))('a collector on a disk another program filled to the last block', () => {
  it('starts again on it and, once the hub is there, drains its whole backlog: every record arrives, once', async () => {
    const root = (disk as { dir: string }).dir;
    const outboxDir = path.join(root, 'outbox');
    const port = await freePort();
    const events: CollectorEvent[] = [];
    const config = (maxRecords: number) => ({
      collectorId: CID,
      token: TOKEN,
      hubUrl: `http://127.0.0.1:${port}`,
      institutionId: DEMO_COLLECTORS[0]!.institutionId,
      outboxDir,
      pseudonymKey: PSEUDONYM_KEY,
      batch: { maxRecords: 200, maxBytes: 512 * KiB, lingerMs: 5 },
      backoff: { minMs: 50, maxMs: 500 },
      outbox: { reserveBytes: 512 * KiB, spareBytes: 256 * KiB, segmentBytes: 64 * KiB },
      simulator: { enabled: true, ratePerSec: 5_000, anomalyRate: 0, malformedRate: 0, maxRecords, seed: 7 },
    });
    const first = await startCollector(config(10_000), { onEvent: (e) => events.push(e) });
    expect(fs.statSync(path.join(outboxDir, SPARE_FILE)).size).toBe(256 * KiB);
    expect(first.status().outboxSpareBytes).toBe(256 * KiB);
    expect((await inspectOutbox(outboxDir)).spareBytes).toBe(256 * KiB);

    // No hub yet: the outbox fills down to its reserve and holds the source.
    await waitFor(() => events.some((e) => e.event === 'outbox.full'), 30_000, 'the outbox to be down to its reserve');
    // Another program takes every block left.
    const fill = () => {
      const filler = fs.openSync(path.join(root, 'filler'), 'a');
      const block = Buffer.alloc(KiB, 1);
      try {
        for (;;) fs.writeSync(filler, block);
      } catch (e) {
        expect((e as NodeJS.ErrnoException).code).toBe('ENOSPC');
      } finally {
        fs.closeSync(filler);
      }
      expect(fs.statfsSync(root).bavail).toBe(0);
    };
    fill();
    await first.stop();
    // …and the blocks the stop gave back (its lock file).
    fill();
    const offline = first.status().generated;
    expect(offline).toBeGreaterThan(1_000);
    expect(first.status().sourceDone).toBe(false);

    // The PC restarts with the disk still full: the outbox's lock file does not fit until the
    // spare gives its bytes back; the hub is there now.
    const hub = await startTestHub({ port });
    cleanups.push(() => hub.close());
    const more = 300;
    const second = await startCollector(config(more), { onEvent: (e) => events.push(e) });
    cleanups.push(() => second.stop());
    await second.drained(60_000);

    expect(events.filter((e) => e.event === 'outbox.spare_released')).toHaveLength(1);
    expect(hub.order).toEqual(Array.from({ length: offline + more }, (_, i) => `${CID}:${i + 1}`));
    expect(second.status().outboxDepth).toBe(0);
    // Said where an operator watches: the spare is gone while the disk stays full.
    expect(second.status().outboxSpareBytes).toBe(0);
    expect(await inspectOutbox(outboxDir)).toMatchObject({ spareBytes: 0, depth: 0 });
    expect(renderPrometheus(buildSnapshot(second.status(), [], { allow: 0, hold: 0, fallback: 0 }))).toContain(`jianguan_collector_outbox_spare_bytes{collector="${CID}"} 0`);
    fs.rmSync(path.join(root, 'filler'));
  });
});
