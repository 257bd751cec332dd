/**
 * The first administrator of a new detachment: on an empty store nobody can log in;
 * `jianguan-hub admin create` refuses a password the policy refuses, creates
 * the administrator with a good one, and that administrator logs in (no demo accounts involved).
 */
import { afterAll, describe, expect, it } from 'vitest';
import { startHub, type Hub } from '../src/app.js';
import { main } from '../src/cli.js';
import { testRedisUrl, tmpDir } from './helpers.js';

const dataDir = tmpDir('hub-admin');
const env = { JG_DATA_DIR: dataDir, JG_REDIS_URL: testRedisUrl(), JG_LOG_LEVEL: 'warn' };
const GOOD = 'Hechi-Zhidui-2026-qiyong';
let hub: Hub | undefined;

afterAll(async () => {
  await hub?.close();
});

describe('admin bootstrap on an empty store', () => {
  it('refuses a weak password and a bad name, then creates the administrator', async () => {
    expect(await main(['admin', 'create', 'chen'], env, { password: async () => 'password123' })).toBe(1);
    expect(await main(['admin', 'create', 'chen'], env, { password: async () => 'jianguan-demo' })).toBe(1);
    expect(await main(['admin', 'create', 'Bad Name'], env, { password: async () => GOOD })).toBe(1);
    expect(await main(['admin', 'create'], env)).toBe(1);
    expect(await main(['admin', 'create', 'chen', '--display-name', '陈科长'], env, { password: async () => GOOD })).toBe(0);
    // The name is taken now.
    expect(await main(['admin', 'create', 'chen'], env, { password: async () => GOOD })).toBe(1);
  });

  it('the hub starts without demo accounts and the administrator logs in with the chosen password', async () => {
    hub = await startHub({ port: 0, host: '127.0.0.1', redisUrl: testRedisUrl(), queuePrefix: `jgt-admin-${process.pid}`, dataDir, seedDemo: false, logLevel: 'warn', pseudonymSecrets: 'identity' }, {});
    const demo = await hub.app.inject({ method: 'POST', url: '/api/v1/auth/login', payload: { username: 'admin', password: 'jianguan-demo' } });
    expect(demo.statusCode).toBe(401);
    const ok = await hub.app.inject({ method: 'POST', url: '/api/v1/auth/login', payload: { username: 'chen', password: GOOD } });
    expect(ok.statusCode, ok.body).toBe(200);
    expect(ok.json().mustChangePassword ?? false).toBe(false);
  });
});
