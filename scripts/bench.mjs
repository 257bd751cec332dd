#!/usr/bin/env node
// `npm run bench`: N simulated collectors at a target rate for a fixed time against a real hub
// (child process, embedded ClickHouse, private Redis). Prints sustained throughput, latency from
// the counter's capture to the store commit and to the wall event, lost and duplicate records,
// hub peak RSS — and beside them this machine's ceilings measured in the same run (redis-benchmark
// SET rate, raw chDB insert rate).
//
//   JG_BENCH_COLLECTORS=8 JG_BENCH_RATE=1000 JG_BENCH_SECONDS=30 npm run bench
//   JG_BENCH_HUB_NODE_ARGS="--cpu-prof --cpu-prof-dir=/tmp/prof" npm run bench   (profile the hub)
//
// Comparing two builds of the hub under the same machine load (alternate the runs):
//   JG_BENCH_NO_BUILD=1       run what is already built instead of building first
//   JG_BENCH_HUB_DIST=<dir>   the hub's dist directory to run (a copy of hub/dist kept under
//                             hub/, e.g. hub/.data/ab/<name>/dist, so its imports still resolve)
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { spawn, spawnSync } from 'node:child_process';
import { DATA, ROOT, color, ensureNodeModules, ensureRedisInstalled, fail, freePort, run, startRedis, step, stopChild } from './lib/proc.mjs';

const N = Number(process.env.JG_BENCH_COLLECTORS ?? 8);
const RATE = Number(process.env.JG_BENCH_RATE ?? 1000);
const SECONDS = Number(process.env.JG_BENCH_SECONDS ?? 30);
const ANOMALY = Number(process.env.JG_BENCH_ANOMALY_RATE ?? 0.02);
const JSON_OUT = process.argv.includes('--json');

ensureNodeModules();
ensureRedisInstalled();
if (process.env.JG_BENCH_NO_BUILD === '1') step('using the packages as built (JG_BENCH_NO_BUILD)');
else {
  step('building packages');
  run(path.join(ROOT, 'node_modules', '.bin', 'turbo'), ['run', 'build', '--env-mode=loose', '--output-logs=errors-only']);
}
const hubDist = path.resolve(process.env.JG_BENCH_HUB_DIST ?? path.join(ROOT, 'hub', 'dist'));
if (!fs.existsSync(path.join(hubDist, 'server.js'))) fail(`no hub build at ${hubDist}`);

const runDir = path.join(DATA, 'bench', new Date().toISOString().replace(/[:.]/g, '-'));
fs.mkdirSync(runDir, { recursive: true });
const children = [];
const cleanup = async () => {
  for (const c of children.reverse()) await stopChild(c, 15_000);
};
process.on('SIGINT', () => void cleanup().then(() => process.exit(130)));
process.on('SIGTERM', () => void cleanup().then(() => process.exit(143)));

// ---- the machine's own ceilings ------------------------------------------------------------
const redisPort = await freePort();
const redis = await startRedis({ port: redisPort, dir: path.join(runDir, 'redis') });
children.push(redis.child);

step('ceiling: redis-benchmark SET');
let redisSet = NaN;
{
  const r = spawnSync('redis-benchmark', ['-p', String(redisPort), '-t', 'set', '-n', '200000', '-q'], { encoding: 'utf8' });
  const m = /SET:\s*([\d.]+)\s*requests per second/.exec(r.stdout ?? '');
  redisSet = m ? Number(m[1]) : NaN;
  if (!m) console.warn(color.yellow(`could not read redis-benchmark output: ${(r.stdout ?? '').slice(0, 200)} ${r.stderr ?? ''}`));
}

step('ceiling: raw chDB insert (JSONEachRow, batches of 5,000 transaction-like rows)');
let chdbInsert = NaN;
{
  const probe = spawnSync(process.execPath, [path.join(ROOT, 'scripts', 'lib', 'chdb-ceiling.mjs'), path.join(runDir, 'chdb-ceiling')], {
    encoding: 'utf8',
    cwd: path.join(ROOT, 'hub'),
  });
  const m = /rows_per_sec=(\d+)/.exec(probe.stdout ?? '');
  chdbInsert = m ? Number(m[1]) : NaN;
  if (!m) console.warn(color.yellow(`chDB ceiling probe failed: ${probe.stderr?.slice(0, 400)}`));
}
// Flush the benchmark's keys before the pipeline uses the same server.
spawnSync('redis-cli', ['-p', String(redisPort), 'FLUSHALL'], { stdio: 'ignore' });

// ---- the pipeline ----------------------------------------------------------------------------
const { DEMO_COLLECTORS } = await import(path.join(ROOT, 'rules', 'dist', 'index.js'));
const { startCollector } = await import(path.join(ROOT, 'collector', 'dist', 'index.js'));
const { io } = await import('socket.io-client');

const { loadOrCreateIdentity } = await import(path.join(ROOT, 'collector', 'dist', 'index.js'));
const outboxOf = (collectorId) => path.join(runDir, 'outbox', collectorId);
// Each collector's key pair is made here, in its own outbox (where the collector keeps its
// identity, collector/src/identity/keys.ts), and its public key written into the credential the
// hub reads: the administrator's binding. The hub never trusts a key on first use and refuses
// token-only collectors (COLLECTOR_KEY_REQUIRED), so an unbound collector would only be held.
const creds = await Promise.all(
  Array.from({ length: N }, async (_, i) => {
    const base = DEMO_COLLECTORS[i % DEMO_COLLECTORS.length];
    const collectorId = `bench-${i}-${base.collectorId}`;
    fs.mkdirSync(outboxOf(collectorId), { recursive: true });
    const { publicKey } = await loadOrCreateIdentity(outboxOf(collectorId));
    return { collectorId, institutionId: base.institutionId, token: crypto.randomBytes(20).toString('hex'), publicKey };
  }),
);
const credFile = path.join(runDir, 'collectors.json');
fs.writeFileSync(credFile, JSON.stringify(creds), { mode: 0o600 });

const port = await freePort();
step(`starting the hub on :${port}`);
const hubLog = fs.openSync(path.join(runDir, 'hub.log'), 'a');
// JG_BENCH_HUB_NODE_ARGS, e.g. "--cpu-prof --cpu-prof-dir=/tmp/prof", to profile the hub.
const hubNodeArgs = (process.env.JG_BENCH_HUB_NODE_ARGS ?? '').split(' ').filter(Boolean);
const hub = spawn(process.execPath, [...hubNodeArgs, path.join(hubDist, 'server.js')], {
  env: {
    ...process.env,
    JG_PORT: String(port),
    JG_HOST: '127.0.0.1',
    JG_REDIS_URL: redis.url,
    JG_DATA_DIR: path.join(runDir, 'hub'),
    JG_COLLECTORS_FILE: credFile,
    JG_SEED_DEMO: '1',
    // Simulated business outside working time carries the last working day's hours: still live.
    JG_WALL_LIVE_MAX_AGE_MS: String(14 * 86_400_000),
    JG_LOG_LEVEL: 'warn',
  },
  stdio: ['ignore', hubLog, hubLog],
});
children.push(hub);
const base = `http://127.0.0.1:${port}`;
for (let i = 0; ; i++) {
  if (hub.exitCode !== null) fail(`hub exited; see ${runDir}/hub.log`);
  try {
    if ((await fetch(`${base}/healthz`)).ok) break;
  } catch {
    /* starting */
  }
  if (i > 300) fail('hub did not start within 60 s');
  await new Promise((r) => setTimeout(r, 200));
}

/** CPU seconds (user + system, all threads) a process has used so far, from /proc/<pid>/stat. */
function cpuSecondsOf(pid) {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    // Fields 14 and 15 (utime, stime) are the 12th and 13th after the command name; ticks of 1/100 s.
    return (Number(f[11]) + Number(f[12])) / 100;
  } catch {
    return NaN;
  }
}

function rssOf(pid) {
  try {
    const s = fs.readFileSync(`/proc/${pid}/status`, 'utf8');
    const hwm = /VmHWM:\s+(\d+) kB/.exec(s);
    const rss = /VmRSS:\s+(\d+) kB/.exec(s);
    return { peak: hwm ? Number(hwm[1]) * 1024 : NaN, now: rss ? Number(rss[1]) * 1024 : NaN };
  } catch {
    return { peak: NaN, now: NaN };
  }
}

// The API and the wall need a session (the wall is closed by default): the bench hub seeds the
// demo users (JG_SEED_DEMO).
async function login(username) {
  const r = await fetch(`${base}/api/v1/auth/login`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ username, password: 'jianguan-demo' }) });
  const body = await r.json();
  if (!r.ok || typeof body.token !== 'string') fail(`login as ${username} failed: ${r.status} ${JSON.stringify(body).slice(0, 200)}`);
  return body.token;
}

// The wall: latency from capture to the warning arriving on a wall socket, logged in as the wall user.
const wallLatencies = [];
const wall = io(`${base}/wall`, { transports: ['websocket'], auth: { token: await login('wall') } });
let wallRefused = '';
wall.on('connect_error', (e) => (wallRefused = `${e.data?.code ?? ''} ${e.message}`));
wall.on('warning.raised', (batch) => {
  const now = Date.now();
  for (const w of batch) wallLatencies.push(now - w.capturedAt);
});

// The machine's 1-minute load average at the start and end of the sending phase: runs on a
// shared machine are comparable only under similar load.
const loadAtStart = os.loadavg()[0];
// CPU of the hub and of Redis per stored record: unlike throughput, barely moved by other load.
const cpuAtStart = { hub: cpuSecondsOf(hub.pid), redis: cpuSecondsOf(redis.child.pid) };
const perCollector = RATE / N;
const maxRecords = Math.round(perCollector * SECONDS);
step(`${N} collectors × ${perCollector.toFixed(1)}/s for ${SECONDS} s = ${maxRecords * N} transactions`);
const t0 = Date.now();
const handles = await Promise.all(
  creds.map((c, i) =>
    startCollector({
      collectorId: c.collectorId,
      token: c.token,
      hubUrl: base,
      institutionId: c.institutionId,
      outboxDir: outboxOf(c.collectorId),
      pseudonymKey: 'bench-pseudonym-key-0123456789abcdef',
      simulator: { enabled: true, ratePerSec: perCollector, anomalyRate: ANOMALY, malformedRate: 0, maxRecords, seed: 1000 + i },
    }),
  ),
);

const progress = setInterval(async () => {
  try {
    const h = await (await fetch(`${base}/healthz`)).json();
    process.stdout.write(`\r  ${Math.round((Date.now() - t0) / 1000)} s  stored ${h.transactions_stored}  queue ${h.queue_waiting}   `);
  } catch {
    /* busy */
  }
}, 2000);

let drainedAll = true;
try {
  await Promise.all(handles.map((h) => h.drained(SECONDS * 1000 + 300_000)));
} catch (e) {
  drainedAll = false;
  console.warn(color.yellow(`\nnot every collector drained: ${e.message}`));
}
clearInterval(progress);
process.stdout.write('\n');
const sendEnd = Date.now();
const loadAtEnd = os.loadavg()[0];
await new Promise((r) => setTimeout(r, 1500)); // last wall flush
const generated = handles.reduce((s, h) => s + h.status().generated, 0);
const acked = handles.reduce((s, h) => s + h.status().acked, 0);
await Promise.all(handles.map((h) => h.stop()));
wall.close();

if (wallRefused && wallLatencies.length === 0) console.warn(color.yellow(`the wall socket was refused: ${wallRefused}`));
const stats = await (await fetch(`${base}/api/v1/stats/pipeline?since=${t0 - 60_000}`, { headers: { authorization: `Bearer ${await login('admin')}` } })).json();
const mem = rssOf(hub.pid);
const cpu = { hub: cpuSecondsOf(hub.pid) - cpuAtStart.hub, redis: cpuSecondsOf(redis.child.pid) - cpuAtStart.redis };
await cleanup();

// ---- the table -------------------------------------------------------------------------------
function pct(arr, p) {
  if (arr.length === 0) return NaN;
  const s = [...arr].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.ceil((p / 100) * s.length) - 1)];
}
const secs = Math.max(0.001, (stats.lastStoredAt - stats.firstCapturedAt) / 1000);
const throughput = stats.stored / secs;
const result = {
  setup: { collectors: N, targetRate: RATE, seconds: SECONDS, anomalyRate: ANOMALY, cpus: os.cpus().length, loadAvg1m: [loadAtStart, loadAtEnd] },
  sent: generated,
  acked,
  stored: stats.stored,
  lost: generated - stats.stored,
  duplicates: stats.finalRows - stats.stored,
  physicalDuplicateRows: stats.rows - stats.stored,
  throughput,
  storeLatencyMs: stats.latencyMs,
  wall: { events: wallLatencies.length, p50: pct(wallLatencies, 50), p95: pct(wallLatencies, 95), p99: pct(wallLatencies, 99) },
  hubPeakRssMiB: mem.peak / 2 ** 20,
  cpuMsPerRecord: { hub: (cpu.hub * 1000) / stats.stored, redis: (cpu.redis * 1000) / stats.stored },
  ceilings: { redisSetPerSec: redisSet, chdbInsertRowsPerSec: chdbInsert },
  drained: drainedAll,
  wallClockSeconds: (sendEnd - t0) / 1000,
};
if (JSON_OUT) {
  console.log(JSON.stringify(result, null, 2));
} else {
  const f = (n, d = 0) => (Number.isFinite(n) ? n.toLocaleString('en-US', { maximumFractionDigits: d, minimumFractionDigits: d }) : 'n/a');
  const rows = [
    ['setup', `${N} collectors, target ${f(RATE)}/s for ${SECONDS} s, ${result.setup.cpus} cores, load ${result.setup.loadAvg1m.map((l) => f(l, 1)).join(' → ')}`],
    ['sent / stored', `${f(generated)} / ${f(stats.stored)}`],
    ['lost (sent − stored)', f(result.lost)],
    ['duplicates (logical)', f(result.duplicates)],
    ['re-sent rows awaiting merge', f(result.physicalDuplicateRows)],
    ['sustained throughput', `${f(throughput)} transactions/s`],
    ['capture → stored p50 / p95 / p99', `${f(stats.latencyMs.p50)} / ${f(stats.latencyMs.p95)} / ${f(stats.latencyMs.p99)} ms`],
    ['capture → wall p50 / p95 / p99', `${f(result.wall.p50)} / ${f(result.wall.p95)} / ${f(result.wall.p99)} ms (${f(result.wall.events)} warnings)`],
    ['hub peak RSS', `${f(result.hubPeakRssMiB)} MiB`],
    ['CPU per record: hub / Redis', `${f(result.cpuMsPerRecord.hub, 3)} / ${f(result.cpuMsPerRecord.redis, 3)} ms`],
    ['ceiling: redis-benchmark SET', `${f(redisSet)} ops/s  (pipeline uses ${f((throughput / redisSet) * 100, 1)}% of it in records/s)`],
    ['ceiling: raw chDB insert', `${f(chdbInsert)} rows/s  (pipeline = ${f((throughput / chdbInsert) * 100, 1)}% of it)`],
  ];
  const w = Math.max(...rows.map((r) => r[0].length));
  console.log(`\n${color.bold('Jianguan pipeline bench')}`);
  console.log(`${'─'.repeat(w + 2)}┬${'─'.repeat(60)}`);
  for (const [k, v] of rows) console.log(` ${k.padEnd(w)} │ ${v}`);
  console.log(`${'─'.repeat(w + 2)}┴${'─'.repeat(60)}`);
  console.log(color.dim(`run files: ${path.relative(ROOT, runDir)}`));
}
if (result.lost !== 0 || result.duplicates !== 0) {
  console.error(color.red(`integrity failure: lost ${result.lost}, duplicates ${result.duplicates}`));
  process.exit(2);
}
process.exit(0);
