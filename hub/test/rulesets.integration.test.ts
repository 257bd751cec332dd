/**
 * Rule-set release on a real hub: a draft that changes two thresholds, maker-checker approval,
 * a backtest on a seeded range whose diff matches a hand count (and its CSV), the diff-threshold
 * gate with its recorded override, and the switch at the effective time — batches received
 * before it use the old set, batches after it the new one, and every warning and transaction
 * records the version. A second RuleSetService (another hub replica) converges on a Redis signal.
 */
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEFAULT_PACK, type Transaction } from '@jianguan/rules';
import type { Hub } from '../src/app.js';
import { RuleSetService } from '../src/rulesets/service.js';
import { transactionRow } from '../src/store/repo.js';
import { param, sql } from '../src/store/sql.js';
import { checkTxn, login, startTestHub, TEST_COLLECTOR, testRedisUrl, withToken } from './helpers.js';
import { latestDoneBacktest } from '../src/backtest/repo.js';

let hub: Hub;
const tokens: Record<string, string> = {};
let builtin = '';
let draft = '';
let backtestId = '';
let replica: RuleSetService;
let replicaRedis: Redis;

/** Seeded day: Wednesday 2026-11-18 10:00 China Standard Time. */
const DAY = Date.UTC(2026, 10, 18, 2, 0, 0);
const DURATIONS = [600, 100, 200, 300, 400]; // seconds, by i % 5
const N = 30;

/** Check i (1…N): duration DURATIONS[i % 5]; business number L<(i−1) % 10>, so each is checked three times. */
function seeded(i: number): Transaction {
  const at = DAY + i * 60_000;
  return checkTxn(1000 + i, { occurredAt: at, startedAt: at, endedAt: at + DURATIONS[i % 5]! * 1000, lsh: `L${(i - 1) % 10}` });
}

function as(user: string, opts: Parameters<typeof withToken>[1]) {
  return hub.app.inject(withToken(tokens[user]!, opts));
}

async function waitFor<T>(fn: () => Promise<T | undefined> | T | undefined, ms = 20_000): Promise<T> {
  const until = Date.now() + ms;
  for (;;) {
    const v = await fn();
    if (v !== undefined) return v;
    if (Date.now() > until) throw new Error('timed out waiting');
    await new Promise((r) => setTimeout(r, 50));
  }
}

beforeAll(async () => {
  ({ hub } = await startTestHub({ ruleSetMaxRuleChange: 15, ruleSetPollMs: 60_000, backtestPageSize: 7 }));
  for (const u of ['rules', 'admin', 'leader']) tokens[u] = await login(hub, u);
  // A second rule administrator, to show approval needs another person, not another role.
  const created = await as('admin', { method: 'POST', url: '/api/v1/users', payload: { username: 'rules2', displayName: '规则复核员', roles: ['rule_admin'], scope: null, password: 'jianguan-test-pw' } });
  expect(created.statusCode, created.body).toBe(201);
  tokens.rules2 = await login(hub, 'rules2', 'jianguan-test-pw');
  // Every other row as stored before migration 021 (no payload): the backtest rebuilds it from its columns.
  const rows = Array.from({ length: N }, (_, k) => {
    const row = transactionRow(seeded(k + 1), { batchId: 'seed', county: '451202', ruleSet: 'seed', warningCount: 0 });
    return k % 2 === 0 ? { ...row, payload: '' } : row;
  });
  await hub.store.insert('transactions', rows);
  builtin = hub.rulesets.versionAt();
  replicaRedis = new Redis(testRedisUrl());
  replica = new RuleSetService({
    store: hub.store,
    redis: replicaRedis,
    prefix: hub.config.queuePrefix,
    log: hub.app.log,
    pollMs: 60_000,
    thresholds: { maxTotalChange: 0.2, maxRuleChange: 15, requireBacktest: true },
    latestBacktest: (version, live) => latestDoneBacktest(hub.store, version, live),
  });
  await replica.start();
});

afterAll(async () => {
  await replica?.close();
  await replicaRedis?.quit();
  await hub?.close();
});

describe('drafts and maker-checker', () => {
  it('starts from the built-in pack stored as the active baseline', async () => {
    expect(builtin).toMatch(/^pack-\d{4}\.\d{2}-[0-9a-f]{8}$/);
    const res = await as('leader', { url: '/api/v1/rulesets' });
    expect(res.statusCode, res.body).toBe(200);
    expect(res.json()).toMatchObject({ inForce: builtin, items: [{ version: builtin, status: 'active', seq: 0, inForce: true }] });
  });

  it('drafts a change of two thresholds, with a diff summary', async () => {
    const res = await as('rules', {
      method: 'POST',
      url: '/api/v1/rulesets',
      payload: { params: { 'check.short_duration': { minSeconds: 450 }, 'check.repeated_checks': { threshold: 4 } }, note: '查验时长阈值调整' },
    });
    expect(res.statusCode, res.body).toBe(201);
    const body = res.json();
    draft = body.version;
    expect(draft).toMatch(/^rs1-[0-9a-f]{8}$/);
    expect(body).toMatchObject({ status: 'draft', createdBy: 'rules', baseVersion: builtin, inForce: false });
    expect(body.diff.changed).toEqual([
      expect.objectContaining({ ruleId: 'check.short_duration', params: [{ param: 'minSeconds', from: 180, to: 450 }], definition: false }),
      expect.objectContaining({ ruleId: 'check.repeated_checks', params: [{ param: 'threshold', from: 3, to: 4 }], definition: false }),
    ]);
    const bad = await as('rules', { method: 'POST', url: '/api/v1/rulesets', payload: { params: { 'check.short_duration': { minSeconds: 'soon' } } } });
    expect([bad.statusCode, bad.json().error.code]).toEqual([422, 'RULESET_INVALID']);
    const leader = await as('leader', { method: 'POST', url: '/api/v1/rulesets', payload: { params: {} } });
    expect([leader.statusCode, leader.json().error.code]).toEqual([403, 'FORBIDDEN']);
  });

  it('refuses approval by the author, by a leader, and without a backtest', async () => {
    const own = await as('rules', { method: 'POST', url: `/api/v1/rulesets/${draft}/approve`, payload: {} });
    expect([own.statusCode, own.json().error.code]).toEqual([403, 'SAME_APPROVER']);
    const leader = await as('leader', { method: 'POST', url: `/api/v1/rulesets/${draft}/approve`, payload: {} });
    expect([leader.statusCode, leader.json().error.code]).toEqual([403, 'FORBIDDEN']);
    const untested = await as('rules2', { method: 'POST', url: `/api/v1/rulesets/${draft}/approve`, payload: {} });
    expect([untested.statusCode, untested.json().error.code]).toEqual([409, 'RULESET_DIFF_TOO_LARGE']);
    expect(untested.json().error.message).toContain('未对现行规则集完成回测');
  });
});

describe('backtest', () => {
  it('runs as a job with progress and diffs the seeded range exactly', async () => {
    const res = await as('rules', { method: 'POST', url: `/api/v1/rulesets/${draft}/backtest`, payload: { from: DAY, to: DAY + 86_400_000 } });
    expect(res.statusCode, res.body).toBe(202);
    backtestId = res.json().id;
    expect(res.json()).toMatchObject({ status: 'queued', version: draft, liveVersion: builtin });
    const progress = new Set<number>();
    const done = await waitFor(async () => {
      const b = (await as('leader', { url: `/api/v1/backtests/${backtestId}` })).json();
      progress.add(b.progress);
      return b.status === 'done' || b.status === 'failed' ? b : undefined;
    });
    expect(done.status, done.error).toBe('done');
    expect(done.progress).toBe(100);
    expect([...progress].every((p) => p >= 0 && p <= 100)).toBe(true);
    const job = await hub.backtests.queue.getJob(backtestId);
    expect(job?.progress).toBe(100);

    // By hand: live minSeconds 180 flags the 100 s checks (i % 5 = 1: 6 of them); the draft's 450
    // flags 100, 200, 300 and 400 s (24): 18 added. Live flags the third check of each of the 10
    // business numbers (threshold 3); the draft's 4 never fires: 10 removed.
    expect(done.transactions).toBe(N);
    const byRule = Object.fromEntries(done.result.byRule.map((l: { key: string }) => [l.key, l]));
    expect(byRule['check.short_duration']).toMatchObject({ live: 6, draft: 24, added: 18, removed: 0 });
    expect(byRule['check.repeated_checks']).toMatchObject({ live: 10, draft: 0, added: 0, removed: 10 });
    for (const [id, l] of Object.entries(byRule) as [string, { added: number; removed: number }][]) {
      if (!['check.short_duration', 'check.repeated_checks'].includes(id)) expect([id, l.added, l.removed]).toEqual([id, 0, 0]);
    }
    expect(done).toMatchObject({ added: 18, removed: 10 });
    expect(done.draftTotal - done.liveTotal).toBe(8);
    expect(done.result.byInstitution).toEqual([expect.objectContaining({ key: 'JCJ-JYZ', name: '金城江区机动车检测站', added: 18, removed: 10 })]);
    const ex = byRule['check.short_duration'].examples;
    expect(ex.length).toBe(5);
    expect(ex[0]).toMatchObject({ change: 'added', transactionId: seeded(2).id, explanation: '查验用时200秒，少于阈值450秒' });
    expect(byRule['check.repeated_checks'].examples[0]).toMatchObject({ change: 'removed', transactionId: seeded(21).id });

    const list = await as('leader', { url: `/api/v1/rulesets/${draft}/backtests` });
    expect(list.json().items.map((b: { id: string }) => b.id)).toEqual([backtestId]);
  });

  it('exports the diff as CSV (UTF-8 BOM, Chinese headers) that parses back', async () => {
    const res = await as('leader', { url: `/api/v1/backtests/${backtestId}/export?format=csv` });
    expect(res.statusCode, res.body).toBe(200);
    expect(res.headers['content-type']).toMatch(/text\/csv/);
    expect(res.rawPayload.subarray(0, 3)).toEqual(Buffer.from([0xef, 0xbb, 0xbf]));
    const lines = res.body.replace(/^\uFEFF/, '').trimEnd().split('\r\n');
    // A minimal RFC 4180 parse: fields may be quoted with doubled quotes inside.
    const parse = (line: string) => [...line.matchAll(/(?:^|,)(?:"((?:[^"]|"")*)"|([^,]*))/g)].map((m) => (m[1] !== undefined ? m[1].replaceAll('""', '"') : m[2]!));
    expect(parse(lines[0]!)).toEqual(['维度', '编号', '名称', '现行规则集预警数', '新规则集预警数', '新增', '减少', '示例']);
    const rows = lines.slice(1).map(parse);
    expect(rows.find((r) => r[1] === 'check.short_duration')!.slice(0, 7)).toEqual(['规则', 'check.short_duration', '查验用时过短', '6', '24', '18', '0']);
    expect(rows.find((r) => r[1] === 'check.repeated_checks')!.slice(5, 7)).toEqual(['0', '10']);
    expect(rows.find((r) => r[0] === '机构')!.slice(1, 3)).toEqual(['JCJ-JYZ', '金城江区机动车检测站']);
    expect(rows[0]![0]).toBe('合计');
  });
});

describe('release', () => {
  let effectiveAt = 0;

  it('refuses a diff over the threshold unless overridden with a reason, and records the override', async () => {
    const plain = await as('rules2', { method: 'POST', url: `/api/v1/rulesets/${draft}/approve`, payload: {} });
    expect([plain.statusCode, plain.json().error.code]).toEqual([409, 'RULESET_DIFF_TOO_LARGE']);
    expect(plain.json().error.message).toContain('规则check.short_duration（查验用时过短）新增18条、减少0条，超过阈值15条');
    const noReason = await as('rules2', { method: 'POST', url: `/api/v1/rulesets/${draft}/approve`, payload: { override: true } });
    expect([noReason.statusCode, noReason.json().error.code]).toEqual([409, 'RULESET_DIFF_TOO_LARGE']);

    effectiveAt = Date.now() + 2500;
    const ok = await as('rules2', { method: 'POST', url: `/api/v1/rulesets/${draft}/approve`, payload: { effectiveAt, override: true, reason: '查验时长标准调整，已人工复核回测差异' } });
    expect(ok.statusCode, ok.body).toBe(200);
    expect(ok.json()).toMatchObject({ status: 'approved', approvedBy: 'rules2', effectiveAt, override: true, overrideReason: '查验时长标准调整，已人工复核回测差异', backtestId, inForce: false });
    expect(ok.json().exceeded.length).toBeGreaterThan(0);
    const again = await as('admin', { method: 'POST', url: `/api/v1/rulesets/${draft}/approve`, payload: {} });
    expect([again.statusCode, again.json().error.code]).toEqual([409, 'RULESET_NOT_DRAFT']);
    const audit = await as('admin', { url: '/api/v1/audit?limit=200' });
    const row = audit.json().items.find((a: { action: string; result: string }) => a.action === 'ruleset.approve' && a.result === 'ok');
    expect(row).toMatchObject({ actor: 'rules2', targetId: draft });
    expect(row.detail).toContain('已人工复核回测差异');
  });

  it('does not switch before the effective time; every hub replica learns the schedule', async () => {
    expect(Date.now()).toBeLessThan(effectiveAt);
    expect(hub.rulesets.versionAt()).toBe(builtin);
    expect(hub.rulesets.versionAt(effectiveAt)).toBe(draft);
    // The replica polls once a minute: it learns of the approval from the Redis signal.
    await waitFor(() => (replica.versionAt(effectiveAt) === draft ? true : undefined), 5000);
    expect(replica.versionAt()).toBe(builtin);
    const cur = (await as('leader', { url: '/api/v1/rulesets/current' })).json();
    expect(cur.inForce.version).toBe(builtin);
    expect(cur.scheduled.map((s: { version: string }) => s.version)).toEqual([draft]);

    // A 400 s check is fine under 180 s, short under 450 s: the batch received now uses the old set.
    const before = checkTxn(1);
    await hub.queue.submit({ batchId: `${TEST_COLLECTOR.collectorId}:1-1`, collectorId: TEST_COLLECTOR.collectorId, receivedAt: Date.now(), records: [before] }, 30_000);
    const rows = await hub.store.query<{ rule_set: string }>(sql`SELECT rule_set FROM transactions FINAL WHERE id = ${param.String(before.id)}`);
    expect(rows.map((r) => r.rule_set)).toEqual([builtin]);
    const w = await hub.store.query<{ rule_id: string }>(sql`SELECT rule_id FROM warnings FINAL WHERE transaction_id = ${param.String(before.id)}`);
    expect(w.map((r) => r.rule_id)).not.toContain('check.short_duration');
  });

  it('after the effective time new batches use the new set and their warnings carry its version', async () => {
    await new Promise((r) => setTimeout(r, Math.max(0, effectiveAt - Date.now() + 20)));
    expect(hub.rulesets.versionAt()).toBe(draft);
    expect(replica.versionAt()).toBe(draft);
    const after = checkTxn(2);
    await hub.queue.submit({ batchId: `${TEST_COLLECTOR.collectorId}:2-2`, collectorId: TEST_COLLECTOR.collectorId, receivedAt: Date.now(), records: [after] }, 30_000);
    const w = await hub.store.query<{ rule_id: string; rule_set: string; explanation: string }>(
      sql`SELECT rule_id, rule_set, explanation FROM warnings FINAL WHERE transaction_id = ${param.String(after.id)}`,
    );
    expect(w).toEqual([{ rule_id: 'check.short_duration', rule_set: draft, explanation: '查验用时400秒，少于阈值450秒' }]);
    const t = await hub.store.query<{ rule_set: string }>(sql`SELECT rule_set FROM transactions FINAL WHERE id = ${param.String(after.id)}`);
    expect(t.map((r) => r.rule_set)).toEqual([draft]);
    expect((await as('leader', { url: '/api/v1/rules' })).json().version).toBe(draft);

    // Bookkeeping: the new set is marked active, the baseline retired.
    await hub.rulesets.housekeeping();
    const list = (await as('leader', { url: '/api/v1/rulesets' })).json();
    const status = Object.fromEntries(list.items.map((i: { version: string; status: string }) => [i.version, i.status]));
    expect(status).toEqual({ [draft]: 'active', [builtin]: 'retired' });
    expect(list.inForce).toBe(draft);
    const retire = await as('admin', { method: 'POST', url: `/api/v1/rulesets/${draft}/retire` });
    expect([retire.statusCode, retire.json().error.code]).toEqual([409, 'INVALID_TRANSITION']);
  });
});

describe('a software upgrade: the code carries newer rule definitions than those in force', () => {
  it('says so, and drafts them keeping the deployment\'s parameter tuning', async () => {
    // A tuned set in force (parameters only): the definitions are still this code's.
    let list = (await as('leader', { url: '/api/v1/rulesets' })).json();
    expect(list.builtin).toEqual({ version: builtin, current: true, pending: null });
    // The go-live check says the same (a new deployment runs the built-in pack).
    const rulesItem = async () => ((await as('admin', { url: '/api/v1/readiness' })).json().items as { key: string }[]).find((i) => i.key === 'rules');
    expect(await rulesItem()).toMatchObject({ status: 'ok', counts: { current: 1, pending: 0 }, subjects: [] });

    // The set an older release left in force: one rule worded differently, a threshold tuned.
    const older = DEFAULT_PACK.map((d) => (d.id === 'check.short_duration' ? { ...d, explain: { too_short: '查验仅{seconds}秒（阈值{minSeconds}秒）' } } : d));
    const drafted = await as('rules', { method: 'POST', url: '/api/v1/rulesets', payload: { definitions: older, params: { 'check.short_duration': { minSeconds: 500 } }, note: '上一版软件的规则' } });
    expect(drafted.statusCode, drafted.body).toBe(201);
    const old = drafted.json().version as string;
    const approved = await as('rules2', { method: 'POST', url: `/api/v1/rulesets/${old}/approve`, payload: { override: true, reason: '模拟升级前的规则集' } });
    expect(approved.statusCode, approved.body).toBe(200);
    await waitFor(() => (hub.rulesets.versionAt() === old ? true : undefined));
    list = (await as('leader', { url: '/api/v1/rulesets' })).json();
    expect(list.builtin).toEqual({ version: builtin, current: false, pending: null });
    expect(await rulesItem()).toMatchObject({ status: 'warn', counts: { current: 0, pending: 0 }, subjects: [] });

    // Released like any change: a draft of the built-in definitions with the tuning kept.
    const res = await as('rules', { method: 'POST', url: '/api/v1/rulesets', payload: { fromBuiltin: true, note: '采用本版软件的内置规则包' } });
    expect(res.statusCode, res.body).toBe(201);
    const upgrade = res.json();
    expect(upgrade.content.params).toEqual({ 'check.short_duration': { minSeconds: 500 } });
    expect(upgrade.baseVersion).toBe(old);
    expect(upgrade.diff.changed).toEqual([expect.objectContaining({ ruleId: 'check.short_duration', definition: true, params: [] })]);
    list = (await as('rules', { url: '/api/v1/rulesets' })).json();
    expect(list.builtin).toEqual({ version: builtin, current: false, pending: upgrade.version });
    expect(await rulesItem()).toMatchObject({ status: 'warn', counts: { current: 0, pending: 1 }, subjects: [{ id: upgrade.version, name: upgrade.version, county: '' }] });
    // Another process (a second hub, a restart) finds the same open draft.
    await replica.reload();
    expect(await replica.builtinStatus()).toEqual({ version: builtin, current: false, pending: upgrade.version });
    // Withdrawn, it is no longer pending.
    const retired = await as('rules', { method: 'POST', url: `/api/v1/rulesets/${upgrade.version}/retire` });
    expect(retired.statusCode, retired.body).toBe(200);
    expect((await as('leader', { url: '/api/v1/rulesets' })).json().builtin).toEqual({ version: builtin, current: false, pending: null });

    // Released: the definitions in force are this code's again; the set it superseded is retired
    // whether or not housekeeping had marked it active in between.
    const again = (await as('rules', { method: 'POST', url: '/api/v1/rulesets', payload: { fromBuiltin: true } })).json().version as string;
    expect((await as('rules2', { method: 'POST', url: `/api/v1/rulesets/${again}/approve`, payload: { override: true, reason: '采用本版内置规则' } })).statusCode).toBe(200);
    await waitFor(() => (hub.rulesets.versionAt() === again ? true : undefined));
    await hub.rulesets.housekeeping();
    list = (await as('leader', { url: '/api/v1/rulesets' })).json();
    expect(list.builtin).toEqual({ version: builtin, current: true, pending: null });
    expect(await rulesItem()).toMatchObject({ status: 'ok', counts: { current: 1 } });
    const status = Object.fromEntries(list.items.map((i: { version: string; status: string }) => [i.version, i.status]));
    expect([status[again], status[old], status[upgrade.version]]).toEqual(['active', 'retired', 'retired']);
  });
});
