// REST inputs generated from the hub's own OpenAPI document (/docs/json): every operation with
// hostile path parameters, query strings, bodies, content types and credentials; multipart
// evidence uploads; registry imports of garbage CSV and XLSX.
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { enc, hostileJsonText, hostileString, hostileValue, safeStringify } from './values.mjs';
import { httpRequest } from './wire.mjs';

export const ROLES = ['admin', 'auditor', 'auditor-yz', 'leader', 'registry', 'rules', 'wall'];

/** Operations that start background work; sent rarely so the run measures input handling, not job load. */
const HEAVY = /\/(peer-deviation\/run|evaluation\/refresh|workflow\/sweep|backtest)$/;

/** The operations of the OpenAPI document as {method, path, params, body}. */
export function operationsOf(doc) {
  const ops = [];
  for (const [p, item] of Object.entries(doc.paths ?? {})) {
    for (const [method, op] of Object.entries(item)) {
      if (!['get', 'post', 'put', 'patch', 'delete'].includes(method)) continue;
      const params = [...(item.parameters ?? []), ...(op.parameters ?? [])];
      const content = op.requestBody?.content ?? {};
      const body = content['application/json']?.schema ?? Object.values(content)[0]?.schema;
      ops.push({ method: method.toUpperCase(), path: p, params, body, heavy: HEAVY.test(p) });
    }
  }
  return ops;
}

/** A value shaped like `schema`, so that a mutation of it gets past the first checks. */
function fromSchema(schema, r, depth = 0) {
  if (!schema || depth > 6) return hostileValue(r, 1);
  if (schema.enum) return r.pick(schema.enum);
  if (schema.const !== undefined) return schema.const;
  const alt = schema.anyOf ?? schema.oneOf;
  if (alt) return fromSchema(r.pick(alt), r, depth + 1);
  const type = Array.isArray(schema.type) ? r.pick(schema.type) : schema.type;
  switch (type) {
    case 'object': {
      const o = {};
      for (const [k, v] of Object.entries(schema.properties ?? {})) if ((schema.required ?? []).includes(k) || r.chance(0.5)) o[k] = fromSchema(v, r, depth + 1);
      return o;
    }
    case 'array':
      return Array.from({ length: r.int(0, 3) }, () => fromSchema(schema.items, r, depth + 1));
    case 'integer':
    case 'number':
      return r.int(schema.minimum ?? 0, Math.min(schema.maximum ?? 100, 1e6));
    case 'boolean':
      return r.chance(0.5);
    case 'string':
      return r.pick(['JCJ-JYZ', 'x', '2026-11-25', 'abc123', 'institution']).slice(0, schema.maxLength ?? 50);
    default:
      return hostileValue(r, 1);
  }
}

/** Replaces some leaves of a value with hostile ones. */
function mutate(v, r, depth = 0) {
  if (r.chance(0.25) || depth > 6) return hostileValue(r, 1);
  if (Array.isArray(v)) return v.map((x) => mutate(x, r, depth + 1));
  if (v && typeof v === 'object') {
    const o = {};
    for (const [k, x] of Object.entries(v)) if (!r.chance(0.1)) o[k] = r.chance(0.5) ? mutate(x, r, depth + 1) : x;
    if (r.chance(0.2)) o[r.pick(['__proto__', 'constructor', 'toString', hostileString(r).slice(0, 40)])] = hostileValue(r, 1);
    return o;
  }
  return v;
}

function hostilePathParam(r, ctx) {
  return r.pick([
    () => enc(hostileString(r).slice(0, 300)),
    () => '%ZZ',
    () => '%',
    () => '%E0%A4%A',
    () => '..%2F..%2Fetc%2Fpasswd',
    () => 'x'.repeat(r.pick([100, 5000])),
    () => String(r.int(-5, 1e9)),
    () => 'JCJ-JYZ',
    () => ctx.warningId ?? 'w-none',
    () => 'v1',
    () => '%00',
    () => enc('A\ud800'.slice(0, 1)) + '%ED%A0%80',
  ])();
}

function queryString(op, r) {
  const parts = [];
  for (const p of op.params.filter((x) => x.in === 'query')) {
    if (r.chance(0.3)) continue;
    const v = r.chance(0.3) ? fromSchema(p.schema, r) : hostileValue(r, 0);
    const s = typeof v === 'string' ? v : safeStringify(v);
    parts.push(`${enc(p.name)}=${r.chance(0.9) ? enc(s.slice(0, 2000)) : s.slice(0, 200).replace(/[\s#]/g, '')}`);
    if (r.chance(0.1)) parts.push(`${enc(p.name)}=${enc('dup')}`);
  }
  if (r.chance(0.2)) parts.push(r.pick(['__proto__[x]=1', 'constructor[prototype][x]=1', '%ZZ=1', 'a=%ZZ', `${'k'.repeat(5000)}=1`, 'limit=1e309', 'offset=-1', 'limit[]=1', '&&&', '=']));
  return parts.length ? `?${parts.join('&')}` : '';
}

export function authHeaders(r, ctx, anonymousOnly = false) {
  const tok = anonymousOnly ? undefined : ctx.tokens[r.pick(ROLES)];
  switch (r.int(0, 11)) {
    case 0:
    case 1:
      return {};
    case 2:
      return { cookie: 'jg_session=%ZZ' };
    case 3:
      return { cookie: r.pick(['jg_session=%', 'jg_session=%E0%A4%A', 'jg_session=', 'jg_session', `jg_session=${'a'.repeat(8000)}`, 'jg_session=a; jg_session=b', '=; ;;=jg_session', `x=1; jg_session=${enc(tok ?? 'x')}%ZZ`]) };
    case 4:
      return { authorization: r.pick(['Bearer', 'Bearer ', 'Bearer %ZZ', `Bearer ${'A'.repeat(10_000)}`, 'Basic YWRtaW46amlhbmd1YW4tZGVtbw==', 'bearer x', 'Bearer \u00ff', 'Token x', `Bearer ${tok ?? ''}x`]) };
    case 5:
      return tok ? { cookie: `jg_session=${tok}` } : {};
    default:
      return tok ? { authorization: `Bearer ${tok}` } : {};
  }
}

export function restSeeds(ctx) {
  return [
    { name: 'cookie jg_session=%ZZ on /api/v1/auth/me', method: 'GET', path: '/api/v1/auth/me', headers: { cookie: 'jg_session=%ZZ' } },
    { name: 'cookie jg_session=%ZZ on /api/v1/warnings', method: 'GET', path: '/api/v1/warnings', headers: { cookie: 'jg_session=%ZZ' } },
    { name: 'cookie jg_session=%ZZ on /healthz', method: 'GET', path: '/healthz', headers: { cookie: 'jg_session=%ZZ' } },
    { name: 'cookie jg_session=%ZZ on login', method: 'POST', path: '/api/v1/auth/login', headers: { cookie: 'jg_session=%ZZ', 'content-type': 'application/json' }, body: '{"username":"admin","password":"x"}' },
    ...uploadSeeds(ctx),
  ];
}

export function restCase(r, ctx) {
  const k = r.int(0, 99);
  if (k < 10) return uploadCase(r, ctx);
  if (k < 16) return importCase(r, ctx);
  if (k < 19) return { name: 'unknown route', method: r.pick(['GET', 'POST', 'DELETE']), path: r.pick(['/api/v1/nope', '/api/v2/warnings', '/api/v1/', '/%ZZ', '/api/v1/warnings/%ZZ/x', '/docs/%ZZ', '/' + 'a/'.repeat(500)]), headers: authHeaders(r, ctx) };
  let op = r.pick(ctx.ops);
  if (op.heavy && r.chance(0.9)) op = r.pick(ctx.ops.filter((o) => !o.heavy));
  const p = op.path.replace(/\{([^}]+)\}/g, () => hostilePathParam(r, ctx));
  const headers = authHeaders(r, ctx, op.path === '/api/v1/auth/logout' || op.path === '/api/v1/auth/password');
  let body;
  if (op.method !== 'GET' && op.method !== 'DELETE' ? r.chance(0.9) : r.chance(0.1)) {
    const shape = r.int(0, 9);
    if (shape < 5) body = safeStringify(mutate(fromSchema(op.body, r), r));
    else if (shape < 7) body = hostileJsonText(r);
    else if (shape < 8) body = safeStringify(fromSchema(op.body, r));
    else if (shape < 9) body = 'x'.repeat(r.chance(0.05) ? 31 * 1024 * 1024 : 1_100_000);
    else body = safeStringify(hostileValue(r));
    headers['content-type'] = r.pick(['application/json', 'application/json', 'application/json', 'application/json; charset=utf-16', 'text/plain', 'application/x-www-form-urlencoded', 'multipart/form-data', 'application/xml', '', 'application/json; boundary=x']);
    if (!headers['content-type']) delete headers['content-type'];
  }
  return { name: `${op.method} ${op.path}`, method: op.method, path: p + queryString(op, r), headers, body };
}

// ---- uploads -------------------------------------------------------------------------------

function multipart(boundary, parts, { close = true } = {}) {
  let s = '';
  for (const p of parts) s += `--${boundary}\r\n${p.headers}\r\n\r\n${p.body}\r\n`;
  if (close) s += `--${boundary}--\r\n`;
  return s;
}

function uploadSeeds(ctx) {
  const b = 'fuzzBoundary';
  const evidence = () => `/api/v1/warnings/${ctx.warningId ?? 'w-none'}/evidence`;
  return [
    { name: 'multipart without closing boundary (evidence)', method: 'POST', lazyPath: evidence, auth: 'admin', headers: { 'content-type': `multipart/form-data; boundary=${b}` }, body: `--${b}\r\nContent-Disposition: form-data; name="file"; filename="a.jpg"\r\nContent-Type: image/jpeg\r\n\r\nabc` },
    { name: 'multipart without boundary parameter (evidence)', method: 'POST', lazyPath: evidence, auth: 'admin', headers: { 'content-type': 'multipart/form-data' }, body: 'garbage' },
    { name: 'multipart with a part without headers (evidence)', method: 'POST', lazyPath: evidence, auth: 'admin', headers: { 'content-type': `multipart/form-data; boundary=${b}` }, body: `--${b}\r\n\r\nx\r\n--${b}--\r\n` },
    { name: 'multipart without closing boundary (import)', method: 'POST', path: '/api/v1/registry/imports', auth: 'registry', headers: { 'content-type': `multipart/form-data; boundary=${b}` }, body: `--${b}\r\nContent-Disposition: form-data; name="entity"\r\n\r\ninstitution\r\n--${b}\r\nContent-Disposition: form-data; name="file"; filename="x.csv"\r\n\r\nid,name` },
    { name: 'multipart garbage (import)', method: 'POST', path: '/api/v1/registry/imports', auth: 'registry', headers: { 'content-type': `multipart/form-data; boundary=${b}` }, body: '\u0000\u0001--' },
    ...ctx.xlsx.seeds.map((x) => ({ name: `import ${x.name}`, method: 'POST', path: '/api/v1/registry/imports', auth: 'registry', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ entity: 'institution', filename: 'x.xlsx', contentBase64: x.data.toString('base64') }) })),
    ...ctx.xlsx.seeds.map((x) => ({ name: `import ${x.name} (multipart)`, method: 'POST', path: '/api/v1/registry/imports', auth: 'registry', headers: { 'content-type': `multipart/form-data; boundary=${b}` }, body: Buffer.concat([Buffer.from(`--${b}\r\nContent-Disposition: form-data; name="entity"\r\n\r\nstaff\r\n--${b}\r\nContent-Disposition: form-data; name="file"; filename="x.xlsx"\r\nContent-Type: application/vnd.openxmlformats-officedocument.spreadsheetml.sheet\r\n\r\n`), x.data, Buffer.from(`\r\n--${b}--\r\n`)]) })),
  ];
}

function uploadCase(r, ctx) {
  const b = r.pick(['b', 'x'.repeat(70), '----WebKitFormBoundary7MA4YWxkTrZu0gW', '"quoted"', '']);
  const fileHeaders = r.pick([
    'Content-Disposition: form-data; name="file"; filename="e.jpg"\r\nContent-Type: image/jpeg',
    'Content-Disposition: form-data; name="file"; filename=""',
    'Content-Disposition: form-data; name="file"; filename="../../x"',
    `Content-Disposition: form-data; name="file"; filename="${'n'.repeat(5000)}"`,
    'Content-Disposition: form-data; name="file"; filename*=UTF-8\'\'%ZZ',
    'Content-Disposition: attachment',
    'Content-Type: text/plain',
    '',
    'Content-Disposition: form-data; name="file"; filename="A\ud800.jpg"',
  ]);
  const fields = r.pick([
    [],
    [{ headers: 'Content-Disposition: form-data; name="expectedSeq"', body: r.pick(['0', '-1', 'x', '1e309', '', '99999999999999999999']) }],
    [{ headers: 'Content-Disposition: form-data; name="comment"', body: 'c'.repeat(r.pick([10, 100_000])) }],
    Array.from({ length: 20 }, (_, i) => ({ headers: `Content-Disposition: form-data; name="f${i}"`, body: 'v' })),
  ]);
  const files = r.pick([[{ headers: fileHeaders, body: r.pick(['abc', '\u0000'.repeat(1000), 'x'.repeat(r.chance(0.05) ? 11 * 1024 * 1024 : 10)]) }], [], [{ headers: fileHeaders, body: 'a' }, { headers: fileHeaders, body: 'b' }]]);
  let body = multipart(b, [...fields, ...files], { close: r.chance(0.6) });
  if (r.chance(0.2)) body = body.slice(0, r.int(0, body.length));
  const ct = r.pick([`multipart/form-data; boundary=${b}`, `multipart/form-data; boundary=${b}`, 'multipart/form-data', `multipart/form-data; boundary=other`, `multipart/mixed; boundary=${b}`, `multipart/form-data; boundary=${b}; charset=utf-16`]);
  const target = r.chance(0.7) ? `/api/v1/warnings/${ctx.warningId ?? 'w-none'}/evidence` : '/api/v1/registry/imports';
  return { name: `multipart ${target.includes('evidence') ? 'evidence' : 'import'}`, method: 'POST', path: target, auth: target.includes('evidence') ? r.pick(['admin', 'auditor']) : 'registry', headers: { 'content-type': ct }, body };
}

function importCase(r, ctx) {
  const entity = r.pick(['institution', 'staff', 'line', 'listing', 'nope', '', '__proto__']);
  const csv = r.pick([
    () => 'id,name\n' + Array.from({ length: r.int(1, 5) }, () => `${hostileString(r).slice(0, 40)},${hostileString(r).slice(0, 40)}`).join('\n'),
    () => '"unterminated,quote\n1,2',
    () => '\ufeff机构编码,机构名称\nJCJ-JYZ,' + 'x'.repeat(100_000),
    () => 'a,'.repeat(20_000) + '\n1',
    () => Array.from({ length: 20_000 }, () => ',').join('\n'),
    () => '\u0000\u0001\u0002',
    () => '=cmd|\'/c calc\'!A1,@SUM(1)\n+1,-1',
  ])();
  const data = r.chance(0.35) ? r.pick(ctx.xlsx.variants).data : Buffer.from(csv, 'utf8');
  const filename = r.pick(['x.csv', 'x.xlsx', 'x', '../x.xlsx', 'x'.repeat(300), 'A\ud800.csv']);
  return {
    name: 'registry import',
    method: 'POST',
    path: '/api/v1/registry/imports',
    auth: r.pick(['registry', 'admin', 'registry2', 'auditor']),
    headers: { 'content-type': 'application/json' },
    body: safeStringify({ entity, filename, contentBase64: r.chance(0.9) ? data.toString('base64') : r.pick(['!!!', '', '====', 'A']) }),
  };
}

/**
 * XLSX inputs: a sheet with a cell in column XFD (the last one), a huge dimension, a sheet of
 * 10,000 columns, and broken zip files. Built once with exceljs (a hub dependency).
 */
export async function buildXlsx() {
  const require = createRequire(path.join(path.dirname(fileURLToPath(import.meta.url)), '..', '..', 'hub', 'package.json'));
  const ExcelJS = require('exceljs');
  const book = async (fill) => {
    const wb = new ExcelJS.Workbook();
    const ws = wb.addWorksheet('Sheet1');
    fill(ws);
    return Buffer.from(await wb.xlsx.writeBuffer());
  };
  const xfd = await book((ws) => {
    ws.getCell('A1').value = 'id';
    ws.getCell('B1').value = 'name';
    ws.getCell('XFD1').value = 'x';
    ws.getCell('A2').value = 'JCJ-JYZ';
    ws.getCell('XFD2').value = 'y';
  });
  const xfdLast = await book((ws) => {
    ws.getCell('A1').value = 'id';
    ws.getCell('XFD1048576').value = 'bottom-right';
  });
  const wide = await book((ws) => {
    for (let c = 1; c <= 3000; c++) ws.getRow(1).getCell(c).value = `h${c}`;
  });
  const formulas = await book((ws) => {
    ws.getCell('A1').value = 'id';
    ws.getCell('A2').value = { formula: 'A1&A1', result: 'x'.repeat(100) };
    ws.getCell('B2').value = { richText: [{ text: 'A\ud800' }] };
    ws.getCell('C2').value = new Date(8.64e15);
  });
  const truncated = xfd.subarray(0, Math.floor(xfd.length / 2));
  const seeds = [
    { name: 'XLSX with a cell in column XFD', data: xfd },
    { name: 'XLSX with a cell at XFD1048576', data: xfdLast },
  ];
  return {
    seeds,
    variants: [...seeds, { name: 'wide', data: wide }, { name: 'formulas', data: formulas }, { name: 'truncated zip', data: truncated }, { name: 'PK garbage', data: Buffer.from('PK\u0003\u0004' + 'garbage'.repeat(100), 'latin1') }],
  };
}

export function classifyHub(res) {
  if (res.status === -1) return { result: 'unsent', detail: res.error };
  if (res.status === 0) return res.error === 'timeout' ? { result: 'silent', detail: 'timeout' } : { result: 'dropped', detail: res.error };
  if (res.status >= 500) return { result: '5xx', detail: `${res.status} ${res.text.slice(0, 300)}` };
  if (res.status < 400) return { result: 'accepted', status: res.status };
  let body;
  try {
    body = JSON.parse(res.text);
  } catch {
    body = undefined;
  }
  const code = body?.error?.code;
  return typeof code === 'string' && code ? { result: 'refused', code } : { result: 'uncoded', detail: `${res.status} ${res.text.slice(0, 200)}` };
}

export async function sendRest(ctx, c) {
  const headers = { ...(c.headers ?? {}) };
  if (c.auth && ctx.tokens[c.auth]) headers.authorization = `Bearer ${ctx.tokens[c.auth]}`;
  const res = await httpRequest(ctx.hubUrl, { method: c.method, path: c.lazyPath ? c.lazyPath() : c.path, headers, ...(c.body !== undefined ? { body: c.body } : {}) });
  return classifyHub(res);
}
