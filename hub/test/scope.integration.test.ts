/**
 * Role and scope enforcement on EVERY registered /api route, found by walking the route catalog
 * (not a hand-kept list): each route declares its roles and what its data is scoped by; without
 * a session it answers 401 AUTH_REQUIRED; a user without one of its roles gets 403 FORBIDDEN;
 * and a 宜州区-scoped user holding an allowed role cannot read or act on 南丹县's data (403
 * OUT_OF_SCOPE, or lists that simply do not contain it).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Hub } from '../src/app.js';
import { registeredRoutes, type RouteInfo } from '../src/auth/plugin.js';
import { ROLES, type Role } from '../src/http/access.js';
import { readXlsx } from '../src/exports/table.js';
import { login, startTestHub, withToken } from './helpers.js';
import { seedWarnings } from './seed.js';

let hub: Hub;
let routes: RouteInfo[];
const tokens: Record<string, string> = {};
let ndRequestId = '';

const ND_WARNING = 'sc-nd';
const ND_INSTITUTION = 'ND-CGFS';
const SHA = 'a'.repeat(64);

/** Demo users (city-wide) by role, and the 宜州区-scoped users created for this test. */
const CITY_USER: Record<Role, string> = { wall_viewer: 'wall', auditor: 'auditor', leader: 'leader', registry_admin: 'registry', rule_admin: 'rules', system_admin: 'admin' };
const YZ_USER = (r: Role) => (r === 'auditor' ? 'auditor-yz' : `yz-${r.replace('_', '-')}`);

/** Concrete values for path parameters: the out-of-scope (南丹县) object of each kind. */
function fill(url: string, scope: RouteInfo['scope']): string {
  return url
    .replace(':entity', 'institution')
    .replace(':key', ND_INSTITUTION)
    .replace(':sha256', SHA)
    .replace(':year', '2031')
    .replace(':version', 'rs-any')
    .replace(':id', scope === 'warning' ? ND_WARNING : scope === 'request' ? ndRequestId : ND_INSTITUTION);
}

/**
 * Valid bodies for mutating routes aimed at 南丹县 objects (validation runs before the handler's
 * scope check, so the body must pass it). A new mutating scoped route must be added here.
 */
const BODIES: Record<string, () => object> = {
  'POST /api/v1/warnings/:id/actions': () => ({ type: 'comment', comment: '越权', expectedSeq: 1 }),
  'POST /api/v1/warnings/bulk': () => ({ action: { type: 'comment', comment: '越权' }, items: [{ id: ND_WARNING, expectedSeq: 1 }] }),
  'POST /api/v1/warnings/recheck': () => ({ ids: [ND_WARNING] }),
  'POST /api/v1/warnings/:id/evidence': () => ({ name: 'x.txt', mime: 'text/plain', contentBase64: Buffer.from('x').toString('base64'), expectedSeq: 1 }),
  'POST /api/v1/registry/requests': () => ({ items: [{ entity: 'staff', data: { id: 'ND-X1', institutionId: ND_INSTITUTION, role: 'clerk', name: 'x', filed: true, validFrom: 0, validTo: null } }] }),
  'POST /api/v1/registry/requests/:id/approve': () => ({ comment: '' }),
  'POST /api/v1/registry/requests/:id/reject': () => ({ comment: '越权' }),
  'POST /api/v1/registry/imports': () => ({ entity: 'staff', filename: 'x.csv', contentBase64: Buffer.from(`编号,机构,角色,姓名,备案,有效期起\nND-X2,${ND_INSTITUTION},clerk,x,是,2026-01-01\n`).toString('base64') }),
  'POST /api/v1/evaluation/refresh': () => ({}),
  'POST /api/v1/workflow/sweep': () => ({}),
  'POST /api/v1/backups': () => ({}),
  'PUT /api/v1/calendar/hours': () => ({ workingDays: [1, 2, 3, 4, 5, 6, 7], periods: [{ start: '00:00', end: '24:00' }] }),
  'PUT /api/v1/calendar/years/:year': () => ({ holidays: [], extraWorkdays: [] }),
  'POST /api/v1/calendar/notice': () => ({ text: '' }),
  'POST /api/v1/collectors/:id/approve': () => ({}),
  'POST /api/v1/collectors/:id/revoke': () => ({ reason: '越权' }),
  'POST /api/v1/peer-deviation/run': () => ({}),
  'POST /api/v1/rulesets/:version/backtest': () => ({ from: 0, to: 1 }),
};

async function request(user: string | null, r: RouteInfo, url: string, payload?: object) {
  const opts = { method: r.method as 'GET', url, ...(payload ? { payload } : r.method !== 'GET' ? { payload: {} } : {}) };
  return hub.app.inject(user ? withToken(tokens[user]!, opts) : opts);
}

/** Text of a response for "does it mention 南丹县 data?", XLSX included. */
async function textOf(res: { headers: Record<string, unknown>; rawPayload: Buffer; body: string }): Promise<string> {
  return /spreadsheetml/.test(String(res.headers['content-type'])) ? JSON.stringify(await readXlsx(res.rawPayload)) : res.body;
}

beforeAll(async () => {
  ({ hub } = await startTestHub({ workflowIntervalMs: 3_600_000, evaluationIntervalMs: 3_600_000 }));
  routes = registeredRoutes(hub.app).filter((r) => r.url.startsWith('/api/'));
  for (const u of Object.values(CITY_USER)) tokens[u] = await login(hub, u);
  for (const role of ROLES) {
    const username = YZ_USER(role);
    if (role !== 'auditor') {
      const res = await hub.app.inject(
        withToken(tokens.admin!, { method: 'POST', url: '/api/v1/users', payload: { username, displayName: `宜州${role}`, roles: [role], scope: '451203', password: 'jianguan-test-pw' } }),
      );
      expect(res.statusCode, res.body).toBe(201);
    }
    tokens[username] = await login(hub, username, role === 'auditor' ? undefined : 'jianguan-test-pw');
  }
  await seedWarnings(hub, [
    { id: ND_WARNING, institutionId: ND_INSTITUTION, county: '451221' },
    { id: 'sc-yz', institutionId: 'YZ-JYZ', county: '451203' },
  ]);
  await hub.app.inject(withToken(tokens.admin!, { method: 'POST', url: '/api/v1/workflow/sweep' }));
  // A pending registry request touching 南丹县, filed by a city-wide administrator.
  const req = await hub.app.inject(withToken(tokens.registry!, { method: 'POST', url: '/api/v1/registry/requests', payload: BODIES['POST /api/v1/registry/requests']!() }));
  expect(req.statusCode, req.body).toBe(201);
  ndRequestId = req.json().id;
  // Scores exist for the month so score lists have rows.
  await hub.app.inject(withToken(tokens.admin!, { method: 'POST', url: '/api/v1/evaluation/refresh', payload: {} }));
});

afterAll(async () => {
  await hub?.close();
});

describe('the route catalog', () => {
  it('has the API routes, each declaring roles and a scope', () => {
    expect(routes.length).toBeGreaterThan(40);
    const undeclared = routes.filter((r) => r.auth === undefined || r.scope === undefined).map((r) => `${r.method} ${r.url}`);
    expect(undeclared).toEqual([]);
    const publicRoutes = routes.filter((r) => r.auth === 'public').map((r) => `${r.method} ${r.url}`);
    // POST /api/v1/decisions authenticates collectors itself (Authorization: Collector …) or asks for a session.
    expect(publicRoutes.sort()).toEqual(['GET /api/v1/geo/counties', 'POST /api/v1/auth/login', 'POST /api/v1/collectors/enrol', 'POST /api/v1/decisions'].sort());
  });

  it('documents every API route in the OpenAPI document at /docs/json', async () => {
    // The API document is behind a login (docs/security.md); any session may read it.
    const res = await hub.app.inject(withToken(tokens[Object.values(CITY_USER)[0]!]!, { url: '/docs/json' }));
    expect(res.statusCode).toBe(200);
    const doc = res.json() as { paths: Record<string, Record<string, unknown>> };
    for (const r of routes) {
      const path = r.url.replace(/:(\w+)/g, '{$1}');
      expect(doc.paths[path]?.[r.method.toLowerCase()], `${r.method} ${r.url}`).toBeDefined();
    }
    const ui = await hub.app.inject(withToken(tokens[Object.values(CITY_USER)[0]!]!, { url: '/docs/' }));
    expect(ui.statusCode).toBe(200);
    // Without a login the document is refused with a code.
    const anonymous = await hub.app.inject({ method: 'GET', url: '/docs/json' });
    expect([anonymous.statusCode, anonymous.json().error?.code]).toEqual([401, 'AUTH_REQUIRED']);
  });
});

describe('every non-public route', () => {
  it('answers 401 AUTH_REQUIRED without a session', async () => {
    for (const r of routes.filter((x) => x.auth !== 'public')) {
      const res = await request(null, r, fill(r.url, r.scope));
      expect([res.statusCode, res.json().error?.code], `${r.method} ${r.url}`).toEqual([401, 'AUTH_REQUIRED']);
    }
  });

  it('answers 403 FORBIDDEN to a user without one of its roles', async () => {
    let checked = 0;
    for (const r of routes.filter((x) => Array.isArray(x.auth))) {
      const allowed = r.auth as readonly Role[];
      const outsider = ROLES.find((role) => !allowed.includes(role));
      if (!outsider) continue;
      const res = await request(CITY_USER[outsider], r, fill(r.url, r.scope), BODIES[`${r.method} ${r.url}`]?.());
      expect([res.statusCode, res.json().error?.code], `${r.method} ${r.url} as ${outsider}`).toEqual([403, 'FORBIDDEN']);
      checked++;
    }
    expect(checked).toBeGreaterThan(30);
  });
});

describe("a 宜州区 user cannot reach 南丹县's data on any route", () => {
  it('object routes answer OUT_OF_SCOPE; lists and exports leave it out', async () => {
    const seen: Record<string, number> = {};
    for (const r of routes.filter((x) => x.auth !== 'public' && !['self', 'none'].includes(x.scope ?? ''))) {
      const allowed: readonly Role[] = r.auth === 'any' ? ROLES : (r.auth as readonly Role[]);
      const role = allowed.includes('auditor') ? 'auditor' : allowed[0]!;
      const user = YZ_USER(role);
      const label = `${r.method} ${r.url} as ${user}`;
      const key = `${r.method} ${r.url}`;
      seen[r.scope!] = (seen[r.scope!] ?? 0) + 1;
      if (r.method !== 'GET' && !BODIES[key]) throw new Error(`add a sample body for ${key} to BODIES`);
      const url = fill(r.url, r.scope);
      const res = await request(user, r, url, BODIES[key]?.());
      if (r.scope === 'list') {
        // Unfiltered: nothing of 南丹县 in the answer.
        expect(res.statusCode, `${label}: ${res.body.slice(0, 200)}`).toBe(200);
        const text = await textOf(res);
        for (const needle of ['451221', ND_INSTITUTION, ND_WARNING, '南丹']) expect(text.includes(needle), `${label} leaks ${needle}`).toBe(false);
        // Asking for 南丹县 explicitly is refused.
        const asked = await request(user, r, `${url}${url.includes('?') ? '&' : '?'}county=451221`);
        expect([asked.statusCode, asked.json().error?.code], `${label} ?county=451221`).toEqual([403, 'OUT_OF_SCOPE']);
      } else if (key === 'POST /api/v1/warnings/bulk') {
        expect(res.json().results[0], label).toMatchObject({ ok: false, code: 'OUT_OF_SCOPE' });
      } else if (key === 'POST /api/v1/registry/requests' || key === 'POST /api/v1/registry/imports') {
        expect(res.statusCode, label).toBe(422);
        expect(JSON.stringify(res.json().report), label).toContain('超出管辖范围');
      } else {
        expect([res.statusCode, res.json().error?.code], `${label}: ${res.body.slice(0, 200)}`).toEqual([403, 'OUT_OF_SCOPE']);
      }
    }
    expect(Object.keys(seen).sort()).toEqual(['city', 'institution', 'list', 'request', 'warning']);
  });

  it('and nothing was changed on the 南丹县 warning by those attempts', async () => {
    const res = await hub.app.inject(withToken(tokens.leader!, { url: `/api/v1/warnings/${ND_WARNING}` }));
    expect(res.json().events.map((e: { type: string }) => e.type)).toEqual(['assigned']);
  });
});
