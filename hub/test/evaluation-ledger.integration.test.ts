/**
 * The deduction ledger's reconcile at scale-shaped edges (real chDB + Redis): a backlog worked
 * through in rounds, a severity that costs nothing, and incremental runs between full ones.
 * Warnings and their events are written straight into the store, as an import of earlier
 * years' filings would leave them.
 */
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Hub } from '../src/app.js';
import { DEFAULT_EVALUATION, monthOf, type EvaluationConfig } from '../src/evaluation/scoring.js';
import { EvaluationService } from '../src/evaluation/service.js';
import { param, sql } from '../src/store/sql.js';
import { login, startTestHub, testRedisUrl, withToken } from './helpers.js';
import { seedWarnings } from './seed.js';

let hub: Hub;
let redis: Redis;
const YZ = { institutionId: 'YZ-JYZ', county: '451203' };
/** 2026-09-10 10:00 China Standard Time: the month the backlog's warnings belong to. */
const SEP = Date.UTC(2026, 8, 10, 2, 0, 0);
const HOUR = 3_600_000;
let prefixes = 0;

function service(config: EvaluationConfig = DEFAULT_EVALUATION, events: { event: string; fields: Record<string, unknown> }[] = []) {
  const log = {
    info: (o: Record<string, unknown>) => events.push({ event: String(o.event), fields: o }),
    warn: () => undefined,
    error: () => undefined,
    debug: () => undefined,
  };
  return new EvaluationService({
    store: hub.store,
    registry: hub.registry,
    redis,
    prefix: `jgt-ledger-${process.pid}-${prefixes++}`,
    config,
    intervalMs: 3_600_000,
    log: log as never,
    reconcilePageRows: 10,
  });
}

/** A concluded warning's one event (the table takes what it is given), at `at`. */
async function conclude(ids: readonly string[], conclusion: 'confirmed' | 'false_alarm', at: number): Promise<void> {
  await hub.store.insert(
    'warning_events',
    ids.map((id) => ({
      id: `${id}#1`,
      warning_id: id,
      seq: 1,
      type: 'concluded',
      from_state: 'raised',
      to_state: 'concluded',
      actor: 'auditor-yz',
      role: 'auditor',
      at,
      assignee: 'auditor-yz',
      conclusion,
      escalated: 0,
      institution_id: YZ.institutionId,
      county: YZ.county,
      payload: '',
    })),
  );
}

async function ledgerOf(prefix: string): Promise<{ warning_id: string; kind: string; points: number }[]> {
  const rows = await hub.store.query<{ warning_id: string; kind: string; points: number }>(sql`
    SELECT warning_id, kind, points FROM evaluation_ledger WHERE startsWith(warning_id, ${param.String(prefix)}) ORDER BY warning_id, at`);
  return rows.map((r) => ({ warning_id: r.warning_id, kind: r.kind, points: Number(r.points) }));
}

beforeAll(async () => {
  ({ hub } = await startTestHub({ workflowIntervalMs: 3_600_000, evaluationIntervalMs: 3_600_000 }));
  redis = new Redis(testRedisUrl());
});

afterAll(async () => {
  await redis?.quit();
  await hub?.close();
});

describe('reconciling the deduction ledger', () => {
  it('works a backlog of conclusions through in rounds, one deduction per confirmed warning, and appends nothing the second time', async () => {
    const severities = ['high', 'medium', 'low'] as const;
    const ids = Array.from({ length: 25 }, (_, i) => `bk-${String(i).padStart(2, '0')}`);
    await seedWarnings(hub, ids.map((id, i) => ({ id, ...YZ, severity: severities[i % 3], occurredAt: SEP + i * 60_000, raisedAt: SEP + i * 60_000 })));
    await conclude(ids, 'confirmed', Date.now() - 48 * HOUR);
    const events: { event: string; fields: Record<string, unknown> }[] = [];
    const ev = service(DEFAULT_EVALUATION, events);
    expect(await ev.reconcile()).toEqual([monthOf(SEP)]);
    const ledger = await ledgerOf('bk-');
    expect(ledger.map((l) => l.warning_id)).toEqual(ids);
    expect(ledger.map((l) => [l.kind, l.points])).toEqual(ids.map((_, i) => ['deduct', DEFAULT_EVALUATION.severityPoints[severities[i % 3]!]]));
    // Rounds of 10: two full rounds reported as progress, then the last five.
    expect(events.filter((e) => e.event === 'evaluation.ledger_progress').map((e) => e.fields.deducted)).toEqual([10, 20]);
    expect(events.find((e) => e.event === 'evaluation.ledger')?.fields).toMatchObject({ deducted: 25, reversed: 0, full: true });
    expect(await ev.reconcile({ full: true })).toEqual([]);
    expect(await ledgerOf('bk-')).toHaveLength(25);
  });

  it('never appends for a severity configured to cost nothing', async () => {
    const ids = ['zero-1', 'zero-2', 'zero-3'];
    await seedWarnings(hub, ids.map((id) => ({ id, ...YZ, severity: 'low', occurredAt: SEP, raisedAt: SEP })));
    await conclude(ids, 'confirmed', Date.now() - 48 * HOUR);
    const ev = service({ ...DEFAULT_EVALUATION, severityPoints: { ...DEFAULT_EVALUATION.severityPoints, low: 0 } });
    await ev.reconcile({ full: true });
    await ev.reconcile({ full: true });
    expect(await ledgerOf('zero-')).toEqual([]);
  });

  it('between full runs reads only the warnings changed lately; a full run catches a change that arrived late', async () => {
    const ev = service();
    await ev.reconcile(); // the process's first run is full
    const OCT = Date.UTC(2026, 9, 12, 2, 0, 0);
    const NOV = Date.UTC(2026, 10, 12, 2, 0, 0);
    await seedWarnings(hub, [
      { id: 'inc-now', ...YZ, severity: 'high', occurredAt: OCT, raisedAt: OCT },
      { id: 'inc-late', ...YZ, severity: 'high', occurredAt: OCT, raisedAt: OCT },
      { id: 'inc-fa', ...YZ, severity: 'high', occurredAt: NOV, raisedAt: NOV },
    ]);
    await conclude(['inc-now'], 'confirmed', Date.now());
    // Concluded two hours ago but stored only now (an import, a hub whose writes were held up).
    await conclude(['inc-late'], 'confirmed', Date.now() - 2 * HOUR);
    await conclude(['inc-fa'], 'false_alarm', Date.now());
    // Incremental: the recent conclusion is deducted; the false alarm's month is returned for
    // its refresh although it appends nothing.
    expect((await ev.reconcile()).sort()).toEqual([monthOf(OCT), monthOf(NOV)]);
    expect(await ledgerOf('inc-')).toEqual([{ warning_id: 'inc-now', kind: 'deduct', points: 3 }]);
    await ev.reconcile({ full: true });
    expect(await ledgerOf('inc-')).toEqual([
      { warning_id: 'inc-late', kind: 'deduct', points: 3 },
      { warning_id: 'inc-now', kind: 'deduct', points: 3 },
    ]);
  });
});

describe("the administrator's recompute", () => {
  it('runs in the background with its progress, and a second request joins the running one', async () => {
    const ids = Array.from({ length: 25 }, (_, i) => `job-${String(i).padStart(2, '0')}`);
    await seedWarnings(hub, ids.map((id, i) => ({ id, ...YZ, severity: 'medium', occurredAt: SEP + i * 60_000, raisedAt: SEP + i * 60_000 })));
    await conclude(ids, 'confirmed', Date.now() - 48 * HOUR);
    const ev = service();
    const first = await ev.requestRefresh('admin', monthOf(SEP));
    expect(first.job).toMatchObject({ state: 'running', stateLabel: '进行中', requestedBy: 'admin', month: monthOf(SEP) });
    const second = await ev.requestRefresh('admin-2');
    expect(second.job.id).toBe(first.job.id);
    const [done, joined] = await Promise.all([first.done, second.done]);
    expect(joined.id).toBe(first.job.id);
    expect(joined.state).toBe('done');
    expect(done).toMatchObject({ state: 'done', stateLabel: '已完成', phase: 'done', phaseLabel: '完成' });
    // 25 new conclusions (and whatever earlier tests left) in rounds of 10: at least three rounds.
    expect(done.deducted).toBeGreaterThanOrEqual(25);
    expect(done.ledgerRounds).toBeGreaterThanOrEqual(3);
    expect(done.months).toContain(monthOf(SEP));
    expect(done.monthsDone).toBe(done.months.length);
    expect(done.institutions).toBeGreaterThan(0);
    expect(done.finishedAt).toBeGreaterThanOrEqual(done.startedAt);
    expect((await ledgerOf('job-')).map((l) => [l.warning_id, l.kind])).toEqual(ids.map((id) => [id, 'deduct']));
    // Any hub reads the same status; the next request starts a new job.
    expect(await ev.refreshJob()).toEqual(done);
    const next = await ev.requestRefresh('admin');
    expect(next.job.id).not.toBe(done.id);
    expect((await next.done).deducted).toBe(0);
  });

  it('reports a job whose hub stopped mid-way as failed, and lets a new one start', async () => {
    const ev = service();
    const { job, done } = await ev.requestRefresh('admin');
    await done;
    // What a hub that died during the ledger leaves: a running status and no live claim.
    const prefix = (ev as unknown as { deps: { prefix: string } }).deps.prefix;
    await redis.set(`${prefix}:eval:refresh-job`, JSON.stringify({ ...job, state: 'running', phase: 'ledger' }));
    expect(await ev.refreshJob()).toMatchObject({ id: job.id, state: 'failed', stateLabel: '失败', error: expect.stringContaining('中断') });
    const again = await ev.requestRefresh('admin');
    expect(again.job.id).not.toBe(job.id);
    expect((await again.done).state).toBe('done');
  });

  it('waits, reported as queued, while another process holds the evaluation lock', async () => {
    const ev = service();
    const prefix = (ev as unknown as { deps: { prefix: string } }).deps.prefix;
    await redis.set(`${prefix}:eval:lock`, 'another-hub', 'PX', 60_000);
    const { job, done } = await ev.requestRefresh('admin');
    await new Promise((r) => setTimeout(r, 300));
    expect(await ev.refreshJob()).toMatchObject({ id: job.id, state: 'running', phase: 'queued', phaseLabel: '等待正在进行的核对结束' });
    await redis.del(`${prefix}:eval:lock`);
    expect(await done).toMatchObject({ id: job.id, state: 'done' });
  });

  it('answers 200 with the result when it finishes within the wait, 202 with the progress otherwise', async () => {
    const admin = await login(hub, 'admin');
    const quick = await hub.app.inject(withToken(admin, { method: 'POST', url: '/api/v1/evaluation/refresh', payload: {} }));
    expect(quick.statusCode, quick.body).toBe(200);
    expect(quick.json()).toMatchObject({ job: { state: 'done', requestedBy: 'admin' }, months: [expect.stringMatching(/^\d{4}-\d{2}$/), expect.stringMatching(/^\d{4}-\d{2}$/)] });
    const started = await hub.app.inject(withToken(admin, { method: 'POST', url: '/api/v1/evaluation/refresh', payload: { waitMs: 0 } }));
    expect(started.statusCode, started.body).toBe(202);
    const id = started.json().job.id as string;
    expect(started.json().job).toMatchObject({ state: 'running', phaseLabel: expect.any(String) });
    let status: Record<string, unknown> = {};
    for (let i = 0; i < 200; i++) {
      const res = await hub.app.inject(withToken(admin, { method: 'GET', url: '/api/v1/evaluation/refresh' }));
      expect(res.statusCode, res.body).toBe(200);
      status = res.json().job;
      if (status.state !== 'running') break;
      await new Promise((r) => setTimeout(r, 100));
    }
    expect(status).toMatchObject({ id, state: 'done', phase: 'done' });
    const bad = await hub.app.inject(withToken(admin, { method: 'POST', url: '/api/v1/evaluation/refresh', payload: { waitMs: 'soon' } }));
    expect(bad.statusCode).toBe(400);
    expect(bad.json().error.code).toBe('BODY_INVALID');
    const leader = await login(hub, 'leader');
    const denied = await hub.app.inject(withToken(leader, { method: 'GET', url: '/api/v1/evaluation/refresh' }));
    expect(denied.statusCode).toBe(403);
  });
});
