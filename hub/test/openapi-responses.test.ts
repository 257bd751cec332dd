/**
 * Every route in the OpenAPI document (/docs/json) documents its answer: a 200 or 201 response
 * with a schema (defineRoute's `response`, which the tests also check every answer against). The
 * only exceptions are routes that do not answer JSON, each listed below with its reason. Under
 * test every answer is checked against its declared schema, so the reads below answering 200
 * means the system and registry views match what the handlers send.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Hub } from '../src/app.js';
import { login, startTestHub, withToken } from './helpers.js';

interface Operation {
  responses?: Record<string, { content?: Record<string, { schema?: unknown }> }>;
}

/** Routes that legitimately answer something other than JSON ("METHOD /path" as in the document). */
const NOT_JSON: Readonly<Record<string, string>> = {
  'GET /': 'redirects to /wall (or names the hub when no dashboard is built); not part of the API',
  'GET /api/v1/backtests/{id}/export': 'CSV or XLSX file (?format=)',
  'GET /api/v1/evaluation/institutions/{id}/report': 'printable HTML report',
  'GET /api/v1/evaluation/institutions/{id}/notice': 'printable HTML notice of a quarter\'s result',
  'GET /api/v1/warnings/{id}/evidence/{sha256}': 'the evidence file itself, in its own content type',
};

/** Table exports (defineExportRoute): `<list>.csv` and `<list>.xlsx` answer the file. */
const TABLE_EXPORT = /\.(csv|xlsx)$/;

let hub: Hub;
const tokens: Record<string, string> = {};
let doc: { paths: Record<string, Record<string, Operation>> };

beforeAll(async () => {
  ({ hub } = await startTestHub({ workflowIntervalMs: 3_600_000, evaluationIntervalMs: 3_600_000 }));
  for (const u of ['admin', 'registry', 'auditor']) tokens[u] = await login(hub, u);
  const res = await hub.app.inject(withToken(tokens.admin!, { url: '/docs/json' }));
  expect(res.statusCode).toBe(200);
  doc = res.json();
});

afterAll(async () => {
  await hub?.close();
});

function documentsAnswer(op: Operation): boolean {
  return ['200', '201'].some((status) => Object.values(op.responses?.[status]?.content ?? {}).some((media) => media.schema !== undefined));
}

describe('the OpenAPI document', () => {
  it('gives every JSON route a 200/201 response schema', () => {
    const routes = Object.entries(doc.paths).flatMap(([path, ops]) => Object.entries(ops).map(([method, op]) => ({ key: `${method.toUpperCase()} ${path}`, path, op })));
    expect(routes.length).toBeGreaterThan(60);
    const missing = routes.filter((r) => !(r.key in NOT_JSON) && !TABLE_EXPORT.test(r.path) && !documentsAnswer(r.op)).map((r) => r.key);
    expect(missing, `routes without a declared response schema (add \`response\` to their defineRoute, or list them in NOT_JSON if they do not answer JSON):\n  ${missing.join('\n  ')}`).toEqual([]);
  });

  it('lists as exceptions only routes that exist', () => {
    const documented = new Set(Object.entries(doc.paths).flatMap(([path, ops]) => Object.keys(ops).map((m) => `${m.toUpperCase()} ${path}`)));
    expect(Object.keys(NOT_JSON).filter((k) => !documented.has(k))).toEqual([]);
  });

  it('documents the JSON answers of the system routes', () => {
    for (const path of ['/healthz', '/api/v1/institutions', '/api/v1/rules', '/api/v1/dead-letters', '/api/v1/totals', '/api/v1/stats/pipeline', '/api/v1/people']) {
      expect(doc.paths[path]?.get?.responses?.['200']?.content?.['application/json']?.schema, path).toBeDefined();
    }
    expect(doc.paths['/api/v1/geo/counties']?.get?.responses?.['200']?.content?.['application/geo+json']?.schema).toBeDefined();
    expect(Object.keys(doc.paths['/metrics']?.get?.responses?.['200']?.content ?? {})[0]).toMatch(/^text\/plain/);
  });
});

describe('the answers of the system, registry and workflow reads', () => {
  it('match their declared schemas', async () => {
    const reads: [user: string, url: string][] = [
      ['admin', '/api/v1/institutions'],
      ['admin', '/api/v1/institutions?county=451203'],
      ['admin', '/api/v1/rules'],
      ['admin', '/api/v1/dead-letters?limit=5'],
      ['admin', '/api/v1/totals'],
      ['admin', '/api/v1/stats/pipeline'],
      ['admin', '/api/v1/stats/pipeline?since=0'],
      ['admin', '/api/v1/people'],
      ['auditor', '/api/v1/people?assignableFor=451203'],
      ['auditor', '/api/v1/workflow/meta'],
      ['registry', '/api/v1/registry/requests'],
      ['registry', '/api/v1/registry/institution/JCJ-JYZ/versions'],
      ...['institutions', 'staff', 'lines', 'listings', 'devices'].flatMap((e): [string, string][] => [
        ['registry', `/api/v1/registry/${e}`],
        ['registry', `/api/v1/registry/${e}?asOf=${Date.now()}`],
      ]),
    ];
    for (const [user, url] of reads) {
      const res = await hub.app.inject(withToken(tokens[user]!, { url }));
      expect(res.statusCode, `${url}: ${res.body.slice(0, 300)}`).toBe(200);
    }
    const health = await hub.app.inject({ url: '/healthz' });
    expect(health.statusCode, health.body).toBe(200);
  });

  it('match for an import preview and the request it files', async () => {
    const csv = Buffer.from('设备编号,机构,设备类别,已备案,有效期起\nOA-D1,JCJ-JYZ,检测仪器,是,2021-05-01\n').toString('base64');
    const file = { entity: 'device', filename: 'devices.csv', contentBase64: csv };
    const preview = await hub.app.inject(withToken(tokens.registry!, { method: 'POST', url: '/api/v1/registry/imports', payload: { ...file, preview: true } }));
    expect(preview.statusCode, preview.body).toBe(200);
    expect(preview.json()).toMatchObject({ preview: true, entity: 'device', total: 1 });
    const filed = await hub.app.inject(withToken(tokens.registry!, { method: 'POST', url: '/api/v1/registry/imports', payload: file }));
    expect(filed.statusCode, filed.body).toBe(201);
    const detail = await hub.app.inject(withToken(tokens.registry!, { url: `/api/v1/registry/requests/${filed.json().id as string}` }));
    expect(detail.statusCode, detail.body).toBe(200);
    expect(detail.json().items).toHaveLength(1);
  });
});
