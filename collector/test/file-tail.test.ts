/**
 * The file tail against real files in a temp dir and a real outbox: growing files, partial lines,
 * rotation by rename, copytruncate, restarts (clean and at each point of the cursor protocol) —
 * each time comparing the records in the outbox with the lines of the file: every line exactly
 * once, in order, none skipped.
 */
import fs from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { FileTail } from '../src/sources/file-tail.js';
import { FileSourceSchema, type FileSourceConfig } from '../src/sources/source-config.js';
import { cleanupTmpDirs, tmpDir, waitFor } from './helpers.js';
import { CrashingAppender, lshOf, nativeLines, openHarness, outboxRecords, range, readRejects, waitForRecords, type Harness } from './source-helpers.js';

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c().catch(() => {});
  cleanupTmpDirs();
});

function config(file: string, extra: Record<string, unknown> = {}): FileSourceConfig {
  return { ...FileSourceSchema.parse({ type: 'file', path: file, adapter: 'native', pollMs: 20, ...extra }), name: 'tail' } as FileSourceConfig;
}

async function startTail(h: Harness, cfg: FileSourceConfig): Promise<FileTail> {
  const t = new FileTail(cfg, h.deps);
  await t.start();
  cleanups.push(() => t.stop());
  return t;
}

async function harness(dir: string, o: Parameters<typeof openHarness>[1] = {}): Promise<Harness> {
  const h = await openHarness(dir, o);
  cleanups.push(() => h.close());
  return h;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('file tail', () => {
  it('follows a growing file and takes a partial last line only once it is complete', async () => {
    const dir = tmpDir();
    const file = path.join(dir, 'business.jsonl');
    fs.writeFileSync(file, nativeLines(0, 100));
    const h = await harness(dir);
    const tail = await startTail(h, config(file));
    await waitForRecords(h, 100);

    fs.appendFileSync(file, nativeLines(100, 150));
    const partial = nativeLines(150, 151);
    fs.appendFileSync(file, partial.slice(0, 40));
    await waitForRecords(h, 150);
    await sleep(150);
    expect(await h.records()).toHaveLength(150);
    expect(tail.status().detail).toMatchObject({ offset: fs.statSync(file).size - 40, line: 150, lagBytes: 40 });

    fs.appendFileSync(file, partial.slice(40));
    const recs = await waitForRecords(h, 151);
    expect(lshOf(recs)).toEqual(range(0, 151));
    expect(recs[0]).toMatchObject({ id: `c-src:${recs[0]!.seq}`, collectorId: 'c-src', source: 'native', kind: 'vehicle' });
    expect(recs[0]!.subject!.masked).toMatch(/^45\*{14}/);
    // The outbox shows a record as soon as it is durable; the counter moves after the cursor commit.
    await waitFor(() => tail.status().captured === 151, 2000, 'captured 151');
    expect(tail.status()).toMatchObject({ state: 'running', captured: 151, rejected: 0 });
  });

  it('rotation by rename: finishes the old file (late writes included), then reads the new one from its start', async () => {
    const dir = tmpDir();
    const file = path.join(dir, 'business.jsonl');
    fs.writeFileSync(file, nativeLines(0, 30));
    const h = await harness(dir);
    await startTail(h, config(file));
    await waitForRecords(h, 30);

    fs.appendFileSync(file, nativeLines(30, 40));
    fs.renameSync(file, `${file}.1`);
    // The writer has not reopened yet: its last lines still go to the renamed file, the last one
    // unterminated.
    fs.appendFileSync(`${file}.1`, nativeLines(40, 44) + nativeLines(44, 45).trimEnd());
    fs.writeFileSync(file, nativeLines(45, 65));
    const recs = await waitForRecords(h, 65);
    await sleep(100);
    expect(lshOf(await h.records())).toEqual(range(0, 65));
    expect(recs.length).toBe(65);
    expect(h.events.filter((e) => e.event === 'source.rotated')).toHaveLength(1);

    // And the next rotation too.
    fs.renameSync(file, `${file}.2`);
    fs.writeFileSync(file, nativeLines(65, 70));
    await waitForRecords(h, 70);
    expect(lshOf(await h.records())).toEqual(range(0, 70));
  });

  it('copytruncate: a file that shrank is read again from offset 0', async () => {
    const dir = tmpDir();
    const file = path.join(dir, 'business.jsonl');
    fs.writeFileSync(file, nativeLines(0, 40));
    const h = await harness(dir);
    await startTail(h, config(file));
    await waitForRecords(h, 40);
    fs.copyFileSync(file, `${file}.1`);
    fs.truncateSync(file, 0);
    await sleep(80);
    fs.appendFileSync(file, nativeLines(40, 55));
    await waitForRecords(h, 55);
    await sleep(100);
    expect(lshOf(await h.records())).toEqual(range(0, 55));
    expect(h.events.some((e) => e.event === 'source.truncated')).toBe(true);
  });

  it('resumes after restarts exactly where it stopped: appends while stopped, truncation+regrowth while stopped', async () => {
    const dir = tmpDir();
    const file = path.join(dir, 'business.jsonl');
    const h = await harness(dir);
    let n = 0;
    fs.writeFileSync(file, '');
    for (let round = 0; round < 5; round++) {
      const tail = await startTail(h, config(file));
      fs.appendFileSync(file, nativeLines(n, n + 37));
      n += 37;
      await waitForRecords(h, n);
      // Appended while running, then stopped with a partial line pending …
      fs.appendFileSync(file, nativeLines(n, n + 1).slice(0, 25));
      await tail.stop();
      // … completed and followed by more lines while stopped.
      fs.appendFileSync(file, nativeLines(n, n + 1).slice(25) + nativeLines(n + 1, n + 6));
      n += 6;
    }
    await startTail(h, config(file));
    await waitForRecords(h, n);
    await sleep(100);
    expect(lshOf(await h.records())).toEqual(range(0, n));

    // Replaced while stopped by a longer file (same inode, first bytes differ): read from 0.
    const before = n;
    for (const t of [...cleanups]) await t().catch(() => {}); // stop tail and close outbox
    cleanups.length = 0;
    const recsBefore = await outboxRecords(dir);
    fs.writeFileSync(file, nativeLines(1000, 1000 + before + 10));
    const h2 = await harness(dir);
    await startTail(h2, config(file));
    await waitForRecords(h2, before * 2 + 10);
    expect(lshOf(await h2.records())).toEqual([...lshOf(recsBefore), ...range(1000, 1000 + before + 10)]);
    expect(h2.events.some((e) => e.event === 'source.truncated')).toBe(true);
  });

  it('restart after a rotation while stopped: finds the old file by inode and finishes it first', async () => {
    const dir = tmpDir();
    const file = path.join(dir, 'business.jsonl');
    fs.writeFileSync(file, nativeLines(0, 30));
    const h = await harness(dir);
    const tail = await startTail(h, config(file));
    await waitForRecords(h, 30);
    await tail.stop();
    fs.appendFileSync(file, nativeLines(30, 40));
    fs.renameSync(file, `${file}.1`);
    fs.writeFileSync(file, nativeLines(40, 60));
    await startTail(h, config(file));
    await waitForRecords(h, 60);
    await sleep(100);
    expect(lshOf(await h.records())).toEqual(range(0, 60));
    expect(h.events.find((e) => e.event === 'source.rotated')).toMatchObject({ detail: expect.stringContaining(`finishing ${file}.1`) });
  });

  for (const point of ['prepared', 'appended'] as const) {
    it(`a crash ${point === 'prepared' ? 'after the intent, before the append' : 'after the append, before the commit'} loses and repeats nothing`, async () => {
      const dir = tmpDir();
      const file = path.join(dir, 'business.jsonl');
      fs.writeFileSync(file, nativeLines(0, 2500)); // several chunks of 1000
      let crashing: CrashingAppender | undefined;
      const h = await openHarness(dir, { appender: (o) => (crashing = new CrashingAppender(o, point, 2)) });
      const tail = new FileTail(config(file), h.deps);
      await tail.start();
      await waitFor(() => crashing!.crashed, 10_000, 'the crash');
      // The process is gone: close the outbox underneath the dead source.
      await h.close();
      await (tail as unknown as { fh?: { close(): Promise<void> } }).fh?.close();
      const afterCrash = lshOf(await outboxRecords(dir));
      expect(afterCrash).toEqual(range(0, point === 'prepared' ? 1000 : 2000));

      const h2 = await harness(dir);
      await startTail(h2, config(file));
      await waitForRecords(h2, 2500);
      await sleep(100);
      expect(lshOf(await h2.records())).toEqual(range(0, 2500));
      expect(h2.events.find((e) => e.event === 'source.recovered')).toMatchObject({ resolution: point === 'prepared' ? 'discarded' : 'adopted' });
    });
  }

  it('rejects malformed CSV rows to rejects.jsonl with file and line (ids masked) and reads on; the header survives a restart', async () => {
    const dir = tmpDir();
    const file = path.join(dir, 'veh_flow.csv');
    const fixture = fs.readFileSync(path.resolve(import.meta.dirname, '..', 'fixtures', 'veh_flow.csv'), 'utf8');
    const lines = fixture.split('\r\n');
    fs.writeFileSync(file, `${lines.slice(0, 20).join('\r\n')}\r\n`);
    const h = await harness(dir);
    const cfg = config(file, { adapter: 'veh_flow', adapterOptions: { institutionByCode: { '451200000400': 'JCJ-CGS', '451203000400': 'YZ-CGFS' } } });
    const tail = await startTail(h, cfg);
    await waitForRecords(h, 17);
    await tail.stop();
    fs.appendFileSync(file, `${lines.slice(20).join('\r\n')}`);
    const tail2 = await startTail(h, cfg);
    const recs = await waitForRecords(h, 40);
    await sleep(100);
    expect(recs).toHaveLength(40);
    const rejects = readRejects(dir);
    expect(rejects.map((r) => [r.source, r.file, r.line])).toEqual([7, 16, 24, 33, 46].map((l) => ['tail', file, l]));
    expect(rejects[0]!.reason).toMatch(/CLSBDH: VIN .* check digit/);
    const rawIds = rejects.map((r) => r.raw).join('\n').match(/\b45\d{15}[\dX]\b/g);
    expect(rawIds).toBeNull();
    expect(rejects[0]!.raw).toMatch(/4\d\*{14}\d[\dX]/);
    expect(tail2.status()).toMatchObject({ rejected: 3, captured: 23 }); // this run: lines 24, 33, 46
    expect(recs.every((r) => r.source === 'veh_flow')).toBe(true);
  });

  it('pairs 18C events across a restart (open tests saved with the position)', async () => {
    const dir = tmpDir();
    const file = path.join(dir, '18c.jsonl');
    const lines = fs.readFileSync(path.resolve(import.meta.dirname, '..', 'fixtures', 'inspection_18c.jsonl'), 'utf8').split('\n');
    fs.writeFileSync(file, `${lines.slice(0, 100).join('\n')}\n`);
    const h = await harness(dir);
    const cfg = config(file, { adapter: '18c' });
    const tail = await startTail(h, cfg);
    await waitFor(() => tail.status().detail.line === 100, 5000, 'line 100');
    expect(tail.status().detail.openTests).toBeGreaterThan(0);
    await tail.stop();
    fs.appendFileSync(file, lines.slice(100).join('\n'));
    await startTail(h, cfg);
    await waitForRecords(h, 80);
    await sleep(100);
    const recs = await h.records();
    expect(recs).toHaveLength(80);
    expect(recs.filter((r) => r.measurements?.filedMinSeconds === undefined)).toHaveLength(8);
    expect(readRejects(dir).map((r) => r.line)).toEqual([218, 219, 220, 221]);
  });

  it('holds its lines while the outbox is full and goes on when the hub has acknowledged', async () => {
    const dir = tmpDir();
    const file = path.join(dir, 'business.jsonl');
    fs.writeFileSync(file, nativeLines(0, 600)); // ≈ 260 KB of records > 64 KiB
    const h = await harness(dir, { maxBytes: 64 * 1024 });
    const tail = await startTail(h, config(file));
    await waitFor(() => tail.status().state === 'outbox_full', 5000, 'outbox_full');
    expect(h.events.some((e) => e.event === 'source.outbox_full')).toBe(true);
    const seen: string[] = [];
    // Play the hub: acknowledge whatever is there until every line went through.
    await waitFor(
      async () => {
        const recs = await h.records();
        seen.push(...lshOf(recs));
        if (recs.length > 0) await h.outbox.ack(recs[recs.length - 1]!.seq);
        return seen.length >= 600;
      },
      20_000,
      'all lines through a full outbox',
    );
    expect(seen).toEqual(range(0, 600));
  });
});
