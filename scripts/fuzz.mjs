#!/usr/bin/env node
// `npm run fuzz`: the hostile-input suite against a real hub (child process, embedded chDB,
// private Redis on a free port) and a real collector's local HTTP endpoint, both on loopback.
// Sends generated hostile inputs in every category (see docs/security.md, "Hostile-input suite"),
// checks that nothing crashes, answers 5xx or refuses without a code, that a legitimate signed
// collector's records are all stored exactly once, and that the hub's RSS stays bounded.
// A process that dies is recorded with what it printed (stack trace) and restarted, so one crash
// does not hide the next. Stops by itself at --count inputs or --seconds, whichever comes first.
//
//   npm run fuzz                                   100,000 inputs (at most 2,400 s)
//   npm run fuzz -- --count 5000 --seconds 120 --seed 7 --json
//   npm run fuzz -- --max-rss-mb 2048
//
// Needs a build (`npm run build`); exits 1 on any violation, 2 when it cannot start.
import fs from 'node:fs';
import path from 'node:path';
import { spawn } from 'node:child_process';
import { DATA, ROOT, color, ensureRedisInstalled, freePort, startRedis, step, stopChild } from './lib/proc.mjs';
import { formatReport, fuzzCollectors, isClientReset, runFuzz, writeCollectorIdentity } from './fuzz/run.mjs';

function parseArgs(argv) {
  const o = { count: 100_000, seconds: 2400, seed: String(Date.now() % 1_000_000), json: false, maxRssMb: 3072 };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const val = () => {
      const v = argv[++i];
      if (v === undefined) usage(`${a} needs a value`);
      return v;
    };
    if (a === '--count') o.count = Number(val());
    else if (a === '--seconds') o.seconds = Number(val());
    else if (a === '--seed') o.seed = val();
    else if (a === '--max-rss-mb') o.maxRssMb = Number(val());
    else if (a === '--json') o.json = true;
    else if (a === '--help' || a === '-h') usage();
    else usage(`unknown option ${a}`);
  }
  if (!Number.isInteger(o.count) || o.count < 1) usage('--count must be a positive integer');
  if (!(o.seconds > 0)) usage('--seconds must be positive');
  if (!(o.maxRssMb > 0)) usage('--max-rss-mb must be positive');
  return o;
}

function usage(msg) {
  if (msg) console.error(msg);
  console.error('usage: npm run fuzz -- [--count N] [--seconds S] [--seed X] [--max-rss-mb M] [--json]');
  process.exit(msg ? 2 : 0);
}

const opts = parseArgs(process.argv.slice(2));
// The hub and the collector run in their own processes: an error here is the client's. A reset
// connection is an expected answer to garbage; anything else is a bug of this script.
process.on('uncaughtException', (e) => {
  if (isClientReset(e)) return;
  console.error(e);
  process.exit(2);
});
// With --json, stdout carries the report only.
const say = opts.json ? (m) => console.error(m) : step;

ensureRedisInstalled();
for (const f of ['hub/dist/server.js', 'hub/dist/protocol/index.js', 'collector/dist/main.js']) {
  if (!fs.existsSync(path.join(ROOT, f))) {
    console.error(`${f} is missing: run \`npm run build\` first`);
    process.exit(2);
  }
}

const runDir = path.join(DATA, 'fuzz', new Date().toISOString().replace(/[:.]/g, '-'));
fs.mkdirSync(runDir, { recursive: true });
const children = new Set();
const cleanup = async () => {
  for (const c of [...children].reverse()) await stopChild(c, 10_000);
};
process.on('SIGINT', () => void cleanup().then(() => process.exit(130)));
process.on('SIGTERM', () => void cleanup().then(() => process.exit(143)));

const redisPort = await freePort();
const redis = await startRedis({ port: redisPort, dir: path.join(runDir, 'redis') });
children.add(redis.child);

const fz = fuzzCollectors(opts.seed);
const credFile = path.join(runDir, 'collectors.json');
// The hub reads each collector's bound key from here (the credentials file an administrator writes).
fs.writeFileSync(credFile, JSON.stringify(Object.values(fz)), { mode: 0o600 });
const hubPort = await freePort();
const hubUrl = `http://127.0.0.1:${hubPort}`;
const hubLogFile = path.join(runDir, 'hub.log');

/** Tail of a log file: what a process printed as it died (the stack trace is at the end). */
function tail(file, bytes = 6000) {
  try {
    const buf = fs.readFileSync(file);
    return buf.subarray(Math.max(0, buf.length - bytes)).toString('utf8');
  } catch {
    return '';
  }
}

async function waitHttp(url, child, what, ms = 90_000) {
  const until = Date.now() + ms;
  while (Date.now() < until) {
    if (child.exitCode !== null || child.signalCode !== null) throw new Error(`${what} exited at start`);
    try {
      if ((await fetch(url)).ok) return;
    } catch {
      /* starting */
    }
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error(`${what} did not answer ${url} within ${ms / 1000} s`);
}

let hub;
async function startHubChild() {
  fs.appendFileSync(hubLogFile, `\n---- hub start ${new Date().toISOString()}\n`);
  const logFd = fs.openSync(hubLogFile, 'a');
  hub = spawn(process.execPath, [path.join(ROOT, 'hub', 'dist', 'server.js')], {
    cwd: path.join(ROOT, 'hub'),
    env: {
      ...process.env,
      JG_PORT: String(hubPort),
      JG_HOST: '127.0.0.1',
      JG_REDIS_URL: redis.url,
      JG_DATA_DIR: path.join(runDir, 'hub'),
      JG_COLLECTORS_FILE: credFile,
      JG_SEED_DEMO: '1',
      JG_LOG_LEVEL: 'error',
      JG_PEER_CRON: 'off',
      JG_BACKUP_HOUR: '-1',
    },
    stdio: ['ignore', logFd, logFd],
  });
  fs.closeSync(logFd);
  children.add(hub);
  hub.once('exit', () => children.delete(hub));
  await waitHttp(`${hubUrl}/healthz`, hub, 'hub');
}

const colPort = await freePort();
const collectorUrl = `http://127.0.0.1:${colPort}`;
const colLogFile = path.join(runDir, 'collector.log');
const colConfig = path.join(runDir, 'collector.json');
writeCollectorIdentity(path.join(runDir, 'outbox'), fz.col);
fs.writeFileSync(
  colConfig,
  JSON.stringify({
    collectorId: fz.col.collectorId,
    token: fz.col.token,
    institutionId: fz.col.institutionId,
    hubUrl,
    outboxDir: path.join(runDir, 'outbox'),
    pseudonymKey: 'fuzz-pseudonym-key-0123456789abcdef',
    sources: [{ type: 'http', host: '127.0.0.1', port: colPort }],
  }),
);
let collector;
async function startCollectorChild() {
  fs.appendFileSync(colLogFile, `\n---- collector start ${new Date().toISOString()}\n`);
  const logFd = fs.openSync(colLogFile, 'a');
  collector = spawn(process.execPath, [path.join(ROOT, 'collector', 'dist', 'main.js'), 'run', '--config', colConfig], {
    cwd: runDir,
    env: { ...process.env, JG_LOG_LEVEL: 'error', JG_STATUS_INTERVAL_MS: '0' },
    stdio: ['ignore', logFd, logFd],
  });
  fs.closeSync(logFd);
  children.add(collector);
  collector.once('exit', () => children.delete(collector));
  await waitHttp(`${collectorUrl}/v1/status`, collector, 'collector');
}

const running = (c) => c && c.exitCode === null && c.signalCode === null;
function rssOf(pid) {
  try {
    const m = /VmRSS:\s+(\d+) kB/.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) * 1024 : NaN;
  } catch {
    return NaN;
  }
}

let report;
try {
  say(`starting the hub on :${hubPort} and a collector endpoint on :${colPort} (files under ${path.relative(ROOT, runDir)})`);
  await startHubChild();
  await startCollectorChild();
  const protocol = await import(path.join(ROOT, 'hub', 'dist', 'protocol', 'index.js'));
  say(`sending ${opts.count} inputs (at most ${opts.seconds} s), seed ${opts.seed}`);
  report = await runFuzz({
    hubUrl,
    collectorUrl,
    protocol,
    collectors: fz,
    count: opts.count,
    seconds: opts.seconds,
    seed: opts.seed,
    maxRssBytes: opts.maxRssMb * 2 ** 20,
    log: (l) => (opts.json ? console.error(l) : console.log(color.dim(l))),
    rss: () => (running(hub) ? rssOf(hub.pid) : NaN),
    alive: async () => {
      const ok = async (c, url) => {
        if (!running(c)) return false;
        try {
          return (await fetch(url, { signal: AbortSignal.timeout(20_000) })).ok;
        } catch {
          // A live process that does not answer is reported as dead too: nothing could use it.
          return false;
        }
      };
      return { hub: await ok(hub, `${hubUrl}/healthz`), collector: await ok(collector, `${collectorUrl}/v1/status`) };
    },
    recover: async (which) => {
      const child = which === 'hub' ? hub : collector;
      const exit = running(child) ? 'hung (killed)' : `exit ${child.exitCode ?? child.signalCode}`;
      if (running(child)) await stopChild(child, 5_000);
      await new Promise((r) => setTimeout(r, 300));
      const printed = `${exit}\n${tail(which === 'hub' ? hubLogFile : colLogFile)}`;
      if (which === 'hub') await startHubChild();
      else await startCollectorChild();
      return printed;
    },
    verifyStored: async (ids) => {
      // Embedded chDB belongs to one process: stop the hub cleanly, then read its store here.
      await stopChild(collector, 10_000);
      await stopChild(hub, 30_000);
      const { loadConfig } = await import(path.join(ROOT, 'hub', 'dist', 'config.js'));
      const { openStore } = await import(path.join(ROOT, 'hub', 'dist', 'store', 'store.js'));
      const { sql, param } = await import(path.join(ROOT, 'hub', 'dist', 'store', 'sql.js'));
      const store = await openStore(loadConfig({}, { dataDir: path.join(runDir, 'hub') }));
      try {
        const rows = await store.query(
          sql`SELECT id, count() AS n, groupArray(collector_id) AS collectors, groupArray(lsh) AS lsh FROM transactions FINAL WHERE has(${param.ArrayString(ids)}, id) GROUP BY id`,
        );
        return rows.map((x) => ({ id: x.id, n: Number(x.n), collectors: x.collectors, lsh: x.lsh }));
      } finally {
        await store.close();
      }
    },
  });
} catch (e) {
  console.error(color.red(`fuzz run failed: ${e.stack ?? e.message}`));
  console.error(`hub log: ${hubLogFile}`);
  await cleanup();
  process.exit(2);
}
await cleanup();

fs.writeFileSync(path.join(runDir, 'report.json'), JSON.stringify(report, null, 2));
if (opts.json) console.log(JSON.stringify(report, null, 2));
else {
  console.log('');
  console.log(formatReport(report));
  console.log(color.dim(`report: ${path.relative(ROOT, path.join(runDir, 'report.json'))}; logs: ${path.relative(ROOT, runDir)}`));
}
process.exit(report.verdict === 'PASS' ? 0 : 1);
