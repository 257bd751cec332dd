/**
 * Demo mode's bind rule (src/app.ts): demo accounts share a published password, so a hub seeding
 * them refuses to start on an address other than loopback (CONFIG_INVALID) unless
 * JG_DEMO_ALLOW_REMOTE says so. And the demo password never reaches the log, at any level.
 *
 * The refusals happen before anything opens and run in this process. The hubs that do start run
 * as child processes (`node dist/server.js` with JG_* variables, as deployed): each is its own
 * process with its own chDB, and its log is its real standard output, read at trace level.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import crypto from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { startHub } from '../src/app.js';
import { isHubError } from '../src/errors.js';
import type { HubConfig } from '../src/config.js';
import { DEMO_PASSWORD, testRedisUrl, tmpDir } from './helpers.js';

const SERVER = fileURLToPath(new URL('../dist/server.js', import.meta.url));
const HUB_DIR = fileURLToPath(new URL('..', import.meta.url));
const children: ChildProcess[] = [];

/** startHub's error, or undefined when it started (then it is closed again). */
async function startError(overrides: Partial<HubConfig>, env: NodeJS.ProcessEnv = {}): Promise<unknown> {
  return startHub({ port: 0, redisUrl: testRedisUrl(), dataDir: tmpDir('demo'), logLevel: 'silent', ...overrides }, env).then(
    async (hub) => {
      await hub.close();
      return undefined;
    },
    (e: unknown) => e,
  );
}

/** This process's environment without any JG_* variable, plus `jg`. */
function childEnv(jg: Record<string, string>): NodeJS.ProcessEnv {
  const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('JG_')));
  return {
    ...env,
    JG_PORT: '0',
    JG_REDIS_URL: testRedisUrl(),
    JG_QUEUE_PREFIX: `jgt-${crypto.randomBytes(4).toString('hex')}`,
    JG_DATA_DIR: tmpDir('demo-child'),
    JG_LOG_LEVEL: 'trace',
    ...jg,
  };
}

interface RunningHub {
  url: string;
  /** Everything the process wrote so far, standard output and error. */
  output(): string;
  /** SIGTERM, then the exit code and the complete output. */
  stop(): Promise<{ code: number | null; output: string }>;
}

/** Starts `node dist/server.js`; resolves once it logged hub.started, rejects if it exits first. */
function startChild(jg: Record<string, string>): Promise<RunningHub> {
  const child = spawn(process.execPath, [SERVER], { cwd: HUB_DIR, env: childEnv(jg), stdio: ['ignore', 'pipe', 'pipe'] });
  children.push(child);
  let out = '';
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  return new Promise((resolve, reject) => {
    const onData = (c: Buffer) => {
      out += c.toString('utf8');
      const started = out.split('\n').find((l) => l.includes('"event":"hub.started"'));
      if (!started) return;
      child.stdout!.off('data', onData);
      child.stdout!.on('data', (d: Buffer) => (out += d.toString('utf8')));
      resolve({
        url: (JSON.parse(started) as { url: string }).url,
        output: () => out,
        stop: async () => {
          child.kill('SIGTERM');
          const code = await exited;
          return { code, output: out };
        },
      });
    };
    child.stdout!.on('data', onData);
    child.stderr!.on('data', (c: Buffer) => (out += c.toString('utf8')));
    void exited.then((code) => reject(new Error(`hub exited (${code}) before starting:\n${out}`)));
  });
}

/** JSON log lines of an output. */
function logLines(output: string): Record<string, unknown>[] {
  return output
    .split('\n')
    .filter((l) => l.startsWith('{'))
    .map((l) => JSON.parse(l) as Record<string, unknown>);
}

/** Logs in with the demo password and tries the places a password could leak into a log. */
async function exerciseLogins(url: string): Promise<void> {
  const post = (body: string) => fetch(`${url}/api/v1/auth/login`, { method: 'POST', headers: { 'content-type': 'application/json' }, body });
  const ok = await post(JSON.stringify({ username: 'admin', password: DEMO_PASSWORD }));
  expect(ok.status).toBe(200);
  const { token } = (await ok.json()) as { token: string };
  expect((await fetch(`${url}/api/v1/auth/me`, { headers: { authorization: `Bearer ${token}` } })).status).toBe(200);
  // Unknown user, wrong password, a password as the user name, a body that does not parse, a
  // body of the wrong shape: refusals carry no password either.
  expect((await post(JSON.stringify({ username: 'nobody', password: DEMO_PASSWORD }))).status).toBe(401);
  expect((await post(JSON.stringify({ username: 'leader', password: `${DEMO_PASSWORD}-x` }))).status).toBe(401);
  expect((await post(JSON.stringify({ username: DEMO_PASSWORD, password: DEMO_PASSWORD }))).status).toBe(401);
  expect((await post(`{"username":"admin","password":"${DEMO_PASSWORD}"`)).status).toBe(400);
  expect((await post(JSON.stringify({ username: ['admin'], password: { value: DEMO_PASSWORD } }))).status).toBe(400);
}

afterAll(() => {
  for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
});

describe('demo mode on a reachable address', () => {
  it('refuses to start with CONFIG_INVALID on 0.0.0.0, ::, a LAN address, and the default bind', async () => {
    for (const host of ['0.0.0.0', '::', '192.168.1.20']) {
      const err = await startError({ host, seedDemo: true });
      expect(isHubError(err), `${host}: ${String(err)}`).toBe(true);
      expect((err as { code: string }).code, host).toBe('CONFIG_INVALID');
      expect((err as Error).message, host).toContain(`JG_SEED_DEMO on ${host}`);
      expect((err as Error).message, host).toContain('JG_DEMO_ALLOW_REMOTE=1');
    }
    // From the environment, with JG_HOST left at its default (0.0.0.0).
    const fromEnv = await startError({}, { JG_SEED_DEMO: '1' });
    expect((fromEnv as { code?: string }).code).toBe('CONFIG_INVALID');
    expect((fromEnv as Error).message).toContain('JG_SEED_DEMO on 0.0.0.0');
  });

  it('the server process exits with the coded error', () => {
    const r = spawnSync(process.execPath, [SERVER], { cwd: HUB_DIR, env: childEnv({ JG_SEED_DEMO: '1', JG_HOST: '0.0.0.0' }), encoding: 'utf8', timeout: 30_000 });
    expect(r.status).toBe(1);
    expect(logLines(`${r.stdout}\n${r.stderr}`)).toContainEqual(expect.objectContaining({ level: 'fatal', event: 'hub.start_failed', code: 'CONFIG_INVALID', message: expect.stringContaining('JG_DEMO_ALLOW_REMOTE') }));
  });

  it('starts on 0.0.0.0 with JG_DEMO_ALLOW_REMOTE=1; the demo password is in no log line', async () => {
    const hub = await startChild({ JG_SEED_DEMO: '1', JG_HOST: '0.0.0.0', JG_DEMO_ALLOW_REMOTE: '1' });
    expect(hub.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    await exerciseLogins(hub.url);
    const { code, output } = await hub.stop();
    expect(code).toBe(0);
    const lines = logLines(output);
    // The log was captured, at every level from trace: the demo warning names the accounts …
    expect(lines).toContainEqual(expect.objectContaining({ event: 'users.demo', users: expect.arrayContaining(['admin', 'leader']) }));
    expect(lines).toContainEqual(expect.objectContaining({ event: 'hub.stopping', signal: 'SIGTERM' }));
    // … and never the password.
    expect(output).not.toContain(DEMO_PASSWORD);
  }, 90_000);

  it('starts on 127.0.0.1 without the setting; the demo password is in no log line', async () => {
    const hub = await startChild({ JG_SEED_DEMO: '1', JG_HOST: '127.0.0.1' });
    await exerciseLogins(hub.url);
    const { code, output } = await hub.stop();
    expect(code).toBe(0);
    expect(logLines(output)).toContainEqual(expect.objectContaining({ event: 'hub.started' }));
    expect(logLines(output)).toContainEqual(expect.objectContaining({ event: 'users.demo' }));
    expect(output).not.toContain(DEMO_PASSWORD);
  }, 90_000);
});
