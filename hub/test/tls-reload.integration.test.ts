/**
 * Certificate renewal on a running hub (src/tls.ts), against real TLS sockets: the hub starts
 * with certificate A; a pair written into place (by rename, as certbot does) is picked up by the
 * file watch and presented to new connections; a broken replacement (garbage key, a key of
 * another certificate) keeps the certificate in force and logs tls.reload_failed, counted in
 * /metrics; SIGHUP re-reads the files at once. Its own file: the hub's certificate changes here.
 */
import crypto from 'node:crypto';
import fs from 'node:fs';
import https from 'node:https';
import path from 'node:path';
import tls from 'node:tls';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import type { Hub } from '../src/app.js';
import { startTestHub, tmpDir } from './helpers.js';
import { makeTestCa, type TestCa } from './tls-ca.js';

let hub: Hub;
let caA: TestCa;
let caB: TestCa;
let caC: TestCa;
/** The files the hub was started with (JG_TLS_CERT / JG_TLS_KEY). */
let certFile: string;
let keyFile: string;
/** tls.* events the hub logged, in order (captured from its logger). */
const events: Record<string, unknown>[] = [];

const fingerprint = (certPath: string) => new crypto.X509Certificate(fs.readFileSync(certPath)).fingerprint256;

/** Writes a file as renewals do: a temporary file renamed into place. */
function writeInPlace(file: string, content: Buffer | string): void {
  const tmp = `${file}.tmp-${crypto.randomBytes(3).toString('hex')}`;
  fs.writeFileSync(tmp, content);
  fs.renameSync(tmp, file);
}

/** The fingerprint of the certificate a new TLS connection to the hub is given. */
function presented(): Promise<string> {
  return new Promise((resolve, reject) => {
    const s = tls.connect({ host: '127.0.0.1', port: hub.port, rejectUnauthorized: false }, () => {
      const fp = s.getPeerCertificate().fingerprint256;
      s.end();
      resolve(fp);
    });
    s.on('error', reject);
  });
}

/** GET over HTTPS trusting only `caFile`; resolves with the status. */
function httpsGet(url: string, caFile: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = https.get(url, { ca: fs.readFileSync(caFile), agent: false }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (body += c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on('error', reject);
  });
}

function eventsNamed(name: string): Record<string, unknown>[] {
  return events.filter((e) => e.event === name);
}

/** jg_events_total{event=name} as /metrics reports it (loopback caller, no token configured). */
async function eventCount(name: string, caFile: string): Promise<number> {
  const res = await httpsGet(`${hub.url}/metrics`, caFile);
  expect(res.status).toBe(200);
  const m = new RegExp(`^jg_events_total\\{event="${name.replace('.', '\\.')}"\\} (\\d+)$`, 'm').exec(res.body);
  return m ? Number(m[1]) : 0;
}

beforeAll(async () => {
  const dir = tmpDir('tls-reload');
  caA = makeTestCa(path.join(dir, 'a'), 'jg-test-ca-a');
  caB = makeTestCa(path.join(dir, 'b'), 'jg-test-ca-b');
  caC = makeTestCa(path.join(dir, 'c'), 'jg-test-ca-c');
  fs.mkdirSync(path.join(dir, 'live'));
  certFile = path.join(dir, 'live', 'cert.pem');
  keyFile = path.join(dir, 'live', 'key.pem');
  fs.copyFileSync(caA.serverCert, certFile);
  fs.copyFileSync(caA.serverKey, keyFile);
  ({ hub } = await startTestHub({ tlsCert: certFile, tlsKey: keyFile }));
  // The hub logs at 'warn' in tests: tls.reloaded (info) is captured before the level filter.
  for (const level of ['info', 'error'] as const) {
    const log = hub.app.log;
    const original = log[level].bind(log) as (...a: unknown[]) => void;
    vi.spyOn(log, level).mockImplementation(((obj: unknown, ...rest: unknown[]) => {
      if (obj !== null && typeof obj === 'object' && String((obj as { event?: unknown }).event).startsWith('tls.')) events.push({ level, ...(obj as object) });
      original(obj, ...rest);
    }) as typeof log.info);
  }
});

afterAll(async () => {
  vi.restoreAllMocks();
  await hub?.close();
});

describe('TLS certificate reload', () => {
  it('starts with certificate A', async () => {
    expect(hub.url).toMatch(/^https:/);
    expect(await presented()).toBe(fingerprint(caA.serverCert));
    expect((await httpsGet(`${hub.url}/healthz`, caA.caCert)).status).toBe(200);
  });

  it('a garbage key written into place keeps certificate A and logs tls.reload_failed', async () => {
    const failedBefore = await eventCount('tls.reload_failed', caA.caCert);
    writeInPlace(keyFile, '-----BEGIN PRIVATE KEY-----\nbm90IGEga2V5\n-----END PRIVATE KEY-----\n');
    // The watch polls every 2 s and debounces 200 ms.
    await expect.poll(() => eventsNamed('tls.reload_failed').length, { timeout: 15_000, interval: 100 }).toBeGreaterThan(0);
    const failed = eventsNamed('tls.reload_failed')[0]!;
    expect(failed).toMatchObject({ level: 'error', reason: 'file changed' });
    expect(String(failed.err)).toContain('JG_TLS_KEY');
    expect(eventsNamed('tls.reloaded')).toEqual([]);
    expect(await presented()).toBe(fingerprint(caA.serverCert));
    expect((await httpsGet(`${hub.url}/healthz`, caA.caCert)).status).toBe(200);
    expect(await eventCount('tls.reload_failed', caA.caCert)).toBeGreaterThan(failedBefore);
  });

  it('a renewed pair from another CA is presented to new connections without a restart', async () => {
    writeInPlace(keyFile, fs.readFileSync(caB.serverKey));
    writeInPlace(certFile, fs.readFileSync(caB.serverCert));
    const b = fingerprint(caB.serverCert);
    await expect.poll(() => presented(), { timeout: 15_000, interval: 200 }).toBe(b);
    expect(eventsNamed('tls.reloaded').at(-1)).toMatchObject({ reason: 'file changed', fingerprint256: b, subject: 'CN=127.0.0.1' });
    // A client that trusts only CA B now connects; one that trusts only CA A is refused.
    expect((await httpsGet(`${hub.url}/healthz`, caB.caCert)).status).toBe(200);
    await expect(httpsGet(`${hub.url}/healthz`, caA.caCert)).rejects.toThrow(/self-signed|unable to verify|certificate/i);
  });

  it('a key that does not belong to the certificate keeps certificate B', async () => {
    const failed = eventsNamed('tls.reload_failed').length;
    writeInPlace(keyFile, fs.readFileSync(caA.serverKey));
    await expect.poll(() => eventsNamed('tls.reload_failed').length, { timeout: 15_000, interval: 100 }).toBeGreaterThan(failed);
    expect(String(eventsNamed('tls.reload_failed').at(-1)!.err)).toContain('the key does not belong to the certificate');
    expect(await presented()).toBe(fingerprint(caB.serverCert));
    expect((await httpsGet(`${hub.url}/healthz`, caB.caCert)).status).toBe(200);
  });

  it('SIGHUP re-reads the files at once', async () => {
    // tls.ts listens for SIGHUP while the hub runs, so the signal does not end this process.
    expect(process.listenerCount('SIGHUP')).toBeGreaterThan(0);
    writeInPlace(keyFile, fs.readFileSync(caC.serverKey));
    writeInPlace(certFile, fs.readFileSync(caC.serverCert));
    const c = fingerprint(caC.serverCert);
    process.kill(process.pid, 'SIGHUP');
    await expect.poll(() => eventsNamed('tls.reloaded').some((e) => e.reason === 'SIGHUP' && e.fingerprint256 === c), { timeout: 5_000, interval: 20 }).toBe(true);
    expect(await presented()).toBe(c);
    expect((await httpsGet(`${hub.url}/healthz`, caC.caCert)).status).toBe(200);
  });
});
