/**
 * The short version of the hostile-input suite (`npm run fuzz`, scripts/fuzz/): the same
 * generators and checks, a few thousand inputs, against an in-process hub and a real collector
 * process (the built collector, for its local HTTP endpoint).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Hub } from '../src/app.js';
import * as protocol from '../src/protocol/index.js';
import { param, sql } from '../src/store/sql.js';
import { formatReport, fuzzCollectors, isClientReset, runFuzz, writeCollectorIdentity, type FuzzReport } from '../../scripts/fuzz/run.mjs';
import { freePort, startTestHub, tmpDir } from './helpers.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
// Bounded by the number of inputs, not by time: a slower or busier machine takes longer over the
// same inputs instead of sending fewer. SECONDS is only a cap for a hub that stops answering.
const COUNT = Number(process.env.JG_FUZZ_COUNT ?? 1200);
const SECONDS = Number(process.env.JG_FUZZ_SECONDS ?? 300);
const SEED = process.env.JG_FUZZ_SEED ?? 'ci';

describe('hostile inputs (short run)', () => {
  let hub: Hub;
  let collector: ChildProcess;
  let collectorUrl = '';
  let collectorOutput = '';
  const fz = fuzzCollectors(SEED);
  // In a real process these end it; here they are counted as exits. A write to a connection the
  // hub reset is the fuzzing client's own error (the hub and the client share this process).
  const crashes: string[] = [];
  const onCrash = (e: unknown) => {
    if (!isClientReset(e)) crashes.push(e instanceof Error ? (e.stack ?? e.message) : String(e));
  };

  beforeAll(async () => {
    process.on('uncaughtException', onCrash);
    process.on('unhandledRejection', onCrash);
    // The production doors, not the test helper's relaxed ones: keys required (bound in each
    // credential), the wall closed, the hub's own pseudonym keyring.
    ({ hub } = await startTestHub({
      collectors: Object.values(fz),
      logLevel: 'error',
      peerCron: 'off',
      collectorKeys: 'required',
      wallPublic: false,
      pseudonymSecrets: { detachment: '451200', layers: [{ id: 'k1', secret: crypto.randomBytes(32).toString('hex') }] },
    }));
    const dir = tmpDir('fuzz-collector');
    writeCollectorIdentity(path.join(dir, 'outbox'), fz.col);
    const port = await freePort();
    collectorUrl = `http://127.0.0.1:${port}`;
    const config = path.join(dir, 'collector.json');
    fs.writeFileSync(
      config,
      JSON.stringify({
        collectorId: fz.col.collectorId,
        token: fz.col.token,
        institutionId: fz.col.institutionId,
        hubUrl: hub.url,
        outboxDir: path.join(dir, 'outbox'),
        pseudonymKey: 'fuzz-pseudonym-key-0123456789abcdef',
        sources: [{ type: 'http', host: '127.0.0.1', port }],
      }),
    );
    collector = spawn(process.execPath, [path.join(ROOT, 'collector', 'dist', 'main.js'), 'run', '--config', config], {
      cwd: dir,
      env: { ...process.env, JG_LOG_LEVEL: 'error', JG_STATUS_INTERVAL_MS: '0' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const keep = (d: Buffer) => (collectorOutput = (collectorOutput + d.toString()).slice(-6000));
    collector.stdout?.on('data', keep);
    collector.stderr?.on('data', keep);
    for (let i = 0; ; i++) {
      if (collector.exitCode !== null) throw new Error(`collector exited at start: ${collectorOutput}`);
      try {
        if ((await fetch(`${collectorUrl}/v1/status`)).ok) break;
      } catch {
        /* starting */
      }
      if (i > 150) throw new Error('collector endpoint did not start');
      await new Promise((r) => setTimeout(r, 200));
    }
  });

  afterAll(async () => {
    process.off('uncaughtException', onCrash);
    process.off('unhandledRejection', onCrash);
    if (collector && collector.exitCode === null) {
      const exited = new Promise((r) => collector.once('exit', r));
      collector.kill('SIGTERM');
      await exited;
    }
    await hub?.close();
  });

  it(`answers ${COUNT} hostile inputs without crashing, 5xx, uncoded refusals or losing legitimate records`, async () => {
    const report: FuzzReport = await runFuzz({
      hubUrl: hub.url,
      collectorUrl,
      protocol,
      collectors: fz,
      count: COUNT,
      seconds: SECONDS,
      seed: SEED,
      maxRssBytes: 3 * 2 ** 30,
      rss: () => process.memoryUsage().rss,
      alive: async () => {
        const up = async (url: string) => {
          try {
            return (await fetch(url, { signal: AbortSignal.timeout(20_000) })).ok;
          } catch {
            return false;
          }
        };
        return { hub: crashes.length === 0 && (await up(`${hub.url}/healthz`)), collector: collector.exitCode === null && (await up(`${collectorUrl}/v1/status`)) };
      },
      verifyStored: async (ids) => {
        const rows = await hub.store.query<{ id: string; n: string; collectors: string[]; lsh: string[] }>(
          sql`SELECT id, count() AS n, groupArray(collector_id) AS collectors, groupArray(lsh) AS lsh FROM transactions FINAL WHERE has(${param.ArrayString(ids)}, id) GROUP BY id`,
        );
        return rows.map((x) => ({ id: x.id, n: Number(x.n), collectors: x.collectors, lsh: x.lsh }));
      },
    });
    console.log(formatReport(report));
    if (crashes.length) console.log(`uncaught in the hub process:\n${crashes.slice(0, 5).join('\n---\n')}`);
    if (collector.exitCode !== null) console.log(`collector exited ${collector.exitCode}:\n${collectorOutput}`);

    const of = (kind: string) => report.violations.filter((v) => v.kind === kind).map((v) => `[${v.category}] ${v.input}: ${v.detail ?? ''}`.slice(0, 300));
    // Every category was exercised, and most of the requested inputs were sent.
    for (const c of report.categories) expect(c.sent, c.name).toBeGreaterThan(0);
    expect(report.stoppedByTime).toBe(false);
    expect(report.total).toBeGreaterThanOrEqual(COUNT);
    expect(crashes).toEqual([]);
    expect(of('exit')).toEqual([]);
    expect(of('5xx')).toEqual([]);
    expect(of('uncoded')).toEqual([]);
    expect(of('silent')).toEqual([]);
    expect(report.legit.records).toBeGreaterThan(0);
    expect({ missing: report.legit.missing, duplicated: report.legit.duplicated, overwritten: report.legit.overwritten }).toEqual({ missing: 0, duplicated: 0, overwritten: 0 });
    expect(report.rssMaxBytes).toBeLessThan(report.maxRssBytes);
    expect(report.verdict).toBe('PASS');
  }, 480_000);
});
