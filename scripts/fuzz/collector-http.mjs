// Inputs for the collector's local HTTP endpoint (collector/src/sources/http.ts): depth bombs,
// garbage in every content type, wrong formats, wrong methods. Its errors are `{error: CODE}`.
import { deepText, enc, hostileJsonText, hostileString, hostileValue, safeStringify } from './values.mjs';
import { httpRequest } from './wire.mjs';

const FORMATS = ['native', 'veh_flow', 'drv_flow', '18c', 'check_av', 'exam', 'queue'];

export function collectorSeeds() {
  return [
    { name: 'depth bomb (arrays, 100k) on /v1/transactions', method: 'POST', path: '/v1/transactions', ct: 'application/json', body: deepText(100_000, 'array') },
    { name: 'depth bomb (objects, 100k) on /v1/transactions', method: 'POST', path: '/v1/transactions', ct: 'application/json', body: deepText(100_000, 'object') },
    { name: 'depth bomb (arrays, 100k) on /v1/decisions', method: 'POST', path: '/v1/decisions', ct: 'application/json', body: deepText(100_000, 'array') },
    { name: 'depth bomb (objects, 100k) on /v1/decisions', method: 'POST', path: '/v1/decisions', ct: 'application/json', body: deepText(100_000, 'object') },
    { name: 'depth bomb as one record field', method: 'POST', path: '/v1/transactions', ct: 'application/json', body: `{"a":${deepText(100_000, 'array')}}` },
    { name: 'depth bomb as ndjson', method: 'POST', path: '/v1/transactions', ct: 'application/x-ndjson', body: deepText(100_000, 'array') },
  ];
}

function nativeRecord(r) {
  const t = Date.UTC(2026, 10, 25, 2, 0, 0) + r.int(0, 1e7);
  return { source: 'fuzz', channel: 'institution', kind: 'check', counter: 'L1', staffId: 'JCJ-JYZ-I01', occurredAt: t, startedAt: t, endedAt: t + 300_000, outcome: 'pass', vehicle: { hpzl: '02', hphm: '桂M12345' } };
}

export function collectorCase(r) {
  const p = r.pick(['/v1/transactions', '/v1/transactions', '/v1/decisions', '/v1/decisions', '/v1/status', '/metrics', '/v1/x', '/', '/%ZZ']);
  const fmt = r.chance(0.7) ? '' : `?format=${enc(r.chance(0.7) ? r.pick(FORMATS) : hostileString(r).slice(0, 40))}`;
  const method = p.startsWith('/v1/t') || p.startsWith('/v1/d') ? r.pick(['POST', 'POST', 'POST', 'POST', 'GET', 'PUT', 'DELETE']) : r.pick(['GET', 'POST']);
  const ct = r.pick(['application/json', 'application/json', 'application/x-ndjson', 'application/jsonl', 'text/csv', 'text/plain', 'multipart/form-data', '', 'application/json; charset=gb18030']);
  let body;
  switch (r.int(0, 8)) {
    case 0:
      body = deepText(r.pick([1000, 20_000, 100_000]), r.pick(['array', 'object']));
      break;
    case 1:
      body = hostileJsonText(r);
      break;
    case 2: {
      const rec = nativeRecord(r);
      for (const k of Object.keys(rec)) if (r.chance(0.3)) rec[k] = hostileValue(r);
      body = safeStringify(r.chance(0.3) ? [rec, hostileValue(r)] : rec);
      break;
    }
    case 3:
      body = Array.from({ length: r.int(1, 20) }, () => safeStringify(r.chance(0.5) ? hostileValue(r) : nativeRecord(r))).join(r.pick(['\n', '\r\n', '\u2028', '']));
      break;
    case 4:
      body = r.pick(['lsh,hphm\n' + hostileString(r), '"a,"b\n', ',,,,\n,,,', '\u0000,\u0000', 'x'.repeat(5 * 1024 * 1024)]);
      break;
    case 5:
      body = safeStringify(Array.from({ length: r.pick([5001, 20_000]) }, () => ({})));
      break;
    case 6:
      body = safeStringify(nativeRecord(r));
      break;
    case 7:
      body = Buffer.from(Array.from({ length: r.int(1, 500) }, () => r.int(0, 255)));
      break;
    default:
      body = '';
  }
  return { name: `${method} ${p}`, method, path: p + fmt, ct, body };
}

export function classifyCollector(res) {
  if (res.status === -1) return { result: 'unsent', detail: res.error };
  if (res.status === 0) return res.error === 'timeout' ? { result: 'silent', detail: 'timeout' } : { result: 'dropped', detail: res.error };
  if (res.status >= 500 && res.status !== 507) return { result: '5xx', detail: `${res.status} ${res.text.slice(0, 300)}` };
  if (res.status < 400) return { result: 'accepted' };
  let body;
  try {
    body = JSON.parse(res.text);
  } catch {
    body = undefined;
  }
  // The collector's contract: `{error: 'CODE', message}` (507 OUTBOX_FULL is a refusal, not a fault).
  const code = typeof body?.error === 'string' ? body.error : body?.error?.code;
  return typeof code === 'string' && code ? { result: 'refused', code } : { result: 'uncoded', detail: `${res.status} ${res.text.slice(0, 200)}` };
}

export async function sendCollector(ctx, c) {
  const headers = c.ct ? { 'content-type': c.ct } : {};
  const res = await httpRequest(ctx.collectorUrl, { method: c.method, path: c.path, headers, ...(c.method !== 'GET' && c.body !== undefined ? { body: c.body } : {}) });
  return classifyCollector(res);
}
