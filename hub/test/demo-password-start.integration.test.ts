/**
 * The demo password outside demo mode (src/auth/users.ts refuseDemoPasswords): a store seeded in
 * demo mode and then started without JG_SEED_DEMO refuses to start (CONFIG_INVALID naming the
 * accounts) until `jianguan-hub admin passwd` has given each enabled account a new password; the
 * reset ends the demo sessions; a disabled demo account comes back only with a new password; demo
 * mode itself starts as before. And a store without an administrator says so at start
 * (`users.no_admin`, read from a real `node dist/server.js` log).
 *
 * One data directory for the in-process hubs (chDB binds one per process), started one after the
 * other with the same queue prefix, so sessions issued in demo mode are still in Redis.
 */
import { spawn } from 'node:child_process';
import crypto from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { startHub, type Hub } from '../src/app.js';
import { main } from '../src/cli.js';
import type { HubConfig } from '../src/config.js';
import { isHubError } from '../src/errors.js';
import { DEMO_PASSWORD, login, testRedisUrl, tmpDir, withToken } from './helpers.js';

const dataDir = tmpDir('demo-pw');
const queuePrefix = `jgt-demopw-${crypto.randomBytes(4).toString('hex')}`;
const base: Partial<HubConfig> = { port: 0, host: '127.0.0.1', redisUrl: testRedisUrl(), queuePrefix, dataDir, logLevel: 'silent', pseudonymSecrets: 'identity' };
const cliEnv = { JG_DATA_DIR: dataDir, JG_REDIS_URL: testRedisUrl(), JG_QUEUE_PREFIX: queuePrefix, JG_LOG_LEVEL: 'warn' };
/** The demo accounts still enabled after the first test (`wall` is disabled there). */
const ENABLED = ['admin', 'auditor', 'auditor-yz', 'leader', 'registry', 'registry2', 'rules'];
/** A good new password per account (the policy refuses one containing the user name). */
const newPassword = (u: string) => `Hechi-xin-2026-${crypto.createHash('sha256').update(u).digest('hex').slice(0, 6)}`;

let hub: Hub | undefined;
/** leader's session from demo mode. */
let leaderToken = '';

const SERVER = fileURLToPath(new URL('../dist/server.js', import.meta.url));
const HUB_DIR = fileURLToPath(new URL('..', import.meta.url));
const children: ReturnType<typeof spawn>[] = [];

afterAll(async () => {
  await hub?.close();
  for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
});

async function startError(overrides: Partial<HubConfig>): Promise<unknown> {
  return startHub({ ...base, ...overrides }, {}).then(
    async (h) => {
      await h.close();
      return undefined;
    },
    (e: unknown) => e,
  );
}

describe('the demo password outside demo mode', () => {
  it('demo mode seeds the demo accounts and starts; an administrator disables one of them', async () => {
    hub = await startHub({ ...base, seedDemo: true }, {});
    leaderToken = await login(hub, 'leader');
    const admin = await login(hub, 'admin');
    const users = (await hub.app.inject(withToken(admin, { url: '/api/v1/users' }))).json().items as { id: string; username: string }[];
    const wall = users.find((u) => u.username === 'wall')!;
    const off = await hub.app.inject(withToken(admin, { method: 'PATCH', url: `/api/v1/users/${wall.id}`, payload: { active: false } }));
    expect(off.statusCode, off.body).toBe(200);
    await hub.close();
    hub = undefined;
  });

  it('without JG_SEED_DEMO the same store refuses to start with CONFIG_INVALID naming the enabled accounts', async () => {
    const err = await startError({ seedDemo: false });
    expect(isHubError(err), String(err)).toBe(true);
    expect((err as { code: string }).code).toBe('CONFIG_INVALID');
    const message = (err as Error).message;
    expect(message).toContain(`These accounts still have the published demo password: ${ENABLED.join(', ')}.`);
    expect(message).toContain(`以下账号仍使用公开的演示密码：${ENABLED.join(', ')}。`);
    expect(message).toContain('node hub/dist/cli.js admin passwd <username>');
    expect(message).not.toContain(DEMO_PASSWORD);
  });

  it('admin passwd refuses the demo password, a weak one and an unknown user; one account left keeps the refusal', async () => {
    expect(await main(['admin', 'passwd', 'leader'], cliEnv, { password: async () => DEMO_PASSWORD })).toBe(1);
    expect(await main(['admin', 'passwd', 'leader'], cliEnv, { password: async () => 'password123' })).toBe(1);
    expect(await main(['admin', 'passwd', 'nobody'], cliEnv, { password: async () => newPassword('nobody') })).toBe(1);
    expect(await main(['admin', 'passwd'], cliEnv)).toBe(1);
    for (const u of ENABLED.filter((x) => x !== 'rules')) expect(await main(['admin', 'passwd', u], cliEnv, { password: async () => newPassword(u) }), u).toBe(0);
    const err = await startError({ seedDemo: false });
    expect((err as { code?: string }).code).toBe('CONFIG_INVALID');
    expect((err as Error).message).toContain('demo password: rules.');
  });

  it('once every enabled account has a new password the same start succeeds; demo sessions and the demo password are gone', async () => {
    expect(await main(['admin', 'passwd', 'rules'], cliEnv, { password: async () => newPassword('rules') })).toBe(0);
    hub = await startHub({ ...base, seedDemo: false }, {});
    expect((await hub.app.inject({ method: 'POST', url: '/api/v1/auth/login', payload: { username: 'leader', password: DEMO_PASSWORD } })).statusCode).toBe(401);
    // The reset ended the session leader had from demo mode.
    expect((await hub.app.inject(withToken(leaderToken, { url: '/api/v1/auth/me' }))).statusCode).toBe(401);
    // An administrator's reset: the user replaces it at the next login.
    const first = await hub.app.inject({ method: 'POST', url: '/api/v1/auth/login', payload: { username: 'leader', password: newPassword('leader') } });
    expect(first.statusCode, first.body).toBe(200);
    expect(first.json().mustChangePassword).toBe(true);

    // The disabled demo account comes back only with a new password.
    const admin = await login(hub, 'admin', newPassword('admin'));
    const users = (await hub.app.inject(withToken(admin, { url: '/api/v1/users' }))).json().items as { id: string; username: string }[];
    const wall = users.find((u) => u.username === 'wall')!;
    const back = await hub.app.inject(withToken(admin, { method: 'PATCH', url: `/api/v1/users/${wall.id}`, payload: { active: true } }));
    expect(back.statusCode, back.body).toBe(400);
    expect(back.json().error.code).toBe('PASSWORD_WEAK');
    const withNew = await hub.app.inject(withToken(admin, { method: 'PATCH', url: `/api/v1/users/${wall.id}`, payload: { active: true, password: newPassword('wall') } }));
    expect(withNew.statusCode, withNew.body).toBe(200);
    await hub.close();
    hub = undefined;
  });

  it('demo mode still starts on the same store', async () => {
    hub = await startHub({ ...base, seedDemo: true }, {});
    expect((await hub.health()).status).toBe('ok');
    await hub.close();
    hub = undefined;
  });
});

describe('a store without an administrator', () => {
  it('the hub logs users.no_admin at start', async () => {
    const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('JG_')));
    const child = spawn(process.execPath, [SERVER], {
      cwd: HUB_DIR,
      env: { ...env, JG_PORT: '0', JG_HOST: '127.0.0.1', JG_REDIS_URL: testRedisUrl(), JG_QUEUE_PREFIX: `jgt-${crypto.randomBytes(4).toString('hex')}`, JG_DATA_DIR: tmpDir('no-admin'), JG_LOG_LEVEL: 'info' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    children.push(child);
    let out = '';
    child.stderr!.on('data', (c: Buffer) => (out += c.toString('utf8')));
    const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
    await new Promise<void>((resolve, reject) => {
      child.stdout!.on('data', (c: Buffer) => {
        out += c.toString('utf8');
        if (out.includes('"event":"hub.started"')) resolve();
      });
      void exited.then((code) => reject(new Error(`hub exited (${code}) before starting:\n${out}`)));
    });
    child.kill('SIGTERM');
    expect(await exited).toBe(0);
    const lines = out
      .split('\n')
      .filter((l) => l.startsWith('{'))
      .map((l) => JSON.parse(l) as Record<string, unknown>);
    // warn is pino's level 40.
    expect(lines).toContainEqual(expect.objectContaining({ level: 40, event: 'users.no_admin', msg: expect.stringContaining('node hub/dist/cli.js admin create <username>') }));
  }, 90_000);
});
