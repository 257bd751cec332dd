#!/usr/bin/env node
// `npm run bench`: the pipeline against a real hub (child process, embedded ClickHouse, private
// Redis), beside this machine's ceilings measured in the same run (redis-benchmark SET rate, raw
// chDB insert rate) and the targets (10,000 records/s; capture → wall p99 ≤ 250 ms at 1,000/s;
// hold decision p99 ≤ 10 ms at 500/s; hub + Redis CPU ≤ 0.1 ms per record).
//
// CPU per record is the hub's and Redis's CPU over a phase's window divided by the records it
// stored. chDB merges parts in the background seconds after the inserts, so each hub phase starts
// only once the merges of what came before are idle, and reports beside the window's figure the
// one measured until its own merges are idle too ("with its merges").
//
// Modes (`--mode`, default `both`):
//   hub   The hub alone: a load generator (scripts/lib/loadgen.mjs, its own process) builds and
//         signs every batch before the timed window and only sends it during it, over one real
//         /collect connection per collector credential (the collector's handshake proof, signed
//         and chained batches, the collector's simulator records). Two phases:
//           throughput  JG_BENCH_RATE (default `max`: a backlog of 10,000 × JG_BENCH_SECONDS
//                       records sent as fast as the in-flight window allows — the hub's sustained
//                       ceiling; or a number: records/s for JG_BENCH_SECONDS (20)), batches of
//                       JG_BENCH_BATCH (200). An offered rate cannot measure "≥ that rate": the
//                       first batches carry records captured before t0 and the last ack comes
//                       after the window, so a hub that keeps up reads a few % below it;
//           latency     JG_BENCH_LATENCY_RATE (1,000/s) for JG_BENCH_LATENCY_SECONDS (20; 0 = skip)
//                       with a wall socket timing capture → wall, while hold decisions are asked
//                       at JG_BENCH_HOLD_RATE (500/s, 0 = none) over a collector socket.
//   e2e   Real collectors (startCollector from collector/dist, simulator, disk outboxes with
//         fsync) inside the bench process: the whole path, collectors competing for the same
//         cores. JG_BENCH_E2E_RATE (1,000/s) for JG_BENCH_E2E_SECONDS (20); with `--mode e2e`
//         alone JG_BENCH_RATE / JG_BENCH_SECONDS apply (defaults 1,000/s, 20 s).
//   both  hub, then an e2e row.
//
//   npm run bench                                  (about 3 minutes)
//   npm run bench -- --json                        (machine-readable; exit 2 on a lost/duplicate record)
//   JG_BENCH_RATE=10000 npm run bench -- --mode hub  (an offered rate instead of the ceiling)
//   npm run bench -- --mode e2e
//   JG_BENCH_HUB_NODE_ARGS="--cpu-prof --cpu-prof-dir=/tmp/prof" npm run bench   (profile the hub)
//
// Other knobs: JG_BENCH_COLLECTORS (32: connections in hub mode), JG_BENCH_E2E_COLLECTORS (8),
// JG_BENCH_WINDOW (4 batches in flight per connection), JG_BENCH_ACK_TIMEOUT_MS (45,000, the
// collector's), JG_BENCH_LATENCY_BATCH (the latency phase's batch size; what a connection captures in 100 ms),
// JG_BENCH_MAX_RECORDS (records prepared for `max`; 10,000 × seconds),
// JG_BENCH_ANOMALY_RATE (0.02), JG_BENCH_HOLD_TRANSPORT (socket | http: the admin's POST).
//
// Comparing two builds of the hub under the same machine load (alternate the runs):
//   JG_BENCH_NO_BUILD=1       run what is already built instead of building first
//   JG_BENCH_HUB_DIST=<dir>   the hub's dist directory to run (a copy of hub/dist kept under
//                             hub/, e.g. hub/.data/ab/<name>/dist, so its imports still resolve)
//   JG_BENCH_STORE_DIR=<dir>  keep the hub's store there for the run (e.g. /dev/shm: the store's
//                             cost without the file system's; removed afterwards)
//   JG_BENCH_REDIS=unix       the hub reaches its Redis over its Unix socket instead of 127.0.0.1
//                             (JG_REDIS_URL=unix:///…; measured no different here, docs/benchmarks.md)
//   JG_BENCH_REDIS_NICE=0     Redis at the default priority instead of nice -10, which the
//                             single-host deployment gives it (deploy/single-host/redis-server.service.d)
//   JG_BENCH_RECORDS=array    hub mode sends each batch's records as an array, as collectors did
//                             before the hub took them as bytes (recordsJson)
//   JG_EVALUATION_MODE, JG_EVALUATION_THREADS and the hub's other settings pass through to it
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { spawn, spawnSync } from 'node:child_process';
import { DATA, ROOT, color, cpuSecondsOf, ensureNodeModules, ensureRedisInstalled, fail, freePort, run, startRedis, step, stopChild } from './lib/proc.mjs';

// ---- options ---------------------------------------------------------------------------------
const argv = process.argv.slice(2);
const JSON_OUT = argv.includes('--json');
const modeArg = argv.find((a) => a.startsWith('--mode='))?.slice(7) ?? (argv.includes('--mode') ? argv[argv.indexOf('--mode') + 1] : undefined);
const MODE = modeArg ?? 'both';
if (!['hub', 'e2e', 'both'].includes(MODE)) fail(`--mode must be hub, e2e or both (got ${MODE})`);
const RUN_HUB = MODE !== 'e2e';
const RUN_E2E = MODE !== 'hub';

const env = (name, dflt) => (process.env[name] === undefined || process.env[name] === '' ? dflt : process.env[name]);
const num = (name, dflt) => {
  const v = Number(env(name, dflt));
  if (!Number.isFinite(v) || v < 0) fail(`${name} must be a non-negative number`);
  return v;
};
// Hub mode: one connection per counter. A detachment's counters are many and each is slow (a
// counter completes a transaction every few minutes); the hub takes a collector's batches one
// at a time, in chain order, so a handful of connections each carrying a tenth of the load
// measures the per-collector round trip rather than the hub. e2e: real collectors in this
// process, fewer (each has an fsync outbox).
const N = num('JG_BENCH_COLLECTORS', 32);
const N_E2E = num('JG_BENCH_E2E_COLLECTORS', 8);
const SECONDS = num('JG_BENCH_SECONDS', 20);
const rateEnv = env('JG_BENCH_RATE', MODE === 'e2e' ? 1000 : 'max');
const RATE = rateEnv === 'max' ? 'max' : num('JG_BENCH_RATE', 1000);
const E2E_RATE = MODE === 'e2e' ? RATE : num('JG_BENCH_E2E_RATE', 1000);
const E2E_SECONDS = MODE === 'e2e' ? SECONDS : num('JG_BENCH_E2E_SECONDS', 20);
if (RUN_E2E && E2E_RATE === 'max') fail('e2e mode needs a numeric rate (JG_BENCH_RATE=max is for --mode hub)');
const BATCH = num('JG_BENCH_BATCH', 200); // the collector's batch.maxRecords (collector/src/config.ts)
const WINDOW = num('JG_BENCH_WINDOW', 4);
const ACK_TIMEOUT_MS = num('JG_BENCH_ACK_TIMEOUT_MS', 45_000); // the collector's ackTimeoutMs
const LAT_RATE = num('JG_BENCH_LATENCY_RATE', 1000);
const LAT_SECONDS = num('JG_BENCH_LATENCY_SECONDS', 20);
// A collector waits for each ack before its next batch, so its batches grow to what arrives
// during its linger (10 ms) and a round trip (the e2e row prints the mean it shipped), and after a
// slow acknowledgement to everything captured meanwhile. The latency phase's connections form
// their batches that way (JG_BENCH_LATENCY_PACING=collector, the default: each record captured
// at its planned time, one batch in flight, up to JG_BENCH_BATCH records, the collector's
// JG_BENCH_LATENCY_LINGER_MS linger), so the figure includes a record's wait for its batch.
// JG_BENCH_LATENCY_PACING=fixed plans batches of JG_BENCH_LATENCY_BATCH records instead (what a
// connection captures in 100 ms at the latency rate), JG_BENCH_WINDOW in flight: runs before
// 2026-12-04 used that; such fixed batches cannot grow to catch up after a stall.
// The latency phase uses as many connections as the e2e row has collectors (8): at 1,000/s each
// batch then carries what a collector's linger and round trip gather (~13 records), as the e2e
// collectors' batches do; spread over 32 connections the batches would be 3 records, a job each,
// and the phase would measure the per-batch overhead of a shape no collector produces.
const LAT_N = num('JG_BENCH_LATENCY_COLLECTORS', N_E2E);
const LAT_BATCH = num('JG_BENCH_LATENCY_BATCH', Math.max(1, Math.round(num('JG_BENCH_LATENCY_RATE', 1000) / LAT_N / 10)));
const LAT_PACING = env('JG_BENCH_LATENCY_PACING', 'collector');
if (LAT_PACING !== 'collector' && LAT_PACING !== 'fixed') fail('JG_BENCH_LATENCY_PACING must be collector or fixed');
// The collector's batch.lingerMs, for the latency phase's connections and the e2e collectors
// (runs before 2026-12-04 noon: 50).
const LAT_LINGER_MS = num('JG_BENCH_LATENCY_LINGER_MS', 10);
const HOLD_RATE = num('JG_BENCH_HOLD_RATE', 500);
const HOLD_TRANSPORT = env('JG_BENCH_HOLD_TRANSPORT', 'socket');
const MAX_RECORDS = num('JG_BENCH_MAX_RECORDS', 10_000 * SECONDS);
const ANOMALY = num('JG_BENCH_ANOMALY_RATE', 0.02);
// With --json, stdout carries the JSON document only: progress and steps go to stderr.
const stdoutLog = console.log;
const say = JSON_OUT ? process.stderr : process.stdout;
if (JSON_OUT) console.log = console.error;
const PSEUDONYM_KEY = 'bench-pseudonym-key-0123456789abcdef';
const TARGETS = { throughput: 10_000, wallP99Ms: 250, holdP99Ms: 10, cpuMsPerRecord: 0.1 };
if (RUN_HUB && RATE !== 'max' && (RATE <= 0 || SECONDS <= 0)) fail('JG_BENCH_RATE and JG_BENCH_SECONDS must be positive');
if (N < 1 || BATCH < 1 || WINDOW < 1) fail('JG_BENCH_COLLECTORS, JG_BENCH_BATCH and JG_BENCH_WINDOW must be at least 1');

ensureNodeModules();
ensureRedisInstalled();
if (process.env.JG_BENCH_NO_BUILD === '1') step('using the packages as built (JG_BENCH_NO_BUILD)');
else {
  step('building packages');
  run(path.join(ROOT, 'node_modules', '.bin', 'turbo'), ['run', 'build', '--env-mode=loose', '--output-logs=errors-only'], JSON_OUT ? { stdio: ['ignore', 2, 2] } : {});
}
const hubDist = path.resolve(process.env.JG_BENCH_HUB_DIST ?? path.join(ROOT, 'hub', 'dist'));
if (!fs.existsSync(path.join(hubDist, 'server.js'))) fail(`no hub build at ${hubDist}`);

const runDir = path.join(DATA, 'bench', new Date().toISOString().replace(/[:.]/g, '-'));
fs.mkdirSync(runDir, { recursive: true });
const children = [];
const cleanup = async () => {
  for (const c of children.reverse()) await stopChild(c, 15_000);
  children.length = 0;
};
process.on('SIGINT', () => void cleanup().then(() => process.exit(130)));
// fail() exits at once: a failure after this point (the hub refusing its configuration, a login
// refused …) must not leave the bench's Redis or hub running.
process.on('exit', () => {
  for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGTERM');
});
process.on('SIGTERM', () => void cleanup().then(() => process.exit(143)));

// ---- the machine's own ceilings ------------------------------------------------------------
const redisPort = await freePort();
const redis = await startRedis({ port: redisPort, dir: path.join(runDir, 'redis') });
children.push(redis.child);
// Redis as the single-host deployment runs it: at nice -10, beside the hub thread (which sets its
// own, hub/src/priority.ts). A negative value needs root or CAP_SYS_NICE; without it Redis stays
// at 0 and the run says so in its setup.
const REDIS_NICE = Number(env('JG_BENCH_REDIS_NICE', '-10'));
if (!Number.isInteger(REDIS_NICE) || REDIS_NICE < -20 || REDIS_NICE > 19) fail('JG_BENCH_REDIS_NICE must be an integer from -20 to 19');
let redisNice = 0;
try {
  os.setPriority(redis.child.pid, REDIS_NICE);
  redisNice = REDIS_NICE;
} catch (e) {
  console.warn(color.yellow(`Redis stays at nice 0 (${e.code ?? e.message}); the deployment runs it at ${REDIS_NICE}`));
}
// How the hub reaches Redis: TCP on 127.0.0.1 (the default) or the Unix socket.
const REDIS_TRANSPORT = env('JG_BENCH_REDIS', 'tcp');
if (!['unix', 'tcp'].includes(REDIS_TRANSPORT)) fail('JG_BENCH_REDIS must be unix or tcp');
const hubRedisTransport = REDIS_TRANSPORT === 'unix' && redis.socketUrl ? 'unix' : 'tcp';
const hubRedisUrl = hubRedisTransport === 'unix' ? redis.socketUrl : redis.url;
if (hubRedisTransport !== REDIS_TRANSPORT) console.warn(color.yellow(`the run directory's path is too long for a Unix socket; the hub reaches Redis over TCP`));

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

// ---- credentials -----------------------------------------------------------------------------
const { DEMO_COLLECTORS } = await import(path.join(ROOT, 'rules', 'dist', 'index.js'));
const { startCollector, loadOrCreateIdentity } = await import(path.join(ROOT, 'collector', 'dist', 'index.js'));
const { io } = await import('socket.io-client');
const { connectCollector, quantile, runLoadgen } = await import('./lib/loadgen.mjs');
const { holdTransactions, httpDecision, openLoop, socketDecision } = await import('./lib/decisions.mjs');

const outboxOf = (collectorId) => path.join(runDir, 'outbox', collectorId);
const keyDirOf = (collectorId) => path.join(runDir, 'keys', collectorId);
// Every credential's key pair is made here — in the collector's outbox for e2e collectors (where
// the collector keeps its identity, collector/src/identity/keys.ts), in a key directory for the
// load generator's connections — and its public key written into the credential the hub reads:
// the administrator's binding. The hub never trusts a key on first use and refuses token-only
// collectors (COLLECTOR_KEY_REQUIRED), so an unbound collector would only be held.
async function credential(collectorId, institutionId, dir) {
  fs.mkdirSync(dir, { recursive: true });
  const { publicKey } = await loadOrCreateIdentity(dir);
  return { collectorId, institutionId, token: crypto.randomBytes(20).toString('hex'), publicKey, identityDir: dir };
}
const setOf = (prefix, dirOf, n = N) =>
  Promise.all(
    Array.from({ length: n }, (_, i) => {
      const base = DEMO_COLLECTORS[i % DEMO_COLLECTORS.length];
      const id = `bench-${prefix}${i}-${base.collectorId}`;
      return credential(id, base.institutionId, dirOf(id));
    }),
  );
const creds = {
  throughput: RUN_HUB ? await setOf('t', keyDirOf) : [],
  latency: RUN_HUB && LAT_SECONDS > 0 ? await setOf('l', keyDirOf, LAT_N) : [],
  e2e: RUN_E2E ? await setOf('e', outboxOf, N_E2E) : [],
  // The hold path's caller: a collector of the inspection station the decision traffic describes.
  hold: RUN_HUB && LAT_SECONDS > 0 && HOLD_RATE > 0 ? [await credential('bench-hold-jcj-jyz', 'JCJ-JYZ', keyDirOf('bench-hold-jcj-jyz'))] : [],
};
const credFile = path.join(runDir, 'collectors.json');
fs.writeFileSync(
  credFile,
  JSON.stringify(Object.values(creds).flat().map(({ collectorId, institutionId, token, publicKey }) => ({ collectorId, institutionId, token, publicKey }))),
  { mode: 0o600 },
);

// ---- the hub ---------------------------------------------------------------------------------
const port = await freePort();
// JG_BENCH_STORE_DIR: where the hub keeps its store for this run (default: under the run's files).
// The development VM's root ext4 has no journal, and such a file system checks every new inode
// against recently deleted ones — a cost each part's files pay (docs/benchmarks.md); a tmpfs
// there (/dev/shm) measures the software without it. Not a place for data that must survive.
const hubDataDir = process.env.JG_BENCH_STORE_DIR ? path.join(path.resolve(process.env.JG_BENCH_STORE_DIR), `jianguan-bench-${path.basename(runDir)}`) : path.join(runDir, 'hub');
step(`starting the hub on :${port}`);
const hubLog = fs.openSync(path.join(runDir, 'hub.log'), 'a');
// JG_BENCH_HUB_NODE_ARGS, e.g. "--cpu-prof --cpu-prof-dir=/tmp/prof", to profile the hub.
const hubNodeArgs = (process.env.JG_BENCH_HUB_NODE_ARGS ?? '').split(' ').filter(Boolean);
const hub = spawn(process.execPath, [...hubNodeArgs, path.join(hubDist, 'server.js')], {
  env: {
    ...process.env,
    JG_PORT: String(port),
    JG_HOST: '127.0.0.1',
    JG_REDIS_URL: hubRedisUrl,
    JG_DATA_DIR: hubDataDir,
    JG_COLLECTORS_FILE: credFile,
    JG_SEED_DEMO: '1',
    // Simulated business outside working time carries the last working day's hours: still live.
    JG_WALL_LIVE_MAX_AGE_MS: String(14 * 86_400_000),
    JG_LOG_LEVEL: 'warn',
    // A measurement with no daily backup copying the store in the middle of it.
    JG_BACKUP_HOUR: '-1',
  },
  stdio: ['ignore', hubLog, hubLog],
});
children.push(hub);
const base = `http://127.0.0.1:${port}`;
for (let i = 0; ; i++) {
  if (hub.exitCode !== null) {
    // The hub's last log line says why (e.g. a configuration it refused).
    const last = fs.readFileSync(path.join(runDir, 'hub.log'), 'utf8').trim().split('\n').at(-1) ?? '';
    let why = last;
    try {
      const j = JSON.parse(last);
      why = [j.code, j.message ?? j.event].filter(Boolean).join(': ');
    } catch {
      /* not JSON: show the line */
    }
    fail(`hub exited${why ? ` — ${why.slice(0, 300)}` : ''}; see ${runDir}/hub.log`);
  }
  try {
    if ((await fetch(`${base}/healthz`)).ok) break;
  } catch {
    /* starting */
  }
  if (i > 300) fail('hub did not start within 60 s');
  await new Promise((r) => setTimeout(r, 200));
}

/**
 * CPU seconds per thread name of a process (/proc/<pid>/task/<tid>/{comm,stat}): which part of
 * the hub spends its time — the main thread and the evaluation thread are both "node" by name,
 * so threads are told apart by their thread id's order (the main thread's id is the pid).
 */
function threadCpuOf(pid) {
  const out = {};
  let dir = [];
  try {
    dir = fs.readdirSync(`/proc/${pid}/task`);
  } catch {
    return out;
  }
  for (const tid of dir) {
    try {
      const comm = fs.readFileSync(`/proc/${pid}/task/${tid}/comm`, 'utf8').trim();
      const name = tid === String(pid) ? 'main' : comm.replace(/[\d]+$/, '').replace(/[:#-]$/, '') || comm;
      const s = cpuSecondsOf(pid, tid);
      if (Number.isFinite(s)) out[`${name}#${tid}`] = s;
    } catch {
      /* the thread ended */
    }
  }
  return out;
}
/** CPU seconds of the merge threads (chDB's MergeMutate pool) in a threadCpuOf() map. */
function mergeSecondsOf(threads) {
  let sum = 0;
  for (const [k, v] of Object.entries(threads)) if (k.startsWith('MergeMutate')) sum += v;
  return sum;
}

/**
 * Waits until the hub's merge threads have been idle for a second (under 10 ms of CPU in it), at
 * most `maxMs`; returns the seconds waited. Merges run in the background, seconds after the
 * inserts that made their parts: waiting before a phase keeps the merges of the phase before it
 * (many small parts at 1,000/s) out of its figures, waiting after it shows whether any merge its
 * own records caused fell outside its window.
 */
async function mergesSettled(maxMs = 60_000) {
  const t0 = Date.now();
  let prev = mergeSecondsOf(threadCpuOf(hub.pid));
  for (;;) {
    await new Promise((r) => setTimeout(r, 1000));
    const cur = mergeSecondsOf(threadCpuOf(hub.pid));
    if (cur - prev < 0.01 || Date.now() - t0 >= maxMs) return (Date.now() - t0) / 1000;
    prev = cur;
  }
}

/** Redis's own count and time per command since it started (INFO commandstats). */
function redisCommandStats() {
  const r = spawnSync('redis-cli', ['-p', String(redisPort), 'INFO', 'commandstats'], { encoding: 'utf8' });
  const out = {};
  for (const m of (r.stdout ?? '').matchAll(/^cmdstat_([^:]+):calls=(\d+),usec=(\d+)/gm)) out[m[1]] = { calls: Number(m[2]), usec: Number(m[3]) };
  return out;
}
const cpuNow = () => ({
  hub: cpuSecondsOf(hub.pid),
  redis: cpuSecondsOf(redis.child.pid),
  bench: (process.cpuUsage().user + process.cpuUsage().system) / 1e6,
  threads: threadCpuOf(hub.pid),
  redisCommands: redisCommandStats(),
});
function nodeRank(threads, key) {
  const tids = Object.keys(threads)
    .filter((k) => k.startsWith('node#'))
    .map((k) => Number(k.slice(5)))
    .sort((a, b) => a - b);
  return tids.indexOf(Number(key.slice(5))) + 1;
}
/** Per record: CPU ms of each hub thread group, and Redis calls and µs per command (top 12). */
function breakdown(cpu0, cpu1, stored) {
  const per = Math.max(1, stored);
  const groups = {};
  for (const [k, v] of Object.entries(cpu1.threads)) {
    const d = v - (cpu0.threads[k] ?? 0);
    if (d <= 0) continue;
    // Unnamed threads ("node": V8's platform workers, libuv's pool — where chDB's inserts run —
    // and the evaluation thread) are kept apart by their creation order.
    const base = k.slice(0, k.lastIndexOf('#'));
    const name = base === 'node' ? `node#${nodeRank(cpu1.threads, k)}` : base;
    groups[name] = (groups[name] ?? 0) + d;
  }
  const threads = Object.fromEntries(
    Object.entries(groups)
      .sort((a, b) => b[1] - a[1])
      .map(([k, v]) => [k, Number(((v * 1000) / per).toFixed(4))]),
  );
  const cmds = Object.entries(cpu1.redisCommands)
    .map(([k, v]) => {
      const a = cpu0.redisCommands[k] ?? { calls: 0, usec: 0 };
      return [k, { callsPerRecord: Number(((v.calls - a.calls) / per).toFixed(4)), usPerRecord: Number(((v.usec - a.usec) / per).toFixed(3)) }];
    })
    .filter(([, v]) => v.callsPerRecord > 0)
    .sort((a, b) => b[1].usPerRecord - a[1].usPerRecord)
    .slice(0, 12);
  return { hubThreadsMsPerRecord: threads, redisCommandsPerRecord: Object.fromEntries(cmds) };
}

function rssOf(pid) {
  try {
    const s = fs.readFileSync(`/proc/${pid}/status`, 'utf8');
    const hwm = /VmHWM:\s+(\d+) kB/.exec(s);
    return hwm ? Number(hwm[1]) * 1024 : NaN;
  } catch {
    return NaN;
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
const adminToken = await login('admin');
async function pipelineStats(since, idPrefix = '') {
  const r = await fetch(`${base}/api/v1/stats/pipeline?since=${since}&idPrefix=${encodeURIComponent(idPrefix)}`, { headers: { authorization: `Bearer ${adminToken}` } });
  if (!r.ok) fail(`GET /api/v1/stats/pipeline: ${r.status} ${(await r.text()).slice(0, 200)}`);
  return r.json();
}

// The wall: every warning that arrives on a wall socket logged in as the wall user; each phase
// takes those of its own collectors (transaction ids start with the collector id).
const wallArrivals = [];
const wall = io(`${base}/wall`, { transports: ['websocket'], auth: { token: await login('wall') } });
let wallRefused = '';
wall.on('connect_error', (e) => (wallRefused = `${e.data?.code ?? ''} ${e.message}`));
wall.on('warning.raised', (batch) => {
  const now = Date.now();
  for (const w of batch) wallArrivals.push({ at: now, capturedAt: w.capturedAt, raisedAt: w.raisedAt, transactionId: String(w.transactionId ?? '') });
});
function wallOf(prefix) {
  const mine = wallArrivals.filter((w) => w.transactionId.startsWith(prefix));
  const sorted = (f) => mine.map(f).filter(Number.isFinite).sort((a, b) => a - b);
  const q = (l) => ({ p50: quantile(l, 0.5), p95: quantile(l, 0.95), p99: quantile(l, 0.99) });
  const l = sorted((w) => w.at - w.capturedAt);
  // The two halves: capture → raised (the hub evaluated the record's batch) and raised → on
  // the screen (stored, then pushed).
  return { events: l.length, ...q(l), captureToRaised: q(sorted((w) => w.raisedAt - w.capturedAt)), raisedToWall: q(sorted((w) => w.at - w.raisedAt)) };
}

const progressLine = (s) => say.write(`\r  ${s}      `);

// Which thread evaluated the phase's batches (JG_EVALUATION_MODE): /healthz counts them since the
// hub started; a phase reports what it added.
let evaluatedBefore = { batches_hub: 0, batches_threads: 0 };
async function evaluatedSince() {
  const e = await fetch(`${base}/healthz`)
    .then((r) => r.json())
    .then((h) => h.evaluation ?? null)
    .catch(() => null);
  if (!e) return null;
  const out = { mode: e.mode, threads: e.threads, batchesHubThread: e.batches_hub - evaluatedBefore.batches_hub, batchesEvaluationThreads: e.batches_threads - evaluatedBefore.batches_threads };
  evaluatedBefore = e;
  return out;
}

/** Counts, latency and CPU of one phase, from the hub's store and the processes' CPU. */
async function finishPhase({ since, cpu0, cpu1, load0, load1, prefix, sent }) {
  // Only this phase's records: a throughput phase's first batches carry capture times that reach
  // back into the phase before it (a batch spans the time since its connection's previous one).
  const stats = await pipelineStats(since, prefix);
  const secs = Math.max(0.001, (stats.lastStoredAt - stats.firstCapturedAt) / 1000);
  const per = (s) => (s * 1000) / Math.max(1, stats.stored);
  return {
    loadAvg1m: [load0, load1],
    sent,
    stored: stats.stored,
    lost: sent - stats.stored,
    duplicates: stats.finalRows - stats.stored,
    physicalDuplicateRows: stats.rows - stats.stored,
    throughput: stats.stored / secs,
    storeLatencyMs: stats.latencyMs,
    wall: wallOf(prefix),
    hubPeakRssMiB: rssOf(hub.pid) / 2 ** 20,
    evaluated: await evaluatedSince(),
    cpuMsPerRecord: {
      hub: per(cpu1.hub - cpu0.hub),
      redis: per(cpu1.redis - cpu0.redis),
      hubPlusRedis: per(cpu1.hub - cpu0.hub + cpu1.redis - cpu0.redis),
    },
    ...breakdown(cpu0, cpu1, stats.stored),
  };
}

// ---- hub mode: the load generator ------------------------------------------------------------
async function hubPhase({ name, set, prefix, rate, seconds, batch, holdRate, pacing = 'fixed' }) {
  const window = pacing === 'collector' ? 1 : WINDOW;
  const shape = pacing === 'collector' ? `batches formed as a collector does (up to ${batch}, linger ${LAT_LINGER_MS} ms, one in flight)` : `batches of ${batch}, window ${window}`;
  const settledBefore = await mergesSettled();
  step(`hub mode, ${name}: ${set.length} connections, ${rate === 'max' ? 'open throttle' : `${rate.toLocaleString('en-US')}/s`} for ${seconds} s, ${shape}${holdRate ? ` + hold decisions at ${holdRate}/s` : ''}`);
  // Hold decisions: their own collector connection (or the admin's POST), warmed up first.
  let once;
  let holdLink;
  const hold = { client: [], server: [], holds: 0, errors: [] };
  if (holdRate) {
    const c = creds.hold[0];
    const txn = holdTransactions({ collectorId: c.collectorId, institutionId: c.institutionId });
    if (HOLD_TRANSPORT === 'http') once = httpDecision(base, `Bearer ${adminToken}`, txn);
    else {
      holdLink = await connectCollector({ hubUrl: base, collectorId: c.collectorId, token: c.token, institutionId: c.institutionId, identity: await loadOrCreateIdentity(c.identityDir) });
      once = socketDecision(holdLink.socket, c.collectorId, txn);
    }
    await openLoop(holdRate, 2, once, () => {});
  }
  let cpu0;
  let load0;
  let holdRun = Promise.resolve(NaN);
  let ready;
  const res = await runLoadgen(
    {
      hubUrl: base,
      creds: set,
      rate,
      seconds,
      batch,
      window,
      pacing,
      lingerMs: LAT_LINGER_MS,
      ackTimeoutMs: ACK_TIMEOUT_MS,
      anomalyRate: ANOMALY,
      seed: 1000,
      pseudonymKey: PSEUDONYM_KEY,
      maxRecords: MAX_RECORDS,
      drainMs: ACK_TIMEOUT_MS + 60_000,
    },
    {
      onReady: (r) => {
        ready = r;
        progressLine(`prepared ${r.plannedRecords.toLocaleString('en-US')} records ${pacing === 'collector' ? '(batches sealed as they leave)' : `in ${r.plannedBatches.toLocaleString('en-US')} signed batches`} (generate ${(r.generateMs / 1000).toFixed(1)} s, seal ${(r.sealMs / 1000).toFixed(1)} s); sending in ${((r.t0 - Date.now()) / 1000).toFixed(1)} s`);
        setTimeout(() => {
          cpu0 = cpuNow();
          load0 = os.loadavg()[0];
          if (holdRate) {
            holdRun = openLoop(holdRate, seconds, once, (r2) => {
              if (r2.error) return hold.errors.push(r2.error);
              hold.client.push(r2.ms);
              hold.server.push(r2.server);
              if (r2.decision === 'hold') hold.holds += 1;
            });
          }
        }, Math.max(0, r.t0 - Date.now()));
      },
      onProgress: (p) => progressLine(`${name}: ${Math.round((Date.now() - ready.t0) / 1000)} s  sent ${p.sent.toLocaleString('en-US')}  acked ${p.acked.toLocaleString('en-US')}  in flight ${p.inflight} batches  re-sent ${p.resent}`),
    },
  );
  const holdSeconds = await holdRun;
  const cpu1 = cpuNow();
  const load1 = os.loadavg()[0];
  say.write('\n');
  // The same window closed only once the merges its records caused are done (see mergesSettled).
  const mergeTail = await mergesSettled();
  const cpu2 = cpuNow();
  holdLink?.close();
  await new Promise((r) => setTimeout(r, 1500)); // last wall flush
  const out = await finishPhase({ since: res.t0 - (res.spanMs ?? 0), cpu0: cpu0 ?? cpu1, cpu1, load0, load1, prefix: `bench-${prefix}`, sent: res.sentRecords });
  const result = {
    mode: 'hub',
    phase: name,
    setup: { connections: set.length, targetRate: rate, seconds, batch, window, pacing, ...(pacing === 'collector' ? { lingerMs: LAT_LINGER_MS } : {}), anomalyRate: ANOMALY },
    planned: res.plannedRecords,
    ...out,
    unsent: res.unsentRecords,
    acked: res.ackedRecords,
    batchesAcked: res.ackedBatches,
    meanBatch: res.ackedRecords / Math.max(1, res.ackedBatches),
    deadLettered: res.rejected,
    refused: res.refusedRecords,
    unacked: res.unackedRecords,
    resentBatches: res.resentBatches,
    resentRecords: res.resentRecords,
    resealedBatches: res.resealed,
    chainConflicts: res.conflicts,
    failures: res.failures,
    failureSamples: res.failureSamples,
    injectedAnomalies: res.injected,
    ackThroughput: res.ackThroughput,
    ackMs: res.ackMs,
    sendLagMs: res.sendLagMs,
    startLagMs: ready?.startLagMs ?? NaN,
    prepSeconds: { generate: (ready?.generateMs ?? NaN) / 1000, seal: (ready?.sealMs ?? NaN) / 1000 },
    drained: res.drained,
  };
  result.cpuMsPerRecord.loadgen = (res.cpuSeconds * 1000) / Math.max(1, out.stored);
  if (cpu0) {
    const per = (sec) => (sec * 1000) / Math.max(1, out.stored);
    result.cpuMsPerRecord.hubWithMerges = per(cpu2.hub - cpu0.hub);
    result.cpuMsPerRecord.hubPlusRedisWithMerges = per(cpu2.hub - cpu0.hub + cpu2.redis - cpu0.redis);
    result.merges = {
      settledBeforeSeconds: settledBefore,
      tailSeconds: mergeTail,
      windowMsPerRecord: per(mergeSecondsOf(cpu1.threads) - mergeSecondsOf(cpu0.threads)),
      tailMsPerRecord: per(mergeSecondsOf(cpu2.threads) - mergeSecondsOf(cpu1.threads)),
    };
  }
  if (holdRate) {
    hold.client.sort((a, b) => a - b);
    hold.server.sort((a, b) => a - b);
    result.decisions = {
      transport: HOLD_TRANSPORT === 'http' ? 'POST /api/v1/decisions (admin session)' : 'socket decision.request',
      rate: holdRate,
      sent: hold.client.length + hold.errors.length,
      ok: hold.client.length,
      errors: hold.errors.length,
      firstError: hold.errors[0],
      holds: hold.holds,
      achieved: (hold.client.length + hold.errors.length) / holdSeconds,
      p50: quantile(hold.client, 0.5),
      p95: quantile(hold.client, 0.95),
      p99: quantile(hold.client, 0.99),
      max: hold.client[hold.client.length - 1] ?? NaN,
      serverMs: { p50: quantile(hold.server, 0.5), p99: quantile(hold.server, 0.99) },
    };
  }
  if (res.failureSamples.length) console.warn(color.yellow(`  ${name}: failed submissions ${JSON.stringify(res.failures)}; first: ${res.failureSamples[0]}`));
  if (res.rejectSamples.length) console.warn(color.yellow(`  ${name}: dead-lettered records, e.g. ${JSON.stringify(res.rejectSamples[0]).slice(0, 300)}`));
  if (!res.drained) console.warn(color.yellow(`  ${name}: not everything in flight was acknowledged before the drain timeout`));
  return result;
}

// ---- e2e mode: real collectors ---------------------------------------------------------------
async function e2ePhase({ rate, seconds }) {
  const set = creds.e2e;
  const perCollector = rate / N_E2E;
  const maxRecords = Math.round(perCollector * seconds);
  step(`e2e mode: ${N_E2E} collectors × ${perCollector.toFixed(1)}/s for ${seconds} s = ${(maxRecords * N_E2E).toLocaleString('en-US')} transactions (in this process, fsync outboxes)`);
  const load0 = os.loadavg()[0];
  const cpu0 = cpuNow();
  const t0 = Date.now();
  const handles = await Promise.all(
    set.map((c, i) =>
      startCollector({
        collectorId: c.collectorId,
        token: c.token,
        hubUrl: base,
        institutionId: c.institutionId,
        outboxDir: outboxOf(c.collectorId),
        pseudonymKey: PSEUDONYM_KEY,
        simulator: { enabled: true, ratePerSec: perCollector, anomalyRate: ANOMALY, malformedRate: 0, maxRecords, seed: 1000 + i },
        // The same linger as the latency phase's connections (the collector's default unless set).
        batch: { lingerMs: LAT_LINGER_MS },
      }),
    ),
  );
  const progress = setInterval(async () => {
    try {
      const h = await (await fetch(`${base}/healthz`)).json();
      const acked = handles.reduce((s, x) => s + x.status().acked, 0);
      progressLine(`e2e: ${Math.round((Date.now() - t0) / 1000)} s  acked ${acked.toLocaleString('en-US')}  stored (hub total) ${h.transactions_stored}  queue ${h.queue_waiting}`);
    } catch {
      /* busy */
    }
  }, 2000);
  let drained = true;
  try {
    await Promise.all(handles.map((h) => h.drained(seconds * 1000 + 180_000)));
  } catch (e) {
    drained = false;
    console.warn(color.yellow(`\nnot every collector drained: ${e.message}`));
  }
  clearInterval(progress);
  const cpu1 = cpuNow();
  const load1 = os.loadavg()[0];
  say.write('\n');
  const generated = handles.reduce((s, h) => s + h.status().generated, 0);
  const acked = handles.reduce((s, h) => s + h.status().acked, 0);
  const sum = (k) => handles.reduce((s, h) => s + h.status()[k], 0);
  const link = { batchesAcked: sum('batchesAcked'), batchFailures: sum('batchFailures'), resentRecords: sum('sent') - acked, injected: sum('injected') };
  const sendEnd = Date.now();
  await new Promise((r) => setTimeout(r, 1500)); // last wall flush
  await Promise.all(handles.map((h) => h.stop()));
  const out = await finishPhase({ since: t0, cpu0, cpu1, load0, load1, prefix: 'bench-e', sent: generated });
  out.cpuMsPerRecord.collectors = ((cpu1.bench - cpu0.bench) * 1000) / Math.max(1, out.stored);
  return {
    mode: 'e2e',
    phase: 'e2e',
    setup: { collectors: N_E2E, targetRate: rate, seconds, lingerMs: LAT_LINGER_MS, anomalyRate: ANOMALY },
    planned: generated,
    ...out,
    acked,
    batchesAcked: link.batchesAcked,
    meanBatch: acked / Math.max(1, link.batchesAcked),
    batchFailures: link.batchFailures,
    resentRecords: link.resentRecords,
    injectedAnomalies: link.injected,
    drained,
    wallClockSeconds: (sendEnd - t0) / 1000,
  };
}

// ---- run -------------------------------------------------------------------------------------
// Printed throughput, latency, e2e; run latency and e2e first: the saturating phase leaves the
// store merging its parts for a while after it, which would land on whatever is measured next.
const done = {};
try {
  if (RUN_HUB && LAT_SECONDS > 0) {
    done.latency = await hubPhase({ name: 'latency', set: creds.latency, prefix: 'l', rate: LAT_RATE, seconds: LAT_SECONDS, batch: LAT_PACING === 'collector' ? BATCH : LAT_BATCH, holdRate: HOLD_RATE, pacing: LAT_PACING });
  }
  if (RUN_E2E) done.e2e = await e2ePhase({ rate: E2E_RATE, seconds: E2E_SECONDS });
  if (RUN_HUB) done.throughput = await hubPhase({ name: 'throughput', set: creds.throughput, prefix: 't', rate: RATE, seconds: SECONDS, batch: BATCH });
} catch (e) {
  console.error(color.red(`bench failed: ${e?.stack ?? e}`));
  wall.close();
  await cleanup();
  if (process.env.JG_BENCH_STORE_DIR) fs.rmSync(hubDataDir, { recursive: true, force: true, maxRetries: 5 });
  process.exit(1);
}
wall.close();
if (wallRefused && wallArrivals.length === 0) console.warn(color.yellow(`the wall socket was refused: ${wallRefused}`));
// Where the run's rule state lived (JG_RULE_STATE) and how large it ended: /healthz's rule_state.
const ruleState = await fetch(`${base}/healthz`)
  .then((r) => r.json())
  .then((h) => h.rule_state ?? null)
  .catch(() => null);
await cleanup();
// A store placed elsewhere (a tmpfs) holds memory until removed.
if (process.env.JG_BENCH_STORE_DIR) fs.rmSync(hubDataDir, { recursive: true, force: true, maxRetries: 5 });

// ---- the result ------------------------------------------------------------------------------
const f = (n, d = 0) => (Number.isFinite(n) ? n.toLocaleString('en-US', { maximumFractionDigits: d, minimumFractionDigits: d }) : 'n/a');
const phases = Object.fromEntries(['throughput', 'latency', 'e2e'].filter((k) => done[k]).map((k) => [k, done[k]]));
const all = Object.values(phases);
const primary = phases.throughput ?? phases.e2e;
const latencyPhase = phases.latency ?? primary;
const totalLost = all.reduce((s, p) => s + p.lost, 0);
const totalDup = all.reduce((s, p) => s + p.duplicates, 0);
const ratio = (a, b) => (Number.isFinite(a) && Number.isFinite(b) && b > 0 ? a / b : NaN);
const checks = [
  { what: 'throughput', target: `≥ ${f(TARGETS.throughput)}/s`, measured: primary.throughput, ratio: ratio(primary.throughput, TARGETS.throughput), met: primary.throughput >= TARGETS.throughput },
  {
    what: `capture → wall p99 at ${latencyPhase.setup.targetRate === 'max' ? 'open throttle' : `${f(latencyPhase.setup.targetRate)}/s`}`,
    target: `≤ ${TARGETS.wallP99Ms} ms`,
    measured: latencyPhase.wall.p99,
    ratio: ratio(latencyPhase.wall.p99, TARGETS.wallP99Ms),
    met: latencyPhase.wall.p99 <= TARGETS.wallP99Ms,
  },
  ...(phases.latency?.decisions
    ? [
        {
          what: `hold decision p99 at ${f(phases.latency.decisions.rate)}/s`,
          target: `≤ ${TARGETS.holdP99Ms} ms`,
          measured: phases.latency.decisions.p99,
          ratio: ratio(phases.latency.decisions.p99, TARGETS.holdP99Ms),
          met: phases.latency.decisions.p99 <= TARGETS.holdP99Ms,
        },
      ]
    : []),
  {
    what: 'hub + Redis CPU per record',
    target: `≤ ${TARGETS.cpuMsPerRecord} ms`,
    measured: primary.cpuMsPerRecord.hubPlusRedis,
    ratio: ratio(primary.cpuMsPerRecord.hubPlusRedis, TARGETS.cpuMsPerRecord),
    met: primary.cpuMsPerRecord.hubPlusRedis <= TARGETS.cpuMsPerRecord,
  },
];
const ceilings = { redisSetPerSec: redisSet, chdbInsertRowsPerSec: chdbInsert };
const result = {
  mode: MODE,
  setup: { cpus: os.cpus().length, connections: N, latencyConnections: LAT_N, e2eCollectors: N_E2E, startedAt: path.basename(runDir), hubDist: path.relative(ROOT, hubDist), redis: hubRedisTransport, redisNice, ruleState, storeDir: process.env.JG_BENCH_STORE_DIR ? hubDataDir : path.relative(ROOT, hubDataDir) },
  // The default (hub-mode) figures; with --mode e2e, the e2e phase's.
  throughput: primary.throughput,
  sent: primary.sent,
  stored: primary.stored,
  storeLatencyMs: primary.storeLatencyMs,
  // Over every phase of the run: any lost or duplicate record makes the exit code 2.
  lost: totalLost,
  duplicates: totalDup,
  wall: latencyPhase.wall,
  decisions: phases.latency?.decisions ?? null,
  cpuMsPerRecord: primary.cpuMsPerRecord,
  hubPeakRssMiB: Math.max(...all.map((p) => p.hubPeakRssMiB)),
  ceilings,
  targets: TARGETS,
  checks,
  modes: {
    ...(RUN_HUB ? { hub: { throughput: phases.throughput, ...(phases.latency ? { latency: phases.latency } : {}) } } : {}),
    ...(phases.e2e ? { e2e: phases.e2e } : {}),
  },
};

function ruleStateText(rs) {
  if (!rs) return 'not reported';
  if (rs.mode === 'redis') return 'in Redis (Lua)';
  return `in the hub (${f(rs.keys ?? 0)} keys, ${f(rs.entries ?? 0)} entries at the end; snapshot ${rs.generation ?? 0}, log ${f((rs.log_bytes ?? 0) / 1048576, 1)} MiB)`;
}
const pctOf = (a, b) => (Number.isFinite(a) && Number.isFinite(b) && b > 0 ? `${f((a / b) * 100, 1)}%` : 'n/a');
function table(title, rows) {
  const w = Math.max(...rows.map((r) => r[0].length));
  const v = Math.max(...rows.map((r) => r[1].length));
  console.log(`\n${color.bold(title)}`);
  console.log(`${'─'.repeat(w + 2)}┬${'─'.repeat(v + 2)}┬${'─'.repeat(50)}`);
  for (const [k, val, beside = ''] of rows) console.log(` ${k.padEnd(w)} │ ${val.padEnd(v)} │ ${beside}`);
  console.log(`${'─'.repeat(w + 2)}┴${'─'.repeat(v + 2)}┴${'─'.repeat(50)}`);
}
function phaseRows(p) {
  const tp = p.throughput;
  const rows = [
    ['load (1-min average)', `${f(p.loadAvg1m[0], 1)} → ${f(p.loadAvg1m[1], 1)}`, `${result.setup.cpus} cores, shared; Redis at nice ${result.setup.redisNice}; rule state ${ruleStateText(result.setup.ruleState)}`],
    ['sent / stored', `${f(p.sent)} / ${f(p.stored)}`, p.mode === 'hub' ? `planned ${f(p.planned)}${p.unsent ? `, not sent in the window ${f(p.unsent)}` : ''}` : ''],
    ['lost / duplicates', `${f(p.lost)} / ${f(p.duplicates)}`, `re-sent rows awaiting merge ${f(p.physicalDuplicateRows)}`],
  ];
  if (p.mode === 'e2e') {
    rows.push(['batches acked (mean size)', `${f(p.batchesAcked)} (${f(p.meanBatch, 1)} records)`, `failed submissions ${f(p.batchFailures)}, re-sent records ${f(p.resentRecords)}`]);
  }
  if (p.mode === 'hub' && p.setup.pacing === 'collector') {
    rows.push(['built before t0', `${f(p.planned)} records`, `generated in ${f(p.prepSeconds.generate, 1)} s; batches formed and signed as they left, as a collector does`]);
    rows.push(['batches acked (mean size)', `${f(p.batchesAcked)} (${f(p.meanBatch, 1)} records)`, `up to ${f(p.setup.batch)} records, linger ${f(p.setup.lingerMs)} ms, one in flight per connection`]);
  } else if (p.mode === 'hub') {
    rows.push([
      'built and signed before t0',
      `${f(p.planned)} records`,
      `generated in ${f(p.prepSeconds.generate, 1)} s, sealed in ${f(p.prepSeconds.seal, 1)} s; sending started ${f(p.startLagMs)} ms after t0`,
    ]);
  }
  if (p.mode === 'hub') {
    rows.push(['re-sent batches (records)', `${f(p.resentBatches)} (${f(p.resentRecords)})`, `resealed ${f(p.resealedBatches)}, chain conflicts ${f(p.chainConflicts)}, refused ${f(p.refused)}, dead-lettered ${f(p.deadLettered)}`]);
  }
  rows.push(
    ['sustained throughput', `${f(tp)}/s`, `${pctOf(tp, TARGETS.throughput)} of ${f(TARGETS.throughput)}/s target · ${pctOf(tp, chdbInsert)} of chDB insert · ${pctOf(tp, redisSet)} of redis SET`],
    [
      'capture → stored p50/p95/p99',
      `${f(p.storeLatencyMs.p50)} / ${f(p.storeLatencyMs.p95)} / ${f(p.storeLatencyMs.p99)} ms`,
      p.setup.targetRate === 'max'
        ? 'open throttle: every capture time is t0 (the age of a backlog)'
        : p.mode === 'hub' && p.setup.pacing === 'collector'
          ? `a batch left ${f(p.sendLagMs.p50)} / ${f(p.sendLagMs.p99)} ms (p50/p99) after its last record's capture: the linger and the previous batch's acknowledgement`
          : p.mode === 'hub' && p.sendLagMs.p99 > 100
          ? `includes sending behind schedule (lag p99 ${f(p.sendLagMs.p99)} ms): the hub did not keep up`
          : '',
    ],
    [
      'capture → wall p50/p95/p99',
      `${f(p.wall.p50)} / ${f(p.wall.p95)} / ${f(p.wall.p99)} ms`,
      `${f(p.wall.events)} warnings; p99 = ${pctOf(p.wall.p99, TARGETS.wallP99Ms)} of ${TARGETS.wallP99Ms} ms target${p.setup.targetRate === 1000 ? '' : ' (set at 1,000/s)'}`,
    ],
  );
  if (p.decisions) {
    const d = p.decisions;
    rows.push([
      'hold decision p50/p95/p99',
      `${f(d.p50, 2)} / ${f(d.p95, 2)} / ${f(d.p99, 2)} ms`,
      `${d.transport}, ${f(d.ok)}/${f(d.sent)} ok at ${f(d.achieved)}/s, ${f(d.holds)} holds; p99 = ${pctOf(d.p99, TARGETS.holdP99Ms)} of ${TARGETS.holdP99Ms} ms target`,
    ]);
  }
  const c = p.cpuMsPerRecord;
  rows.push([
    'CPU per record hub / Redis',
    `${f(c.hub, 3)} / ${f(c.redis, 3)} ms`,
    `hub + Redis ${f(c.hubPlusRedis, 3)} ms = ${pctOf(c.hubPlusRedis, TARGETS.cpuMsPerRecord)} of ${TARGETS.cpuMsPerRecord} ms target${p.decisions ? ' (decisions included)' : ''}`,
  ]);
  if (c.hubPlusRedisWithMerges !== undefined && p.merges) {
    rows.push([
      'CPU per record with its merges',
      `${f(c.hubWithMerges, 3)} / ${f(c.redis, 3)} ms`,
      `hub + Redis ${f(c.hubPlusRedisWithMerges, 3)} ms, until the merges settled ${f(p.merges.tailSeconds, 1)} s after the last ack (merges ${f(p.merges.windowMsPerRecord, 4)} ms in the window + ${f(p.merges.tailMsPerRecord, 4)} after; before it, ${f(p.merges.settledBeforeSeconds, 1)} s waiting for the merges of what came before)`,
    ]);
  }
  if (c.loadgen !== undefined) rows.push(['CPU per record, load generator', `${f(c.loadgen, 3)} ms`, `send lag p50/p99 ${f(p.sendLagMs.p50)} / ${f(p.sendLagMs.p99)} ms, ack p50/p99 ${f(p.ackMs.p50)} / ${f(p.ackMs.p99)} ms`]);
  if (c.collectors !== undefined) rows.push(['CPU per record, collectors', `${f(c.collectors, 3)} ms`, 'the bench process: 8 collectors, simulators and fsync outboxes on the same cores']);
  if (p.evaluated) {
    const e = p.evaluated;
    rows.push(['batches evaluated in hub / eval. threads', `${f(e.batchesHubThread)} / ${f(e.batchesEvaluationThreads)}`, `JG_EVALUATION_MODE ${e.mode}, ${e.threads} evaluation thread(s)${e.mode === 'overflow' ? ': the threads take jobs only while the hub thread is busy and a core is idle' : ''}`]);
  }
  rows.push(['hub peak RSS (so far)', `${f(p.hubPeakRssMiB)} MiB`, '']);
  return rows;
}
if (JSON_OUT) {
  stdoutLog(JSON.stringify(result, null, 2));
} else {
  console.log(`\n${color.bold('Jianguan pipeline bench')} — ${new Date().toISOString().slice(0, 16).replace('T', ' ')} UTC`);
  console.log(`ceilings in this run: redis-benchmark SET ${f(redisSet)} ops/s · raw chDB insert ${f(chdbInsert)} rows/s`);
  for (const p of all) {
    const s = p.setup;
    const title =
      p.mode === 'hub'
        ? `hub mode — ${p.phase}: ${s.connections} connections, ${s.targetRate === 'max' ? `open throttle (a backlog of ${f(p.planned)} records)` : `${f(s.targetRate)}/s for ${s.seconds} s`}, batches of ${s.batch}, window ${s.window}`
        : `e2e mode: ${s.collectors} collectors, ${f(s.targetRate)}/s for ${s.seconds} s`;
    table(title, phaseRows(p));
  }
  table(
    'targets',
    checks.map((c) => [c.what, `${f(c.measured, c.measured < 100 ? 2 : 0)}`, `${c.target}: ×${f(c.ratio, 2)} — ${c.met ? color.green('met') : color.yellow('missed')}`]),
  );
  console.log(color.dim(`run files: ${path.relative(ROOT, runDir)}`));
}
if (totalLost !== 0 || totalDup !== 0) {
  console.error(color.red(`integrity failure: lost ${totalLost}, duplicates ${totalDup}`));
  process.exit(2);
}
process.exit(0);
