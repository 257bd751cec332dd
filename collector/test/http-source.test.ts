/**
 * The local HTTP endpoint of a running collector (startCollector with an http source), over real
 * HTTP: 202 only once records are durable (and pseudonymised on disk), 400 with per-record errors
 * and nothing accepted, 507 on a full outbox, hold decisions answered by a hub over the
 * collector's socket or by the fallback, /v1/status, /metrics, bearer auth, and the metrics
 * section of `jianguan-collector status --json`.
 */
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { Server } from 'socket.io';
import { afterEach, describe, expect, it } from 'vitest';
import { NAMESPACE_COLLECT } from '@jianguan/protocol';
import { startCollector, type CollectorEvent, type CollectorHandle } from '../src/index.js';
import type { DecisionRequest } from '../src/sources/http.js';
import { cleanupTmpDirs, freePort, PSEUDONYM_KEY, tmpDir, TOKEN, waitFor } from './helpers.js';
import { idFor, outboxRecords, pseudonymizer, readRejects } from './source-helpers.js';

const FIXTURES = path.resolve(import.meta.dirname, '..', 'fixtures');
const MAIN = path.resolve(import.meta.dirname, '..', 'dist', 'main.js');

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c().catch(() => {});
  cleanupTmpDirs();
});

interface Started {
  c: CollectorHandle;
  url: string;
  dir: string;
  events: CollectorEvent[];
}

async function start(o: { hubUrl?: string; http?: Record<string, unknown>; outbox?: Record<string, unknown> } = {}): Promise<Started> {
  const dir = tmpDir();
  const events: CollectorEvent[] = [];
  const c = await startCollector(
    {
      collectorId: 'c-http',
      token: TOKEN,
      hubUrl: o.hubUrl ?? `http://127.0.0.1:${await freePort()}`,
      institutionId: 'JCJ-CGS',
      outboxDir: path.join(dir, 'outbox'),
      pseudonymKey: PSEUDONYM_KEY,
      backoff: { minMs: 50, maxMs: 500 },
      ...(o.outbox ? { outbox: o.outbox } : {}),
      sources: [{ type: 'http', port: 0, decisionTimeoutMs: 300, ...o.http }],
    },
    { onEvent: (e) => events.push(e) },
  );
  cleanups.push(() => c.stop());
  const listening = events.find((e) => e.event === 'http.listening') as Extract<CollectorEvent, { event: 'http.listening' }>;
  return { c, url: listening.url, dir, events };
}

async function post(url: string, body: unknown, o: { type?: string; headers?: Record<string, string> } = {}): Promise<{ status: number; body: any; text: string }> {
  const res = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': o.type ?? 'application/json', ...o.headers },
    body: typeof body === 'string' ? body : JSON.stringify(body),
  });
  const text = await res.text();
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    parsed = undefined;
  }
  return { status: res.status, body: parsed, text };
}

const rec = (n: number, extra: Record<string, unknown> = {}) => ({
  kind: 'vehicle',
  occurredAt: '2026-11-18 10:00:00',
  lsh: `H${n}`,
  ywlx: 'B',
  subject: { idNumber: idFor(n) },
  vehicle: { hpzl: '02', hphm: '桂M·A0001', vin: 'LSVAU218XN2183294' },
  ...extra,
});

/** Every byte under `dir`, to look for raw identity numbers. */
function allFilesText(dir: string): string {
  let s = '';
  for (const e of fs.readdirSync(dir, { withFileTypes: true, recursive: true })) {
    if (e.isFile()) s += fs.readFileSync(path.join(e.parentPath, e.name), 'latin1');
  }
  return s;
}

/** A socket.io hub on /collect that acks batches and answers decision requests as told. */
async function miniHub(onDecision: (req: DecisionRequest, ack: (a: unknown) => void) => void) {
  const server = http.createServer();
  const io = new Server(server, { transports: ['websocket'] });
  const received: DecisionRequest[] = [];
  io.of(NAMESPACE_COLLECT).on('connection', (socket) => {
    socket.emit('hub.hello', { hubVersion: 'mini', protocol: 1, collectorId: 'c-http', institutionId: 'JCJ-CGS' });
    socket.on('batch.submit', (batch: { batchId: string; records: unknown[] }, ack: (a: unknown) => void) =>
      ack({ ok: true, batchId: batch.batchId, stored: batch.records.length, rejected: [], warnings: 0 }),
    );
    socket.on('decision.request', (req: DecisionRequest, ack: (a: unknown) => void) => {
      received.push(req);
      onDecision(req, ack);
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const close = async () => {
    io.disconnectSockets(true);
    await new Promise<void>((r) => io.close(() => r()));
  };
  cleanups.push(close);
  return { url, received };
}

describe('local HTTP endpoint', () => {
  it('answers 202 with the transaction ids only after the records are durable, pseudonymised', async () => {
    const s = await start();
    const r = await post(`${s.url}/v1/transactions`, [rec(1), rec(2), rec(3)]);
    expect(r.status).toBe(202);
    expect(r.body).toEqual({ records: 3, ids: ['c-http:1', 'c-http:2', 'c-http:3'], results: [1, 2, 3].map((l) => ({ line: l, ids: [`c-http:${l}`] })) });
    // One object (not an array) is fine too; CSV in the platform's format as well.
    const one = await post(`${s.url}/v1/transactions`, rec(4));
    expect(one.body.ids).toEqual(['c-http:4']);
    const csv = fs.readFileSync(path.join(FIXTURES, 'veh_flow.csv'), 'utf8').split('\r\n').slice(0, 4).join('\n');
    const v = await post(`${s.url}/v1/transactions?format=veh_flow`, csv, { type: 'text/csv' });
    expect(v.status).toBe(202);
    expect(v.body.ids).toEqual(['c-http:5', 'c-http:6', 'c-http:7']);
    expect(v.body.results.map((x: { line: number }) => x.line)).toEqual([2, 3, 4]);
    await s.c.stop();

    const recs = await outboxRecords(s.dir);
    expect(recs.map((x) => x.id)).toEqual(['c-http:1', 'c-http:2', 'c-http:3', 'c-http:4', 'c-http:5', 'c-http:6', 'c-http:7']);
    expect(recs[0]).toMatchObject({ seq: 1, source: 'native', institutionId: 'JCJ-CGS', lsh: 'H1', subject: { idHash: pseudonymizer.idHash(idFor(1)) }, vehicle: { hphm: '桂MA0001' } });
    expect(recs[4]).toMatchObject({ source: 'veh_flow', kind: 'vehicle' });
    const disk = allFilesText(path.join(s.dir, 'outbox'));
    for (const n of [1, 2, 3, 4]) expect(disk).not.toContain(idFor(n));
  });

  it('pairs 18C events posted one by one (the pairing state survives a restart)', async () => {
    const s = await start();
    const lines = fs.readFileSync(path.join(FIXTURES, 'inspection_18c.jsonl'), 'utf8').split('\n').slice(0, 200).map((l) => JSON.parse(l) as Record<string, unknown>);
    const first = lines[0]!;
    const ofTest = lines.filter((l) => l.jylsh === first.jylsh);
    const half = Math.floor(ofTest.length / 2);
    const r1 = await post(`${s.url}/v1/transactions?format=18c`, ofTest.slice(0, half));
    expect(r1.status).toBe(202);
    await s.c.stop();
    cleanups.pop();
    const c2 = await startCollector({ ...s.c.config, sources: [{ type: 'http', port: 0 }] }, { onEvent: (e) => s.events.push(e) });
    cleanups.push(() => c2.stop());
    const url2 = (s.events.filter((e) => e.event === 'http.listening').pop() as Extract<CollectorEvent, { event: 'http.listening' }>).url;
    const r2 = await post(`${url2}/v1/transactions?format=18c`, ofTest.slice(half));
    expect(r2.status).toBe(202);
    expect(r1.body.ids.length + r2.body.ids.length).toBe(10); // 9 items + the whole test
    expect(r2.body.results.at(-1)).toMatchObject({ ids: [expect.stringMatching(/^c-http:\d+$/)] });
  });

  it('400 with per-record errors and nothing accepted; bad requests named by code', async () => {
    const s = await start();
    const r = await post(`${s.url}/v1/transactions`, [rec(1), rec(2, { vehicle: { hpzl: '02', vin: 'LSVAU2180N2183295' } }), rec(3), rec(4, { occurredAt: '2026-13-01 08:00:00' })]);
    expect(r.status).toBe(400);
    expect(r.body).toEqual({
      error: 'INVALID_RECORDS',
      message: '2 of 4 record(s) rejected; nothing was accepted',
      errors: [
        { line: 2, reason: "vehicle.vin: VIN 'LSVAU2180N2183295' fails its check digit (position 9)" },
        { line: 4, reason: "occurredAt: '2026-13-01 08:00:00' is not a valid date/time" },
      ],
    });
    expect(s.c.status()).toMatchObject({ outboxDepth: 0, nextSeq: 1 });
    expect(readRejects(s.dir).map((x) => [x.source, x.file, x.line])).toEqual([
      ['http', 'http:native', 2],
      ['http', 'http:native', 4],
    ]);
    const csvBad = await post(`${s.url}/v1/transactions?format=drv_flow`, 'LSH,SFZMHM,YWLX,SQRQ\n1,x,A,2026-11-18 09:00:00\n', { type: 'text/csv' });
    expect(csvBad.body.errors).toEqual([{ line: 2, reason: '1 characters cannot be an identity number' }].map((e) => ({ ...e, reason: `SFZMHM: ${e.reason}` })));
    expect((await post(`${s.url}/v1/transactions`, '{"kind":')).body.error).toBe('BAD_REQUEST');
    expect((await post(`${s.url}/v1/transactions?format=xml`, rec(1))).body).toMatchObject({ error: 'UNKNOWN_FORMAT' });
    expect((await post(`${s.url}/v1/transactions`, [1, 'x'])).body.errors).toEqual([
      { line: 1, reason: 'each record must be a JSON object' },
      { line: 2, reason: 'each record must be a JSON object' },
    ]);
    expect((await post(`${s.url}/v1/transactions?format=veh_flow`, 'LSH\n1\n', { type: 'application/x-ndjson' })).status).toBe(400);
    expect((await fetch(`${s.url}/v1/nothing`)).status).toBe(404);
    expect((await fetch(`${s.url}/v1/transactions`)).status).toBe(405);
    expect(s.c.status().nextSeq).toBe(1);
  });

  it('507 OUTBOX_FULL when the outbox quota would be exceeded, nothing of that request kept', async () => {
    const s = await start({ outbox: { maxBytes: 64 * 1024 } });
    const ok = await post(`${s.url}/v1/transactions`, Array.from({ length: 40 }, (_, i) => rec(i)));
    expect(ok.status).toBe(202);
    const full = await post(`${s.url}/v1/transactions`, Array.from({ length: 300 }, (_, i) => rec(100 + i)));
    expect(full.status).toBe(507);
    expect(full.body).toMatchObject({ error: 'OUTBOX_FULL' });
    expect(s.c.status()).toMatchObject({ outboxDepth: 40, nextSeq: 41 });
    const small = await post(`${s.url}/v1/transactions`, rec(999));
    expect(small.status).toBe(202);
    expect(small.body.ids).toEqual(['c-http:41']);
  });

  it('decision without a hub: the default fallback at once (allow, post-check)', async () => {
    const s = await start();
    const t0 = Date.now();
    const r = await post(`${s.url}/v1/decisions`, rec(1));
    expect(r.status).toBe(200);
    expect(r.body).toMatchObject({ decision: 'allow', fallback: true, postCheck: true, reasons: [], requestId: expect.stringMatching(/^c-http:d:[0-9a-f-]{36}$/) });
    expect(r.body.fallbackReason).toMatch(/not connected|no link/);
    expect(Date.now() - t0).toBeLessThan(300);
    // Nothing was appended: a decision is a question, not business.
    expect(s.c.status().nextSeq).toBe(1);
    expect(s.events.some((e) => e.event === 'decision.fallback')).toBe(true);
    const bad = await post(`${s.url}/v1/decisions`, rec(2, { kind: 'nonsense' }));
    expect(bad.status).toBe(400);
  });

  it('decision the hub does not answer in time: the configured fallback after decisionTimeoutMs', async () => {
    const hub = await miniHub(() => {
      /* never acks */
    });
    const s = await start({ hubUrl: hub.url, http: { decisionFallback: { decision: 'hold', postCheck: false } } });
    await waitFor(() => s.c.status().link === 'connected', 5000, 'link');
    const t0 = Date.now();
    const r = await post(`${s.url}/v1/decisions`, rec(1));
    const ms = Date.now() - t0;
    expect(r.body).toMatchObject({ decision: 'hold', fallback: true, postCheck: false, fallbackReason: 'the hub did not answer within 300 ms' });
    expect(ms).toBeGreaterThanOrEqual(290);
    expect(ms).toBeLessThan(2000);
    expect(hub.received).toHaveLength(1);
  });

  it('decision answered by the hub over the collector socket (decision.request with ack)', async () => {
    const hub = await miniHub((req, ack) =>
      ack({ ok: true, requestId: req.requestId, decision: 'hold', reasons: [{ ruleId: 'agent.blacklisted', severity: 'high', explanation: '代理人在黑名单中' }], decidedAt: Date.now() }),
    );
    const s = await start({ hubUrl: hub.url });
    await waitFor(() => s.c.status().link === 'connected', 5000, 'link');
    const r = await post(`${s.url}/v1/decisions`, rec(7, { agent: { idNumber: idFor(70) } }));
    expect(r.body).toMatchObject({ decision: 'hold', fallback: false, postCheck: false, reasons: [{ ruleId: 'agent.blacklisted', explanation: '代理人在黑名单中' }] });
    const req = hub.received[0]!;
    expect(req).toMatchObject({ requestId: r.body.requestId, collectorId: 'c-http', institutionId: 'JCJ-CGS', timeoutMs: 300 });
    expect(req.transaction).toMatchObject({
      id: expect.stringMatching(/^c-http:hold:/),
      seq: 0,
      kind: 'vehicle',
      lsh: 'H7',
      subject: { idHash: pseudonymizer.idHash(idFor(7)) },
      agent: { idHash: pseudonymizer.idHash(idFor(70)) },
    });
    expect(JSON.stringify(req)).not.toContain(idFor(7));
    // A wrong requestId in the answer is not trusted.
    hub.received.length = 0;
  });

  it('GET /v1/status and /metrics report outbox, link, sources, rejects and decisions; auth when configured', async () => {
    const s = await start({ http: { authToken: 'local-token-0123456789' } });
    const auth = { authorization: 'Bearer local-token-0123456789' };
    expect((await post(`${s.url}/v1/transactions`, [rec(1)])).status).toBe(401);
    expect((await post(`${s.url}/v1/transactions`, [rec(1), rec(2), rec(3)], { headers: auth })).status).toBe(202);
    expect((await post(`${s.url}/v1/transactions`, [rec(4, { kind: 'x' })], { headers: auth })).status).toBe(400);
    await post(`${s.url}/v1/decisions`, rec(5), { headers: auth });
    expect((await fetch(`${s.url}/metrics`)).status).toBe(401);

    const st = (await (await fetch(`${s.url}/v1/status`, { headers: auth })).json()) as any;
    expect(st).toMatchObject({ collectorId: 'c-http', outboxDepth: 3, nextSeq: 4, decisions: { fallback: 1 } });
    expect(st.sources).toEqual([expect.objectContaining({ name: 'http', type: 'http', state: 'running', captured: 3, rejected: 1, detail: expect.objectContaining({ url: s.url }) })]);

    const res = await fetch(`${s.url}/metrics`, { headers: auth });
    expect(res.headers.get('content-type')).toMatch(/^text\/plain; version=0.0.4/);
    const text = await res.text();
    const sample = (name: string) => new RegExp(`^${name.replace(/[{}]/g, '\\$&')} ([0-9.]+)$`, 'm').exec(text)?.[1];
    expect(sample('jianguan_collector_outbox_depth{collector="c-http"}')).toBe('3');
    expect(Number(sample('jianguan_collector_outbox_bytes{collector="c-http"}'))).toBeGreaterThan(0);
    expect(Number(sample('jianguan_collector_outbox_oldest_unacked_age_seconds{collector="c-http"}'))).toBeGreaterThanOrEqual(0);
    expect(sample('jianguan_collector_records_captured_total{collector="c-http",source="http"}')).toBe('3');
    expect(sample('jianguan_collector_records_rejected_total{collector="c-http",source="http"}')).toBe('1');
    expect(sample('jianguan_collector_decisions_total{collector="c-http",result="fallback"}')).toBe('1');
    expect(sample('jianguan_collector_link_up{collector="c-http"}')).toBe('0');
    expect(sample('jianguan_collector_batches_sent_total{collector="c-http"}')).toBe('0');
    expect(text).toContain('# TYPE jianguan_collector_batches_acked_total counter');
    expect(text).toContain('# TYPE jianguan_collector_batches_failed_total counter');
  });

  it('status --json has a metrics section (live outbox numbers, the last snapshot, rejects by source)', async () => {
    if (!fs.existsSync(MAIN)) throw new Error(`${MAIN} is missing: build the collector first`);
    const hub = await miniHub(() => {});
    const s = await start({ hubUrl: hub.url });
    await waitFor(() => s.c.status().link === 'connected', 5000, 'link');
    await post(`${s.url}/v1/transactions`, [rec(1), rec(2)]);
    await post(`${s.url}/v1/transactions`, [rec(3, { kind: 'x' })]);
    await waitFor(() => s.c.status().outboxDepth === 0, 5000, 'acked');
    await s.c.stop();
    const out = spawnSync(process.execPath, [MAIN, 'status', '--outbox', path.join(s.dir, 'outbox'), '--json'], { encoding: 'utf8' });
    expect(out.status).toBe(0);
    const j = JSON.parse(out.stdout) as any;
    expect(j.metrics).toMatchObject({
      running: false,
      outbox: { depth: 0, oldestUnackedAgeSeconds: null },
      link: { state: 'stopped' },
      batches: { sent: expect.any(Number), acked: expect.any(Number), failed: 0 },
      records: { acked: 2 },
      rejectedBySource: { http: 1 },
      sources: [expect.objectContaining({ name: 'http', captured: 2, rejected: 1 })],
      decisions: { allow: 0, hold: 0, fallback: 0 },
    });
    expect(j.metrics.batches.acked).toBeGreaterThanOrEqual(1);
    expect(j.metrics.snapshotAt).toEqual(expect.any(Number));
  });
});
