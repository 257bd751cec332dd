/**
 * The built command line (dist/main.js, as the demo starts it): runs from JG_* variables, logs JSON
 * lines naming batch ids, stops cleanly on SIGTERM, reports on an outbox with `status`, and
 * rejects a bad configuration naming the variable. Needs `tsc` to have run (npm test builds first).
 */
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { cleanupTmpDirs, PSEUDONYM_KEY, startTestHub, tmpDir, TOKEN, waitFor } from './helpers.js';

const MAIN = path.resolve(import.meta.dirname, '..', 'dist', 'main.js');

beforeAll(() => {
  if (!fs.existsSync(MAIN)) throw new Error(`${MAIN} is missing: build the collector first (npx tsc -p tsconfig.json)`);
});

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
  cleanupTmpDirs();
});

function cleanEnv(): NodeJS.ProcessEnv {
  return Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('JG_')));
}

interface Run {
  stdout: string;
  stderr: string;
  exited: Promise<number | null>;
  kill(signal: NodeJS.Signals): void;
}

function runMain(args: string[], env: NodeJS.ProcessEnv): Run {
  const child = spawn(process.execPath, [MAIN, ...args], { env, stdio: ['ignore', 'pipe', 'pipe'] });
  const run: Run = {
    stdout: '',
    stderr: '',
    exited: new Promise((resolve) => child.on('exit', (code) => resolve(code))),
    kill: (s) => child.kill(s),
  };
  child.stdout.on('data', (d: Buffer) => (run.stdout += d.toString()));
  child.stderr.on('data', (d: Buffer) => (run.stderr += d.toString()));
  cleanups.push(async () => {
    if (child.exitCode === null) child.kill('SIGKILL');
    await run.exited;
  });
  return run;
}

describe('jianguan-collector (dist/main.js)', () => {
  it('starts with a shebang', () => {
    expect(fs.readFileSync(MAIN, 'utf8').startsWith('#!/usr/bin/env node\n')).toBe(true);
  });

  it('runs from JG_* variables, logs JSON lines, stops cleanly on SIGTERM, and status reports the outbox', async () => {
    const hub = await startTestHub();
    cleanups.push(() => hub.close());
    const dir = tmpDir();
    const outbox = path.join(dir, 'outbox');
    const run = runMain([], {
      ...cleanEnv(),
      JG_COLLECTOR_ID: 'c-main-01',
      JG_COLLECTOR_TOKEN: TOKEN,
      JG_HUB_URL: hub.url,
      JG_INSTITUTION_ID: 'JCJ-JYZ',
      JG_OUTBOX_DIR: outbox,
      JG_PSEUDONYM_KEY: PSEUDONYM_KEY,
      JG_SIM_RATE: '400',
      JG_SIM_MAX_RECORDS: '60',
      JG_SIM_SEED: '7',
      JG_SIM_ANOMALY_RATE: '0.2',
    });
    await waitFor(() => hub.order.length === 60 && run.stdout.includes('"batch.acked"'), 20_000, 'hub to receive 60 records');
    await waitFor(async () => (await fs.promises.readFile(path.join(outbox, 'ack.json'), 'utf8').catch(() => '')).includes('"ackedSeq":60'), 5_000, 'ledger');
    run.kill('SIGTERM');
    expect(await run.exited).toBe(0);

    const lines = run.stdout.trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(lines.every((l) => typeof l.time === 'string' && typeof l.level === 'string' && typeof l.event === 'string')).toBe(true);
    const names = lines.map((l) => l.event);
    expect(names).toContain('collector.started');
    expect(names).toContain('link.connected');
    expect(names).toContain('collector.stopping');
    expect(names.at(-1)).toBe('collector.stopped');
    const acked = lines.filter((l) => l.event === 'batch.acked');
    expect(acked.length).toBeGreaterThan(0);
    expect(acked.every((l) => typeof l.batchId === 'string' && (l.batchId as string).startsWith('c-main-01:'))).toBe(true);
    expect(lines.some((l) => l.event === 'anomaly.injected')).toBe(true);
    expect(fs.existsSync(path.join(outbox, 'LOCK'))).toBe(false);

    const status = runMain(['status', '--outbox', outbox, '--json'], cleanEnv());
    expect(await status.exited).toBe(0);
    const s = JSON.parse(status.stdout) as Record<string, unknown>;
    expect(s).toMatchObject({ exists: true, depth: 0, ackedSeq: 60, nextSeq: 61, oldestUnacked: null, lock: null });
    expect(typeof s.lastAckAt).toBe('number');

    const human = runMain(['status'], { ...cleanEnv(), JG_OUTBOX_DIR: outbox });
    expect(await human.exited).toBe(0);
    expect(human.stdout).toMatch(/depth\s+0 record/);
    expect(human.stdout).toMatch(/last ack\s+seq 60 at /);
  });

  it('exits 2 naming the variable when the configuration is bad', async () => {
    const run = runMain([], {
      ...cleanEnv(),
      JG_COLLECTOR_ID: 'c-main-02',
      JG_COLLECTOR_TOKEN: TOKEN,
      JG_INSTITUTION_ID: 'JCJ-JYZ',
      JG_PSEUDONYM_KEY: PSEUDONYM_KEY,
      JG_SIM_RATE: 'lots',
    });
    expect(await run.exited).toBe(2);
    expect(run.stderr).toContain('simulator.ratePerSec (JG_SIM_RATE)');
    expect(JSON.parse(run.stdout.trim().split('\n')[0]!)).toMatchObject({ level: 'error', code: 'CONFIG_INVALID' });
  });

  it('reads a --config file, with variables overriding it', async () => {
    const dir = tmpDir();
    const file = path.join(dir, 'collector.json');
    fs.writeFileSync(file, JSON.stringify({ collectorId: 'c-file', token: TOKEN, institutionId: 'JCJ-JYZ', pseudonymKey: PSEUDONYM_KEY, outboxDir: 'ob', simulator: { ratePerSec: 'x' } }));
    const bad = runMain(['--config', file], cleanEnv());
    expect(await bad.exited).toBe(2);
    expect(bad.stderr).toContain('simulator.ratePerSec');
    // status resolves the outbox directory relative to the file.
    fs.writeFileSync(file, JSON.stringify({ collectorId: 'c-file', token: TOKEN, institutionId: 'JCJ-JYZ', pseudonymKey: PSEUDONYM_KEY, outboxDir: 'ob' }));
    const status = runMain(['status', '--config', file, '--json'], cleanEnv());
    expect(await status.exited).toBe(1); // no outbox there yet
    expect(JSON.parse(status.stdout)).toMatchObject({ dir: path.join(dir, 'ob'), exists: false });
    const overridden = runMain(['status', '--config', file, '--json'], { ...cleanEnv(), JG_OUTBOX_DIR: path.join(dir, 'elsewhere') });
    expect(await overridden.exited).toBe(1);
    expect(JSON.parse(overridden.stdout)).toMatchObject({ dir: path.join(dir, 'elsewhere') });
  });
});
