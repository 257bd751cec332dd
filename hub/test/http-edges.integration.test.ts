/**
 * The hub's HTTP-side edges against a real hub (real sockets, real Redis, real chDB): inputs an
 * attacker on the same network can send. Each must be a 4xx with a coded body
 * `{error:{code,message}}`, and the hub must stay up (a follow-up request succeeds):
 *
 * - a malformed session cookie (`jg_session=%ZZ`) on /api and on the /wall handshake;
 * - malformed or refused evidence uploads, which must also leave nothing on disk;
 * - an engine.io polling request with a method other than GET/POST;
 * - a decision posted with another caller's request id (must not replace that caller's row);
 * - fastify's own client errors: `%` in the path, bad JSON, unknown content type, body too large,
 *   huge headers, an unparsable request line.
 */
import fs from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import path from 'node:path';
import { io as connect, type Socket } from 'socket.io-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Hub } from '../src/app.js';
import type { DecisionAck } from '../src/protocol/index.js';
import { param, sql } from '../src/store/sql.js';
import { checkTxn, login, startTestHub, TEST_COLLECTOR, withToken } from './helpers.js';
import { seedWarnings } from './seed.js';

let hub: Hub;
let dataDir: string;
const tokens: Record<string, string> = {};
const sockets: Socket[] = [];

/** A second filed collector, at another institution. */
const OTHER_COLLECTOR = { collectorId: 'c-test-02', institutionId: 'YZ-JYZ', token: 'test-token-02-0123456789abcdef' };
const JCJ = { institutionId: 'JCJ-JYZ', county: '451202' };
const EVIDENCE_MAX = 64 * 1024;

interface RawResponse {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: string;
}

/** One HTTP request over a real socket (fastify's inject would skip Node's parser and engine.io). */
function request(method: string, url: string, headers: Record<string, string> = {}, body?: string | Buffer): Promise<RawResponse> {
  return new Promise((resolve, reject) => {
    // An explicit length: Node sends DELETE/OPTIONS bodies unframed otherwise.
    const framed = body !== undefined ? { ...headers, 'content-length': String(Buffer.byteLength(body)) } : headers;
    const req = http.request(`${hub.url}${url}`, { method, headers: framed }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks).toString('utf8') }));
    });
    req.on('error', reject);
    if (body !== undefined) req.write(body);
    req.end();
  });
}

/** Bytes written straight to the port; resolves with everything the hub answered before closing. */
function rawExchange(bytes: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const s = net.connect(hub.port, '127.0.0.1', () => s.write(bytes));
    let got = '';
    s.on('data', (c: Buffer) => (got += c.toString('utf8')));
    s.on('close', () => resolve(got));
    s.on('error', (e: NodeJS.ErrnoException) => (e.code === 'ECONNRESET' || e.code === 'EPIPE' ? resolve(got) : reject(e)));
    s.setTimeout(10_000, () => s.destroy());
  });
}

function statusAndCode(res: RawResponse): [number, string | undefined] {
  let code: string | undefined;
  try {
    code = (JSON.parse(res.body) as { error?: { code?: string } }).error?.code;
  } catch {
    code = undefined;
  }
  return [res.status, code];
}

/** The hub still answers: a logged-in read over a real socket succeeds. */
async function expectHubUp(): Promise<void> {
  const res = await request('GET', '/api/v1/auth/me', { authorization: `Bearer ${tokens.leader}` });
  expect(res.status, res.body).toBe(200);
  expect(JSON.parse(res.body)).toMatchObject({ username: 'leader' });
}

function evidenceFiles(): string[] {
  const dir = path.join(dataDir, 'evidence');
  return fs.existsSync(dir) ? fs.readdirSync(dir).sort() : [];
}

function wallSocket(opts: { cookie?: string; transport: 'websocket' | 'polling' }): Promise<{ ok: true } | { ok: false; code: unknown }> {
  const s = connect(`${hub.url}/wall`, {
    transports: [opts.transport],
    reconnection: false,
    forceNew: true,
    ...(opts.cookie !== undefined ? { extraHeaders: { cookie: opts.cookie } } : {}),
  });
  sockets.push(s);
  return new Promise((resolve) => {
    s.once('connect', () => {
      resolve({ ok: true });
      s.close();
    });
    s.once('connect_error', (e: Error & { data?: { code?: unknown } }) => {
      resolve({ ok: false, code: e.data?.code });
      s.close();
    });
  });
}

beforeAll(async () => {
  ({ hub, dataDir } = await startTestHub({
    wallPublic: false,
    collectors: [TEST_COLLECTOR, OTHER_COLLECTOR],
    decisionFlushMs: 20,
    workflowIntervalMs: 3_600_000,
    evidenceMaxBytes: EVIDENCE_MAX,
  }));
  for (const u of ['auditor', 'leader', 'admin', 'wall', 'rules']) tokens[u] = await login(hub, u);
  await seedWarnings(hub, [{ id: 'w-edge-1', ...JCJ }]);
  const sweep = await hub.app.inject(withToken(tokens.admin!, { method: 'POST', url: '/api/v1/workflow/sweep' }));
  expect(sweep.statusCode, sweep.body).toBe(200);
});

afterAll(async () => {
  for (const s of sockets) s.close();
  await hub?.close();
});

describe('session cookies', () => {
  it('treats a malformed jg_session cookie on /api as no session: 401 AUTH_REQUIRED, never 500', async () => {
    for (const cookie of ['jg_session=%ZZ', 'jg_session=%', 'jg_session=%E0%A4%A', 'other=1; jg_session=%ZZ; x=%ZZ', 'jg_session="%ZZ"', 'jg_session=' + 'a'.repeat(5000)]) {
      const res = await request('GET', '/api/v1/auth/me', { cookie });
      expect(statusAndCode(res), cookie).toEqual([401, 'AUTH_REQUIRED']);
    }
    // A mutating route too (the audit hook runs on it).
    const post = await request('POST', '/api/v1/auth/logout', { cookie: 'jg_session=%ZZ' });
    expect(statusAndCode(post)).toEqual([401, 'AUTH_REQUIRED']);
    await expectHubUp();
  });

  it('still authenticates with a well-formed session cookie', async () => {
    const res = await request('GET', '/api/v1/auth/me', { cookie: `theme=dark; jg_session=${tokens.rules}` });
    expect(res.status, res.body).toBe(200);
    expect(JSON.parse(res.body)).toMatchObject({ username: 'rules' });
  });

  it('refuses a /wall handshake with a malformed cookie (AUTH_REQUIRED) and keeps running', async () => {
    for (const transport of ['websocket', 'polling'] as const) {
      expect(await wallSocket({ transport, cookie: 'jg_session=%ZZ' })).toEqual({ ok: false, code: 'AUTH_REQUIRED' });
      expect(await wallSocket({ transport, cookie: 'jg_session=%' })).toEqual({ ok: false, code: 'AUTH_REQUIRED' });
    }
    // The wall account's session cookie still opens the wall.
    expect(await wallSocket({ transport: 'websocket', cookie: `jg_session=${tokens.wall}` })).toEqual({ ok: true });
    await expectHubUp();
  });
});

describe('evidence uploads', () => {
  const url = '/api/v1/warnings/w-edge-1/evidence';
  const boundary = '----jgedge';
  const part = (name: string, value: string) => `--${boundary}\r\nContent-Disposition: form-data; name="${name}"\r\n\r\n${value}\r\n`;
  const filePart = (content: Buffer) =>
    Buffer.concat([Buffer.from(`--${boundary}\r\nContent-Disposition: form-data; name="file"; filename="photo.png"\r\nContent-Type: image/png\r\n\r\n`), content, Buffer.from('\r\n')]);
  const multipart = (seq: number, content: Buffer) => Buffer.concat([Buffer.from(part('expectedSeq', String(seq))), filePart(content), Buffer.from(`--${boundary}--\r\n`)]);
  const upload = (user: string, body: string | Buffer, contentType = `multipart/form-data; boundary=${boundary}`) =>
    request('POST', url, { authorization: `Bearer ${tokens[user]}`, 'content-type': contentType }, body);

  it('answers malformed multipart with 400 MULTIPART_INVALID', async () => {
    const seq = 1;
    const cases: [string, string | Buffer, string?][] = [
      ['no boundary', 'garbage', 'multipart/form-data'],
      ['truncated file part', Buffer.concat([Buffer.from(part('expectedSeq', String(seq))), filePart(Buffer.from('half a file')).subarray(0, 120)])],
      ['part without headers end', `--${boundary}\r\nContent-Disposition: form-data; name="file"; filename="a"`],
      ['garbage after boundary', `--${boundary}\r\n\u0000\u0001\u0002 not a header\r\n\r\nx\r\n--${boundary}--\r\n`],
      ['prototype field name', `${part('__proto__', 'x')}--${boundary}--\r\n`],
    ];
    for (const [name, body, type] of cases) {
      const res = await upload('auditor', body, type);
      const [status, code] = statusAndCode(res);
      expect(status, `${name}: ${res.body}`).toBeGreaterThanOrEqual(400);
      expect(status, `${name}: ${res.body}`).toBeLessThan(500);
      expect(code, name).toEqual(name === 'garbage after boundary' ? expect.stringMatching(/^(MULTIPART_INVALID|BODY_INVALID)$/) : 'MULTIPART_INVALID');
    }
    await expectHubUp();
  });

  it('answers malformed multipart on the registry import with a 4xx too', async () => {
    const token = await login(hub, 'registry');
    for (const body of ['garbage', `--${boundary}\r\nContent-Disposition: form-data; name="file"; filename="a.csv"\r\n\r\nid,name`]) {
      for (const type of ['multipart/form-data', `multipart/form-data; boundary=${boundary}`]) {
        const res = await request('POST', '/api/v1/registry/imports', { authorization: `Bearer ${token}`, 'content-type': type }, body);
        const [status, code] = statusAndCode(res);
        expect(status, `${type}: ${res.body}`).toBeGreaterThanOrEqual(400);
        expect(status, `${type}: ${res.body}`).toBeLessThan(500);
        expect(code, res.body).toMatch(/^(MULTIPART_INVALID|BODY_INVALID)$/);
      }
    }
    await expectHubUp();
  });

  it('leaves nothing on disk for any refused upload', async () => {
    const content = Buffer.from('refused evidence bytes');
    const refused: [string, () => Promise<RawResponse>, number, string][] = [
      ['malformed', () => upload('auditor', Buffer.concat([Buffer.from(part('expectedSeq', '1')), filePart(content).subarray(0, 100)])), 400, 'MULTIPART_INVALID'],
      ['too large (multipart)', () => upload('auditor', multipart(1, Buffer.alloc(EVIDENCE_MAX + 1, 7))), 413, 'PAYLOAD_TOO_LARGE'],
      [
        'too large (JSON)',
        () => upload('auditor', JSON.stringify({ name: 'a.bin', contentBase64: Buffer.alloc(EVIDENCE_MAX + 1, 7).toString('base64'), expectedSeq: 1 }), 'application/json'),
        413,
        'PAYLOAD_TOO_LARGE',
      ],
      ['stale expectedSeq', () => upload('auditor', multipart(0, content)), 409, 'CONFLICT'],
      // system_admin may act on warnings, but evidence needs the assignee or a leader.
      ['not the assignee', () => upload('admin', multipart(1, content)), 403, 'FORBIDDEN'],
      ['role without access', () => upload('wall', multipart(1, content)), 403, 'FORBIDDEN'],
      ['no session', () => request('POST', url, { 'content-type': `multipart/form-data; boundary=${boundary}` }, multipart(1, content)), 401, 'AUTH_REQUIRED'],
    ];
    for (const [name, send, status, code] of refused) {
      const res = await send();
      expect(statusAndCode(res), `${name}: ${res.body}`).toEqual([status, code]);
      expect(evidenceFiles(), name).toEqual([]);
    }
    const d = await hub.app.inject(withToken(tokens.auditor!, { url: '/api/v1/warnings/w-edge-1' }));
    expect(d.json().state.seq).toBe(1);
    expect(d.json().evidence).toEqual([]);

    // The same bytes accepted: exactly one file, under its content address, no temp file left.
    const ok = await upload('auditor', multipart(1, content));
    expect(ok.status, ok.body).toBe(200);
    const sha = (JSON.parse(ok.body) as { sha256: string }).sha256;
    expect(evidenceFiles()).toEqual([sha]);
    expect(fs.readFileSync(path.join(dataDir, 'evidence', sha)).equals(content)).toBe(true);
    await expectHubUp();
  });
});

describe('engine.io requests', () => {
  it('answers a polling request with another method (PUT, DELETE, OPTIONS) with 405, even on an open session', async () => {
    const open = await request('GET', '/socket.io/?EIO=4&transport=polling');
    expect(open.status, open.body).toBe(200);
    const sid = (JSON.parse(open.body.slice(1)) as { sid: string }).sid;
    for (const method of ['PUT', 'DELETE', 'OPTIONS', 'PATCH']) {
      for (const q of ['', `&sid=${encodeURIComponent(sid)}`]) {
        const res = await request(method, `/socket.io/?EIO=4&transport=polling${q}`, { 'content-type': 'text/plain' }, method === 'OPTIONS' ? undefined : '4hello');
        expect(statusAndCode(res), `${method}${q}`).toEqual([405, 'METHOD_NOT_ALLOWED']);
      }
    }
    // The session still works with the methods engine.io speaks.
    const poll = await request('POST', `/socket.io/?EIO=4&transport=polling&sid=${encodeURIComponent(sid)}`, { 'content-type': 'text/plain' }, '1');
    expect(poll.status).toBe(200);
    await expectHubUp();
  });
});

describe('decision log tampering', () => {
  const collectorAuth = (c: { collectorId: string; token: string }) => `Collector ${c.collectorId}:${c.token}`;
  const decide = (authorization: string, txn: object, requestId: string) =>
    hub.app.inject({ method: 'POST', url: '/api/v1/decisions', payload: txn, headers: { authorization, 'x-request-id': requestId } });

  async function logged(requestId: string) {
    await hub.decisions.flush();
    const res = await hub.app.inject(withToken(tokens.rules!, { url: '/api/v1/decisions?limit=1000' }));
    expect(res.statusCode, res.body).toBe(200);
    return (res.json().items as { requestId: string; decision: string; requestedBy: string; collectorId: string }[]).filter((i) => i.requestId === requestId);
  }

  it('refuses decisions from users other than system_admin', async () => {
    for (const user of ['wall', 'leader', 'auditor', 'rules']) {
      const res = await hub.app.inject(withToken(tokens[user]!, { method: 'POST', url: '/api/v1/decisions', payload: checkTxn(9001), headers: { 'x-request-id': 'r-user' } }));
      expect([res.statusCode, res.json().error.code], user).toEqual([403, 'FORBIDDEN']);
    }
    expect(await logged('r-user')).toEqual([]);
  });

  it("keeps a collector's logged hold when another caller reuses its request id", async () => {
    const id = `${TEST_COLLECTOR.collectorId}:d:victim`;
    const hold = await decide(collectorAuth(TEST_COLLECTOR), checkTxn(9101, { staffId: 'JCJ-JYZ-I90' }), id);
    expect(hold.statusCode, hold.body).toBe(200);
    expect(hold.json()).toMatchObject({ requestId: id, decision: 'hold' });

    // An operator, and another collector (its own record, its own institution), reuse the id.
    const admin = await hub.app.inject(withToken(tokens.admin!, { method: 'POST', url: '/api/v1/decisions', payload: checkTxn(9102), headers: { 'x-request-id': id } }));
    expect(admin.statusCode, admin.body).toBe(200);
    expect(admin.json()).toMatchObject({ requestId: id, decision: 'allow' });
    const other = checkTxn(9103, { collectorId: OTHER_COLLECTOR.collectorId, id: `${OTHER_COLLECTOR.collectorId}:9103`, institutionId: OTHER_COLLECTOR.institutionId, staffId: 'YZ-JYZ-I01' });
    const second = await decide(collectorAuth(OTHER_COLLECTOR), other, id);
    expect(second.statusCode, second.body).toBe(200);

    // Over the second collector's socket the same id is that collector's row, not the victim's.
    const s = connect(`${hub.url}/collect`, { auth: { collectorId: OTHER_COLLECTOR.collectorId, token: OTHER_COLLECTOR.token }, transports: ['websocket'], reconnection: false, forceNew: true });
    sockets.push(s);
    await new Promise<void>((resolve, reject) => {
      s.once('connect', () => resolve());
      s.once('connect_error', reject);
    });
    const ack: DecisionAck = await s.timeout(10_000).emitWithAck('decision.request', { requestId: id, transaction: { ...other, id: `${OTHER_COLLECTOR.collectorId}:9104`, seq: 9104 } });
    expect(ack).toMatchObject({ ok: true, requestId: id });

    const rows = await logged(id);
    // The victim's, the operator's, and the second collector's (its socket request replaced its
    // own HTTP one: same caller, same id).
    expect(rows).toHaveLength(3);
    const victim = rows.filter((r) => r.requestedBy === `collector:${TEST_COLLECTOR.collectorId}`);
    expect(victim).toEqual([expect.objectContaining({ decision: 'hold', collectorId: TEST_COLLECTOR.collectorId })]);
    expect(rows.map((r) => r.requestedBy).sort()).toEqual(['admin', `collector:${OTHER_COLLECTOR.collectorId}`, `collector:${TEST_COLLECTOR.collectorId}`].sort());
    // Stored keys are namespaced by the caller, so no two callers share a row.
    const keys = await hub.store.query<{ request_id: string }>(sql`SELECT request_id FROM decisions FINAL WHERE endsWith(request_id, ${param.String(`|${id}`)}) ORDER BY request_id`);
    expect(new Set(keys.map((k) => k.request_id)).size).toBe(3);
    await s.close();
  });

  it("refuses a collector's decision about another institution's business, over HTTP and the socket", async () => {
    const foreign = checkTxn(9201, { institutionId: OTHER_COLLECTOR.institutionId });
    const res = await decide(collectorAuth(TEST_COLLECTOR), foreign, 'r-foreign');
    expect([res.statusCode, res.json().error.code]).toEqual([403, 'FORBIDDEN']);

    const s = connect(`${hub.url}/collect`, { auth: { collectorId: TEST_COLLECTOR.collectorId, token: TEST_COLLECTOR.token }, transports: ['websocket'], reconnection: false, forceNew: true });
    sockets.push(s);
    await new Promise<void>((resolve, reject) => {
      s.once('connect', () => resolve());
      s.once('connect_error', reject);
    });
    const ack: DecisionAck = await s.timeout(10_000).emitWithAck('decision.request', { requestId: 'r-foreign-s', transaction: foreign });
    expect(ack).toMatchObject({ ok: false, requestId: 'r-foreign-s', code: 'FORBIDDEN' });
    s.close();
    expect(await logged('r-foreign')).toEqual([]);
    expect(await logged('r-foreign-s')).toEqual([]);
  });
});

describe("fastify's client-error paths", () => {
  it('answers a malformed URL with 400 BAD_URL', async () => {
    for (const url of ['/api/v1/%zz', '/%', '/api/v1/warnings/%E0%A4%A', '/api/v1/warnings/%ZZ/evidence']) {
      const res = await request('GET', url, { authorization: `Bearer ${tokens.leader}` });
      expect(statusAndCode(res), url).toEqual([400, 'BAD_URL']);
    }
    await expectHubUp();
  });

  it('answers bad JSON, an empty JSON body and an unknown content type with coded 4xx', async () => {
    const auth = { authorization: `Bearer ${tokens.admin}` };
    const cases: [string, Record<string, string>, string | undefined, [number, string]][] = [
      ['invalid JSON', { 'content-type': 'application/json' }, '{"username":', [400, 'BODY_INVALID']],
      ['prototype poisoning', { 'content-type': 'application/json' }, '{"__proto__":{"x":1}}', [400, 'BODY_INVALID']],
      ['empty JSON', { 'content-type': 'application/json' }, undefined, [400, 'BODY_INVALID']],
      ['unknown content type', { 'content-type': 'text/x-unknown' }, 'hello', [415, 'UNSUPPORTED_MEDIA_TYPE']],
      ['schema mismatch', { 'content-type': 'application/json' }, '{"username":1}', [400, 'BODY_INVALID']],
    ];
    for (const [name, headers, body, expected] of cases) {
      const res = await request('POST', '/api/v1/users', { ...auth, ...headers }, body);
      expect(statusAndCode(res), `${name}: ${res.body}`).toEqual(expected);
    }
    // Before any session, too (login is public).
    const login = await request('POST', '/api/v1/auth/login', { 'content-type': 'application/json' }, '{not json');
    expect(statusAndCode(login)).toEqual([400, 'BODY_INVALID']);
    await expectHubUp();
  });

  it('answers a body over the limit with 413 PAYLOAD_TOO_LARGE', async () => {
    const res = await hub.app.inject(withToken(tokens.admin!, { method: 'POST', url: '/api/v1/users', payload: { username: 'x'.repeat(2 * 1024 * 1024) } }));
    expect([res.statusCode, res.json().error.code]).toEqual([413, 'PAYLOAD_TOO_LARGE']);
    await expectHubUp();
  });

  it('answers huge headers with 431 and an unparsable request with 400, both coded', async () => {
    const huge = await rawExchange(`GET /api/v1/auth/me HTTP/1.1\r\nHost: x\r\nX-Big: ${'a'.repeat(64 * 1024)}\r\n\r\n`);
    expect(huge).toMatch(/^HTTP\/1\.1 431 /);
    expect(JSON.parse(huge.slice(huge.indexOf('\r\n\r\n') + 4))).toMatchObject({ error: { code: 'HEADERS_TOO_LARGE' } });
    const garbage = await rawExchange('NOT A REQUEST\r\n\r\n');
    expect(garbage).toMatch(/^HTTP\/1\.1 400 /);
    expect(JSON.parse(garbage.slice(garbage.indexOf('\r\n\r\n') + 4))).toMatchObject({ error: { code: 'BAD_REQUEST' } });
    await expectHubUp();
  });
});
