#!/usr/bin/env node
/**
 * Wall soak (not part of the test suite): a real hub (Redis, embedded ClickHouse, BullMQ worker,
 * socket.io) serving dashboard/build, simulated collectors streaming business with anomalies,
 * and the wall open in Debian's Chromium for a while. The page's JS heap is sampled every
 * `--sample` seconds (CDP Performance.getMetrics, after a forced GC) and printed as a table with
 * start, end, max and the least-squares slope per hour — the evidence behind "the wall runs
 * 24 h without memory growth".
 *
 *   cd dashboard && npm run build && (cd ../hub && npm run build)
 *   node bench/wall-soak.mjs [--minutes 10] [--sample 30] [--collectors 3] [--rate 20] [--redis redis://…]
 *                            [--stats-ms 1000] [--rotate <seconds>]
 *
 * A day of wall traffic in less than a day: memory on the wall grows with what it receives —
 * warnings, statistics pushes, view switches — not with the clock, so a higher --rate, a shorter
 * --stats-ms (the hub's statistics push period) and --rotate (cycling the views, which mounts
 * and unmounts their components) compress many hours of events into the run. The summary prints
 * the events counted by a second /wall client, to compare with a real day.
 *
 * Redis: --redis or JG_TEST_REDIS_URL, else a private redis-server on a free port (stopped after).
 * Exit code 0 always when the run completes; judge the numbers. The heap grows during warm-up
 * while the bounded structures fill (200-warning ring, 4096-id dedupe window, per-rule counters);
 * after that the slope should be near zero. At high rates the window fills in minutes; use
 * --warmup <minutes> to exclude it explicitly.
 */
import { execFileSync, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { chromium } from 'playwright-core';
import { io as connectSocket } from 'socket.io-client';
import { startHub } from '@jianguan/hub/app';
import { startCollector } from '@jianguan/collector';

const CHROMIUM = '/usr/bin/chromium';
const DASHBOARD = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const BUILD = path.join(DASHBOARD, 'build');
const INSTITUTIONS = ['JCJ-CGS', 'YZ-CGFS', 'ND-CGFS', 'DA-CGFS', 'JCJ-JYZ', 'YZ-JYZ', 'DL-JYZ'];

const { values: opts } = parseArgs({
  options: {
    minutes: { type: 'string', default: '10' },
    sample: { type: 'string', default: '30' },
    collectors: { type: 'string', default: '3' },
    rate: { type: 'string', default: '20' },
    'stats-ms': { type: 'string', default: '1000' },
    rotate: { type: 'string' },
    redis: { type: 'string' },
    /** Minutes excluded from the steady-state slope (default: the first fifth of the run). */
    warmup: { type: 'string' },
  },
});
const minutes = Number(opts.minutes);
const sampleMs = Number(opts.sample) * 1000;
const nCollectors = Math.max(1, Math.min(INSTITUTIONS.length, Number(opts.collectors)));
const rate = Number(opts.rate);

function freePort() {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.unref();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const port = srv.address().port;
      srv.close(() => resolve(port));
    });
  });
}

async function privateRedis() {
  const port = await freePort();
  const child = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'], { stdio: 'ignore' });
  const deadline = Date.now() + 10_000;
  for (;;) {
    const ok = await new Promise((resolve) => {
      const s = net.connect(port, '127.0.0.1', () => {
        s.end();
        resolve(true);
      });
      s.on('error', () => resolve(false));
    });
    if (ok) return { url: `redis://127.0.0.1:${port}`, child };
    if (Date.now() > deadline) {
      child.kill('SIGTERM');
      throw new Error(`redis-server did not start on port ${port}`);
    }
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** Least-squares slope of y over x (x in ms), in y units per hour. */
function slopePerHour(points) {
  if (points.length < 2) return 0;
  const n = points.length;
  const mx = points.reduce((s, p) => s + p.t, 0) / n;
  const my = points.reduce((s, p) => s + p.heap, 0) / n;
  let num = 0;
  let den = 0;
  for (const p of points) {
    num += (p.t - mx) * (p.heap - my);
    den += (p.t - mx) ** 2;
  }
  return den === 0 ? 0 : (num / den) * 3_600_000;
}

const mb = (b) => (b / 1048576).toFixed(2);

async function main() {
  if (!fs.existsSync(CHROMIUM)) throw new Error(`${CHROMIUM} is missing (apt-get install -y chromium fonts-noto-cjk)`);
  if (!fs.existsSync(path.join(BUILD, 'index.html'))) execFileSync('npm', ['run', 'build'], { cwd: DASHBOARD, stdio: 'inherit' });
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'jg-wall-soak-'));
  const envRedis = opts.redis ?? process.env.JG_TEST_REDIS_URL;
  const redis = envRedis ? { url: envRedis, child: null } : await privateRedis();

  const creds = INSTITUTIONS.slice(0, nCollectors).map((institutionId, i) => ({
    collectorId: `c-soak-${String(i + 1).padStart(2, '0')}`,
    institutionId,
    token: randomBytes(24).toString('hex'),
  }));
  const hub = await startHub({
    port: 0,
    host: '127.0.0.1',
    redisUrl: redis.url,
    queuePrefix: `jg-soak-${randomBytes(6).toString('hex')}`,
    dataDir: path.join(tmp, 'hub'),
    dashboardDir: BUILD,
    collectors: creds,
    seedDemo: true,
    logLevel: 'warn',
    statsIntervalMs: Number(opts['stats-ms']),
  });
  // What the wall receives, counted by a second screen (a plain socket.io client).
  const events = { warnings: 0, stats: 0, snapshots: 0 };
  const counter = connectSocket(`${hub.url}/wall`, { transports: ['websocket'], forceNew: true });
  counter.on('warning.raised', (batch) => (events.warnings += batch.length));
  counter.on('county.stats', () => (events.stats += 1));
  counter.on('wall.snapshot', () => (events.snapshots += 1));
  const browser = await chromium.launch({
    executablePath: CHROMIUM,
    args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--js-flags=--expose-gc'],
  });
  const collectors = [];
  const cleanup = async () => {
    counter.close();
    for (const c of collectors) await c.stop().catch(() => undefined);
    await browser.close().catch(() => undefined);
    await hub.close().catch(() => undefined);
    if (redis.child) redis.child.kill('SIGTERM');
    fs.rmSync(tmp, { recursive: true, force: true });
  };
  process.once('SIGINT', () => void cleanup().then(() => process.exit(130)));

  try {
    const context = await browser.newContext({ viewport: { width: 1920, height: 1080 }, locale: 'zh-CN', timezoneId: 'Asia/Shanghai' });
    const page = await context.newPage();
    const errors = [];
    page.on('pageerror', (e) => errors.push(e.message));
    await page.goto(`${hub.url}/wall${opts.rotate ? `?rotate=${Number(opts.rotate)}` : ''}`);
    await page.waitForSelector('main.wall[data-ready="yes"]', { timeout: 30_000 });
    const cdp = await context.newCDPSession(page);
    await cdp.send('Performance.enable');

    for (const [i, c] of creds.entries()) {
      collectors.push(
        await startCollector({
          ...c,
          hubUrl: hub.url,
          outboxDir: path.join(tmp, `outbox-${i}`),
          pseudonymKey: randomBytes(24).toString('hex'),
          simulator: { enabled: true, ratePerSec: rate, anomalyRate: 0.3, seed: i + 1 },
        }),
      );
    }

    const sample = async (t0) => {
      await page.evaluate(() => globalThis.gc?.()).catch(() => undefined);
      const { metrics } = await cdp.send('Performance.getMetrics');
      const m = Object.fromEntries(metrics.map((x) => [x.name, x.value]));
      const dom = await page.evaluate(() => document.getElementsByTagName('*').length);
      return { t: Date.now() - t0, heap: m.JSHeapUsedSize ?? 0, total: m.JSHeapTotalSize ?? 0, nodes: m.Nodes ?? 0, listeners: m.JSEventListeners ?? 0, dom };
    };

    const t0 = Date.now();
    const end = t0 + minutes * 60_000;
    const points = [await sample(t0)];
    console.log(
      `wall soak: ${minutes} min, ${nCollectors} collector(s) × ${rate}/s, statistics every ${opts['stats-ms']} ms, ` +
        `${opts.rotate ? `views rotating every ${opts.rotate} s, ` : ''}sample every ${sampleMs / 1000} s — ${hub.url}/wall`,
    );
    console.log('   t(s)  heapUsed(MB)  heapTotal(MB)  nodes  listeners  dom');
    const row = (p) =>
      console.log(`${String(Math.round(p.t / 1000)).padStart(7)}  ${mb(p.heap).padStart(12)}  ${mb(p.total).padStart(13)}  ${String(p.nodes).padStart(5)}  ${String(p.listeners).padStart(9)}  ${String(p.dom).padStart(4)}`);
    row(points[0]);
    while (Date.now() < end) {
      await new Promise((r) => setTimeout(r, Math.min(sampleMs, end - Date.now())));
      const p = await sample(t0);
      points.push(p);
      row(p);
    }

    const heaps = points.map((p) => p.heap);
    // Skip warm-up (ring and dedupe window filling) for the steady-state slope.
    const warmupMs = opts.warmup !== undefined ? Number(opts.warmup) * 60_000 : (minutes * 60_000) / 5;
    const steady = points.filter((p) => p.t >= warmupMs);
    // The KPI row is on the overview only; with --rotate the wall may be on another view now.
    const warnings = await page.locator('[data-kpi="warnings"]').getAttribute('data-value', { timeout: 2_000 }).catch(() => 'n/a (another view is up)');
    console.log('\nsummary');
    console.table({
      'heap used (MB)': {
        start: Number(mb(heaps[0])),
        end: Number(mb(heaps.at(-1))),
        max: Number(mb(Math.max(...heaps))),
        'slope/h (all)': Number(mb(slopePerHour(points))),
        'slope/h (after warm-up)': Number(mb(slopePerHour(steady))),
      },
    });
    console.log(`samples ${points.length}, warnings today on the wall ${warnings}, page errors ${errors.length}`);
    console.log(
      `received by a second screen: ${events.warnings} warnings, ${events.stats} statistics pushes` +
        (opts.rotate ? `, ~${Math.floor((minutes * 60) / Number(opts.rotate))} view switches` : ''),
    );
    const dom = points.map((p) => p.dom);
    const listeners = points.map((p) => p.listeners);
    console.log(`DOM elements ${Math.min(...dom)}–${Math.max(...dom)}, JS event listeners ${Math.min(...listeners)}–${Math.max(...listeners)}`);
    if (errors.length) console.log(errors.slice(0, 5).join('\n'));
  } finally {
    await cleanup();
  }
}

main().then(
  () => process.exit(0),
  (e) => {
    console.error(e);
    process.exit(1);
  },
);
