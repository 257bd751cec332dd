/**
 * Behind a TLS proxy (chDB allows one store per process, hence its own file): the session cookie
 * is Secure and HSTS is sent when a trusted proxy says the client used https, and only then.
 * With JG_METRICS_TOKEN set, /metrics answers any caller with the token, remote or through the
 * proxy, and refuses (and audits) every caller without it, loopback included.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Hub } from '../src/app.js';
import { queryAudit } from '../src/auth/audit.js';
import { DEMO_PASSWORD, startTestHub } from './helpers.js';

let plain: Hub;
const METRICS_TOKEN = 'metrics-token-0123456789abcdef';

beforeAll(async () => {
  ({ hub: plain } = await startTestHub({ trustProxy: '127.0.0.1', metricsToken: METRICS_TOKEN }));
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

describe('/metrics with JG_METRICS_TOKEN', () => {
  it('answers a remote caller with the token, refuses callers without it, loopback included, and audits the refusals', async () => {
    const scrape = (remoteAddress: string, headers: Record<string, string> = {}) => plain.app.inject({ method: 'GET', url: '/metrics', headers, remoteAddress });
    const bearer = (t: string) => ({ authorization: `Bearer ${t}` });
    const codeOf = (r: Awaited<ReturnType<typeof scrape>>) => [r.statusCode, r.json().error?.code];

    expect(codeOf(await scrape('10.20.0.1'))).toEqual([401, 'AUTH_REQUIRED']);
    expect(codeOf(await scrape('10.20.0.1', bearer('metrics-token-0123456789abcdeX')))).toEqual([401, 'AUTH_REQUIRED']);
    expect(codeOf(await scrape('10.20.0.1', { authorization: METRICS_TOKEN }))).toEqual([401, 'AUTH_REQUIRED']);
    // With a token configured, the machine itself needs it too.
    expect(codeOf(await scrape('127.0.0.1'))).toEqual([401, 'AUTH_REQUIRED']);

    const remote = await scrape('10.20.0.1', bearer(METRICS_TOKEN));
    expect(remote.statusCode).toBe(200);
    expect(String(remote.headers['content-type'])).toMatch(/^text\/plain/);
    expect(remote.body).toMatch(/^# TYPE jg_events_total counter$/m);
    expect(remote.body).toMatch(/^jg_collectors_connected \d+$/m);

    // Through the trusted proxy: the client's address is the forwarded one; the token decides.
    const proxied = { 'x-forwarded-for': '10.20.0.2' };
    expect(codeOf(await scrape('127.0.0.1', proxied))).toEqual([401, 'AUTH_REQUIRED']);
    expect((await scrape('127.0.0.1', { ...proxied, ...bearer(METRICS_TOKEN) })).statusCode).toBe(200);

    const audit = await queryAudit(plain.store, { limit: 100, offset: 0, action: 'read.denied' });
    const refusals = audit.items.filter((a) => a.path === '/metrics');
    expect(refusals.filter((a) => a.ip === '10.20.0.1')).toHaveLength(3);
    expect(refusals.filter((a) => a.ip === '10.20.0.2')).toHaveLength(1);
    expect(refusals.filter((a) => a.ip === '127.0.0.1')).toHaveLength(1);
    for (const a of refusals) {
      expect(a).toMatchObject({ method: 'GET', result: 'denied', status: 401, actor: '' });
      expect(a.detail).toContain('AUTH_REQUIRED');
      expect(a.detail).not.toContain(METRICS_TOKEN);
    }
  });
});
