/**
 * The drop folder against real files: complete files imported and moved to done/, unreadable ones
 * to rejected/, repeated content not imported twice, and a crash in the middle of a file —
 * simulated at each point of the cursor protocol, and for real by SIGKILLing the built CLI —
 * resumed without a duplicate or a gap.
 */
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { DropFolder } from '../src/sources/drop-folder.js';
import { DropSourceSchema, type DropSourceConfig } from '../src/sources/source-config.js';
import { cleanupTmpDirs, freePort, PSEUDONYM_KEY, tmpDir, TOKEN, waitFor } from './helpers.js';
import { CrashingAppender, lshOf, nativeLines, openHarness, outboxRecords, range, readRejects, type Harness } from './source-helpers.js';

const FIXTURES = path.resolve(import.meta.dirname, '..', 'fixtures');
const MAIN = path.resolve(import.meta.dirname, '..', 'dist', 'main.js');

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c().catch(() => {});
  cleanupTmpDirs();
});

function config(dir: string, extra: Record<string, unknown> = {}): DropSourceConfig {
  return {
    ...DropSourceSchema.parse({
      type: 'drop',
      dir,
      pollMs: 20,
      settleMs: 0,
      files: [
        { glob: 'VEH_FLOW_*.csv', adapter: 'veh_flow', adapterOptions: { institutionByCode: { '451200000400': 'JCJ-CGS' } } },
        { glob: '*.queue.jsonl', adapter: 'queue' },
        { glob: '*.jsonl', adapter: 'native' },
      ],
      ...extra,
    }),
    name: 'drop',
  } as DropSourceConfig;
}

async function harness(dir: string): Promise<Harness> {
  const h = await openHarness(dir);
  cleanups.push(() => h.close());
  return h;
}

async function startDrop(h: Harness, cfg: DropSourceConfig): Promise<DropFolder> {
  const d = new DropFolder(cfg, h.deps);
  await d.start();
  cleanups.push(() => d.stop());
  return d;
}

const ls = (dir: string): string[] => (fs.existsSync(dir) ? fs.readdirSync(dir).sort() : []);

describe('drop folder', () => {
  it('imports matching complete files, moves them to done/, reports bad lines, leaves other files alone', async () => {
    const dir = tmpDir();
    const drop = path.join(dir, 'drop');
    fs.mkdirSync(drop);
    fs.copyFileSync(path.join(FIXTURES, 'veh_flow.csv'), path.join(drop, 'VEH_FLOW_20261120.csv'));
    fs.copyFileSync(path.join(FIXTURES, 'queue.jsonl'), path.join(drop, '20261120.queue.jsonl'));
    fs.writeFileSync(path.join(drop, 'readme.txt'), '说明');
    fs.writeFileSync(path.join(drop, 'VEH_FLOW_20261121.csv.tmp'), 'LSH\n');
    const h = await harness(dir);
    const d = await startDrop(h, config(drop));
    await waitFor(() => ls(path.join(drop, 'done')).length === 2, 10_000, 'two files done');
    const recs = await h.records();
    expect(recs.filter((r) => r.source === 'veh_flow')).toHaveLength(40);
    expect(recs.filter((r) => r.source === 'queue')).toHaveLength(33);
    expect(ls(drop)).toEqual(['VEH_FLOW_20261121.csv.tmp', 'done', 'readme.txt']);
    expect(ls(path.join(drop, 'done'))).toEqual(['20261120.queue.jsonl', 'VEH_FLOW_20261120.csv']);
    const rejects = readRejects(dir);
    expect(rejects.filter((r) => r.file.endsWith('VEH_FLOW_20261120.csv')).map((r) => r.line)).toEqual([7, 16, 24, 33, 46]);
    expect(rejects.filter((r) => r.file.endsWith('20261120.queue.jsonl')).map((r) => r.line)).toEqual([7, 18, 29, 31]);
    expect(h.events.filter((e) => e.event === 'drop.imported')).toEqual(
      expect.arrayContaining([expect.objectContaining({ records: 40, rejected: 5 }), expect.objectContaining({ records: 33, rejected: 4 })]),
    );
    expect(d.status()).toMatchObject({ captured: 73, rejected: 9, detail: { imported: 2, rejected: 0, duplicates: 0 } });
  });

  it('waits until a file has settled', async () => {
    const dir = tmpDir();
    const drop = path.join(dir, 'drop');
    fs.mkdirSync(drop);
    const h = await harness(dir);
    await startDrop(h, config(drop, { settleMs: 400 }));
    const f = path.join(drop, 'late.jsonl');
    fs.writeFileSync(f, nativeLines(0, 10));
    await new Promise((r) => setTimeout(r, 200));
    fs.appendFileSync(f, nativeLines(10, 20));
    await new Promise((r) => setTimeout(r, 200));
    expect(await h.records()).toHaveLength(0);
    await waitFor(() => ls(path.join(drop, 'done')).length === 1, 5000, 'done');
    expect(lshOf(await h.records())).toEqual(range(0, 20));
  });

  it('moves a wholly unreadable file to rejected/ with one report entry', async () => {
    const dir = tmpDir();
    const drop = path.join(dir, 'drop');
    fs.mkdirSync(drop);
    fs.writeFileSync(path.join(drop, 'VEH_FLOW_bad.csv'), '流水号,号牌\n1261120000001,桂M12345\n');
    fs.writeFileSync(path.join(drop, 'garbage.jsonl'), 'PK\u0003\u0004 not json\nstill not json\n');
    const h = await harness(dir);
    const d = await startDrop(h, config(drop));
    await waitFor(() => ls(path.join(drop, 'rejected')).length === 2, 5000, 'two rejected');
    expect(await h.records()).toHaveLength(0);
    const rejects = readRejects(dir);
    expect(rejects.map((r) => [path.basename(r.file), r.line, r.reason])).toEqual(
      expect.arrayContaining([
        ['VEH_FLOW_bad.csv', 0, 'file rejected: the CSV header lacks column(s) LSH, YWLX, HPZL, SQRQ'],
        ['garbage.jsonl', 0, expect.stringMatching(/^file rejected: no readable record in 2 \(first: invalid JSON/)],
      ]),
    );
    expect(d.status().detail).toMatchObject({ rejected: 2, imported: 0 });
  });

  it('does not import the same content twice', async () => {
    const dir = tmpDir();
    const drop = path.join(dir, 'drop');
    fs.mkdirSync(drop);
    const h = await harness(dir);
    await startDrop(h, config(drop));
    fs.writeFileSync(path.join(drop, 'a.jsonl'), nativeLines(0, 50));
    await waitFor(() => ls(path.join(drop, 'done')).length === 1, 5000, 'a done');
    fs.writeFileSync(path.join(drop, 'a.jsonl'), nativeLines(0, 50));
    await waitFor(() => ls(path.join(drop, 'done')).length === 2, 5000, 'a again');
    expect(ls(path.join(drop, 'done'))).toEqual(['a.1.jsonl', 'a.jsonl']);
    expect(lshOf(await h.records())).toEqual(range(0, 50));
    expect(h.events.some((e) => e.event === 'drop.duplicate')).toBe(true);
  });

  for (const point of ['prepared', 'appended'] as const) {
    it(`crash mid-file (${point === 'prepared' ? 'intent written, append not done' : 'appended, position not saved'}): resumed, nothing twice`, async () => {
      const dir = tmpDir();
      const drop = path.join(dir, 'drop');
      fs.mkdirSync(drop);
      fs.writeFileSync(path.join(drop, 'big.jsonl'), nativeLines(0, 3500));
      let crashing: CrashingAppender | undefined;
      const h = await openHarness(dir, { appender: (o) => (crashing = new CrashingAppender(o, point, 3)) });
      const d = new DropFolder(config(drop), h.deps);
      await d.start();
      await waitFor(() => crashing!.crashed, 10_000, 'the crash');
      await h.close();
      expect(lshOf(await outboxRecords(dir))).toEqual(range(0, point === 'prepared' ? 2000 : 3000));
      expect(ls(drop)).toContain('big.jsonl');

      const h2 = await harness(dir);
      await startDrop(h2, config(drop));
      await waitFor(() => ls(path.join(drop, 'done')).length === 1, 10_000, 'big done');
      expect(lshOf(await h2.records())).toEqual(range(0, 3500));
    });
  }
});

describe('drop folder in the real process', () => {
  beforeAll(() => {
    if (!fs.existsSync(MAIN)) throw new Error(`${MAIN} is missing: build the collector first (npx tsc -p tsconfig.json)`);
  });

  it('SIGKILL in the middle of a file: the restarted collector resumes it with no duplicate and no gap', async () => {
    const dir = tmpDir();
    const drop = path.join(dir, 'drop');
    fs.mkdirSync(drop);
    const N = 30_000;
    fs.writeFileSync(path.join(drop, 'big.jsonl'), nativeLines(0, N));
    const size = fs.statSync(path.join(drop, 'big.jsonl')).size;
    const cfgFile = path.join(dir, 'collector.json');
    fs.writeFileSync(
      cfgFile,
      JSON.stringify({
        collectorId: 'c-kill',
        token: TOKEN,
        hubUrl: `http://127.0.0.1:${await freePort()}`, // nobody there: records stay in the outbox
        institutionId: 'JCJ-CGS',
        outboxDir: 'outbox',
        pseudonymKey: PSEUDONYM_KEY,
        backoff: { minMs: 1000, maxMs: 5000 },
        sources: [{ type: 'drop', dir: 'drop', pollMs: 20, settleMs: 0, files: [{ glob: '*.jsonl', adapter: 'native' }] }],
      }),
    );
    const env = { ...Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('JG_'))), JG_STATUS_INTERVAL_MS: '0' };
    const run = () => {
      const child = spawn(process.execPath, [MAIN, '--config', cfgFile], { env, stdio: ['ignore', 'pipe', 'pipe'] });
      let out = '';
      child.stdout.on('data', (b: Buffer) => (out += b.toString()));
      child.stderr.on('data', (b: Buffer) => (out += b.toString()));
      const exited = new Promise<number | null>((r) => child.on('exit', (c) => r(c)));
      cleanups.push(async () => {
        if (child.exitCode === null) child.kill('SIGKILL');
        await exited;
      });
      return { child, exited, out: () => out };
    };
    const ledger = (): { offset: number } | undefined => {
      const sdir = path.join(dir, 'outbox', 'sources');
      const f = ls(sdir).find((n) => n.startsWith('drop-') && n.endsWith('.json'));
      if (!f) return undefined;
      try {
        const j = JSON.parse(fs.readFileSync(path.join(sdir, f), 'utf8')) as { committed: { position: { current: { offset: number } | null } } };
        return j.committed.position.current ?? undefined;
      } catch {
        return undefined;
      }
    };

    const first = run();
    await waitFor(() => (ledger()?.offset ?? 0) > 0, 20_000, `an imported chunk (${first.out()})`);
    first.child.kill('SIGKILL');
    await first.exited;
    const at = ledger()!.offset;
    expect(at).toBeGreaterThan(0);
    expect(at).toBeLessThan(size);

    const second = run();
    await waitFor(() => ls(path.join(drop, 'done')).length === 1, 30_000, `the file done (${second.out()})`);
    second.child.kill('SIGTERM');
    expect(await second.exited).toBe(0);
    expect(lshOf(await outboxRecords(dir))).toEqual(range(0, N));
  }, 90_000);
});
