/**
 * The life of a warning over HTTP against real Redis and chDB: automatic assignment by county,
 * the full lifecycle with evidence, leader review and close; optimistic concurrency (two actions
 * with the same expectedSeq → one 200, one 409, both audited, one event stored); illegal
 * transitions; bulk actions; overdue escalation pushed to the wall; sessions and the audit log.
 */
import crypto from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { io as connect, type Socket } from 'socket.io-client';
import type { Hub } from '../src/app.js';
import type { WallOverdue } from '../src/protocol/index.js';
import { param, sql } from '../src/store/sql.js';
import { parseCsv, readXlsx } from '../src/exports/table.js';
import { login, startTestHub, withToken } from './helpers.js';
import { listWarningsWithState } from '../src/workflow/repo.js';
import type { FreshWarning } from '../src/workflow/service.js';
import { seedWarnings } from './seed.js';

let hub: Hub;
const tokens: Record<string, string> = {};
const sockets: Socket[] = [];

const JCJ = { institutionId: 'JCJ-JYZ', county: '451202' };
const YZ = { institutionId: 'YZ-JYZ', county: '451203' };
const ND = { institutionId: 'ND-CGFS', county: '451221' };

async function call(user: string, method: 'GET' | 'POST', url: string, payload?: unknown) {
  return hub.app.inject(withToken(tokens[user]!, { method, url, ...(payload !== undefined ? { payload: payload as object } : {}) }));
}

async function act(user: string, id: string, body: Record<string, unknown>) {
  return call(user, 'POST', `/api/v1/warnings/${encodeURIComponent(id)}/actions`, body);
}

async function detail(user: string, id: string) {
  const res = await call(user, 'GET', `/api/v1/warnings/${encodeURIComponent(id)}`);
  expect(res.statusCode, res.body).toBe(200);
  return res.json();
}

beforeAll(async () => {
  // Sweeps are triggered by the tests, not the timer.
  ({ hub } = await startTestHub({ workflowIntervalMs: 3_600_000, evidenceMaxBytes: 64 * 1024 }));
  for (const u of ['auditor', 'auditor-yz', 'leader', 'admin', 'wall', 'rules']) tokens[u] = await login(hub, u);
  await seedWarnings(hub, [
    { id: 'w-life', ...JCJ, severity: 'high' },
    { id: 'w-race', ...YZ },
    { id: 'w-nd', ...ND },
    { id: 'w-bulk-1', ...JCJ },
    { id: 'w-bulk-2', ...JCJ },
    { id: 'w-bulk-3', ...JCJ },
    { id: 'w-yz-2', ...YZ },
  ]);
});

afterAll(async () => {
  for (const s of sockets) s.close();
  await hub?.close();
});

describe('sessions', () => {
  it('sets an HttpOnly SameSite=Lax cookie that authenticates like the Bearer token', async () => {
    const res = await hub.app.inject({ method: 'POST', url: '/api/v1/auth/login', payload: { username: 'leader', password: 'jianguan-demo' } });
    expect(res.statusCode).toBe(200);
    const cookie = String(res.headers['set-cookie']);
    expect(cookie).toMatch(/^jg_session=[A-Za-z0-9_-]+;/);
    expect(cookie).toMatch(/HttpOnly/);
    expect(cookie).toMatch(/SameSite=Lax/);
    const me = await hub.app.inject({ method: 'GET', url: '/api/v1/auth/me', headers: { cookie: cookie.split(';')[0]! } });
    expect(me.json()).toMatchObject({ username: 'leader', roles: ['leader'], scope: null });
  });

  it('locks a user name after repeated failures', async () => {
    const codes: string[] = [];
    for (let i = 0; i < 9; i++) {
      const r = await hub.app.inject({ method: 'POST', url: '/api/v1/auth/login', payload: { username: 'rules', password: `guess-${i}` } });
      codes.push(r.json().error.code);
    }
    expect(codes.slice(0, 8).every((c) => c === 'LOGIN_FAILED')).toBe(true);
    expect(codes[8]).toBe('LOGIN_LOCKED');
    const right = await hub.app.inject({ method: 'POST', url: '/api/v1/auth/login', payload: { username: 'rules', password: 'jianguan-demo' } });
    expect(right.statusCode).toBe(429);
  });

  it('refuses a wrong password with LOGIN_FAILED and ends a session on logout', async () => {
    const bad = await hub.app.inject({ method: 'POST', url: '/api/v1/auth/login', payload: { username: 'leader', password: 'nope' } });
    expect(bad.statusCode).toBe(401);
    expect(bad.json().error.code).toBe('LOGIN_FAILED');
    const t = await login(hub, 'auditor-yz');
    const me = await hub.app.inject(withToken(t, { url: '/api/v1/auth/me' }));
    expect(me.json()).toMatchObject({ username: 'auditor-yz', scope: '451203' });
    expect((await hub.app.inject(withToken(t, { method: 'POST', url: '/api/v1/auth/logout' }))).statusCode).toBe(200);
    const after = await hub.app.inject(withToken(t, { url: '/api/v1/auth/me' }));
    expect(after.statusCode).toBe(401);
    expect(after.json().error.code).toBe('AUTH_REQUIRED');
  });
});

describe('automatic assignment', () => {
  it('assigns new warnings to an auditor of their county, city-wide auditors otherwise', async () => {
    const res = await call('admin', 'POST', '/api/v1/workflow/sweep');
    expect(res.statusCode, res.body).toBe(200);
    expect(res.json().assigned).toBeGreaterThanOrEqual(7);
    expect((await detail('leader', 'w-race')).state).toMatchObject({ state: 'assigned', assignee: 'auditor-yz', seq: 1 });
    expect((await detail('leader', 'w-life')).state).toMatchObject({ state: 'assigned', assignee: 'auditor', seq: 1 });
    expect((await detail('leader', 'w-nd')).state).toMatchObject({ state: 'assigned', assignee: 'auditor' });
    const ev = (await detail('leader', 'w-race')).events;
    expect(ev).toHaveLength(1);
    expect(ev[0]).toMatchObject({ type: 'assigned', actor: 'system', role: 'system', label: '分派' });
  });
});

describe('automatic assignment of just-stored warnings', () => {
  it('assigns what the pipeline hands over without reading the warnings table, and never twice', async () => {
    const raisedAt = Date.now() - 60_000;
    await seedWarnings(hub, [{ id: 'w-fresh', ...YZ, raisedAt, ruleId: 'check.short_duration', severity: 'high' }]);
    const fresh: FreshWarning[] = [{ id: 'w-fresh', county: YZ.county, institutionId: YZ.institutionId, raisedAt, ruleId: 'check.short_duration', severity: 'high' }];
    // What the assignment rounds read about this warning (the detail pages in between, and the
    // hub's own background reads, are not counted).
    const store = hub.app.store;
    const query = store.query.bind(store);
    const read: string[] = [];
    let recording = false;
    const spy = vi.spyOn(store, 'query').mockImplementation((q) => {
      if (recording && JSON.stringify(q.params).includes('w-fresh')) read.push(q.sql);
      return query(q);
    });
    const round = async () => {
      recording = true;
      try {
        return await hub.app.supervision.workflow.assignFresh(fresh);
      } finally {
        recording = false;
      }
    };
    try {
      expect(await round()).toBe(1);
      expect((await detail('leader', 'w-fresh')).state).toMatchObject({ state: 'assigned', assignee: 'auditor-yz', seq: 1 });
      // A re-delivered batch hands the same warning over again: it is no longer raised.
      expect(await round()).toBe(0);
      expect((await detail('leader', 'w-fresh')).events).toHaveLength(1);
    } finally {
      spy.mockRestore();
    }
    // Each round read the warning's events (under its lock), and never the warnings table.
    expect(read.filter((q) => /FROM warning_events\s+WHERE warning_id IN/.test(q))).toHaveLength(2);
    expect(read.filter((q) => /\b(FROM|JOIN) (warnings|warning_current)\b/.test(q))).toEqual([]);
    // The event carried the warning's raise time, rule and severity: the auditor's queue, answered
    // from the state rows alone, finds it by them.
    const queue = (severity: string, from: number, to: number) =>
      listWarningsWithState(hub.store, { assignee: 'auditor-yz', states: ['assigned'], ruleId: 'check.short_duration', severity, from, to, limit: 10, offset: 0 });
    expect((await queue('high', raisedAt, raisedAt + 1)).items.map((w) => w.id)).toEqual(['w-fresh']);
    expect((await queue('low', raisedAt, raisedAt + 1)).total).toBe(0);
    expect((await queue('high', raisedAt - 60_000, raisedAt)).total).toBe(0);
  });
});

describe('the full lifecycle over HTTP', () => {
  it('acknowledge → verify → evidence → conclude → dispose → leader review → close', async () => {
    const id = 'w-life';
    const steps: [string, Record<string, unknown>][] = [
      ['auditor', { type: 'acknowledge' }],
      ['auditor', { type: 'start_verification', comment: '调取查验视频' }],
    ];
    let seq = 1;
    for (const [user, body] of steps) {
      const res = await act(user, id, { ...body, expectedSeq: seq });
      expect(res.statusCode, res.body).toBe(200);
      seq = res.json().state.seq;
    }
    // Evidence as base64 JSON.
    const content = Buffer.from('查验照片（测试）');
    const up = await call('auditor', 'POST', `/api/v1/warnings/${id}/evidence`, { name: '查验照片.jpg', mime: 'image/jpeg', contentBase64: content.toString('base64'), expectedSeq: seq });
    expect(up.statusCode, up.body).toBe(200);
    const sha = up.json().sha256 as string;
    expect(sha).toBe(crypto.createHash('sha256').update(content).digest('hex'));
    seq = up.json().state.seq;
    const down = await call('auditor', 'GET', `/api/v1/warnings/${id}/evidence/${sha}`);
    expect(down.statusCode).toBe(200);
    expect(down.rawPayload.equals(content)).toBe(true);

    for (const [user, body] of [
      ['auditor', { type: 'conclude', conclusion: 'confirmed', comment: '查验员未实际查验', refs: [sha] }],
      ['auditor', { type: 'dispose', disposal: ['lock_vehicle', 'suspend_account'] }],
      ['leader', { type: 'review', approve: true }],
      ['leader', { type: 'close' }],
    ] as const) {
      const res = await act(user, id, { ...body, expectedSeq: seq });
      expect(res.statusCode, res.body).toBe(200);
      seq = res.json().state.seq;
    }
    const d = await detail('auditor', id);
    expect(d.allowedActions).toEqual(['comment']);
    expect((await detail('leader', id)).allowedActions).toEqual(['reopen', 'comment']);
    expect(d.state).toMatchObject({ state: 'closed', conclusion: 'confirmed', disposal: ['lock_vehicle', 'suspend_account'], seq: 8 });
    expect(d.events.map((e: { type: string }) => e.type)).toEqual([
      'assigned', 'acknowledged', 'verification_started', 'evidence_attached', 'concluded', 'disposed', 'reviewed', 'closed',
    ]);
    expect(d.events[4].payload).toMatchObject({ conclusion: 'confirmed', refs: [sha] });
    expect(d.evidence).toEqual([expect.objectContaining({ sha256: sha, name: '查验照片.jpg', uploadedBy: 'auditor' })]);
    expect(d.transaction).toMatchObject({ institutionId: 'JCJ-JYZ', institutionName: expect.any(String) });
    expect(d.deadlines.acknowledgeBy).toBeGreaterThan(d.warning.raisedAt);
    // The derived state in ClickHouse (the view) agrees with the reducer.
    const [row] = await hub.store.query<{ state: string; seq: number; conclusion: string }>(
      sql`SELECT state, seq, conclusion FROM warning_current WHERE warning_id = ${param.String(id)}`,
    );
    expect(row).toMatchObject({ state: 'closed', conclusion: 'confirmed' });
    expect(Number(row!.seq)).toBe(8);
    const list = await call('auditor', 'GET', '/api/v1/warnings?state=closed');
    const closed = list.json().items.find((w: { id: string }) => w.id === id);
    // A closed warning has no deadline running any more.
    expect(closed).toMatchObject({ id, due: null });
    // One naming convention (camelCase), and what a queue row shows travels with the item:
    // the business number and the institution's name, not just codes.
    expect(closed).toMatchObject({ transactionId: d.transaction.id, lsh: d.transaction.lsh, institutionId: 'JCJ-JYZ', institutionName: d.transaction.institutionName, stateLabel: '已办结' });
    expect(closed.lsh).not.toBe('');
    expect(Object.keys(closed).filter((k) => k.includes('_'))).toEqual([]);
    expect(Object.keys(d.warning).filter((k) => k.includes('_'))).toEqual([]);
    expect(Object.keys(d.transaction).filter((k) => k.includes('_'))).toEqual([]);
  });

  it('refuses an illegal transition with INVALID_TRANSITION and a non-assignee with FORBIDDEN', async () => {
    const d = await detail('leader', 'w-nd');
    expect(d.allowedActions).toEqual(['assign', 'comment', 'evidence']);
    expect((await detail('auditor', 'w-nd')).allowedActions).toEqual(['acknowledge', 'comment', 'evidence']);
    const close = await act('leader', 'w-nd', { type: 'close', expectedSeq: d.state.seq });
    expect(close.statusCode).toBe(409);
    expect(close.json().error.code).toBe('INVALID_TRANSITION');
    expect(close.json().current).toMatchObject({ state: 'assigned' });
    const ack = await act('leader', 'w-nd', { type: 'acknowledge', expectedSeq: d.state.seq });
    expect(ack.statusCode).toBe(403);
    expect(ack.json().error.code).toBe('FORBIDDEN');
    const wall = await act('wall', 'w-nd', { type: 'comment', comment: 'x', expectedSeq: d.state.seq });
    expect(wall.statusCode).toBe(403);
    const bad = await act('auditor', 'w-nd', { type: 'teleport', expectedSeq: 1 });
    expect(bad.json().error.code).toBe('BODY_INVALID');
  });
});

describe('optimistic concurrency', () => {
  it('two actions with the same expectedSeq: one 200, one 409 with the current state; one event stored; both audited', async () => {
    const id = 'w-race';
    const before = await detail('auditor-yz', id);
    expect(before.state.seq).toBe(1);
    const [a, b] = await Promise.all([
      act('auditor-yz', id, { type: 'acknowledge', expectedSeq: 1 }),
      act('auditor-yz', id, { type: 'comment', comment: '同时备注', expectedSeq: 1 }),
    ]);
    const codes = [a.statusCode, b.statusCode].sort();
    expect(codes).toEqual([200, 409]);
    const loser = a.statusCode === 409 ? a : b;
    expect(loser.json().error.code).toBe('CONFLICT');
    expect(loser.json().current.seq).toBe(2);
    const after = await detail('auditor-yz', id);
    expect(after.events).toHaveLength(2);
    expect(after.state.seq).toBe(2);
    // Retrying with the state just returned succeeds: nothing is lost.
    const retryBody = loser === a ? { type: 'acknowledge' } : { type: 'comment', comment: '同时备注' };
    const retry = await act('auditor-yz', id, { ...retryBody, expectedSeq: 2 });
    expect(retry.statusCode, retry.body).toBe(200);
    const audit = await call('admin', 'GET', `/api/v1/audit?targetId=${id}&limit=20`);
    const rows = audit.json().items as { result: string; status: number; action: string }[];
    expect(rows.filter((r) => r.status === 409)).toHaveLength(1);
    expect(rows.filter((r) => r.result === 'ok').length).toBeGreaterThanOrEqual(2);
  });

  it('many concurrent writers never produce a gap or a duplicate seq', async () => {
    const id = 'w-yz-2';
    const res = await Promise.all(Array.from({ length: 8 }, (_, i) => act('auditor-yz', id, { type: 'comment', comment: `并发${i}`, expectedSeq: 1 })));
    expect(res.filter((r) => r.statusCode === 200)).toHaveLength(1);
    const rows = await hub.store.query<{ seq: number }>(sql`SELECT seq FROM warning_events WHERE warning_id = ${param.String(id)} ORDER BY seq`);
    expect(rows.map((r) => Number(r.seq))).toEqual([1, 2]);
  });
});

describe('scope', () => {
  it("a 宜州区 auditor cannot read or act on 南丹县's warnings and lists only their county", async () => {
    const get = await call('auditor-yz', 'GET', '/api/v1/warnings/w-nd');
    expect(get.statusCode).toBe(403);
    expect(get.json().error.code).toBe('OUT_OF_SCOPE');
    const post = await act('auditor-yz', 'w-nd', { type: 'comment', comment: 'x', expectedSeq: 1 });
    expect(post.json().error.code).toBe('OUT_OF_SCOPE');
    const list = await call('auditor-yz', 'GET', '/api/v1/warnings?limit=1000');
    const counties = new Set((list.json().items as { county: string }[]).map((w) => w.county));
    expect([...counties]).toEqual(['451203']);
    const other = await call('auditor-yz', 'GET', '/api/v1/warnings?county=451221');
    expect(other.json().error.code).toBe('OUT_OF_SCOPE');
  });

  it('filters by time range and severity', async () => {
    const recent = await call('auditor', 'GET', `/api/v1/warnings?from=${Date.now() - 3_600_000}&severity=high&limit=1000`);
    expect(recent.json().items.map((w: { id: string }) => w.id)).toContain('w-life');
    expect(recent.json().items.every((w: { severity: string }) => w.severity === 'high')).toBe(true);
    const old = await call('auditor', 'GET', `/api/v1/warnings?to=${Date.now() - 3_600_000}`);
    expect(old.json().total).toBe(0);
  });

  it('assignee=me lists my own work', async () => {
    const res = await call('auditor-yz', 'GET', '/api/v1/warnings?assignee=me');
    const items = res.json().items as { id: string; assignee: string; state: string; due: { kind: string; dueAt: number } | null }[];
    expect(items.length).toBeGreaterThan(0);
    expect(items.every((w) => w.assignee === 'auditor-yz')).toBe(true);
    // Each open item carries the deadline the detail view computes: the queue needs no second request.
    for (const w of items.slice(0, 5)) {
      const d = await detail('auditor-yz', w.id);
      const open = ['raised', 'assigned', 'acknowledged', 'verifying'].includes(d.state.state);
      const expected =
        d.deadlines.acknowledgeBy !== null && ['raised', 'assigned'].includes(d.state.state)
          ? { kind: 'acknowledge', dueAt: d.deadlines.acknowledgeBy }
          : open
            ? { kind: 'verify', dueAt: d.deadlines.verifyBy }
            : null;
      expect(w.due).toEqual(expected);
    }
  });
});

describe('bulk actions', () => {
  it('answers per item: re-assigned, stale seq, not found', async () => {
    const res = await call('leader', 'POST', '/api/v1/warnings/bulk', {
      action: { type: 'assign', assignee: 'leader' },
      items: [
        { id: 'w-bulk-1', expectedSeq: 1 },
        { id: 'w-bulk-2', expectedSeq: 0 },
        { id: 'w-nope', expectedSeq: 0 },
      ],
    });
    expect(res.statusCode, res.body).toBe(200);
    const r = res.json();
    expect(r).toMatchObject({ ok: 1, failed: 2 });
    expect(r.results.map((x: { ok: boolean; code?: string }) => (x.ok ? 'ok' : x.code))).toEqual(['ok', 'CONFLICT', 'NOT_FOUND']);
    expect(r.results[0].state).toMatchObject({ assignee: 'leader', state: 'assigned' });
  });

  it('bulk acknowledge by the assignee', async () => {
    const res = await call('auditor', 'POST', '/api/v1/warnings/bulk', {
      action: { type: 'acknowledge' },
      items: [
        { id: 'w-bulk-2', expectedSeq: 1 },
        { id: 'w-bulk-3', expectedSeq: 1 },
      ],
    });
    expect(res.json()).toMatchObject({ ok: 2, failed: 0 });
  });
});

describe('evidence uploads', () => {
  it('accepts multipart, and refuses files over JG_EVIDENCE_MAX_BYTES with 413', async () => {
    const boundary = '----jgev';
    const multipart = (content: Buffer, seq: number) =>
      Buffer.concat([
        Buffer.from(`--${boundary}\r\nContent-Disposition: form-data; name="expectedSeq"\r\n\r\n${seq}\r\n--${boundary}\r\nContent-Disposition: form-data; name="file"; filename="现场.png"\r\nContent-Type: image/png\r\n\r\n`),
        content,
        Buffer.from(`\r\n--${boundary}--\r\n`),
      ]);
    const headers = { authorization: `Bearer ${tokens.auditor}`, 'content-type': `multipart/form-data; boundary=${boundary}` };
    const ok = await hub.app.inject({ method: 'POST', url: '/api/v1/warnings/w-bulk-3/evidence', payload: multipart(Buffer.from('png-bytes'), 2), headers });
    expect(ok.statusCode, ok.body).toBe(200);
    expect(ok.json().state.evidence).toEqual([expect.objectContaining({ name: '现场.png', mime: 'image/png', size: 9 })]);
    const big = await hub.app.inject({ method: 'POST', url: '/api/v1/warnings/w-bulk-3/evidence', payload: multipart(Buffer.alloc(100 * 1024, 1), 3), headers });
    expect(big.statusCode).toBe(413);
    const bigJson = await call('auditor', 'POST', '/api/v1/warnings/w-bulk-3/evidence', { name: 'a.bin', contentBase64: Buffer.alloc(100 * 1024, 1).toString('base64'), expectedSeq: 3 });
    expect([bigJson.statusCode, bigJson.json().error.code]).toEqual([413, 'PAYLOAD_TOO_LARGE']);
    expect((await detail('auditor', 'w-bulk-3')).state.seq).toBe(3);
  });
});

describe('deadlines', () => {
  it('escalates an overdue warning once (超期督办) and tells the wall', async () => {
    const wall = connect(`${hub.url}/wall`, { transports: ['websocket'], forceNew: true });
    sockets.push(wall);
    await new Promise<void>((resolve) => wall.once('wall.snapshot', () => resolve()));
    const got = new Promise<WallOverdue[]>((resolve) => wall.on('warning.overdue', (items: WallOverdue[]) => items.some((i) => i.id === 'w-late') && resolve(items)));
    // High severity, raised ten days ago and never acknowledged.
    await seedWarnings(hub, [{ id: 'w-late', ...YZ, severity: 'high', raisedAt: Date.now() - 10 * 86_400_000 }]);
    const first = await call('admin', 'POST', '/api/v1/workflow/sweep');
    expect(first.json().escalated).toBeGreaterThanOrEqual(1);
    const items = await got;
    const mine = items.find((i) => i.id === 'w-late')!;
    expect(mine).toMatchObject({ kind: 'acknowledge', county: '451203', countyName: '宜州区', institutionName: '宜州区机动车检测站', assignee: 'auditor-yz' });
    const d = await detail('auditor-yz', 'w-late');
    expect(d.events.map((e: { type: string }) => e.type)).toEqual(['assigned', 'escalated']);
    expect(d.state.escalated).toBe(true);
    const second = await call('admin', 'POST', '/api/v1/workflow/sweep');
    expect(second.json().escalated).toBe(0);
    const overdue = await call('auditor-yz', 'GET', '/api/v1/warnings?overdue=true');
    expect(overdue.json().items.map((w: { id: string }) => w.id)).toEqual(['w-late']);
  });

  it('makes a requested sweep after the one in progress rather than answering 0 for it', async () => {
    const raisedAt = Date.now() - 10 * 86_400_000;
    await seedWarnings(hub, [{ id: 'w-queued', ...YZ, severity: 'high', raisedAt }]);
    const workflow = hub.supervision.workflow;
    // The first pass judges deadlines as of a minute after the warning was raised: nothing late.
    const first = workflow.sweep(raisedAt + 60_000);
    // Requests made while it runs wait for it, then share one pass of their own.
    const second = workflow.sweep();
    const third = workflow.sweep();
    expect(third).toBe(second);
    expect(second).not.toBe(first);
    const [a, b] = await Promise.all([first, second]);
    expect(a.escalated).toBe(0);
    expect(b.escalated).toBeGreaterThanOrEqual(1);
    expect((await detail('auditor-yz', 'w-queued')).state.escalated).toBe(true);
    // Nothing queued any more: the next request runs at once.
    expect(await workflow.sweep()).toEqual({ assigned: 0, escalated: 0 });
  });
});

describe('audit log', () => {
  it('records logins and every action, filterable, only for system administrators, exportable', async () => {
    const denied = await call('leader', 'GET', '/api/v1/audit');
    expect(denied.statusCode).toBe(403);
    const logins = await call('admin', 'GET', '/api/v1/audit?action=auth.login&limit=100');
    const rows = logins.json().items as { actor: string; result: string; ip: string }[];
    expect(rows.some((r) => r.actor === 'leader' && r.result === 'denied')).toBe(true);
    expect(rows.some((r) => r.actor === 'auditor-yz' && r.result === 'ok' && r.ip.length > 0)).toBe(true);
    const acts = await call('admin', 'GET', '/api/v1/audit?action=warning.&targetId=w-life');
    expect(acts.json().items.map((r: { action: string }) => r.action).sort()).toEqual(
      ['warning.acknowledge', 'warning.close', 'warning.conclude', 'warning.dispose', 'warning.evidence', 'warning.review', 'warning.start_verification'].sort(),
    );
    const csv = await call('admin', 'GET', '/api/v1/audit.csv?targetId=w-life');
    const table = parseCsv(csv.body);
    expect(table[0]!.slice(0, 3)).toEqual(['时间', '操作人', '角色']);
    expect(table).toHaveLength(8);
    const xlsx = await call('admin', 'GET', '/api/v1/audit.xlsx?targetId=w-life');
    const sheet = await readXlsx(xlsx.rawPayload);
    expect(sheet).toEqual(table.map((r) => r.map((c) => c)));
  });

  it('filters by a group of action codes, exactly (预警处置 and 批量处置 on the audit screen)', async () => {
    const steps = ['warning.acknowledge', 'warning.start_verification', 'warning.conclude', 'warning.dispose', 'warning.review', 'warning.close'];
    const single = await call('admin', 'GET', `/api/v1/audit?actions=${steps.join(',')}&targetId=w-life`);
    expect(single.statusCode, single.body).toBe(200);
    expect(single.json().items.map((r: { action: string }) => r.action).sort()).toEqual([...steps].sort());
    const bulk = await call('admin', 'GET', '/api/v1/audit?actions=warning.bulk.acknowledge,warning.bulk.start_verification,warning.bulk.conclude&limit=100');
    const codes = new Set(bulk.json().items.map((r: { action: string }) => r.action));
    expect(codes.size).toBeGreaterThan(0);
    for (const c of codes) expect(String(c)).toMatch(/^warning\.bulk\./);
    // Exact codes, not prefixes: `warning.bulk` is not `warning.bulk.acknowledge`.
    expect((await call('admin', 'GET', '/api/v1/audit?actions=warning.bulk&limit=100')).json().items.every((r: { action: string }) => r.action === 'warning.bulk')).toBe(true);
    expect((await call('admin', 'GET', `/api/v1/audit?actions=${Array.from({ length: 101 }, (_, i) => `a.${i}`).join(',')}`)).statusCode).toBe(400);
    // The export takes the same filter.
    const sheet = await readXlsx((await call('admin', 'GET', `/api/v1/audit.xlsx?actions=${steps.join(',')}&targetId=w-life`)).rawPayload);
    expect(sheet).toHaveLength(steps.length + 1);
  });

  it('exports names: the action, the kind of object, the person and the detail in words', async () => {
    const sheet = await readXlsx((await call('admin', 'GET', '/api/v1/audit.xlsx?targetId=w-life')).rawPayload);
    const head = sheet[0]!;
    const rows = sheet.slice(1).map((r) => Object.fromEntries(head.map((h, i) => [h, r[i]])));
    const conclude = rows.find((r) => r['操作代码'] === 'warning.conclude')!;
    expect(conclude).toMatchObject({ 操作: '预警核查结论', 对象类型: '预警', 对象: 'w-life', 操作人: '市级核查员（auditor）', 结果: '成功' });
    expect(String(conclude['详情'])).toContain('结论：');
    expect(String(conclude['详情'])).not.toMatch(/[{}"]/);
    for (const r of rows) {
      expect(String(r['操作']), String(r['操作代码'])).toMatch(/\p{Script=Han}/u);
      expect(r['对象类型']).toBe('预警');
      expect(String(r['操作人'])).not.toMatch(/^[a-z-]+$/);
    }
  });

  it('has every state-changing route declare its audit code, and every code named', async () => {
    const { registeredRoutes } = await import('../src/auth/plugin.js');
    const { AUDIT_ACTIONS } = await import('../src/protocol/index.js');
    const routes = registeredRoutes(hub.app).filter((r) => r.url.startsWith('/api/') && ['POST', 'PUT', 'PATCH', 'DELETE'].includes(r.method));
    expect(routes.length).toBeGreaterThan(20);
    // A route without a code is audited as `METHOD /path`: the screen could only show the path.
    expect(routes.filter((r) => r.audit === undefined).map((r) => `${r.method} ${r.url}`)).toEqual([]);
    expect(routes.filter((r) => typeof r.audit === 'string' && !AUDIT_ACTIONS.has(r.audit)).map((r) => `${r.method} ${r.url}: ${String(r.audit)}`)).toEqual([]);
  });
});

describe('exports name people and severities', () => {
  it('writes the assignee of a warning by display name, with the username', async () => {
    const sheet = await readXlsx((await call('leader', 'GET', '/api/v1/warnings.xlsx?institution=JCJ-JYZ')).rawPayload);
    const col = sheet[0]!.indexOf('核查人');
    const life = sheet.find((r) => r[0] === 'w-life')!;
    expect(life[col]).toBe('市级核查员（auditor）');
    expect(sheet[0]![sheet[0]!.indexOf('严重程度')]).toBe('严重程度');
    expect(life[sheet[0]!.indexOf('严重程度')]).toBe('高');
  });
});
