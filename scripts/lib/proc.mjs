// Process helpers for the demo, test and bench scripts: Node built-ins only, because these run
// before `npm install` has happened on a fresh machine.
import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
export const DATA = path.join(ROOT, '.data');

const isTTY = process.stdout.isTTY;
const c = (n) => (s) => (isTTY ? `\x1b[${n}m${s}\x1b[0m` : s);
export const color = { bold: c(1), dim: c(2), red: c(31), green: c(32), yellow: c(33), cyan: c(36) };

export function step(msg) {
  console.log(`${color.cyan('▸')} ${msg}`);
}
export function fail(msg) {
  console.error(`${color.red('✗')} ${msg}`);
  process.exit(1);
}

export function which(cmd) {
  const r = spawnSync('sh', ['-c', `command -v ${cmd}`], { encoding: 'utf8' });
  return r.status === 0 ? r.stdout.trim() : null;
}

export function isRoot() {
  return typeof process.getuid === 'function' && process.getuid() === 0;
}

/** Runs a command inheriting stdio; exits the script with a clear message when it fails. */
export function run(cmd, args, opts = {}) {
  const r = spawnSync(cmd, args, { stdio: 'inherit', cwd: ROOT, ...opts });
  if (r.status !== 0) fail(`${cmd} ${args.join(' ')} failed (exit ${r.status ?? r.signal})`);
}

let aptUpdated = false;
/**
 * Installs Debian packages when a command is missing: as root through apt-get, otherwise a
 * message naming the exact command to run.
 */
export function ensureDebianPackages(pkgs, why) {
  if (!isRoot() || !which('apt-get')) {
    fail(`${why} needs the Debian package(s) ${pkgs.join(' ')}. Install them with:\n    sudo apt-get install -y ${pkgs.join(' ')}\n  then run the command again.`);
  }
  step(`installing ${pkgs.join(' ')} (apt-get) — ${why}`);
  if (!aptUpdated) {
    run('apt-get', ['update', '-qq']);
    aptUpdated = true;
  }
  run('apt-get', ['install', '-y', '-qq', '--no-install-recommends', ...pkgs], { env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' } });
}

export function ensureRedisInstalled() {
  if (which('redis-server') && which('redis-cli')) return;
  ensureDebianPackages(['redis-server', 'redis-tools'], 'Redis (BullMQ queues and rule state)');
  if (!which('redis-server')) fail('redis-server is still not on PATH after installing it');
}

export function ensureNodeModules() {
  const marker = path.join(ROOT, 'node_modules', '.package-lock.json');
  const lock = path.join(ROOT, 'package-lock.json');
  const stale = !fs.existsSync(marker) || (fs.existsSync(lock) && fs.statSync(lock).mtimeMs > fs.statSync(marker).mtimeMs + 1000);
  if (!stale) return;
  step('installing npm dependencies (first run takes a minute: the embedded ClickHouse engine is ~540 MB)');
  run('npm', fs.existsSync(lock) ? ['ci', '--no-audit', '--no-fund'] : ['install', '--no-audit', '--no-fund']);
}

export function freePort() {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.unref();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address();
      srv.close(() => resolve(port));
    });
  });
}

export function portInUse(port, host = '127.0.0.1') {
  return new Promise((resolve) => {
    const sock = net.connect({ port, host });
    sock.once('connect', () => {
      sock.destroy();
      resolve(true);
    });
    sock.once('error', () => resolve(false));
  });
}

/** Whether a Redis on `port` answers PING (raw RESP: no client, so no retries or queueing). */
export function redisPing(port) {
  return new Promise((resolve) => {
    const sock = net.connect({ port, host: '127.0.0.1' });
    let buf = '';
    sock.setTimeout(500, () => {
      sock.destroy();
      resolve(false);
    });
    sock.on('connect', () => sock.write('PING\r\n'));
    sock.on('data', (d) => {
      buf += d;
      if (buf.includes('\r\n')) {
        sock.destroy();
        resolve(buf.startsWith('+PONG'));
      }
    });
    sock.on('error', () => resolve(false));
  });
}

/**
 * Starts a private redis-server (not daemonised: it is our child and dies with us).
 * `persist` keeps an append-only file under `dir` so rule state survives a demo restart.
 * It listens on `port` (127.0.0.1) and on a Unix socket under `dir` (owner only): `url` is the
 * former, `socketUrl` the latter (`unix:///…/redis.sock`, what a hub on the same host uses; null
 * when `dir` is too deep for a socket's path).
 */
export async function startRedis({ port, dir, persist = false }) {
  fs.mkdirSync(dir, { recursive: true });
  if (await portInUse(port)) fail(`port ${port} is already in use; set JG_REDIS_PORT to a free port`);
  const socket = path.resolve(dir, 'redis.sock');
  const args = ['--port', String(port), '--bind', '127.0.0.1', '--dir', dir, '--save', '', '--protected-mode', 'yes', '--logfile', path.join(dir, 'redis.log')];
  // A Unix socket's path is limited to 107 bytes; a deeper directory gets TCP only.
  const withSocket = Buffer.byteLength(socket) <= 100;
  if (withSocket) args.push('--unixsocket', socket, '--unixsocketperm', '700');
  args.push('--appendonly', persist ? 'yes' : 'no');
  const child = spawn('redis-server', args, { stdio: 'ignore' });
  let exited = false;
  child.on('exit', () => {
    exited = true;
  });
  for (let i = 0; i < 100; i++) {
    if (exited) fail(`redis-server exited at start; see ${path.join(dir, 'redis.log')}`);
    if (await redisPing(port)) {
      const url = `redis://127.0.0.1:${port}`;
      return { child, url, socketUrl: withSocket ? `unix://${socket}` : null, port };
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  child.kill('SIGKILL');
  fail(`redis-server did not answer on port ${port}; see ${path.join(dir, 'redis.log')}`);
}

/** Sends SIGTERM, waits up to `ms`, then SIGKILL. */
export function stopChild(child, ms = 8000) {
  return new Promise((resolve) => {
    if (!child || child.exitCode !== null || child.signalCode !== null) return resolve();
    const t = setTimeout(() => child.kill('SIGKILL'), ms);
    child.once('exit', () => {
      clearTimeout(t);
      resolve();
    });
    child.kill('SIGTERM');
  });
}

/**
 * CPU seconds (user + system) a process — or one of its threads, with `tid` — has used so far,
 * from /proc/<pid>[/task/<tid>]/stat; NaN when it is gone.
 */
export function cpuSecondsOf(pid, tid) {
  try {
    const stat = fs.readFileSync(tid === undefined ? `/proc/${pid}/stat` : `/proc/${pid}/task/${tid}/stat`, 'utf8');
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    // Fields 14 and 15 (utime, stime) are the 12th and 13th after the command name; ticks of 1/100 s.
    return (Number(f[11]) + Number(f[12])) / 100;
  } catch {
    return NaN;
  }
}
