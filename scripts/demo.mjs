#!/usr/bin/env node
// `npm run demo`: the whole system on one machine, started by one command.
//   npm dependencies (installed when missing) → build → private Redis (files under .data/redis)
//   → hub with embedded ClickHouse (chDB, .data/chdb) serving the wall → simulated collectors
//   for institutions across 河池市's counties. Ctrl-C stops everything it started.
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { spawn } from 'node:child_process';
import { DATA, ROOT, color, ensureNodeModules, ensureRedisInstalled, fail, portInUse, run, startRedis, step, stopChild } from './lib/proc.mjs';

const major = Number(process.versions.node.split('.')[0]);
if (major < 20) fail(`Node.js 20 or newer is needed (this is ${process.version})`);

const PORT = Number(process.env.JG_PORT ?? 8080);
const REDIS_PORT = Number(process.env.JG_REDIS_PORT ?? 6380);
const RATE = process.env.JG_SIM_RATE ?? '2';
const ANOMALY = process.env.JG_SIM_ANOMALY_RATE ?? '0.04';
const MALFORMED = process.env.JG_SIM_MALFORMED_RATE ?? '0.002';

ensureNodeModules();
ensureRedisInstalled();
step('building packages (turbo; cached after the first run)');
run(path.join(ROOT, 'node_modules', '.bin', 'turbo'), ['run', 'build', '--env-mode=loose', '--output-logs=errors-only']);

if (await portInUse(PORT)) fail(`port ${PORT} is already in use; stop what uses it or set JG_PORT`);

const children = [];
let stopping = false;

async function stopAll(code) {
  if (stopping) return;
  stopping = true;
  console.log(`\n${color.dim('stopping collectors, hub and Redis …')}`);
  const collectors = children.filter((c) => c.role === 'collector');
  await Promise.all(collectors.map((c) => stopChild(c.proc)));
  const hub = children.find((c) => c.role === 'hub');
  if (hub) await stopChild(hub.proc, 15_000);
  const redis = children.find((c) => c.role === 'redis');
  if (redis) await stopChild(redis.proc);
  console.log(color.dim('stopped.'));
  process.exit(code);
}
process.on('SIGINT', () => void stopAll(0));
process.on('SIGTERM', () => void stopAll(0));

function watch(role, name, proc) {
  children.push({ role, name, proc });
  proc.on('exit', (code, signal) => {
    if (stopping) return;
    console.error(color.red(`${name} exited unexpectedly (${signal ?? `exit ${code}`}); see ${logDir}/${name}.log`));
    void stopAll(1);
  });
}

const logDir = path.join(DATA, 'logs');
fs.mkdirSync(logDir, { recursive: true });

step(`starting Redis on 127.0.0.1:${REDIS_PORT} (files in .data/redis)`);
const redis = await startRedis({ port: REDIS_PORT, dir: path.join(DATA, 'redis'), persist: true });
watch('redis', 'redis', redis.child);

// Collector credentials: made once, kept under .data/demo so restarts reuse them.
const { DEMO_COLLECTORS } = await import(path.join(ROOT, 'rules', 'dist', 'index.js'));
const demoDir = path.join(DATA, 'demo');
fs.mkdirSync(demoDir, { recursive: true });
const credFile = path.join(demoDir, 'collectors.json');
let creds = fs.existsSync(credFile) ? JSON.parse(fs.readFileSync(credFile, 'utf8')) : [];
const known = new Set(creds.map((c) => c.collectorId));
for (const c of DEMO_COLLECTORS) {
  if (!known.has(c.collectorId)) creds.push({ ...c, token: crypto.randomBytes(24).toString('hex') });
}
// Each demo collector's key is made here, in its outbox, and written into its credential: the
// administrator's binding (the hub never trusts a key on first use).
const { loadOrCreateIdentity } = await import(path.join(ROOT, 'collector', 'dist', 'index.js'));
for (const c of creds) {
  const outbox = path.join(DATA, 'collectors', c.collectorId);
  fs.mkdirSync(outbox, { recursive: true });
  const identity = await loadOrCreateIdentity(outbox);
  c.publicKey = identity.publicKey;
}
fs.writeFileSync(credFile, JSON.stringify(creds, null, 2), { mode: 0o600 });
const pseudoKeyFile = path.join(demoDir, 'pseudonym.key');
if (!fs.existsSync(pseudoKeyFile)) fs.writeFileSync(pseudoKeyFile, crypto.randomBytes(32).toString('hex'), { mode: 0o600 });
const pseudonymKey = fs.readFileSync(pseudoKeyFile, 'utf8').trim();

function logStream(name) {
  return fs.openSync(path.join(logDir, `${name}.log`), 'a');
}

step('starting the hub (embedded ClickHouse in .data/chdb)');
const hubEnv = {
  ...process.env,
  JG_PORT: String(PORT),
  // Demo mode: loopback only (the hub refuses demo mode elsewhere without JG_DEMO_ALLOW_REMOTE=1),
  // and the wall open without a kiosk token — loudly labelled in the hub's log.
  JG_HOST: '127.0.0.1',
  JG_WALL_PUBLIC: '1',
  JG_REDIS_URL: redis.url,
  JG_DATA_DIR: DATA,
  JG_DASHBOARD_DIR: path.join(ROOT, 'dashboard', 'build'),
  JG_COLLECTORS_FILE: credFile,
  JG_SEED_DEMO: '1',
  // The simulator stamps business at night and on holidays with the last working day's hours
  // (collector/src/sources/business-clock.ts); all of it is live for the demo's wall.
  JG_WALL_LIVE_MAX_AGE_MS: String(14 * 86_400_000),
  // The collectors' key, so the registry can file a staff member by identity number (hashed as a
  // collector would, then under the hub's keyring: hub/src/pseudonyms.ts).
  JG_PSEUDONYM_KEY: pseudonymKey,
};
const hubLog = logStream('hub');
const hub = spawn(process.execPath, [path.join(ROOT, 'hub', 'dist', 'server.js')], { env: hubEnv, stdio: ['ignore', hubLog, hubLog] });
watch('hub', 'hub', hub);

const base = `http://127.0.0.1:${PORT}`;
let healthy = false;
for (let i = 0; i < 300 && !stopping; i++) {
  try {
    const r = await fetch(`${base}/healthz`);
    if (r.ok) {
      healthy = true;
      break;
    }
  } catch {
    /* not listening yet */
  }
  await new Promise((r) => setTimeout(r, 200));
}
if (!healthy) {
  console.error(color.red(`the hub did not become healthy within 60 s; see ${logDir}/hub.log`));
  await stopAll(1);
}

step(`starting ${creds.length} simulated collectors (${RATE} transactions/s each, anomaly rate ${ANOMALY})`);
for (const c of creds) {
  const env = {
    ...process.env,
    JG_COLLECTOR_ID: c.collectorId,
    JG_COLLECTOR_TOKEN: c.token,
    JG_INSTITUTION_ID: c.institutionId,
    JG_HUB_URL: base,
    JG_OUTBOX_DIR: path.join(DATA, 'collectors', c.collectorId),
    JG_PSEUDONYM_KEY: pseudonymKey,
    JG_SIM_RATE: RATE,
    JG_SIM_ANOMALY_RATE: ANOMALY,
    JG_SIM_MALFORMED_RATE: MALFORMED,
  };
  const log = logStream(c.collectorId);
  const proc = spawn(process.execPath, [path.join(ROOT, 'collector', 'dist', 'main.js')], { env, stdio: ['ignore', log, log] });
  watch('collector', c.collectorId, proc);
}

console.log(`
${color.bold('监管 Jianguan is running / 系统已启动')}

  指挥中心大屏 Wall      ${color.green(`http://localhost:${PORT}/wall`)}
  健康检查 Health        http://localhost:${PORT}/healthz
  接口文档 API docs      http://localhost:${PORT}/docs
  预警导出 Warnings CSV  http://localhost:${PORT}/api/v1/warnings.csv ${color.dim('(登录后 / after login)')}
  演示账号 Demo users    wall · auditor · auditor-yz（宜州区）· leader · registry · registry2 · rules · admin
                         ${color.dim('密码 / password: jianguan-demo — 仅演示模式 / DEMO ONLY, never with real data')}
  ${color.yellow('演示模式：大屏无需登录，仅本机可访问 / DEMO: the wall is open, on this machine only')}
  日志 Logs              ${path.relative(ROOT, logDir)}/

  ${color.dim('Ctrl-C stops everything / 按 Ctrl-C 停止全部服务')}
`);

// A status line every 10 s so a terminal left open shows the system is alive.
setInterval(async () => {
  try {
    const h = await (await fetch(`${base}/healthz`)).json();
    console.log(
      color.dim(
        `${new Date().toLocaleTimeString('zh-CN', { hour12: false })}  业务 ${h.transactions_stored}  预警 ${h.warnings_raised}  死信 ${h.dead_letters}  在线终端 ${h.collectors_connected}  队列 ${h.queue_waiting}`,
      ),
    );
  } catch {
    /* hub restarting or stopping */
  }
}, 10_000).unref();
