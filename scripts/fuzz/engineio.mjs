// Raw engine.io inputs: polling requests of every method with garbage, bad protocol versions and
// session ids, and WebSocket upgrades with broken headers or broken frames.
import crypto from 'node:crypto';
import { deepText, enc, hostileString } from './values.mjs';
import { httpRequest, rawExchange, rawStatus } from './wire.mjs';

/** A fresh polling session id (the handshake answers `0{"sid":…}`). */
async function newSid(base) {
  const res = await httpRequest(base, { path: '/socket.io/?EIO=4&transport=polling' });
  const m = /"sid":"([^"]+)"/.exec(res.text);
  return m ? m[1] : 'no-sid';
}

export function engineSeeds() {
  return [
    { name: 'PUT on a polling session', method: 'PUT', withSid: true, body: '40/collect,{}' },
    { name: 'PUT without a session', method: 'PUT', query: 'EIO=4&transport=polling', body: 'x' },
    { name: 'PUT with a garbage sid', method: 'PUT', query: 'EIO=4&transport=polling&sid=%ZZ', body: '' },
    { name: 'DELETE on a polling session', method: 'DELETE', withSid: true },
    { name: 'POST garbage on a polling session', method: 'POST', withSid: true, body: '\u0000\u0001garbage' },
    { name: 'EIO=3', method: 'GET', query: 'EIO=3&transport=polling' },
    { name: 'websocket upgrade without a key', raw: 'GET /socket.io/?EIO=4&transport=websocket HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Version: 13\r\n\r\n' },
  ];
}

export function engineCase(r) {
  const method = r.pick(['GET', 'POST', 'PUT', 'DELETE', 'PATCH', 'OPTIONS', 'HEAD', 'PROPFIND']);
  const eio = r.pick(['4', '4', '3', '5', '0', '-1', 'abc', '', '4.0', '%ZZ', '1e3']);
  const transport = r.pick(['polling', 'polling', 'websocket', 'webtransport', 'flashsocket', '', 'x'.repeat(300), '__proto__']);
  switch (r.int(0, 9)) {
    case 0:
      return { name: `${method} bad EIO/transport`, method, query: `EIO=${eio}&transport=${transport}` };
    case 1:
      // A GET on a live session long-polls until the next ping: garbage goes in a POST-like method.
      return { name: `${method} on a session with garbage`, method: method === 'GET' || method === 'HEAD' ? 'PUT' : method, withSid: true, body: r.pick(['', '4', '40', '42/collect,1["batch.submit"', '6', '9', '1', '5', '4' + deepText(5000), '\u001e\u001e', 'b' + 'A'.repeat(1000), '42["x"]\u001e' + 'x'.repeat(r.pick([10, 200_000])), hostileString(r)]) };
    case 2:
      return { name: `${method} with a bad sid`, method, query: `EIO=4&transport=polling&sid=${enc(r.pick(['', 'x', 'A'.repeat(5000), '../', '\u0000', 'constructor', '__proto__']))}`, body: r.chance(0.5) ? '40' : undefined };
    case 3:
      return { name: 'POST with odd content types', method: 'POST', withSid: true, body: r.pick(['40', '\u00ff\u00fe', 'bXkgZGF0YQ==']), headers: { 'content-type': r.pick(['application/octet-stream', 'text/plain;charset=utf-16', 'multipart/form-data', 'application/json']) } };
    case 4:
      return { name: 'extra query junk', method: 'GET', query: `EIO=4&transport=polling&j=${r.int(0, 9)}&b64=${r.pick(['1', 'true', 'x'])}&t=${hostileString(r).slice(0, 50)}&${'a=1&'.repeat(r.pick([1, 1000]))}` };
    case 5: {
      const key = r.chance(0.5) ? crypto.randomBytes(16).toString('base64') : r.pick(['', 'short', 'x'.repeat(200)]);
      const version = r.pick(['13', '8', '12', 'x', '']);
      return { name: 'websocket upgrade with bad headers', raw: `GET /socket.io/?EIO=${eio}&transport=websocket HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: ${r.pick(['websocket', 'WebSocket', 'h2c', ''])}\r\nConnection: Upgrade\r\nSec-WebSocket-Key: ${key}\r\nSec-WebSocket-Version: ${version}\r\n\r\n` };
    }
    case 6: {
      // A correct upgrade followed by broken frames: reserved opcodes, unmasked frames, absurd lengths.
      const key = crypto.randomBytes(16).toString('base64');
      const frame = r.pick([
        Buffer.from([0x83, 0x80, 1, 2, 3, 4]),
        Buffer.from([0x81, 0x05, 0x34, 0x30, 0x2f, 0x63, 0x6f]),
        Buffer.from([0x81, 0xff, 0x7f, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 1, 2, 3, 4]),
        Buffer.from([0x01, 0x81, 1, 2, 3, 4, 0x35, 0x01, 0x81, 1, 2, 3, 4, 0x36]),
        Buffer.concat([Buffer.from([0x81, 0x84, 0, 0, 0, 0]), Buffer.from([0xc3, 0x28, 0xa0, 0xa1])]),
        crypto.randomBytes(r.int(1, 200)),
      ]);
      return { name: 'websocket frames garbage', raw: [`GET /socket.io/?EIO=4&transport=websocket HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: ${key}\r\nSec-WebSocket-Version: 13\r\n\r\n`, frame], upgrade: true };
    }
    case 7:
      return { name: 'raw HTTP garbage to /socket.io', raw: r.pick([`${method} /socket.io/?EIO=4 HTTP/1.1\r\nHost: x\r\nContent-Length: 99999999\r\n\r\nabc`, `GET /socket.io/?EIO=4&transport=polling HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n`, 'GARBAGE\r\n\r\n', `POST /socket.io/?EIO=4&transport=polling&sid=x HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\nhello`]) };
    case 8:
      return { name: 'oversized polling POST', method: 'POST', withSid: true, body: '4' + 'x'.repeat(r.pick([1_000_000, 9_000_000])) };
    default:
      return { name: `${method} path variants`, method, path: r.pick(['/socket.io', '/socket.io/x', '/socket.io//', '/socket.io/?', '/socket.io/%ZZ', '/engine.io/']), query: `EIO=${eio}&transport=polling` };
  }
}

function classifyEngineHttp(res, method) {
  if (res.status === -1) return { result: 'unsent', detail: res.error };
  if (res.status === 0) return res.error === 'timeout' ? { result: 'silent', detail: 'timeout' } : { result: 'dropped', detail: res.error };
  if (res.status >= 500) return { result: '5xx', detail: `${res.status} ${res.text.slice(0, 200)}` };
  if (res.status < 400) return { result: 'accepted' };
  // HEAD answers never carry a body.
  if (method === 'HEAD') return { result: 'refused', code: `HTTP_${res.status}` };
  let body;
  try {
    body = JSON.parse(res.text);
  } catch {
    body = undefined;
  }
  // engine.io answers {code: <number>, message}; the hub's own handlers {error: {code}}.
  const coded = body && (typeof body.code === 'number' || typeof body.code === 'string' || typeof body.error?.code === 'string');
  if (coded) return { result: 'refused', code: String(body.code ?? body.error.code) };
  // fastify's default 404 ({message, error, statusCode}) is the hub's own answer, not engine.io's.
  if (body && typeof body.statusCode === 'number') return { result: 'uncoded', detail: `${res.status} ${res.text.slice(0, 200)}` };
  // engine.io and ws answer some protocol errors themselves, before any hub code runs, with an
  // empty or plain-text body. They are refusals; listed as findings so the hub can choose to
  // wrap them, but they do not fail the run.
  return { result: 'refused', code: `HTTP_${res.status}`, finding: `engine.io/ws answered ${res.status} without a code: ${JSON.stringify(res.text.slice(0, 80))}` };
}

export async function sendEngine(ctx, c) {
  if (c.raw) {
    const out = await rawExchange(ctx.hubUrl, c.raw, c.upgrade ? 800 : 1500);
    const st = rawStatus(out.text);
    if (st >= 500) return { result: '5xx', detail: out.text.slice(0, 200) };
    if (st === 101 || (st > 0 && st < 400)) return { result: 'accepted' };
    if (st >= 400) {
      const [head = '', rest = ''] = out.text.split(/\r\n\r\n(.*)/s);
      // De-chunk a chunked body (one chunk is all these answers use).
      const body = /transfer-encoding:\s*chunked/i.test(head) ? (/^[0-9a-f]+\r\n(.*?)\r\n/is.exec(rest)?.[1] ?? '') : rest;
      // Node's own parser answers a bare 400 with no body to requests it cannot read: that is the
      // HTTP layer, before any handler, and carries no code by construction.
      if (!body.trim()) return { result: 'refused', code: `HTTP_${st}` };
      return classifyEngineHttp({ status: st, text: body }, 'RAW');
    }
    return { result: 'dropped', detail: out.how };
  }
  const sid = c.withSid ? await newSid(ctx.hubUrl) : undefined;
  const query = c.query ?? `EIO=4&transport=polling&sid=${enc(sid ?? '')}`;
  const res = await httpRequest(ctx.hubUrl, {
    method: c.method,
    path: `${c.path ?? '/socket.io/'}?${query}`,
    headers: { 'content-type': 'text/plain;charset=UTF-8', ...(c.headers ?? {}) },
    ...(c.body !== undefined && c.method !== 'GET' && c.method !== 'HEAD' ? { body: c.body } : {}),
  });
  return classifyEngineHttp(res, c.method);
}
