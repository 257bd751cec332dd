/**
 * The collector's link over TLS against a real hub serving HTTPS/WSS with a certificate from a
 * throwaway CA (openssl): with that CA pinned (hubCa) records flow and are acknowledged; with
 * another CA pinned the handshake is refused and nothing is sent.
 */
import { execFileSync } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startHub, type Hub } from '@jianguan/hub/app';
import { loadOrCreateIdentity, startCollector, type CollectorEvent, type CollectorHandle } from '../src/index.js';

const redisUrl = process.env.JG_TEST_REDIS_URL;
if (!redisUrl) throw new Error('JG_TEST_REDIS_URL is not set: run the suite with `npm test` (it starts a private Redis)');

const COLLECTOR = { collectorId: 'tls-c-jcj-jyz-01', institutionId: 'JCJ-JYZ', token: crypto.randomBytes(16).toString('hex') };
let hub: Hub;
let tmp: string;
const running: CollectorHandle[] = [];

function makeCa(dir: string, name: string): { ca: string; cert: string; key: string } {
  fs.mkdirSync(dir, { recursive: true });
  const f = (n: string) => path.join(dir, n);
  const run = (args: string[]) => execFileSync('openssl', args, { stdio: ['ignore', 'ignore', 'pipe'] });
  const ec = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes'];
  run(['req', '-x509', ...ec, '-keyout', f('ca.key'), '-out', f('ca.crt'), '-days', '2', '-subj', `/CN=${name}`, '-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'keyUsage=critical,keyCertSign,cRLSign']);
  run(['req', ...ec, '-keyout', f('srv.key'), '-out', f('srv.csr'), '-subj', '/CN=127.0.0.1']);
  fs.writeFileSync(f('ext.cnf'), 'subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth\n');
  run(['x509', '-req', '-in', f('srv.csr'), '-CA', f('ca.crt'), '-CAkey', f('ca.key'), '-CAcreateserial', '-out', f('srv.crt'), '-days', '2', '-extfile', f('ext.cnf')]);
  return { ca: f('ca.crt'), cert: f('srv.crt'), key: f('srv.key') };
}

let good: ReturnType<typeof makeCa>;
let wrong: ReturnType<typeof makeCa>;

beforeAll(async () => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'jg-tls-'));
  good = makeCa(path.join(tmp, 'ca'), 'jg-test-ca');
  wrong = makeCa(path.join(tmp, 'wrong'), 'jg-other-ca');
  const outbox = path.join(tmp, 'outbox-good');
  fs.mkdirSync(outbox, { recursive: true });
  const publicKey = (await loadOrCreateIdentity(outbox)).publicKey;
  hub = await startHub(
    {
      backupHour: -1,
      port: 0,
      host: '127.0.0.1',
      redisUrl,
      queuePrefix: `jgtls-${crypto.randomBytes(4).toString('hex')}`,
      dataDir: path.join(tmp, 'hub'),
      seedDemo: true,
      tlsCert: good.cert,
      tlsKey: good.key,
      collectors: [{ ...COLLECTOR, publicKey }],
      logLevel: 'warn',
    },
    {},
  );
});

afterAll(async () => {
  for (const c of running) await c.stop();
  await hub?.close();
});

function start(outbox: string, ca: string, events: CollectorEvent[]): Promise<CollectorHandle> {
  return startCollector(
    {
      ...COLLECTOR,
      hubUrl: hub.url,
      hubCa: ca,
      outboxDir: outbox,
      pseudonymKey: 'tls-pseudonym-key-0123456789abcdef',
      simulator: { enabled: true, ratePerSec: 50, maxRecords: 10, seed: 7 },
      backoff: { minMs: 100, maxMs: 500 },
    },
    { onEvent: (e) => events.push(e) },
  ).then((c) => {
    running.push(c);
    return c;
  });
}

describe('collector → hub over TLS', () => {
  it('with the hub CA pinned, records reach the hub over wss:// and are acknowledged', async () => {
    expect(hub.url).toMatch(/^https:/);
    const events: CollectorEvent[] = [];
    const c = await start(path.join(tmp, 'outbox-good'), good.ca, events);
    const deadline = Date.now() + 20_000;
    while (c.status().acked < 10 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
    expect(c.status().acked).toBe(10);
    expect(events.some((e) => e.event === 'hub.hello')).toBe(true);
  });

  it('with another CA pinned, the handshake is refused and nothing is acknowledged', async () => {
    const events: CollectorEvent[] = [];
    const c = await start(path.join(tmp, 'outbox-wrong'), wrong.ca, events);
    const deadline = Date.now() + 5_000;
    while (!events.some((e) => e.event === 'link.connect_error') && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
    const err = events.find((e) => e.event === 'link.connect_error') as Extract<CollectorEvent, { event: 'link.connect_error' }> | undefined;
    expect(err?.message).toBeDefined();
    expect(events.some((e) => e.event === 'hub.hello')).toBe(false);
    expect(c.status().acked).toBe(0);
  });
});
