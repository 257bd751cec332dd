/**
 * The local HTTP endpoint against hostile or clumsy callers, over real sockets: JSON depth bombs,
 * bad encodings, content types and counts answered with coded 4xx (never 500) while the endpoint
 * keeps serving; slow headers and bodies cut off by the configured timeouts; a connection cap;
 * records of other institutions, with broken text or absurd times refused with their reasons —
 * and the file tail and drop folder putting such records in the reject report and reading on.
 */
import fs from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { loadConfigFromEnv } from '../src/config.js';
import { startCollector, type CollectorEvent, type CollectorHandle } from '../src/index.js';
import { DropFolder } from '../src/sources/drop-folder.js';
import { FileTail } from '../src/sources/file-tail.js';
import { DropSourceSchema, FileSourceSchema, type DropSourceConfig, type FileSourceConfig } from '../src/sources/source-config.js';
import { cleanupTmpDirs, freePort, PSEUDONYM_KEY, tmpDir, TOKEN, waitFor } from './helpers.js';
import { idFor, nativeLine, openHarness, outboxRecords, readRejects, waitForRecords } from './source-helpers.js';

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c().catch(() => {});
  cleanupTmpDirs();
});

interface Started {
  c: CollectorHandle;
  url: string;
  port: number;
  dir: string;
}

async function start(o: { http?: Record<string, unknown>; config?: Record<string, unknown> } = {}): Promise<Started> {
  const dir = tmpDir();
  const events: CollectorEvent[] = [];
  const c = await startCollector(
    {
      collectorId: 'c-hard',
      token: TOKEN,
      hubUrl: `http://127.0.0.1:${await freePort()}`,
      institutionId: 'JCJ-CGS',
      outboxDir: path.join(dir, 'outbox'),
      pseudonymKey: PSEUDONYM_KEY,
      backoff: { minMs: 50, maxMs: 500 },
      sources: [{ type: 'http', port: 0, decisionTimeoutMs: 100, ...o.http }],
      ...o.config,
    },
    { onEvent: (e) => events.push(e) },
  );
  cleanups.push(() => c.stop());
  const listening = events.find((e) => e.event === 'http.listening') as Extract<CollectorEvent, { event: 'http.listening' }>;
  return { c, url: listening.url, port: Number(new URL(listening.url).port), dir };
}

/** POST over a fresh connection (no pooled keep-alive sockets left behind to count against caps). */
function post(url: string, body: string | Buffer | unknown, o: { type?: string | null } = {}): Promise<{ status: number; body: any }> {
  const data = typeof body === 'string' || Buffer.isBuffer(body) ? body : JSON.stringify(body);
  return new Promise((resolve, reject) => {
    const headers: Record<string, string | number> = { 'content-length': Buffer.byteLength(data) };
    if (o.type !== null) headers['content-type'] = o.type ?? 'application/json';
    const req = http.request(url, { method: 'POST', agent: false, headers }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => {
        const text = Buffer.concat(chunks).toString('utf8');
        let parsed: unknown;
        try {
          parsed = JSON.parse(text);
        } catch {
          parsed = text;
        }
        resolve({ status: res.statusCode ?? 0, body: parsed });
      });
    });
    req.on('error', reject);
    req.end(data);
  });
}

function get(url: string): Promise<{ status: number; body: any }> {
  return new Promise((resolve, reject) => {
    http
      .get(url, { agent: false }, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body: JSON.parse(Buffer.concat(chunks).toString('utf8')) }));
      })
      .on('error', reject);
  });
}

/** A raw TCP client: what it received and when the server closed it. */
function rawClient(port: number) {
  const socket = net.connect(port, '127.0.0.1');
  const t0 = Date.now();
  let text = '';
  let closedAt: number | undefined;
  socket.on('data', (c: Buffer) => {
    text += c.toString('utf8');
  });
  socket.on('error', () => {});
  socket.on('close', () => {
    closedAt = Date.now();
  });
  cleanups.push(async () => {
    socket.destroy();
  });
  const connected = new Promise<void>((r) => socket.once('connect', () => r()));
  return {
    socket,
    connected,
    get text() {
      return text;
    },
    get closed() {
      return closedAt !== undefined;
    },
    /** ms from connecting to the server closing the connection. */
    get closedAfter() {
      return closedAt === undefined ? undefined : closedAt - t0;
    },
  };
}

const rec = (n: number, extra: Record<string, unknown> = {}) => ({
  kind: 'vehicle',
  occurredAt: '2026-11-18 10:00:00',
  lsh: `H${n}`,
  ywlx: 'B',
  subject: { idNumber: idFor(n) },
  ...extra,
});

const DEPTH_BOMB = `${'['.repeat(10_000)}${']'.repeat(10_000)}`;
const OBJECT_BOMB = `${'{"a":'.repeat(10_000)}1${'}'.repeat(10_000)}`;

describe('local HTTP endpoint against hostile input', () => {
  it('a JSON depth bomb is 400 TOO_DEEP, not 500, and the endpoint goes on answering', async () => {
    const s = await start();
    const tx = `${s.url}/v1/transactions`;
    for (const bomb of [DEPTH_BOMB, OBJECT_BOMB, `[${JSON.stringify(rec(1))},${OBJECT_BOMB}]`]) {
      const r = await post(tx, bomb);
      expect(r.status).toBe(400);
      expect(r.body.error).toBe('TOO_DEEP');
    }
    // A bomb inside a record that the adapter would otherwise carry along.
    const inner = await post(tx, `{"kind":"vehicle","occurredAt":"2026-11-18 10:00:00","lsh":"H9","extra":${OBJECT_BOMB}}`);
    expect(inner).toMatchObject({ status: 400, body: { error: 'TOO_DEEP' } });
    // In JSON lines the deep line is named; the others are not taken either (all or nothing).
    const lines = `${JSON.stringify(rec(2))}\n${OBJECT_BOMB}\n${JSON.stringify(rec(3))}\n`;
    const l = await post(tx, lines, { type: 'application/x-ndjson' });
    expect(l.status).toBe(400);
    expect(l.body).toMatchObject({ error: 'INVALID_RECORDS', errors: [{ line: 2, reason: 'invalid JSON: nested deeper than 32 levels' }] });
    const d = await post(`${s.url}/v1/decisions`, OBJECT_BOMB);
    expect(d).toMatchObject({ status: 400, body: { error: 'TOO_DEEP' } });
    expect(s.c.status().nextSeq).toBe(1);

    const ok = await post(tx, [rec(4), rec(5)]);
    expect(ok.status).toBe(202);
    expect(ok.body.ids).toEqual(['c-hard:1', 'c-hard:2']);
    const rejects = readRejects(s.dir);
    expect(rejects.map((x) => [x.file, x.line, x.reason])).toEqual([['http:native', 2, 'invalid JSON: nested deeper than 32 levels']]);
    expect(rejects[0]!.raw.length).toBeLessThanOrEqual(500);
  });

  it('bad encodings, content types, counts and CSV oddities are coded 4xx; nothing is appended', async () => {
    const s = await start({ http: { maxRecords: 10 } });
    const tx = `${s.url}/v1/transactions`;
    const bad: [string, { status: number; body: any }, number, string][] = [];
    const check = (what: string, r: { status: number; body: any }, status: number, code: string) => bad.push([what, r, status, code]);

    const latin1 = Buffer.concat([Buffer.from('[{"kind":"vehicle","lsh":"'), Buffer.from([0xc3, 0x28]), Buffer.from('"}]')]);
    check('invalid UTF-8 JSON', await post(tx, latin1), 400, 'BAD_REQUEST');
    const latin1Lines = Buffer.concat([Buffer.from(`${JSON.stringify(rec(1))}\n{"lsh":"`), Buffer.from([0xff]), Buffer.from('"}\n')]);
    const ul = await post(tx, latin1Lines, { type: 'application/x-ndjson' });
    check('invalid UTF-8 line', ul, 400, 'INVALID_RECORDS');
    expect(ul.body.errors).toEqual([{ line: 2, reason: 'not valid UTF-8 text' }]);
    check('text/plain', await post(tx, [rec(1)], { type: 'text/plain' }), 415, 'UNSUPPORTED_MEDIA_TYPE');
    check('form', await post(tx, 'a=1', { type: 'application/x-www-form-urlencoded' }), 415, 'UNSUPPORTED_MEDIA_TYPE');
    check('gbk charset', await post(tx, [rec(1)], { type: 'application/json; charset=gbk' }), 415, 'UNSUPPORTED_MEDIA_TYPE');
    check('decision as CSV', await post(`${s.url}/v1/decisions`, 'LSH\n1\n', { type: 'text/csv' }), 415, 'UNSUPPORTED_MEDIA_TYPE');
    check('11 records', await post(tx, Array.from({ length: 11 }, (_, i) => rec(i))), 413, 'TOO_MANY_RECORDS');
    check('a million numbers', await post(tx, `[${'1,'.repeat(1_000_000)}1]`, { type: 'application/json' }), 413, 'TOO_MANY_RECORDS');
    const manyLines = Array.from({ length: 11 }, (_, i) => JSON.stringify(rec(i))).join('\n');
    check('11 lines', await post(tx, manyLines, { type: 'application/x-ndjson' }), 413, 'TOO_MANY_RECORDS');
    check('blank lines', await post(tx, `${JSON.stringify(rec(1))}${'\n'.repeat(1_000_000)}`, { type: 'application/x-ndjson' }), 400, 'BAD_REQUEST');
    check('empty', await post(tx, ''), 400, 'BAD_REQUEST');
    check('a JSON number', await post(tx, '12'), 400, 'INVALID_RECORDS');
    const header = 'LSH,SFZMHM,YWLX,SQRQ';
    check('CSV header only', await post(`${tx}?format=drv_flow`, `${header}\n`, { type: 'text/csv' }), 400, 'BAD_REQUEST');
    const unterminated = await post(`${tx}?format=drv_flow`, `${header}\n1,"${idFor(1)},A,2026-11-18 09:00:00\n`, { type: 'text/csv' });
    check('CSV unterminated quote', unterminated, 400, 'INVALID_RECORDS');
    expect(unterminated.body.errors[0].reason).toMatch(/^bad CSV: unterminated quoted field/);
    const short = await post(`${tx}?format=drv_flow`, `${header}\n1,${idFor(1)}\n`, { type: 'text/csv' });
    check('CSV short row', short, 400, 'INVALID_RECORDS');
    expect(short.body.errors).toEqual([{ line: 2, reason: 'bad CSV: expected 4 fields (as the header), got 2' }]);
    check('CSV without required columns', await post(`${tx}?format=drv_flow`, 'A,B\n1,2\n', { type: 'text/csv' }), 400, 'INVALID_RECORDS');
    check('JSON to a CSV adapter as lines', await post(`${tx}?format=veh_flow`, 'LSH\n1\n', { type: 'application/x-ndjson' }), 400, 'BAD_REQUEST');

    for (const [what, r, status, code] of bad) expect([what, r.status, r.body?.error], what).toEqual([what, status, code]);
    expect(s.c.status().nextSeq).toBe(1);

    // Not even HTTP, and a request target no URL parser takes: coded 400 on the raw socket.
    const garbage = rawClient(s.port);
    garbage.socket.write('\u0000\u0001 nonsense\r\n\r\n');
    await waitFor(() => garbage.closed, 3000, 'garbage connection closed');
    expect(garbage.text).toMatch(/^HTTP\/1\.1 400 /);
    expect(garbage.text).toContain('"error":"BAD_REQUEST"');
    const target = rawClient(s.port);
    target.socket.write('POST //[ HTTP/1.1\r\nhost: x\r\ncontent-length: 2\r\nconnection: close\r\n\r\n{}');
    await waitFor(() => target.closed, 3000, 'bad target answered');
    expect(target.text).toMatch(/^HTTP\/1\.1 400 /);
    expect(target.text).toContain('"error":"BAD_REQUEST"');

    expect((await post(tx, [rec(1)])).status).toBe(202);
  });

  it('slow headers and slow bodies are cut off by the configured timeouts (408, connection closed)', async () => {
    const s = await start({ http: { headersTimeoutMs: 300, bodyTimeoutMs: 300 } });
    const head = `POST /v1/transactions HTTP/1.1\r\nhost: 127.0.0.1\r\ncontent-type: application/json\r\ncontent-length: 1000\r\n\r\n`;

    // Headers complete, a few body bytes, then silence.
    const silent = rawClient(s.port);
    await silent.connected;
    silent.socket.write(`${head}[{"kind":`);
    // One byte every 50 ms: never idle, never done.
    const trickle = rawClient(s.port);
    await trickle.connected;
    trickle.socket.write(head);
    const drip = setInterval(() => {
      if (!trickle.socket.destroyed) trickle.socket.write(' ');
    }, 50);
    cleanups.push(async () => clearInterval(drip));
    // Headers never finished.
    const slowHead = rawClient(s.port);
    await slowHead.connected;
    slowHead.socket.write('POST /v1/transactions HTTP/1.1\r\nhost: 127.0.0.1\r\n');

    await waitFor(() => silent.closed && trickle.closed && slowHead.closed, 5000, 'slow connections closed');
    clearInterval(drip);
    for (const c of [silent, trickle, slowHead]) {
      expect(c.closedAfter).toBeGreaterThanOrEqual(250);
      expect(c.closedAfter).toBeLessThan(3000);
    }
    expect(silent.text).toMatch(/^HTTP\/1\.1 408 /);
    expect(silent.text).toContain('"error":"REQUEST_TIMEOUT"');
    expect(slowHead.text).toMatch(/^HTTP\/1\.1 408 /);
    expect(slowHead.text).toContain('"error":"REQUEST_TIMEOUT"');

    expect((await post(`${s.url}/v1/transactions`, [rec(1)])).status).toBe(202);
    expect(s.c.status().nextSeq).toBe(2);
    expect((await get(`${s.url}/v1/status`)).body.sources[0].detail.timeouts).toBe(3);
  });

  it('connections beyond maxConnections are closed on accept; freed slots serve again', async () => {
    const s = await start({ http: { maxConnections: 2, keepAliveTimeoutMs: 10_000 } });
    const status = 'GET /v1/status HTTP/1.1\r\nhost: 127.0.0.1\r\n\r\n';
    // Two keep-alive connections that have been served (so the server certainly holds them).
    const held = [rawClient(s.port), rawClient(s.port)];
    for (const h of held) {
      await h.connected;
      h.socket.write(status);
    }
    await waitFor(() => held.every((h) => h.text.startsWith('HTTP/1.1 200')), 3000, 'both served');
    const third = rawClient(s.port);
    await third.connected;
    third.socket.write(status);
    await waitFor(() => third.closed, 3000, 'third connection closed');
    expect(third.text).toBe('');
    expect(held.some((h) => h.closed)).toBe(false);

    for (const h of held) h.socket.destroy();
    await waitFor(async () => (await post(`${s.url}/v1/transactions`, [rec(1)]).catch(() => ({ status: 0 }))).status === 202, 3000, 'served again');
    // At least the third; a retry above may have raced the server noticing the freed slots.
    expect((await get(`${s.url}/v1/status`)).body.sources[0].detail.refusedConnections).toBeGreaterThanOrEqual(1);
  });

  it('keep-alive connections are closed after maxRequestsPerSocket requests', async () => {
    const s = await start({ http: { maxRequestsPerSocket: 2, keepAliveTimeoutMs: 10_000 } });
    const c = rawClient(s.port);
    await c.connected;
    const ask = 'GET /v1/status HTTP/1.1\r\nhost: a\r\n\r\n';
    c.socket.write(ask);
    await waitFor(() => c.text.includes('"sources"'), 3000, 'first answer');
    expect(c.text).toMatch(/connection: keep-alive/i);
    expect(c.closed).toBe(false);
    c.socket.write(ask);
    await waitFor(() => c.closed, 3000, 'connection closed after the second answer');
    expect(c.text.match(/HTTP\/1\.1 200 /g)).toHaveLength(2);
    expect(c.text).toMatch(/connection: close/i);
  });
});

describe('records the endpoint refuses', () => {
  it('another institution is refused with its line, nothing appended; reportsFor and adapterOptions widen the set', async () => {
    const s = await start({ config: { reportsFor: ['YZ-CGFS'] }, http: { adapterOptions: { institutionByCode: { X1: 'XX-MAPPED' } } } });
    const tx = `${s.url}/v1/transactions`;
    const r = await post(tx, [rec(1), rec(2, { institutionId: 'GX-OTHER' }), rec(3)]);
    expect(r.status).toBe(400);
    expect(r.body.error).toBe('INVALID_RECORDS');
    expect(r.body.errors).toEqual([{ line: 2, reason: "institutionId: 'GX-OTHER' is not an institution this collector reports for (JCJ-CGS, YZ-CGFS, XX-MAPPED; see reportsFor)" }]);
    expect(s.c.status().nextSeq).toBe(1);
    const d = await post(`${s.url}/v1/decisions`, rec(4, { institutionId: 'GX-OTHER' }));
    expect(d).toMatchObject({ status: 400, body: { error: 'INVALID_RECORDS', errors: [{ line: 1 }] } });

    const ok = await post(tx, [rec(1), rec(2, { institutionId: 'YZ-CGFS' }), rec(3, { institutionId: 'XX-MAPPED' })]);
    expect(ok.status).toBe(202);
    await s.c.stop();
    // Without an institution a record gets the collector's, as the adapter always did.
    expect((await outboxRecords(s.dir)).map((x) => [x.lsh, x.institutionId])).toEqual([
      ['H1', 'JCJ-CGS'],
      ['H2', 'YZ-CGFS'],
      ['H3', 'XX-MAPPED'],
    ]);
  });

  it('by default only the collector institution; JG_REPORTS_FOR is a comma-separated list', async () => {
    const s = await start();
    const r = await post(`${s.url}/v1/transactions`, [rec(1, { institutionId: 'YZ-CGFS' })]);
    expect(r.body.errors).toEqual([{ line: 1, reason: "institutionId: 'YZ-CGFS' is not an institution this collector reports for (JCJ-CGS; see reportsFor)" }]);
    const base = { JG_COLLECTOR_ID: 'c', JG_INSTITUTION_ID: 'JCJ-CGS', JG_PSEUDONYM_KEY: PSEUDONYM_KEY };
    expect(loadConfigFromEnv(base).reportsFor).toEqual([]);
    expect(loadConfigFromEnv({ ...base, JG_REPORTS_FOR: ' YZ-CGFS, JCJ-JYZ,, ' }).reportsFor).toEqual(['YZ-CGFS', 'JCJ-JYZ']);
    expect(() => loadConfigFromEnv({ ...base, JG_REPORTS_FOR: `A,${'x'.repeat(65)}` })).toThrow(/reportsFor\.1:/);
  });

  it('lone surrogates, control characters and absurd times are refused with reasons; the valid records go in exactly once', async () => {
    const s = await start();
    const tx = `${s.url}/v1/transactions`;
    const now = Date.now();
    // JSON text (not JSON.stringify of a JS string) so the escapes reach the endpoint as a caller writes them.
    const body = `[
      ${JSON.stringify(rec(1))},
      ${JSON.stringify(rec(2)).replace('"lsh":"H2"', '"lsh":"A\\ud800"')},
      ${JSON.stringify(rec(3))},
      ${JSON.stringify(rec(4, { counter: 'W\u0007' }))},
      ${JSON.stringify(rec(5, { occurredAt: '2099-01-01 08:00:00' }))},
      ${JSON.stringify(rec(6))},
      ${JSON.stringify(rec(7, { occurredAt: 915148800000 }))},
      ${JSON.stringify(rec(8, { staffId: 'Z\udc00Y' }))},
      ${JSON.stringify(rec(9, { occurredAt: now + 2 * 3600_000 }))},
      ${JSON.stringify(rec(10, { occurredAt: now + 3 * 86_400_000 }))}
    ]`;
    const r = await post(tx, body);
    expect(r.status).toBe(400);
    expect(r.body.error).toBe('INVALID_RECORDS');
    const errors = r.body.errors as { line: number; reason: string }[];
    expect(errors.map((e) => e.line)).toEqual([2, 4, 5, 7, 8, 10]);
    expect(errors[0]!.reason).toBe('lsh: lone surrogate U+D800 at character 2 (not well-formed Unicode text)');
    expect(errors[1]!.reason).toBe('counter: control character U+0007 at character 2');
    expect(errors[2]!.reason).toMatch(/^occurredAt: 2099-01-01T00:00:00\.000Z is more than 1 day after the collector's clock \(/);
    expect(errors[3]!.reason).toBe('occurredAt: 1999-01-01T00:00:00.000Z is before 2000-01-01');
    expect(errors[4]!.reason).toBe('staffId: lone surrogate U+DC00 at character 2 (not well-formed Unicode text)');
    expect(errors[5]!.reason).toMatch(/^occurredAt: .* is more than 1 day after the collector's clock/);
    expect(s.c.status().nextSeq).toBe(1);
    // The reject report holds them (its lines are valid JSON even for the broken text).
    expect(readRejects(s.dir).map((x) => x.line)).toEqual([2, 4, 5, 7, 8, 10]);

    // The caller sends the valid ones again: each reaches the outbox once.
    const lines = [1, 3, 6, 9].map((n) => JSON.stringify(n === 9 ? rec(9, { occurredAt: now + 2 * 3600_000 }) : rec(n))).join('\n');
    const ok = await post(tx, lines, { type: 'application/x-ndjson' });
    expect(ok.status).toBe(202);
    expect(ok.body.ids).toEqual(['c-hard:1', 'c-hard:2', 'c-hard:3', 'c-hard:4']);
    const d = await post(`${s.url}/v1/decisions`, rec(11, { counter: 'W\u0001' }));
    expect(d).toMatchObject({ status: 400, body: { error: 'INVALID_RECORDS', errors: [{ line: 1, reason: 'counter: control character U+0001 at character 2' }] } });
    await s.c.stop();
    expect((await outboxRecords(s.dir)).map((x) => x.lsh)).toEqual(['H1', 'H3', 'H6', 'H9']);
  });
});

describe('file sources share the checks and read on', () => {
  const defects = (n: number): string[] => [
    nativeLine(n).replace(/"lsh":"L(\d+)"/, '"lsh":"A\\ud800"'),
    nativeLine(n + 1).replace(/"ywlx":"B"/, '"ywlx":"B","counter":"W\\u0007"'),
    nativeLine(n + 2).replace(/"occurredAt":\d+/, '"occurredAt":4070908800000'),
    `${'{"a":'.repeat(10_000)}1${'}'.repeat(10_000)}\n`,
  ];

  it('file tail: defective lines go to rejects.jsonl with reasons, the others to the outbox, the tail keeps running', async () => {
    const dir = tmpDir();
    const file = path.join(dir, 'business.jsonl');
    const bad = defects(100);
    fs.writeFileSync(file, [nativeLine(1), bad[0], nativeLine(2), bad[1], bad[2], nativeLine(3), bad[3], nativeLine(4)].join(''));
    const h = await openHarness(dir);
    cleanups.push(() => h.close());
    const cfg = { ...FileSourceSchema.parse({ type: 'file', path: file, adapter: 'native', pollMs: 20 }), name: 'tail' } as FileSourceConfig;
    const t = new FileTail(cfg, h.deps);
    await t.start();
    cleanups.push(() => t.stop());
    const recs = await waitForRecords(h, 4);
    expect(recs.map((x) => x.lsh)).toEqual(['L0000001', 'L0000002', 'L0000003', 'L0000004']);
    await waitFor(() => readRejects(dir).length === 4, 3000, 'four rejects');
    expect(readRejects(dir).map((x) => [x.line, x.reason.replace(/\(.*\)$/, '(…)')])).toEqual([
      [2, 'lsh: lone surrogate U+D800 at character 2 (…)'],
      [4, 'counter: control character U+0007 at character 2'],
      [5, "occurredAt: 2099-01-01T00:00:00.000Z is more than 1 day after the collector's clock (…)"],
      [7, 'invalid JSON: nested deeper than 32 levels'],
    ]);
    // Lines after the defects keep flowing.
    fs.appendFileSync(file, nativeLine(5));
    expect((await waitForRecords(h, 5)).map((x) => x.lsh).at(-1)).toBe('L0000005');
    expect(t.status()).toMatchObject({ state: 'running', rejected: 4 });
  });

  it('drop folder: the file is imported with its defective lines rejected', async () => {
    const dir = tmpDir();
    const drop = path.join(dir, 'drop');
    fs.mkdirSync(drop);
    const bad = defects(200);
    fs.writeFileSync(path.join(drop, 'batch.jsonl'), [bad[3], nativeLine(1), bad[0], bad[1], nativeLine(2), bad[2]].join(''));
    const h = await openHarness(dir);
    cleanups.push(() => h.close());
    const cfg = { ...DropSourceSchema.parse({ type: 'drop', dir: drop, pollMs: 20, settleMs: 0, files: [{ glob: '*.jsonl', adapter: 'native' }] }), name: 'drop' } as DropSourceConfig;
    const d = new DropFolder(cfg, h.deps);
    await d.start();
    cleanups.push(() => d.stop());
    await waitFor(() => fs.existsSync(path.join(drop, 'done', 'batch.jsonl')), 5000, 'file done');
    expect((await h.records()).map((x) => x.lsh)).toEqual(['L0000001', 'L0000002']);
    expect(readRejects(dir).map((x) => x.line)).toEqual([1, 3, 4, 6]);
    expect(d.status()).toMatchObject({ captured: 2, rejected: 4 });
  });
});
