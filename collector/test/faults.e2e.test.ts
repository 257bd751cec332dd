/**
 * Faults, end to end, against the real hub (socket.io, BullMQ, chDB) and a private Redis this
 * file starts (and restarts): the collector killed with SIGKILL mid-batch and restarted on the
 * same outbox; the hub dying between its store commit and the ack; hub restarts; the link cut
 * again and again; Redis restarted (losing every queued job); the outbox filled to its quota
 * while the hub is unreachable; chain.json lost. Every time, at the end, the set of stored
 * transactions is exactly the set the collector accepted from its source — nothing lost, nothing
 * duplicated — and no collector.tamper or collector.gap warning was raised on the way.
 *
 * One hub data directory serves the whole file (chDB binds one directory per process); the hub
 * is restarted on it where a scenario needs that. Scenarios run one after another.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startHub, type Hub } from '@jianguan/hub/app';
import { CHAIN_FILE, inspectOutbox, loadOrCreateIdentity, startCollector, type CollectorEvent, type CollectorHandle } from '../src/index.js';
import { freePort, removeDir, waitFor } from './helpers.js';

/** The collector's key, made in its outbox before it starts, as its credential binds it. */
async function boundKey(outboxDir: string): Promise<string> {
  fs.mkdirSync(outboxDir, { recursive: true });
  return (await loadOrCreateIdentity(outboxDir)).publicKey;
}

type HubOverrides = NonNullable<Parameters<typeof startHub>[0]>;

const MAIN = path.resolve(import.meta.dirname, '..', 'dist', 'main.js');
const PSEUDONYM_KEY = 'faults-pseudonym-key-0123456789';
const SCENARIOS = ['f-kill', 'f-noack', 'f-hubrestart', 'f-cut', 'f-redis', 'f-full', 'f-chainlost'] as const;
type ScenarioId = (typeof SCENARIOS)[number];
const INSTITUTIONS: Record<ScenarioId, string> = {
  'f-kill': 'JCJ-CGS',
  'f-noack': 'YZ-CGFS',
  'f-hubrestart': 'ND-CGFS',
  'f-cut': 'JCJ-JYZ',
  'f-redis': 'HJ-JX',
  'f-full': 'BM-DJZ',
  'f-chainlost': 'JCJ-4S',
};
const CREDS = SCENARIOS.map((id) => ({ collectorId: id, institutionId: INSTITUTIONS[id], token: crypto.randomBytes(16).toString('hex') }));
const tokenOf = (id: ScenarioId) => CREDS.find((c) => c.collectorId === id)!.token;

let tmp: string;
let hub: Hub | undefined;
let hubPort: number;
let redisPort: number;
let redis: ChildProcess | undefined;
const queuePrefix = `jgf-${crypto.randomBytes(4).toString('hex')}`;
/** Whatever a failed scenario left running, stopped in afterAll. */
const running = { collectors: new Set<CollectorHandle>(), children: new Set<ChildProcess>(), proxies: new Set<Proxy>() };
const started = Date.now();

// ---- private Redis ------------------------------------------------------------------------------

function redisPing(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = net.connect(port, '127.0.0.1');
    const done = (ok: boolean) => {
      s.destroy();
      resolve(ok);
    };
    s.setTimeout(500, () => done(false));
    s.once('error', () => done(false));
    s.once('connect', () => s.write('PING\r\n'));
    s.once('data', (d) => done(d.toString().startsWith('+PONG')));
  });
}

async function startRedis(): Promise<void> {
  const dir = path.join(tmp, 'redis');
  fs.mkdirSync(dir, { recursive: true });
  redis = spawn('redis-server', ['--port', String(redisPort), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--dir', dir], { stdio: 'ignore' });
  await waitFor(() => redisPing(redisPort), 10_000, 'redis-server to answer');
}

async function stopRedis(signal: NodeJS.Signals = 'SIGKILL'): Promise<void> {
  const r = redis;
  redis = undefined;
  if (!r || r.exitCode !== null) return;
  const exited = new Promise((resolve) => r.once('exit', resolve));
  r.kill(signal);
  await exited;
}

// ---- hub ----------------------------------------------------------------------------------------

async function bootHub(extra: Partial<HubOverrides> = {}): Promise<Hub> {
  hub = await startHub(
    {
      backupHour: -1,
      port: hubPort,
      host: '127.0.0.1',
      redisUrl: `redis://127.0.0.1:${redisPort}`,
      queuePrefix,
      dataDir: path.join(tmp, 'hub'),
      seedDemo: true,
      // Each collector's key, made in its outbox before it starts, is bound in its credential.
      collectors: await Promise.all(CREDS.map(async (c) => ({ ...c, publicKey: (await boundKey(path.join(tmp, 'outbox', c.collectorId))) }))),
      pseudonymSecrets: 'identity',
      logLevel: (process.env.JG_FAULTS_LOG as 'warn' | undefined) ?? 'fatal',
      // Short, so a job lost with Redis is answered "retry" quickly.
      ackTimeoutMs: 4_000,
      ...extra,
    },
    {},
  );
  return hub;
}

async function stopHub(): Promise<void> {
  const h = hub;
  hub = undefined;
  await h?.close();
}

// ---- TCP proxy: a link that can be cut or refused -------------------------------------------------

interface Proxy {
  url: string;
  enabled: boolean;
  cut(): number;
  close(): Promise<void>;
}

async function startProxy(targetPort: number, enabled = true): Promise<Proxy> {
  const pairs = new Set<net.Socket>();
  const server = net.createServer((client) => {
    if (!proxy.enabled) {
      client.destroy();
      return;
    }
    const upstream = net.connect(targetPort, '127.0.0.1');
    pairs.add(client);
    pairs.add(upstream);
    const end = () => {
      client.destroy();
      upstream.destroy();
      pairs.delete(client);
      pairs.delete(upstream);
    };
    client.on('error', end).on('close', end);
    upstream.on('error', end).on('close', end);
    client.pipe(upstream);
    upstream.pipe(client);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  const port = (server.address() as net.AddressInfo).port;
  const proxy: Proxy = {
    url: `http://127.0.0.1:${port}`,
    enabled,
    cut() {
      const n = pairs.size / 2;
      for (const s of [...pairs]) s.destroy();
      return n;
    },
    close: () =>
      new Promise<void>((resolve) => {
        proxy.cut();
        server.close(() => resolve());
      }),
  };
  running.proxies.add(proxy);
  return proxy;
}

// ---- collectors -----------------------------------------------------------------------------------

function collectorConfig(id: ScenarioId, over: { hubUrl?: string; ratePerSec: number; maxRecords: number; outbox?: Record<string, unknown> }) {
  return {
    collectorId: id,
    token: tokenOf(id),
    hubUrl: over.hubUrl ?? `http://127.0.0.1:${hubPort}`,
    institutionId: INSTITUTIONS[id],
    outboxDir: path.join(tmp, 'outbox', id),
    pseudonymKey: PSEUDONYM_KEY,
    batch: { maxRecords: 40, maxBytes: 512 * 1024, lingerMs: 20 },
    backoff: { minMs: 50, maxMs: 800 },
    ackTimeoutMs: 6_000,
    ...(over.outbox ? { outbox: over.outbox } : {}),
    simulator: { enabled: true, ratePerSec: over.ratePerSec, maxRecords: over.maxRecords, anomalyRate: 0.05, malformedRate: 0, seed: `faults-${id}` },
  };
}

async function runCollector(id: ScenarioId, over: Parameters<typeof collectorConfig>[1], events?: CollectorEvent[]): Promise<CollectorHandle> {
  const h = await startCollector(collectorConfig(id, over), events ? { onEvent: (e) => events.push(e) } : {});
  running.collectors.add(h);
  return h;
}

// ---- the check --------------------------------------------------------------------------------------

/** Seqs the outbox quarantined (a torn frame after a crash): never accepted, so never expected. */
function quarantinedSeqs(id: ScenarioId): Set<number> {
  const f = path.join(tmp, 'outbox', id, 'quarantine.jsonl');
  if (!fs.existsSync(f)) return new Set();
  return new Set(
    fs
      .readFileSync(f, 'utf8')
      .split('\n')
      .filter(Boolean)
      .map((l) => (JSON.parse(l) as { seq?: number }).seq)
      .filter((s): s is number => s !== undefined),
  );
}

/**
 * Stored = sent, exactly: every seq the outbox handed out (1 … nextSeq-1, minus quarantined
 * torn frames) is stored once, nothing else is, nothing was dead-lettered, and the chain saw no
 * tampering and no gap.
 */
async function expectStoredExactly(id: ScenarioId, captured?: Set<number>): Promise<number> {
  const h = hub!;
  const ins = await inspectOutbox(path.join(tmp, 'outbox', id));
  expect(ins.depth).toBe(0);
  const burnt = quarantinedSeqs(id);
  const expected: number[] = [];
  for (let s = 1; s < ins.nextSeq; s++) if (!burnt.has(s)) expected.push(s);

  const rows = await h.store.query<{ id: string; n: string }>({
    sql: 'SELECT id, count() AS n FROM transactions FINAL WHERE collector_id = {c:String} GROUP BY id',
    params: { c: id },
  });
  expect(rows.filter((r) => Number(r.n) !== 1)).toEqual([]);
  const seqs = rows.map((r) => Number(r.id.slice(id.length + 1))).sort((a, b) => a - b);
  expect(seqs).toEqual(expected);
  const [raw] = await h.store.query<{ u: string }>({ sql: 'SELECT uniqExact(id) AS u FROM transactions WHERE collector_id = {c:String}', params: { c: id } });
  expect(Number(raw!.u)).toBe(expected.length);
  const [dead] = await h.store.query<{ n: string }>({ sql: 'SELECT count() AS n FROM dead_letters WHERE collector_id = {c:String}', params: { c: id } });
  expect(Number(dead!.n)).toBe(0);
  // Everything the source was told "accepted" is among them.
  if (captured) {
    const stored = new Set(seqs);
    expect([...captured].filter((s) => !stored.has(s))).toEqual([]);
  }
  const chainWarnings = await h.store.query<{ rule_id: string; explanation: string }>({
    sql: "SELECT rule_id, explanation FROM warnings FINAL WHERE collector_id = {c:String} AND family = 'collector'",
    params: { c: id },
  });
  expect(chainWarnings).toEqual([]);
  return expected.length;
}

// ---- child-process collector (for SIGKILL) ----------------------------------------------------------

interface Child {
  proc: ChildProcess;
  lines: Record<string, unknown>[];
  exited: Promise<number | null>;
  /** Resolves at the n-th line with this event. */
  nth(event: string, n: number): Promise<void>;
}

function spawnCollector(id: ScenarioId, maxRecords: number): Child {
  const dir = path.join(tmp, 'outbox', id);
  const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('JG_')));
  const proc = spawn(process.execPath, [MAIN], {
    env: {
      ...env,
      JG_COLLECTOR_ID: id,
      JG_COLLECTOR_TOKEN: tokenOf(id),
      JG_HUB_URL: `http://127.0.0.1:${hubPort}`,
      JG_INSTITUTION_ID: INSTITUTIONS[id],
      JG_OUTBOX_DIR: dir,
      JG_PSEUDONYM_KEY: PSEUDONYM_KEY,
      JG_SIM_RATE: '400',
      JG_SIM_MAX_RECORDS: String(maxRecords),
      JG_SIM_SEED: `kill-${Date.now()}`,
      JG_SIM_MALFORMED_RATE: '0',
      JG_BATCH_MAX_RECORDS: '40',
      JG_BATCH_LINGER_MS: '20',
      JG_BACKOFF_MIN_MS: '50',
      JG_BACKOFF_MAX_MS: '800',
      JG_LOG_LEVEL: 'debug',
      JG_STATUS_INTERVAL_MS: '0',
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  running.children.add(proc);
  const lines: Record<string, unknown>[] = [];
  const waiters: { event: string; n: number; resolve: () => void }[] = [];
  let buf = '';
  proc.stdout!.on('data', (d: Buffer) => {
    buf += d.toString();
    let nl: number;
    while ((nl = buf.indexOf('\n')) >= 0) {
      const line = buf.slice(0, nl);
      buf = buf.slice(nl + 1);
      try {
        lines.push(JSON.parse(line) as Record<string, unknown>);
      } catch {
        continue;
      }
      for (const w of [...waiters]) {
        if (lines.filter((l) => l.event === w.event).length >= w.n) {
          waiters.splice(waiters.indexOf(w), 1);
          w.resolve();
        }
      }
    }
  });
  proc.stderr!.on('data', () => {});
  const exited = new Promise<number | null>((resolve) => proc.once('exit', (code) => resolve(code)));
  return {
    proc,
    lines,
    exited,
    nth: (event, n) =>
      new Promise<void>((resolve) => {
        if (lines.filter((l) => l.event === event).length >= n) resolve();
        else waiters.push({ event, n, resolve });
      }),
  };
}

function capturedSeqs(lines: Record<string, unknown>[]): number[] {
  const out: number[] = [];
  for (const l of lines) if (l.event === 'records.captured') for (let s = l.firstSeq as number; s <= (l.lastSeq as number); s++) out.push(s);
  return out;
}

// ---- setup ------------------------------------------------------------------------------------------

beforeAll(async () => {
  if (!fs.existsSync(MAIN)) throw new Error(`${MAIN} is missing: build the collector first (npx tsc -p tsconfig.json)`);
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'jg-faults-'));
  redisPort = await freePort();
  hubPort = await freePort();
  await startRedis();
  await bootHub();
}, 60_000);

afterAll(async () => {
  for (const p of running.children) if (p.exitCode === null && p.signalCode === null) p.kill('SIGKILL');
  await Promise.all([...running.collectors].map((c) => c.stop().catch(() => {})));
  await Promise.all([...running.proxies].map((p) => p.close().catch(() => {})));
  await stopHub().catch(() => {});
  await stopRedis('SIGTERM');
  if (tmp) removeDir(tmp);
  // eslint-disable-next-line no-console
  console.log(`faults.e2e: ${((Date.now() - started) / 1000).toFixed(1)} s`);
});

describe('faults: stored set = sent set, exactly', () => {
  it('kill -9 of the collector mid-batch, twice, then a clean run on the same outbox', async () => {
    const captured = new Set<number>();
    const runs: Child[] = [];
    for (const killAt of [3, 5]) {
      const c = spawnCollector('f-kill', 2_000);
      runs.push(c);
      await c.nth('batch.sent', killAt);
      c.proc.kill('SIGKILL'); // right after a batch left: its ack is still in flight
      await c.exited;
      for (const s of capturedSeqs(c.lines)) captured.add(s);
    }
    const last = spawnCollector('f-kill', 200);
    runs.push(last);
    await last.nth('source.done', 1);
    await waitFor(async () => (await inspectOutbox(path.join(tmp, 'outbox', 'f-kill'))).depth === 0, 30_000, 'f-kill to drain');
    last.proc.kill('SIGTERM');
    expect(await last.exited).toBe(0);
    for (const s of capturedSeqs(last.lines)) captured.add(s);

    // A batch killed in flight is the first one sent after the restart: the same sealed batch
    // (same id, same batch number), so the hub sees a re-send, not a fork.
    let inFlight = 0;
    for (let i = 0; i < 2; i++) {
      const sent = runs[i]!.lines.filter((l) => l.event === 'batch.sent');
      const lastSent = sent[sent.length - 1]!;
      if (runs[i]!.lines.some((l) => l.event === 'batch.acked' && l.batchId === lastSent.batchId)) continue;
      inFlight += 1;
      const firstAfter = runs[i + 1]!.lines.find((l) => l.event === 'batch.sent')!;
      expect({ batchId: firstAfter.batchId, batchSeq: firstAfter.batchSeq }).toEqual({ batchId: lastSent.batchId, batchSeq: lastSent.batchSeq });
    }
    expect(inFlight).toBeGreaterThanOrEqual(1);
    const n = await expectStoredExactly('f-kill', captured);
    expect(n).toBeGreaterThan(200);
  });

  it('the hub dies between the store commit and the ack (4 acks lost): re-sends are stored once', async () => {
    await stopHub();
    await bootHub({ faultInjection: { dropAckAfterStore: 4 } });
    const c = await runCollector('f-noack', { ratePerSec: 500, maxRecords: 400 });
    await c.drained(60_000);
    const s = c.status();
    await c.stop();
    expect(s.generated).toBe(400);
    expect(s.batchesSent - s.batchesAcked).toBeGreaterThanOrEqual(4);
    expect(await expectStoredExactly('f-noack')).toBe(400);
    await stopHub();
    await bootHub();
  });

  it('the hub restarts twice while a collector streams: the link reconnects and loses nothing', async () => {
    const events: CollectorEvent[] = [];
    const c = await runCollector('f-hubrestart', { ratePerSec: 300, maxRecords: 900 }, events);
    for (let i = 0; i < 2; i++) {
      await waitFor(() => c.status().acked >= 150 * (i + 1), 20_000, 'progress before the restart');
      await stopHub();
      await new Promise((r) => setTimeout(r, 600));
      await bootHub();
    }
    await c.drained(60_000);
    await c.stop();
    expect(events.filter((e) => e.event === 'link.connected').length).toBeGreaterThanOrEqual(3);
    expect(await expectStoredExactly('f-hubrestart')).toBe(900);
  });

  it('the link is cut every 250 ms for 4 s', async () => {
    const proxy = await startProxy(hubPort);
    const c = await runCollector('f-cut', { hubUrl: proxy.url, ratePerSec: 250, maxRecords: 1_000 });
    let cuts = 0;
    const timer = setInterval(() => (cuts += proxy.cut()), 250);
    await new Promise((r) => setTimeout(r, 4_000));
    clearInterval(timer);
    await c.drained(60_000);
    const s = c.status();
    await c.stop();
    await proxy.close();
    expect(cuts).toBeGreaterThanOrEqual(5);
    expect(s.generated).toBe(1_000);
    expect(await expectStoredExactly('f-cut')).toBe(1_000);
  });

  it('Redis is killed and restarted empty while batches are in flight', async () => {
    const c = await runCollector('f-redis', { ratePerSec: 300, maxRecords: 900 });
    await waitFor(() => c.status().acked >= 150, 20_000, 'progress before the Redis restart');
    await stopRedis('SIGKILL');
    await new Promise((r) => setTimeout(r, 700));
    await startRedis();
    await c.drained(90_000);
    const s = c.status();
    await c.stop();
    expect(s.generated).toBe(900);
    expect(await expectStoredExactly('f-redis')).toBe(900);
  });

  it('the outbox fills to its quota while the hub is unreachable: the source is held back (OUTBOX_FULL), nothing dropped', async () => {
    const proxy = await startProxy(hubPort, false);
    const events: CollectorEvent[] = [];
    const c = await runCollector(
      'f-full',
      { hubUrl: proxy.url, ratePerSec: 2_000, maxRecords: 600, outbox: { maxBytes: 96 * 1024, segmentBytes: 16 * 1024, fsync: 'always' } },
      events,
    );
    await waitFor(() => events.some((e) => e.event === 'outbox.full'), 15_000, 'OUTBOX_FULL');
    await new Promise((r) => setTimeout(r, 500));
    const held = c.status();
    expect(held.generated).toBeLessThan(600);
    expect(held.outboxBytes).toBeLessThanOrEqual(96 * 1024);
    expect(held.sourceDone).toBe(false);
    await new Promise((r) => setTimeout(r, 500));
    expect(c.status().generated).toBe(held.generated); // the source waits, it does not drop
    proxy.enabled = true;
    await c.drained(60_000);
    const s = c.status();
    await c.stop();
    await proxy.close();
    expect(s.generated).toBe(600);
    expect(await expectStoredExactly('f-full')).toBe(600);
  });

  it('chain.json is lost between runs: the collector resumes from the tip in hub.hello (no gap, no conflict)', async () => {
    const first = await runCollector('f-chainlost', { ratePerSec: 1_000, maxRecords: 200 });
    await first.drained(30_000);
    await first.stop();
    fs.rmSync(path.join(tmp, 'outbox', 'f-chainlost', CHAIN_FILE));
    const events: CollectorEvent[] = [];
    const second = await runCollector('f-chainlost', { ratePerSec: 1_000, maxRecords: 200 }, events);
    await second.drained(30_000);
    await second.stop();
    expect(events.some((e) => e.event === 'chain.resynced')).toBe(true);
    expect(await expectStoredExactly('f-chainlost')).toBe(400);
  });

  it('in total: nothing dead-lettered, no collector warning, every collector filed with its key', async () => {
    const h = hub!;
    const [w] = await h.store.query<{ n: string }>({ sql: "SELECT count() AS n FROM warnings FINAL WHERE family = 'collector'", params: {} });
    expect(Number(w!.n)).toBe(0);
    const items = await h.collectors.list();
    for (const id of SCENARIOS) {
      const c = items.find((i) => i.collectorId === id)!;
      expect(c.status).toBe('approved');
      expect(c.keyFingerprint).toMatch(/^[0-9a-f]{16}$/);
      expect(c.lastBatchSeq).toBeGreaterThan(0);
    }
  });
});
