/**
 * startCollector end to end against an in-test socket.io hub: the simulator's records reach the
 * hub exactly once, in order, valid (except the malformed ones), with ids that continue across
 * restarts; the collector buffers while the hub is away; stop() leaves nothing running.
 */
import fs from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { TransactionSchema } from '@jianguan/rules';
import { startCollector, type CollectorEvent, type CollectorHandle } from '../src/index.js';
import { loadConfigFromEnv, parseConfig } from '../src/config.js';
import { cleanupTmpDirs, freePort, PSEUDONYM_KEY, startTestHub, tmpDir, TOKEN, waitFor } from './helpers.js';

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
  cleanupTmpDirs();
});

function baseConfig(hubUrl: string, dir: string, extra: Record<string, unknown> = {}) {
  return {
    collectorId: 'c-test-01',
    token: TOKEN,
    hubUrl,
    institutionId: 'JCJ-CGS',
    outboxDir: path.join(dir, 'outbox'),
    pseudonymKey: PSEUDONYM_KEY,
    batch: { maxRecords: 50, lingerMs: 10 },
    backoff: { minMs: 20, maxMs: 300 },
    ackTimeoutMs: 2_000,
    ...extra,
  };
}

async function start(config: Parameters<typeof startCollector>[0], events?: CollectorEvent[]): Promise<CollectorHandle> {
  const h = await startCollector(config, events ? { onEvent: (e) => events.push(e) } : {});
  cleanups.push(() => h.stop());
  return h;
}

describe('startCollector', () => {
  it('streams simulated business to the hub exactly once and in order, then drains', async () => {
    const hub = await startTestHub();
    cleanups.push(() => hub.close());
    const dir = tmpDir();
    const injectedLogPath = path.join(dir, 'logs', 'injected.jsonl');
    const events: CollectorEvent[] = [];
    const c = await start(
      baseConfig(hub.url, dir, {
        simulator: { ratePerSec: 2000, maxRecords: 400, anomalyRate: 0.1, malformedRate: 0.02, seed: 'collector-test', injectedLogPath },
      }),
      events,
    );
    expect(c.id).toBe('c-test-01');
    await c.drained(20_000);

    const s = c.status();
    expect(s).toMatchObject({ generated: 400, acked: 400, outboxDepth: 0, oldestUnackedAt: null, link: 'connected', sourceDone: true, nextSeq: 401 });
    expect(s.sent).toBeGreaterThanOrEqual(400);
    expect(s.lastAckAt).not.toBeNull();
    expect(hub.order).toEqual(Array.from({ length: 400 }, (_, i) => `c-test-01:${i + 1}`));
    expect(hub.duplicates).toBe(0);

    const injected = c.injected();
    expect(injected.length).toBeGreaterThan(10);
    const malformed = new Set(injected.filter((a) => a.ruleId === '__malformed__').map((a) => a.transactionId));
    expect(malformed.size).toBeGreaterThan(0);
    for (const [id, record] of hub.stored) {
      expect(TransactionSchema.safeParse(record).success, id).toBe(!malformed.has(id));
    }
    for (const a of injected) {
      expect(a).toMatchObject({ collectorId: 'c-test-01', institutionId: 'JCJ-CGS' });
      expect(hub.stored.has(a.transactionId)).toBe(true);
      expect(typeof a.at).toBe('number');
    }
    // The JSONL log has the same entries.
    await c.stop();
    const logged = fs.readFileSync(injectedLogPath, 'utf8').trim().split('\n').map((l) => JSON.parse(l));
    expect(logged).toEqual(injected);
    // Events name batch ids.
    const acked = events.filter((e) => e.event === 'batch.acked');
    expect(acked.length).toBeGreaterThan(0);
    expect(acked.every((e) => /^c-test-01:\d+-\d+$/.test((e as { batchId: string }).batchId))).toBe(true);
    expect(events.at(-1)?.event).toBe('collector.stopped');
  });

  it('continues its sequence after a restart', async () => {
    const hub = await startTestHub();
    cleanups.push(() => hub.close());
    const dir = tmpDir();
    const cfg = (n: number) => baseConfig(hub.url, dir, { simulator: { ratePerSec: 5000, maxRecords: n, seed: 'same-seed' } });
    const a = await start(cfg(120));
    await a.drained(10_000);
    await a.stop();
    const b = await start(cfg(80));
    await b.drained(10_000);
    expect(b.status()).toMatchObject({ generated: 80, nextSeq: 201 });
    expect(hub.order).toEqual(Array.from({ length: 200 }, (_, i) => `c-test-01:${i + 1}`));
    // The same seed does not replay the same people after a restart.
    const subjectsOf = (from: number, to: number) =>
      new Set(
        [...hub.stored.values()]
          .filter((r) => (r as { seq: number }).seq >= from && (r as { seq: number }).seq <= to)
          .map((r) => (r as { subject?: { idHash: string } }).subject?.idHash),
      );
    const first = subjectsOf(1, 120);
    const second = subjectsOf(121, 200);
    expect([...second].filter((h) => first.has(h))).toEqual([]);
  });

  it('keeps records while the hub is down and delivers them when it comes up', async () => {
    const port = await freePort();
    const dir = tmpDir();
    const c = await start(baseConfig(`http://127.0.0.1:${port}`, dir, { simulator: { ratePerSec: 1000, maxRecords: 150, seed: 1 } }));
    await waitFor(() => c.status().generated === 150, 10_000, 'all generated');
    const s = c.status();
    expect(s.outboxDepth).toBe(150);
    expect(s.acked).toBe(0);
    expect(s.link).not.toBe('connected');
    expect(s.oldestUnackedAt).not.toBeNull();
    await expect(c.drained(100)).rejects.toMatchObject({ code: 'DRAIN_TIMEOUT' });

    const hub = await startTestHub({ port });
    cleanups.push(() => hub.close());
    await c.drained(15_000);
    expect(hub.order).toHaveLength(150);
    expect(c.status().link).toBe('connected');
  });

  it('without a simulator it only drains what is already in the outbox', async () => {
    const hub = await startTestHub();
    cleanups.push(() => hub.close());
    const dir = tmpDir();
    const c = await start(baseConfig(hub.url, dir, { simulator: { enabled: false } }));
    await c.drained(5_000);
    expect(c.status()).toMatchObject({ generated: 0, sourceDone: true, outboxDepth: 0 });
    expect(c.injected()).toEqual([]);
  });

  it('stop() leaves no timers, sockets or files open', async () => {
    const hub = await startTestHub();
    cleanups.push(() => hub.close());
    const dir = tmpDir();
    const count = () => {
      const m = new Map<string, number>();
      for (const r of process.getActiveResourcesInfo()) m.set(r, (m.get(r) ?? 0) + 1);
      return m;
    };
    const before = count();
    const c = await startCollector(baseConfig(hub.url, dir, { simulator: { ratePerSec: 50 } }));
    await waitFor(() => c.status().acked > 5, 10_000, 'some acks');
    await c.stop();
    await c.stop(); // idempotent
    await new Promise((r) => setTimeout(r, 100));
    const after = count();
    for (const [kind, n] of after) expect(n, kind).toBeLessThanOrEqual(before.get(kind) ?? 0);
    expect(fs.existsSync(path.join(dir, 'outbox', 'LOCK'))).toBe(false);
    expect(c.status().link).toBe('disconnected');
  });

  it('refuses a second collector on the same outbox', async () => {
    const hub = await startTestHub();
    cleanups.push(() => hub.close());
    const dir = tmpDir();
    await start(baseConfig(hub.url, dir, { simulator: { enabled: false } }));
    await expect(startCollector(baseConfig(hub.url, dir, { simulator: { enabled: false } }))).rejects.toMatchObject({ code: 'OUTBOX_LOCKED' });
  });
});

describe('config', () => {
  const env = {
    JG_COLLECTOR_ID: 'c-env-01',
    JG_COLLECTOR_TOKEN: TOKEN,
    JG_INSTITUTION_ID: 'BM-DJZ',
    JG_PSEUDONYM_KEY: PSEUDONYM_KEY,
  };

  it('reads JG_* variables and applies documented defaults', () => {
    const c = loadConfigFromEnv({ ...env, JG_SIM_RATE: '5', JG_SIM_SEED: '42', JG_SIM_MAX_RECORDS: '100', JG_HUB_URL: 'https://hub:8080' });
    expect(c).toMatchObject({
      collectorId: 'c-env-01',
      hubUrl: 'https://hub:8080',
      batch: { maxRecords: 200, maxBytes: 512 * 1024, lingerMs: 10 },
      outbox: { maxBytes: 1024 ** 3, fsync: 'always', reserveBytes: 32 * 1024 ** 2 },
      simulator: { enabled: true, ratePerSec: 5, anomalyRate: 0.05, malformedRate: 0, maxRecords: 100, seed: '42' },
    });
    expect(path.isAbsolute(c.outboxDir)).toBe(true);
    expect(c.outboxDir.endsWith(path.join('.data', 'collectors', 'c-env-01'))).toBe(true);
  });

  it('names the bad field and its variable', () => {
    expect(() => loadConfigFromEnv({ ...env, JG_SIM_RATE: 'fast' })).toThrowError(/simulator\.ratePerSec \(JG_SIM_RATE\)/);
    expect(() => loadConfigFromEnv({ ...env, JG_SIM_ANOMALY_RATE: '2' })).toThrowError(/simulator\.anomalyRate \(JG_SIM_ANOMALY_RATE\)/);
    expect(() => loadConfigFromEnv({ ...env, JG_COLLECTOR_TOKEN: 'short' })).toThrowError(/token \(JG_COLLECTOR_TOKEN\)/);
    const { JG_PSEUDONYM_KEY: _k, ...noKey } = env;
    expect(() => loadConfigFromEnv(noKey)).toThrowError(expect.objectContaining({ code: 'CONFIG_INVALID', message: expect.stringMatching(/pseudonymKey \(JG_PSEUDONYM_KEY\)/) }));
    expect(() => parseConfig({ ...baseConfig('http://x', '/tmp'), backoff: { minMs: 500, maxMs: 100 } })).toThrowError(/backoff\.maxMs/);
    expect(() => loadConfigFromEnv({ ...env, JG_OUTBOX_RESERVE_BYTES: '-1' })).toThrowError(/outbox\.reserveBytes \(JG_OUTBOX_RESERVE_BYTES\)/);
    expect(loadConfigFromEnv({ ...env, JG_OUTBOX_RESERVE_BYTES: '0' }).outbox.reserveBytes).toBe(0);
    expect(loadConfigFromEnv({ ...env, JG_OUTBOX_SPARE_BYTES: '0' }).outbox.spareBytes).toBe(0);
    expect(loadConfigFromEnv(env).outbox.spareBytes).toBe(1024 * 1024);
  });
});
