#!/usr/bin/env node
// Latency of the synchronous hold path: POST /api/v1/decisions at a fixed open-loop rate
// (requests are sent on schedule whether or not earlier ones have answered), p50/p90/p99/max as
// the client sees it and as the hub reports it (`ms`: rule evaluation only).
//
// By default it starts its own hub (hub/dist/server.js, embedded chDB, a private Redis) with one
// collector credential; run `npm run build -w @jianguan/hub` first. Against a running hub instead:
//
//   JG_BENCH_URL=http://127.0.0.1:8080 JG_BENCH_COLLECTOR=<id>:<token> JG_BENCH_INSTITUTION=JCJ-JYZ \
//     node hub/bench/decisions.bench.mjs
//
//   JG_BENCH_RATE=500 JG_BENCH_SECONDS=20 [JG_BENCH_TRANSPORT=http|socket] node hub/bench/decisions.bench.mjs [--json]
//
// Traffic: vehicle checks at an inspection station (every request through the blocking rules,
// including the stateful photo-reuse peek), 10 % by an inspector whose filing expired (held).
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { spawn } from 'node:child_process';
import { DATA, ROOT, fail, freePort, startRedis, step, stopChild } from '../../scripts/lib/proc.mjs';
import { holdTransactions, httpDecision, openLoop, socketDecision } from '../../scripts/lib/decisions.mjs';

const RATE = Number(process.env.JG_BENCH_RATE ?? 500);
const SECONDS = Number(process.env.JG_BENCH_SECONDS ?? 20);
const WARMUP_S = Number(process.env.JG_BENCH_WARMUP_SECONDS ?? 3);
const JSON_OUT = process.argv.includes('--json');
/** http (POST /api/v1/decisions) or socket (`decision.request` on /collect, the path a collector's local endpoint uses). */
const TRANSPORT = process.env.JG_BENCH_TRANSPORT ?? 'http';

const children = [];
const cleanup = async () => {
  for (const c of children.reverse()) await stopChild(c, 15_000);
};
process.on('SIGINT', () => void cleanup().then(() => process.exit(130)));

let base = process.env.JG_BENCH_URL;
let collectorId;
let token;
let institutionId = process.env.JG_BENCH_INSTITUTION ?? 'JCJ-JYZ';
let hubPid;

if (base) {
  const cred = process.env.JG_BENCH_COLLECTOR ?? fail('JG_BENCH_COLLECTOR=<id>:<token> is required with JG_BENCH_URL');
  const i = cred.indexOf(':');
  collectorId = cred.slice(0, i);
  token = cred.slice(i + 1);
} else {
  if (!fs.existsSync(path.join(ROOT, 'hub', 'dist', 'server.js'))) fail('hub/dist is missing: run `npm run build -w @jianguan/hub` first');
  const runDir = path.join(DATA, 'bench-decisions', new Date().toISOString().replace(/[:.]/g, '-'));
  fs.mkdirSync(runDir, { recursive: true });
  const redis = await startRedis({ port: await freePort(), dir: path.join(runDir, 'redis') });
  children.push(redis.child);
  collectorId = 'bench-decisions-01';
  token = crypto.randomBytes(20).toString('hex');
  const credFile = path.join(runDir, 'collectors.json');
  fs.writeFileSync(credFile, JSON.stringify([{ collectorId, institutionId, token }]));
  const port = await freePort();
  step(`starting the hub on :${port}`);
  const log = fs.openSync(path.join(runDir, 'hub.log'), 'a');
  const hub = spawn(process.execPath, [path.join(ROOT, 'hub', 'dist', 'server.js')], {
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
    stdio: ['ignore', log, log],
  });
  children.push(hub);
  hubPid = hub.pid;
  base = `http://127.0.0.1:${port}`;
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
}

const txn = holdTransactions({ collectorId, institutionId });
const auth = `Collector ${collectorId}:${token}`;
let socket;
if (TRANSPORT === 'socket') {
  const { io } = await import('socket.io-client');
  socket = io(`${base}/collect`, { auth: { collectorId, token }, transports: ['websocket'], reconnection: false });
  await new Promise((resolve, reject) => {
    socket.once('connect', resolve);
    socket.once('connect_error', reject);
  });
}
const once = socket ? socketDecision(socket, collectorId, txn) : httpDecision(base, auth, txn);
const load = (rate, seconds, record) => openLoop(rate, seconds, once, record);

/** CPU seconds (user + system) the hub process has used so far; NaN when it is not our child. */
function cpuOf(pid) {
  if (!pid) return NaN;
  try {
    const f = fs.readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
    return (Number(f[11]) + Number(f[12])) / 100;
  } catch {
    return NaN;
  }
}

const q = (sorted, p) => (sorted.length ? sorted[Math.min(sorted.length - 1, Math.ceil(p * sorted.length) - 1)] : NaN);

step(`warm-up ${WARMUP_S} s at ${RATE}/s`);
await load(RATE, WARMUP_S, () => {});
step(`measuring: ${RATE}/s for ${SECONDS} s against ${base}`);
const client = [];
const server = [];
let holds = 0;
const errors = [];
const cpu0 = cpuOf(hubPid);
const elapsed = await load(RATE, SECONDS, (r) => {
  if (r.error) return errors.push(r.error);
  client.push(r.ms);
  server.push(r.server);
  if (r.decision === 'hold') holds++;
});
const hubCpuMsPerRequest = ((cpuOf(hubPid) - cpu0) * 1000) / Math.max(1, client.length + errors.length);
client.sort((a, b) => a - b);
server.sort((a, b) => a - b);
let rss = NaN;
if (hubPid) {
  try {
    const m = /VmHWM:\s+(\d+) kB/.exec(fs.readFileSync(`/proc/${hubPid}/status`, 'utf8'));
    rss = m ? Number(m[1]) * 1024 : NaN;
  } catch {
    /* gone */
  }
}
const result = {
  transport: TRANSPORT,
  rate: RATE,
  seconds: SECONDS,
  sent: client.length + errors.length,
  ok: client.length,
  errors: errors.length,
  achieved: Math.round((client.length + errors.length) / elapsed),
  holds,
  clientMs: { p50: q(client, 0.5), p90: q(client, 0.9), p99: q(client, 0.99), max: client[client.length - 1] ?? NaN },
  serverMs: { p50: q(server, 0.5), p99: q(server, 0.99), max: server[server.length - 1] ?? NaN },
  hubPeakRss: rss,
  hubCpuMsPerRequest,
  loadAverage: fs.readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' '),
};
socket?.close();
await cleanup();

const f = (x) => (Number.isFinite(x) ? x.toFixed(2) : '—');
if (JSON_OUT) console.log(JSON.stringify(result, null, 2));
else {
  console.log('\n| transport | target rate | duration | sent / ok | errors | holds | client p50 / p90 / p99 / max | hub evaluation p50 / p99 | hub CPU / request | hub peak RSS | load avg |');
  console.log('|---|---|---|---|---|---|---|---|---|---|---|');
  console.log(
    `| ${TRANSPORT === 'socket' ? 'socket decision.request' : 'POST /api/v1/decisions'} | ${RATE}/s | ${SECONDS} s | ${result.sent} / ${result.ok} | ${result.errors} | ${holds} | ${f(result.clientMs.p50)} / ${f(result.clientMs.p90)} / ${f(result.clientMs.p99)} / ${f(result.clientMs.max)} ms | ${f(result.serverMs.p50)} / ${f(result.serverMs.p99)} ms | ${f(hubCpuMsPerRequest)} ms | ${Number.isFinite(rss) ? `${Math.round(rss / 2 ** 20)} MiB` : '—'} | ${result.loadAverage} |`,
  );
  if (errors.length) console.log(`first error: ${errors[0]}`);
  console.log(result.clientMs.p99 <= 10 ? '\np99 ≤ 10 ms: target met' : '\np99 > 10 ms: target missed');
}
