/**
 * Behind a TLS proxy (chDB allows one store per process, hence its own file): the session cookie
 * is Secure and HSTS is sent when a trusted proxy says the client used https, and only then.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Hub } from '../src/app.js';
import { DEMO_PASSWORD, startTestHub } from './helpers.js';

let plain: Hub;

beforeAll(async () => {
  ({ hub: plain } = await startTestHub({ trustProxy: '127.0.0.1' }));
});

afterAll(async () => {
  await plain?.close();
});

describe('behind a proxy', () => {
  it('marks the cookie Secure behind a trusted proxy that says https, and only then', async () => {
    const login = (headers: Record<string, string>, remoteAddress: string) =>
      plain.app.inject({ method: 'POST', url: '/api/v1/auth/login', payload: { username: 'leader', password: DEMO_PASSWORD }, headers, remoteAddress });
    const viaProxy = await login({ 'x-forwarded-proto': 'https', 'x-forwarded-for': '10.1.2.3' }, '127.0.0.1');
    expect(String(viaProxy.headers['set-cookie'])).toMatch(/; Secure/);
    expect(viaProxy.headers['strict-transport-security']).toMatch(/max-age/);
    // The same header from a host that is not the proxy is ignored.
    const forged = await login({ 'x-forwarded-proto': 'https' }, '10.7.7.7');
    expect(forged.statusCode).toBe(200);
    expect(String(forged.headers['set-cookie'])).not.toMatch(/Secure/);
    expect(forged.headers['strict-transport-security']).toBeUndefined();
  });
});
