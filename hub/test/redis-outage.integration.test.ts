/**
 * The hub while its Redis is away. /healthz answers 503 `degraded` with `redis: down` (and
 * /metrics answers) instead of waiting for Redis to come back, and says `ok` again once it is
 * back; a hub told to stop (SIGTERM) while Redis is away exits — non-zero, naming what did not
 * close — and leaves its data directory to the next hub instead of holding chDB's lock.
 *
 * Each test has a redis-server of its own (a child of this process on a free port) that it can
 * stop and start again; the shared test Redis is never stopped. The two tests run at once: most
 * of their time is hubs starting and the stop's deadline running out, which do not compete.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import crypto from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import type { Hub } from '../src/app.js';
import { withTimeout } from '../src/deadline.js';
import { redisPing } from '../../scripts/lib/proc.mjs';
import { freePort, removeDir, startTestHub, tmpDir, waitFor } from './helpers.js';

const SERVER = fileURLToPath(new URL('../dist/server.js', import.meta.url));
const HUB_DIR = fileURLToPath(new URL('..', import.meta.url));

/** Generous bounds: what is asserted is that an answer (or an exit) comes, not how fast. */
const ANSWER_MS = 15_000;
const EXIT_MS = 60_000;

const children: ChildProcess[] = [];
const dirs: string[] = [];
const hubs: Hub[] = [];

afterAll(async () => {
  // Bounded: after a failure Redis may still be away, and the close would wait for it.
  for (const h of hubs) await within(h.close(), EXIT_MS, 'hub close').catch(() => undefined);
  for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
  for (const d of dirs) removeDir(d);
});

function exitOf(child: ChildProcess): Promise<{ code: number | null; signal: NodeJS.Signals | null }> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve({ code: child.exitCode, signal: child.signalCode });
  return new Promise((resolve) => child.once('exit', (code, signal) => resolve({ code, signal })));
}

/** `p`, or a failure naming `what` once `ms` have passed without it. */
const within = <T>(p: Promise<T>, ms: number, what: string): Promise<T> => withTimeout(p, ms, () => new Error(`${what}: nothing within ${ms} ms`));

/** A private redis-server that can be stopped and started again on the same port. */
class PrivateRedis {
  private child: ChildProcess | undefined;
  constructor(readonly port: number) {}
  get url(): string {
    return `redis://127.0.0.1:${this.port}`;
  }
  async start(): Promise<void> {
    const child = spawn('redis-server', ['--port', String(this.port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--protected-mode', 'yes'], { stdio: 'ignore' });
    children.push(child);
    this.child = child;
    await waitFor(async () => {
      if (child.exitCode !== null) throw new Error(`redis-server on ${this.port} exited at start (${child.exitCode})`);
      return redisPing(this.port);
    }, `redis-server on port ${this.port}`);
  }
  /** SIGKILL: Redis gone at once, as when its host or process dies. */
  async stop(): Promise<void> {
    const child = this.child;
    if (!child) return;
    this.child = undefined;
    const exited = exitOf(child);
    child.kill('SIGKILL');
    await exited;
  }
}

/** A built hub (`node dist/server.js`) as a child process; resolves once it logged hub.started. */
async function spawnHub(env: Record<string, string>): Promise<{ child: ChildProcess; log: () => string }> {
  const base = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('JG_')));
  const child = spawn(process.execPath, [SERVER], {
    cwd: HUB_DIR,
    // A short stop deadline: what is tested is that the hub gives up and lets go of the store, not how long it waits first.
    env: { ...base, JG_PORT: '0', JG_HOST: '127.0.0.1', JG_LOG_LEVEL: 'info', JG_PSEUDONYM_SECRETS: 'identity', JG_BACKUP_HOUR: '-1', JG_STOP_DEADLINE_S: '3', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  children.push(child);
  let out = '';
  child.stdout!.on('data', (c: Buffer) => (out += c.toString('utf8')));
  child.stderr!.on('data', (c: Buffer) => (out += c.toString('utf8')));
  const exited = exitOf(child);
  await within(
    new Promise<void>((resolve, reject) => {
      const check = () => {
        if (out.includes('"event":"hub.started"')) resolve();
      };
      child.stdout!.on('data', check);
      void exited.then(({ code }) => reject(new Error(`hub exited (${code}) before starting:\n${out}`)));
    }),
    EXIT_MS,
    `hub start:\n${out}`,
  );
  return { child, log: () => out };
}

describe.concurrent('Redis away', () => {
  it('/healthz answers 503 degraded with redis down, /metrics answers, and both recover when Redis is back', async () => {
    const redis = new PrivateRedis(await freePort());
    await redis.start();
    const { hub, dataDir } = await startTestHub({ redisUrl: redis.url, logLevel: 'fatal' });
    hubs.push(hub);
    dirs.push(dataDir);
    const get = (url: string) => within(fetch(`${hub.url}${url}`), ANSWER_MS, `GET ${url}`);

    const up = await get('/healthz');
    expect(up.status).toBe(200);
    expect(((await up.json()) as { redis: { status: string } }).redis.status).toBe('ok');

    await redis.stop();
    // Asked more than once: the first check must not leave the next one waiting behind it.
    for (let i = 0; i < 2; i++) {
      const down = await get('/healthz');
      expect(down.status).toBe(503);
      const body = (await down.json()) as { status: string; redis: { status: string }; store: { status: string }; queue_waiting: number };
      expect(body.status).toBe('degraded');
      expect(body.redis.status).toBe('down');
      expect(body.store.status).toBe('ok');
      expect(body.queue_waiting).toBe(-1);
    }
    const metrics = await get('/metrics');
    expect(metrics.status).toBe(200);
    expect(await metrics.text()).toMatch(/^jg_queue_waiting -1$/m);

    await redis.start();
    // ioredis reconnects by itself, with a back-off of up to 2 s between attempts.
    await waitFor(async () => (await get('/healthz')).status === 200, '/healthz ok again after Redis came back', 30_000);
    const again = (await (await get('/healthz')).json()) as { status: string; redis: { status: string }; queue_waiting: number };
    expect(again.status).toBe('ok');
    expect(again.redis.status).toBe('ok');
    expect(again.queue_waiting).toBeGreaterThanOrEqual(0);
  });

  it('SIGTERM while Redis is away: the hub exits non-zero naming what did not close, and the next hub opens its data directory', async () => {
    const redis = new PrivateRedis(await freePort());
    await redis.start();
    const dataDir = tmpDir('outage-stop');
    dirs.push(dataDir);
    const env = { JG_REDIS_URL: redis.url, JG_DATA_DIR: dataDir, JG_QUEUE_PREFIX: `jgt-${crypto.randomBytes(4).toString('hex')}` };

    const first = await spawnHub(env);
    await redis.stop();
    const exited = exitOf(first.child);
    first.child.kill('SIGTERM');
    const end = await within(exited, EXIT_MS, `exit after SIGTERM:\n${first.log()}`);
    expect(end.code, first.log()).not.toBe(0);
    expect(end.code, first.log()).not.toBeNull();
    const deadline = first.log().split('\n').find((l) => l.includes('"event":"hub.stop_incomplete"'));
    expect(deadline, first.log()).toBeDefined();
    // The evaluate queue closes through Redis; the store, closed last by hub.close(), had not been reached.
    expect(JSON.parse(deadline!).pending, deadline).toEqual(expect.arrayContaining(['evaluate queue', 'store']));
    // The store was closed before the exit: chDB's lock is free for the next hub.
    expect(first.log()).toContain('"event":"hub.store_closed"');

    await redis.start();
    const second = await spawnHub(env);
    expect(second.log()).not.toContain('Cannot lock file');
    // With Redis there, a stop closes everything and exits 0, as before.
    const secondExit = exitOf(second.child);
    second.child.kill('SIGTERM');
    expect((await within(secondExit, EXIT_MS, `second hub's exit:\n${second.log()}`)).code, second.log()).toBe(0);
    await redis.stop();
  });
});
