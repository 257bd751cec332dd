/**
 * `sources` in the collector configuration: defaults that keep existing configurations working,
 * each source type's defaults, errors that name the field, JG_SOURCES, paths relative to a config
 * file — and the configured sources running inside startCollector, delivering to a hub.
 */
import fs from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { TransactionSchema } from '@jianguan/rules';
import { startCollector, type CollectorEvent } from '../src/index.js';
import { loadConfigFile, loadConfigFromEnv, parseConfig } from '../src/config.js';
import { isCollectorError } from '../src/errors.js';
import { cleanupTmpDirs, PSEUDONYM_KEY, startTestHub, tmpDir, TOKEN, waitFor } from './helpers.js';

const FIXTURES = path.resolve(import.meta.dirname, '..', 'fixtures');
const base = { collectorId: 'c-cfg', token: TOKEN, institutionId: 'JCJ-CGS', pseudonymKey: PSEUDONYM_KEY };

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c().catch(() => {});
  cleanupTmpDirs();
});

function configError(input: unknown): string {
  try {
    parseConfig(input);
  } catch (e) {
    if (isCollectorError(e, 'CONFIG_INVALID')) return e.message;
    throw e;
  }
  throw new Error('expected CONFIG_INVALID');
}

describe('sources configuration', () => {
  it('without `sources`: the simulator alone, as before (and nothing when it is disabled)', () => {
    const c = parseConfig(base);
    expect(c.sources).toEqual([{ type: 'simulator', name: 'simulator' }]);
    expect(c.simulator.enabled).toBe(true);
    const off = loadConfigFromEnv({ JG_SIM_ENABLED: 'false' }, base);
    expect(off.sources).toEqual([]);
    expect(off.simulator.enabled).toBe(false);
  });

  it('with `sources`: exactly those run, names and defaults filled in', () => {
    const c = parseConfig({
      ...base,
      simulator: { ratePerSec: 5 },
      sources: [
        { type: 'file', path: '/data/veh_flow.csv', adapter: 'veh_flow', adapterOptions: { institutionByCode: { '451200000400': 'JCJ-CGS' } } },
        { type: 'drop', dir: '/data/inbox', files: [{ glob: '*.csv', adapter: 'drv_flow' }] },
        { type: 'http' },
      ],
    });
    expect(c.simulator).toMatchObject({ enabled: false, ratePerSec: 5 });
    expect(c.sources).toEqual([
      {
        type: 'file', name: 'veh_flow.csv', path: '/data/veh_flow.csv', adapter: 'veh_flow', encoding: 'utf8', delimiter: ',', pollMs: 500, startAt: 'beginning', maxRecordBytes: 1048576,
        adapterOptions: { institutionByCode: { '451200000400': 'JCJ-CGS' }, utcOffsetMinutes: 480, maxOpenMs: 86_400_000 },
      },
      {
        type: 'drop', name: 'drop-inbox', dir: '/data/inbox', pollMs: 1000, settleMs: 2000, maxRecordBytes: 1048576,
        files: [{ glob: '*.csv', adapter: 'drv_flow', encoding: 'utf8', delimiter: ',', adapterOptions: { utcOffsetMinutes: 480, maxOpenMs: 86_400_000 } }],
      },
      {
        type: 'http', name: 'http', host: '127.0.0.1', port: 8791, defaultFormat: 'native', maxBodyBytes: 4194304, maxRecords: 5000, decisionTimeoutMs: 800,
        headersTimeoutMs: 10_000, bodyTimeoutMs: 30_000, maxConnections: 32, keepAliveTimeoutMs: 5000, maxRequestsPerSocket: 1000,
        decisionFallback: { decision: 'allow', postCheck: true }, adapterOptions: { utcOffsetMinutes: 480, maxOpenMs: 86_400_000 },
      },
    ]);
    expect(parseConfig({ ...base, sources: [{ type: 'simulator' }, { type: 'http', port: 0 }] }).simulator.enabled).toBe(true);
  });

  it('names the offending field', () => {
    expect(configError({ ...base, sources: [{ type: 'ftp' }] })).toBe("invalid collector configuration: sources.0.type: Invalid discriminator value. Expected 'simulator' | 'file' | 'drop' | 'http'");
    expect(configError({ ...base, sources: [{ type: 'file', adapter: 'veh_flow' }] })).toMatch(/^invalid collector configuration: sources\.0\.path: Invalid input: expected string, received undefined$/);
    expect(configError({ ...base, sources: [{ type: 'http' }, { type: 'http', name: 'h2', port: 70000 }] })).toMatch(/sources\.1\.port: Too big/);
    expect(configError({ ...base, sources: [{ type: 'file', path: 'x', adapter: 'oracle' }] })).toMatch(/sources\.0\.adapter: Invalid option: expected one of "native"\|"veh_flow"/);
    expect(configError({ ...base, sources: [{ type: 'file', paht: 'x', path: 'y', adapter: 'queue' }] })).toMatch(/sources\.0: Unrecognized key: "paht"/);
    expect(configError({ ...base, sources: [{ type: 'http', host: '0.0.0.0' }] })).toMatch(/sources\.0\.host: Invalid option/);
    expect(configError({ ...base, sources: [{ type: 'drop', dir: 'd', files: [] }] })).toMatch(/sources\.0\.files: give at least one \{glob, adapter\} rule/);
    expect(configError({ ...base, sources: [{ type: 'file', path: 'x', adapter: '18c', adapterOptions: { itemMinSecs: {} } }] })).toMatch(/sources\.0\.adapterOptions: Unrecognized key: "itemMinSecs"/);
    expect(configError({ ...base, sources: [{ type: 'http' }, { type: 'http', port: 9000 }] })).toMatch(/sources\.1\.name: source name 'http' is already used by sources\.0/);
    expect(configError({ ...base, sources: [{ type: 'file', path: '/a/x.csv', adapter: 'exam' }, { type: 'file', name: 'b', path: '/a/x.csv', adapter: 'exam' }] })).toMatch(/sources\.1\.path: file \/a\/x\.csv is already followed by sources\.0/);
  });

  it('reads JG_SOURCES as JSON and says so when it is not', () => {
    const c = loadConfigFromEnv({ JG_SOURCES: '[{"type":"http","port":0}]' }, base);
    expect(c.sources).toMatchObject([{ type: 'http', port: 0 }]);
    expect(() => loadConfigFromEnv({ JG_SOURCES: '[{type:http}]' }, base)).toThrow(/sources \(JG_SOURCES\): Invalid input: expected array, received string/);
  });

  it('resolves source paths in a config file relative to the file', () => {
    const dir = tmpDir();
    const file = path.join(dir, 'conf', 'collector.json');
    fs.mkdirSync(path.dirname(file));
    fs.writeFileSync(file, JSON.stringify({ ...base, sources: [{ type: 'file', path: '../data/q.jsonl', adapter: 'queue' }, { type: 'drop', dir: 'inbox', files: [{ glob: '*', adapter: 'native' }] }] }));
    const c = loadConfigFile(file, {});
    expect(c.sources).toMatchObject([
      { type: 'file', path: path.join(dir, 'data', 'q.jsonl') },
      { type: 'drop', dir: path.join(dir, 'conf', 'inbox') },
    ]);
  });
});

describe('configured sources inside startCollector', () => {
  it('file tail and drop folder deliver their records to the hub, valid and pseudonymised', async () => {
    const hub = await startTestHub();
    cleanups.push(() => hub.close());
    const dir = tmpDir();
    const inbox = path.join(dir, 'inbox');
    fs.mkdirSync(inbox);
    fs.copyFileSync(path.join(FIXTURES, 'exam.csv'), path.join(inbox, 'exam-20261117.csv'));
    fs.copyFileSync(path.join(FIXTURES, 'check_av.jsonl'), path.join(dir, 'check_av.jsonl'));
    const events: CollectorEvent[] = [];
    const c = await startCollector(
      {
        ...base,
        hubUrl: hub.url,
        outboxDir: path.join(dir, 'outbox'),
        batch: { maxRecords: 20, lingerMs: 10 },
        backoff: { minMs: 20, maxMs: 300 },
        sources: [
          { type: 'file', path: path.join(dir, 'check_av.jsonl'), adapter: 'check_av', pollMs: 20, adapterOptions: { institutionByCode: { 'BM-DJZ': 'BM-DJZ' } } },
          { type: 'drop', dir: inbox, pollMs: 20, settleMs: 0, files: [{ glob: 'exam-*.csv', adapter: 'exam', adapterOptions: { institutionByCode: { '451226301': 'HJ-JX' } } }] },
        ],
      },
      { onEvent: (e) => events.push(e) },
    );
    cleanups.push(() => c.stop());
    await waitFor(() => hub.stored.size === 13 + 26, 15_000, `39 records at the hub (have ${hub.stored.size})`);
    const recs = [...hub.stored.values()];
    for (const r of recs) expect(TransactionSchema.safeParse(r).success).toBe(true);
    expect(recs.filter((r: any) => r.source === 'check_av' && r.institutionId === 'BM-DJZ')).toHaveLength(13);
    expect(recs.filter((r: any) => r.source === 'exam' && r.institutionId === 'HJ-JX')).toHaveLength(26);
    expect(hub.duplicates).toBe(0);
    const raw = JSON.stringify(recs);
    for (const m of fs.readFileSync(path.join(FIXTURES, 'exam.csv'), 'utf8').matchAll(/\b45\d{15}[\dX]\b/g)) expect(raw).not.toContain(m[0]);
    await waitFor(() => c.status().outboxDepth === 0, 5000, 'drained');
    expect(events.filter((e) => e.event === 'source.rejected')).toHaveLength(3 + 4);
    expect(fs.readdirSync(path.join(inbox, 'done'))).toEqual(['exam-20261117.csv']);
  });

  it('a source that cannot start (port in use) fails the start with SOURCE_INVALID and releases the outbox', async () => {
    const blocker = http.createServer();
    await new Promise<void>((r) => blocker.listen(0, '127.0.0.1', () => r()));
    cleanups.push(() => new Promise<void>((r) => blocker.close(() => r())));
    const port = (blocker.address() as { port: number }).port;
    const dir = tmpDir();
    const cfg = { ...base, hubUrl: 'http://127.0.0.1:1', outboxDir: path.join(dir, 'outbox'), sources: [{ type: 'http' as const, port }] };
    await expect(startCollector(cfg)).rejects.toMatchObject({ code: 'SOURCE_INVALID', message: expect.stringContaining('EADDRINUSE') });
    const c = await startCollector({ ...cfg, sources: [{ type: 'http', port: 0 }] });
    await c.stop();
  });
});
