#!/usr/bin/env node
// Collector footprint and backlog drain, the collector running as its own child process
// (`node collector/dist/main.js`, configured by JG_* variables) against a real hub child process
// (embedded ClickHouse, private Redis) — the same way scripts/bench.mjs starts them.
//
//   npm run build && node collector/bench/collector.bench.mjs [--json]
//
// (a) idle: simulator disabled, connected to the hub, JG_BENCH_SECONDS (30) — RSS and CPU
// (b) busy: simulator at JG_BENCH_RATE (200) transactions/s for JG_BENCH_SECONDS — RSS and CPU
// (c) backlog: one hour of a busy counter (2 records/s × 3,600 = 7,200 records) written to the
//     outbox while the hub is unreachable (JG_HUB_URL → a closed port, simulator at a high rate),
//     collector stopped, hub started, collector restarted on the same outbox (simulator off):
//     seconds until the outbox is empty.
//
// CPU = (utime + stime) from /proc/<pid>/stat over the window ÷ wall time (100 % = one core);
// RSS from /proc/<pid>/status (VmRSS sampled every 500 ms, VmHWM = the process's peak).
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { spawn, spawnSync } from 'node:child_process';
import { DATA, ROOT, color, ensureRedisInstalled, fail, freePort, startRedis, step, stopChild } from '../../scripts/lib/proc.mjs';

const SECONDS = Number(process.env.JG_BENCH_SECONDS ?? 30);
const RATE = Number(process.env.JG_BENCH_RATE ?? 200);
const BACKLOG_RATE = Number(process.env.JG_BENCH_BACKLOG_RATE ?? 2); // records/s of a busy counter
const BACKLOG = Math.round(BACKLOG_RATE * 3600);
const FILL_RATE = Number(process.env.JG_BENCH_FILL_RATE ?? 2000);
const JSON_OUT = process.argv.includes('--json');
const MAIN = path.join(ROOT, 'collector', 'dist', 'main.js');
const HUB = path.join(ROOT, 'hub', 'dist', 'server.js');
for (const f of [MAIN, HUB, path.join(ROOT, 'rules', 'dist', 'index.js')]) if (!fs.existsSync(f)) fail(`${path.relative(ROOT, f)} missing: run npm run build first`);
ensureRedisInstalled();

const runDir = path.join(DATA, 'bench', `collector-${new Date().toISOString().replace(/[:.]/g, '-')}`);
fs.mkdirSync(runDir, { recursive: true });
const children = new Set();
let cleaning;
const cleanup = () =>
  (cleaning ??= (async () => {
    for (const c of [...children].reverse()) await stopChild(c, 10_000);
  })());
for (const sig of ['SIGINT', 'SIGTERM']) process.on(sig, () => void cleanup().then(() => process.exit(130)));
process.on('exit', () => {
  for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
});
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

const { DEMO_COLLECTORS } = await import(path.join(ROOT, 'rules', 'dist', 'index.js'));
const base0 = DEMO_COLLECTORS[0];
// One identity per phase: a collector's batches are hash-chained per collector id, so each phase
// (backlog, idle, busy) has its own id and outbox.
const credOf = (phase) => ({ collectorId: `bench-${phase}-${base0.collectorId}`, institutionId: base0.institutionId, token: crypto.randomBytes(20).toString('hex') });
const CREDS = { backlog: credOf('backlog'), idle: credOf('idle'), busy: credOf('busy') };
// Each phase's key is made in its outbox and bound in its credential, as an administrator binds
// it (the hub requires collector keys and never trusts one on first use).
const OUTBOXES = { backlog: path.join(runDir, 'outbox-backlog'), idle: path.join(runDir, 'outbox-idle'), busy: path.join(runDir, 'outbox-busy') };
const { loadOrCreateIdentity } = await import(path.join(ROOT, 'collector', 'dist', 'index.js'));
for (const [phase, c] of Object.entries(CREDS)) {
  fs.mkdirSync(OUTBOXES[phase], { recursive: true });
  c.publicKey = (await loadOrCreateIdentity(OUTBOXES[phase])).publicKey;
}
const credFile = path.join(runDir, 'collectors.json');
fs.writeFileSync(credFile, JSON.stringify(Object.values(CREDS)), { mode: 0o600 });
const PSEUDONYM = 'bench-pseudonym-key-0123456789abcdef';

// ---- /proc sampling ---------------------------------------------------------------------------
const TICK = Number(spawnSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).stdout.trim() || 100);
function cpuTicks(pid) {
  const s = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
  const f = s.slice(s.lastIndexOf(')') + 2).split(' '); // fields from 3 (state) on
  return Number(f[11]) + Number(f[12]); // utime (14), stime (15)
}
function mem(pid) {
  const s = fs.readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = (k) => Number(new RegExp(`${k}:\\s+(\\d+) kB`).exec(s)?.[1] ?? NaN) * 1024;
  return { rss: kb('VmRSS'), hwm: kb('VmHWM') };
}
async function sample(pid, seconds) {
  const c0 = cpuTicks(pid);
  const t0 = performance.now();
  const rss = [];
  while (performance.now() - t0 < seconds * 1000) {
    rss.push(mem(pid).rss);
    await sleep(500);
  }
  const cpuS = (cpuTicks(pid) - c0) / TICK;
  const wall = (performance.now() - t0) / 1000;
  const m = mem(pid);
  rss.sort((a, b) => a - b);
  return { seconds: wall, cpuSeconds: cpuS, cpuPct: (cpuS / wall) * 100, rssMedian: rss[rss.length >> 1], rssMax: rss[rss.length - 1], hwm: m.hwm, rssEnd: m.rss };
}
function loadavg() {
  return os.loadavg()[0];
}

// ---- processes --------------------------------------------------------------------------------
function collectorEnv(cred, extra) {
  return {
    ...process.env,
    JG_COLLECTOR_ID: cred.collectorId,
    JG_COLLECTOR_TOKEN: cred.token,
    JG_INSTITUTION_ID: cred.institutionId,
    JG_PSEUDONYM_KEY: PSEUDONYM,
    JG_LOG_LEVEL: 'warn',
    JG_STATUS_INTERVAL_MS: '0',
    JG_SIM_ANOMALY_RATE: '0.02',
    JG_SIM_SEED: '7',
    ...extra,
  };
}
function startCollectorChild(name, cred, env) {
  const log = fs.openSync(path.join(runDir, `${name}.log`), 'a');
  const child = spawn(process.execPath, [MAIN], { env: collectorEnv(cred, env), stdio: ['ignore', log, log] });
  children.add(child);
  child.on('exit', () => children.delete(child));
  return child;
}
async function stopCollector(child) {
  await stopChild(child, 15_000);
  children.delete(child);
}
function outboxStatus(outbox) {
  const r = spawnSync(process.execPath, [MAIN, 'status', '--outbox', outbox, '--json'], { encoding: 'utf8', env: { ...process.env, JG_LOG_LEVEL: 'warn' } });
  try {
    return JSON.parse(r.stdout);
  } catch {
    return { depth: NaN, error: r.stderr };
  }
}

let hubBase;
async function healthz() {
  return (await fetch(`${hubBase}/healthz`)).json();
}

const result = { setup: { cores: os.cpus().length, node: process.version, seconds: SECONDS, rate: RATE, backlog: BACKLOG, fillRate: FILL_RATE } };

// ---- (c) part 1: fill the outbox while the hub is down ---------------------------------------
const backlogOutbox = OUTBOXES.backlog;
{
  const closed = await freePort(); // nothing listens there
  step(`(c) filling the outbox with ${BACKLOG.toLocaleString('en-US')} records (hub unreachable, simulator at ${FILL_RATE}/s)`);
  const t0 = performance.now();
  const filler = startCollectorChild('fill', CREDS.backlog, {
    JG_HUB_URL: `http://127.0.0.1:${closed}`,
    JG_OUTBOX_DIR: backlogOutbox,
    JG_SIM_RATE: String(FILL_RATE),
    JG_SIM_MAX_RECORDS: String(BACKLOG),
  });
  let st;
  for (;;) {
    await sleep(500);
    if (filler.exitCode !== null) fail(`filler exited early; see ${runDir}/fill.log`);
    st = outboxStatus(backlogOutbox);
    if (st.depth >= BACKLOG) break;
    if (performance.now() - t0 > 300_000) fail(`outbox not filled after 300 s (depth ${st.depth})`);
  }
  result.fill = { seconds: (performance.now() - t0) / 1000, depth: st.depth, bytes: st.bytes ?? st.metrics?.outboxBytes ?? null };
  await stopCollector(filler);
  st = outboxStatus(backlogOutbox);
  result.fill.depthAfterStop = st.depth;
  result.fill.status = st;
}

// ---- hub ----------------------------------------------------------------------------------------
const redis = await startRedis({ port: await freePort(), dir: path.join(runDir, 'redis') });
children.add(redis.child);
const port = await freePort();
step(`starting the hub on :${port} (embedded chDB, private Redis)`);
const hubLog = fs.openSync(path.join(runDir, 'hub.log'), 'a');
const hub = spawn(process.execPath, [HUB], {
  env: {
    ...process.env,
    JG_PORT: String(port),
    JG_HOST: '127.0.0.1',
    JG_REDIS_URL: redis.url,
    JG_DATA_DIR: path.join(runDir, 'hub'),
    JG_COLLECTORS_FILE: credFile,
    JG_SEED_DEMO: '1',
    JG_LOG_LEVEL: 'warn',
  },
  stdio: ['ignore', hubLog, hubLog],
});
children.add(hub);
hubBase = `http://127.0.0.1:${port}`;
for (let i = 0; ; i++) {
  if (hub.exitCode !== null) {
    await cleanup();
    fail(`hub exited; see ${runDir}/hub.log`);
  }
  try {
    if ((await fetch(`${hubBase}/healthz`)).ok) break;
  } catch {
    /* starting */
  }
  if (i > 600) {
    await cleanup();
    fail('hub did not start within 120 s');
  }
  await sleep(200);
}

// ---- (c) part 2: drain ---------------------------------------------------------------------------
{
  const stored0 = (await healthz()).transactions_stored ?? 0;
  step(`(c) restarting the collector on the backlog outbox (simulator off); hub stored before: ${stored0}`);
  const t0 = performance.now();
  const load0 = loadavg();
  const drainer = startCollectorChild('drain', CREDS.backlog, { JG_HUB_URL: hubBase, JG_OUTBOX_DIR: backlogOutbox, JG_SIM_ENABLED: '0' });
  let hubAllAt = null;
  let emptyAt = null;
  let lastDepth = NaN;
  let c0 = null;
  let hwm = NaN;
  let nextStatus = 0;
  while (emptyAt === null) {
    await sleep(100);
    if (drainer.exitCode !== null) {
      await cleanup();
      fail(`drain collector exited; see ${runDir}/drain.log`);
    }
    try {
      c0 ??= cpuTicks(drainer.pid);
      hwm = mem(drainer.pid).hwm;
    } catch {
      /* not yet */
    }
    const now = performance.now();
    if (hubAllAt === null) {
      try {
        const h = await healthz();
        if ((h.transactions_stored ?? 0) - stored0 >= BACKLOG) hubAllAt = performance.now();
      } catch {
        /* busy */
      }
    }
    if (now >= nextStatus) {
      nextStatus = now + 500;
      const s = outboxStatus(backlogOutbox);
      lastDepth = s.depth;
      if (s.depth === 0) emptyAt = performance.now();
    }
    if (now - t0 > 600_000) {
      await cleanup();
      fail(`backlog not drained after 600 s (depth ${lastDepth})`);
    }
  }
  const cpuS = (cpuTicks(drainer.pid) - (c0 ?? 0)) / TICK;
  // /healthz may trail the acks a little; keep polling it for up to 30 s.
  for (let i = 0; hubAllAt === null && i < 300; i++) {
    try {
      if (((await healthz()).transactions_stored ?? 0) - stored0 >= BACKLOG) hubAllAt = performance.now();
    } catch {
      /* busy */
    }
    if (hubAllAt === null) await sleep(100);
  }
  const stored = (await healthz()).transactions_stored - stored0;
  result.drain = {
    records: BACKLOG,
    secondsToEmpty: (emptyAt - t0) / 1000,
    secondsToHubStoredAll: hubAllAt === null ? null : (hubAllAt - t0) / 1000,
    recordsPerSec: BACKLOG / ((emptyAt - t0) / 1000),
    hubStored: stored,
    collectorCpuSeconds: cpuS,
    collectorPeakRss: hwm,
    loadavg1Before: load0,
    loadavg1After: loadavg(),
  };
  await stopCollector(drainer);
}

// ---- (a) idle ---------------------------------------------------------------------------------------
{
  step(`(a) idle collector (simulator disabled, linked to the hub): settle 5 s, then ${SECONDS} s`);
  const c = startCollectorChild('idle', CREDS.idle, { JG_HUB_URL: hubBase, JG_OUTBOX_DIR: OUTBOXES.idle, JG_SIM_ENABLED: '0' });
  await sleep(5000);
  const load0 = loadavg();
  result.idle = { ...(await sample(c.pid, SECONDS)), loadavg1: (load0 + loadavg()) / 2 };
  await stopCollector(c);
}

// ---- (b) busy ---------------------------------------------------------------------------------------
{
  step(`(b) collector at ${RATE} transactions/s: settle 5 s, then ${SECONDS} s`);
  const outbox = OUTBOXES.busy;
  const stored0 = (await healthz()).transactions_stored ?? 0;
  const c = startCollectorChild('busy', CREDS.busy, { JG_HUB_URL: hubBase, JG_OUTBOX_DIR: outbox, JG_SIM_RATE: String(RATE) });
  await sleep(5000);
  const load0 = loadavg();
  const s = await sample(c.pid, SECONDS);
  const st = outboxStatus(outbox);
  result.busy = { ...s, loadavg1: (load0 + loadavg()) / 2, depthAtEnd: st.depth, hubStored: (await healthz()).transactions_stored - stored0 };
  await stopCollector(c);
}

await cleanup();
delete result.fill.status;
fs.writeFileSync(path.join(runDir, 'result.json'), JSON.stringify(result, null, 2));

// ---- table ----------------------------------------------------------------------------------------
if (JSON_OUT) {
  console.log(JSON.stringify(result, null, 2));
} else {
  const f = (n, d = 0) => (Number.isFinite(n) ? n.toLocaleString('en-US', { maximumFractionDigits: d, minimumFractionDigits: d }) : 'n/a');
  const MiB = (b) => f(b / 2 ** 20, 1);
  console.log(`\n${color.bold('Jianguan collector bench')} — ${result.setup.cores} cores, ${process.version}, collector = child process, fsync always\n`);
  const head = ['phase', 'duration', 'CPU (1 core = 100 %)', 'RSS median / max', 'VmHWM', 'load avg 1 min'];
  const rows = [
    ['(a) idle, linked, simulator off', `${f(result.idle.seconds, 1)} s`, `${f(result.idle.cpuPct, 2)} % (${f(result.idle.cpuSeconds, 2)} s)`, `${MiB(result.idle.rssMedian)} / ${MiB(result.idle.rssMax)} MiB`, `${MiB(result.idle.hwm)} MiB`, f(result.idle.loadavg1, 1)],
    [`(b) ${RATE} txn/s (hub stored ${f(result.busy.hubStored)}, depth at end ${f(result.busy.depthAtEnd)})`, `${f(result.busy.seconds, 1)} s`, `${f(result.busy.cpuPct, 1)} % (${f(result.busy.cpuSeconds, 2)} s)`, `${MiB(result.busy.rssMedian)} / ${MiB(result.busy.rssMax)} MiB`, `${MiB(result.busy.hwm)} MiB`, f(result.busy.loadavg1, 1)],
  ];
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
  const line = (cells) => `| ${cells.map((c, i) => c.padEnd(widths[i])).join(' | ')} |`;
  console.log(line(head));
  console.log(`|${widths.map((w) => '-'.repeat(w + 2)).join('|')}|`);
  for (const r of rows) console.log(line(r));
  const d = result.drain;
  console.log(`\n(c) backlog: ${f(BACKLOG)} records (1 h at ${BACKLOG_RATE}/s) filled in ${f(result.fill.seconds, 1)} s with the hub down`);
  console.log(`    outbox empty after ${f(d.secondsToEmpty, 1)} s (${f(d.recordsPerSec)} records/s); hub had stored all after ${f(d.secondsToHubStoredAll, 1)} s; hub stored ${f(d.hubStored)}`);
  console.log(`    collector CPU during drain ${f(d.collectorCpuSeconds, 2)} s, peak RSS ${MiB(d.collectorPeakRss)} MiB; load avg 1 min ${f(d.loadavg1Before, 1)} → ${f(d.loadavg1After, 1)}`);
  console.log(color.dim(`run files: ${path.relative(ROOT, runDir)}`));
}
process.exit(0);
