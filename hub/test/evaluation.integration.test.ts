/**
 * Institution evaluation against hand-computed expectations (real chDB + Redis, warnings worked
 * through the HTTP workflow): deductions per category, a reversal after a confirmed warning is
 * re-concluded as a false alarm, the veto, grades, ranking within type, trend, the ledger
 * drill-down, exports read back, the printable report, and rule quality.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Hub } from '../src/app.js';
import { parseCsv, readXlsx } from '../src/exports/table.js';
import { scoreMonth, DEFAULT_EVALUATION, monthOf, previousMonths, rankWithinType } from '../src/evaluation/scoring.js';
import { computedOnRead } from '../src/evaluation/service.js';
import { param, sql } from '../src/store/sql.js';
import { login, startTestHub, withToken } from './helpers.js';
import { seedTransactions, seedWarnings } from './seed.js';

let hub: Hub;
const tokens: Record<string, string> = {};
const MONTH = '2026-10';
/** 2026-10-15 10:00 China Standard Time. */
const OCT = Date.UTC(2026, 9, 15, 2, 0, 0);
const YZ = { institutionId: 'YZ-JYZ', county: '451203' };
const DL = { institutionId: 'DL-JYZ', county: '451224' };

async function call(user: string, method: 'GET' | 'POST', url: string, payload?: object) {
  return hub.app.inject(withToken(tokens[user]!, { method, url, ...(payload ? { payload } : {}) }));
}

async function seqOf(id: string): Promise<number> {
  return (await call('leader', 'GET', `/api/v1/warnings/${id}`)).json().state.seq as number;
}

async function act(user: string, id: string, body: Record<string, unknown>) {
  const res = await call(user, 'POST', `/api/v1/warnings/${id}/actions`, { ...body, expectedSeq: await seqOf(id) });
  expect(res.statusCode, `${id} ${JSON.stringify(body)}: ${res.body}`).toBe(200);
}

/** Assignee works the warning to a conclusion. */
async function conclude(user: string, id: string, conclusion: 'confirmed' | 'false_alarm') {
  await act(user, id, { type: 'acknowledge' });
  await act(user, id, { type: 'start_verification' });
  await act(user, id, { type: 'conclude', conclusion });
}

async function refresh() {
  const res = await call('admin', 'POST', '/api/v1/evaluation/refresh', { month: MONTH });
  expect(res.statusCode, res.body).toBe(200);
}

async function scoreOf(id: string) {
  const res = await call('leader', 'GET', `/api/v1/evaluation/scores?month=${MONTH}`);
  expect(res.statusCode, res.body).toBe(200);
  return (res.json().items as { institutionId: string }[]).find((r) => r.institutionId === id) as Record<string, unknown>;
}

beforeAll(async () => {
  ({ hub } = await startTestHub({ workflowIntervalMs: 3_600_000, evaluationIntervalMs: 3_600_000 }));
  for (const u of ['auditor', 'auditor-yz', 'leader', 'admin', 'rules']) tokens[u] = await login(hub, u);
  const at = (i: number) => OCT + i * 60_000;
  await seedWarnings(hub, [
    { id: 'e-a', ...YZ, ruleId: 'counter.off_hours', family: 'counter', severity: 'high', occurredAt: at(1) },
    { id: 'e-b', ...YZ, ruleId: 'agent.frequent', family: 'agent', severity: 'medium', occurredAt: at(2) },
    { id: 'e-c', ...YZ, ruleId: 'check.short_duration', severity: 'medium', occurredAt: at(3) },
    { id: 'e-d', ...YZ, ruleId: 'counter.refusal', family: 'counter', severity: 'low', occurredAt: at(4) },
    { id: 'e-e', ...YZ, ruleId: 'check.repeated_checks', severity: 'low', occurredAt: at(5) },
    // Raised ten days ago and never verified: escalated.
    { id: 'e-f', ...YZ, ruleId: 'vehicle.frequent_transfer', family: 'vehicle', severity: 'medium', occurredAt: at(6), raisedAt: Date.now() - 10 * 86_400_000 },
    { id: 'e-v', ...DL, ruleId: 'check.inspector_unfiled', severity: 'high', occurredAt: at(7) },
  ]);
  // 宜州: 200 transactions in the month (6 behind the warnings + 194); 东兰: 50 (1 + 49).
  await seedTransactions(hub, YZ.institutionId, YZ.county, 194, OCT + 3_600_000);
  await seedTransactions(hub, DL.institutionId, DL.county, 49, OCT + 3_600_000);
  const sweep = await call('admin', 'POST', '/api/v1/workflow/sweep');
  expect(sweep.json()).toMatchObject({ assigned: 7, escalated: 1 });
});

afterAll(async () => {
  await hub?.close();
});

describe('the formula (pure)', () => {
  it('matches the documented example', () => {
    const s = scoreMonth(DEFAULT_EVALUATION, {
      institutionId: 'x', type: 'inspection_station', transactions: 200, warnings: 6, escalated: 1,
      points: { compliance: 5, integrity: 2 }, vetoRules: [],
    });
    expect(s).toEqual({ deductions: { compliance: 10, quality: 0, integrity: 4, responsiveness: 2.5 }, score: 83.5, grade: 'B', veto: false });
    // Small volumes count as 100; every category is capped at its weight.
    const capped = scoreMonth(DEFAULT_EVALUATION, { institutionId: 'y', type: 'dealer', transactions: 3, warnings: 0, escalated: 0, points: { compliance: 50 }, vetoRules: [] });
    expect(capped.deductions.compliance).toBe(40);
    expect(rankWithinType([
      { institutionId: 'a', type: 't', score: 90 }, { institutionId: 'b', type: 't', score: 95 }, { institutionId: 'c', type: 't', score: 90 },
    ])).toEqual(new Map([['b', { rank: 1, of: 3 }], ['a', { rank: 2, of: 3 }], ['c', { rank: 2, of: 3 }]]));
  });
});

describe('monthly scores', () => {
  it('deducts for confirmed warnings per 100 transactions, by category', async () => {
    for (const id of ['e-a', 'e-b', 'e-c', 'e-d']) await conclude('auditor-yz', id, 'confirmed');
    await conclude('auditor-yz', 'e-e', 'false_alarm');
    await conclude('auditor', 'e-v', 'confirmed');
    await refresh();
    // compliance: (3 + 2) × 4 × 100/200 = 10; integrity: 2 × 2 = 4; quality: 1 × 2 = 2;
    // responsiveness: 15 × 1/6 = 2.5 → 100 − 18.5 = 81.5.
    expect(await scoreOf('YZ-JYZ')).toMatchObject({
      transactions: 200, warnings: 6, confirmed: 4, falseAlarms: 1, escalated: 1,
      deductCompliance: 10, deductQuality: 2, deductIntegrity: 4, deductResponsiveness: 2.5, score: 81.5, grade: 'B', veto: false,
    });
  });

  it('reverses the deduction of a warning re-concluded as a false alarm', async () => {
    await act('auditor-yz', 'e-d', { type: 'dispose', disposal: ['correct_record'] });
    await act('leader', 'e-d', { type: 'review', approve: false, comment: '证据不足，重新核查' });
    await act('auditor-yz', 'e-d', { type: 'conclude', conclusion: 'false_alarm' });
    await refresh();
    expect(await scoreOf('YZ-JYZ')).toMatchObject({
      confirmed: 3, falseAlarms: 2, deductCompliance: 10, deductQuality: 0, deductIntegrity: 4, deductResponsiveness: 2.5, score: 83.5, grade: 'B',
    });
    const res = await call('leader', 'GET', `/api/v1/evaluation/institutions/YZ-JYZ/deductions?month=${MONTH}`);
    const body = res.json();
    expect(body.net).toBe(7);
    const d = (body.items as { warningId: string; kind: string; points: number; category: string; reverses: string; id: string }[]).filter((l) => l.warningId === 'e-d');
    expect(d.map((l) => [l.kind, l.points, l.category])).toEqual([['deduct', 1, 'quality'], ['reverse', -1, 'quality']]);
    expect(d[1]!.reverses).toBe(d[0]!.id);
    expect(body.items.map((l: { warningId: string }) => l.warningId).sort()).toEqual(['e-a', 'e-b', 'e-c', 'e-d', 'e-d']);
    // Refreshing again appends nothing: the ledger is in step.
    await refresh();
    expect((await call('leader', 'GET', `/api/v1/evaluation/institutions/YZ-JYZ/deductions?month=${MONTH}`)).json().items).toHaveLength(5);
  });

  it('a confirmed veto item forces grade D; ranking is within the institution type', async () => {
    // 东兰: 50 transactions count as 100; 3 × 4 × 100/100 = 12 → 88, but the veto makes it D.
    expect(await scoreOf('DL-JYZ')).toMatchObject({ transactions: 50, deductCompliance: 12, score: 88, grade: 'D', veto: true, vetoRules: ['check.inspector_unfiled'] });
    const ranks = Object.fromEntries(
      ['JCJ-JYZ', 'DL-JYZ', 'YZ-JYZ'].map((id) => [id, null as unknown]),
    );
    for (const id of Object.keys(ranks)) {
      const s = await scoreOf(id);
      ranks[id] = [s.rank, s.rankOf, s.score];
    }
    // 金城江's station did no business this month: not graded, not ranked (rank 0 of 0).
    expect(ranks).toEqual({ 'JCJ-JYZ': [0, 0, 100], 'DL-JYZ': [1, 2, 88], 'YZ-JYZ': [2, 2, 83.5] });
  });

  it('shows the month-by-month trend', async () => {
    const res = await call('leader', 'GET', `/api/v1/evaluation/institutions/YZ-JYZ/trend?month=${MONTH}&months=3`);
    expect(res.json().items.map((r: { month: string; score: number }) => [r.month, r.score])).toEqual([
      ['2026-08', 100],
      ['2026-09', 100],
      ['2026-10', 83.5],
    ]);
  });

  it('refuses months outside 2000–2099, and a read computes no month older than the last 36', async () => {
    for (const month of ['0000-01', '1999-12', '2100-01']) {
      const res = await call('auditor-yz', 'GET', `/api/v1/evaluation/institutions/YZ-JYZ/trend?month=${month}&months=36`);
      expect(res.statusCode, month).toBe(400);
    }
    expect((await call('leader', 'GET', '/api/v1/evaluation/quarters?quarter=0001-Q1')).statusCode).toBe(400);
    // Ten years back: nothing was ever computed there, and a read leaves it so.
    const old = `${Number(monthOf(Date.now()).slice(0, 4)) - 10}-06`;
    const res = await call('auditor-yz', 'GET', `/api/v1/evaluation/institutions/YZ-JYZ/trend?month=${old}&months=36`);
    expect(res.statusCode, res.body).toBe(200);
    expect(res.json().items).toEqual([]);
    const scores = await call('leader', 'GET', `/api/v1/evaluation/scores?month=${old}`);
    expect(scores.statusCode).toBe(200);
    const [n] = await hub.store.query<{ n: string }>(sql`SELECT count() AS n FROM evaluation_scores WHERE month <= ${param.String(old)}`);
    expect(Number(n!.n)).toBe(0);
    // The last 36 months are computed on a read, as the screens need.
    expect(computedOnRead(monthOf(Date.now()), Date.now())).toBe(true);
    expect(computedOnRead(previousMonths(monthOf(Date.now()), 36)[0]!, Date.now())).toBe(true);
    expect(computedOnRead(previousMonths(monthOf(Date.now()), 37)[0]!, Date.now())).toBe(false);
  });

  it('keeps a county auditor to their county', async () => {
    const res = await call('auditor-yz', 'GET', `/api/v1/evaluation/scores?month=${MONTH}`);
    expect(new Set(res.json().items.map((r: { county: string }) => r.county))).toEqual(new Set(['451203']));
    const other = await call('auditor-yz', 'GET', `/api/v1/evaluation/institutions/DL-JYZ/trend?month=${MONTH}`);
    expect(other.json().error.code).toBe('OUT_OF_SCOPE');
  });
});

describe('exports and the report', () => {
  it('exports scores to XLSX and CSV that read back equal to the API', async () => {
    const json = (await call('leader', 'GET', `/api/v1/evaluation/scores?month=${MONTH}`)).json().items as Record<string, unknown>[];
    const xlsx = await call('leader', 'GET', `/api/v1/evaluation/scores.xlsx?month=${MONTH}`);
    expect(xlsx.headers['content-type']).toMatch(/spreadsheetml/);
    const sheet = await readXlsx(xlsx.rawPayload);
    const csv = parseCsv((await call('leader', 'GET', `/api/v1/evaluation/scores.csv?month=${MONTH}`)).body);
    expect(sheet).toEqual(csv);
    expect(sheet[0]!.slice(0, 3)).toEqual(['月份', '机构编号', '机构名称']);
    expect(sheet).toHaveLength(json.length + 1);
    const header = sheet[0]!;
    const yz = sheet.find((r) => r[1] === 'YZ-JYZ')!;
    expect(yz[header.indexOf('机构名称')]).toBe('宜州区机动车检测站');
    expect(Number(yz[header.indexOf('得分')])).toBe(83.5);
    expect(yz[header.indexOf('等级')]).toBe('B 良好');
    expect(yz[header.indexOf('同类排名')]).toBe('2/2');
  });

  it('exports the deduction ledger', async () => {
    const csv = parseCsv((await call('leader', 'GET', `/api/v1/evaluation/institutions/YZ-JYZ/deductions.csv?month=${MONTH}`)).body);
    expect(csv[0]!.slice(0, 3)).toEqual(['月份', '预警编号', '规则']);
    expect(csv.slice(1).map((r) => r[5]).sort()).toEqual(['冲销', '扣分', '扣分', '扣分', '扣分']);
    // Severities by name, as the warning list's export writes them.
    expect(csv[0]![3]).toBe('严重程度');
    for (const r of csv.slice(1)) expect(['高', '中', '低']).toContain(r[3]);
    const xlsx = await readXlsx((await call('leader', 'GET', `/api/v1/evaluation/institutions/YZ-JYZ/deductions.xlsx?month=${MONTH}`)).rawPayload);
    expect(xlsx).toEqual(csv);
  });

  it('renders the printable monthly report in Chinese', async () => {
    const res = await call('leader', 'GET', `/api/v1/evaluation/institutions/YZ-JYZ/report?month=${MONTH}`);
    expect(res.statusCode).toBe(200);
    expect(res.headers['content-type']).toMatch(/text\/html/);
    const html = res.body;
    for (const s of ['月度考核评价报告', '宜州区机动车检测站', '83.50', '@page', '扣分明细', '冲销', 'e-d']) expect(html).toContain(s);
    const d = await call('leader', 'GET', `/api/v1/evaluation/institutions/DL-JYZ/report?month=${MONTH}`);
    expect(d.body).toContain('一票否决');
  });
});

describe('rule quality', () => {
  it('counts hits, confirmed and false alarms per rule and month with precision', async () => {
    const res = await call('rules', 'GET', `/api/v1/rules/quality?from=${MONTH}&to=${MONTH}`);
    expect(res.statusCode, res.body).toBe(200);
    const by = Object.fromEntries((res.json().items as { ruleId: string }[]).map((r) => [r.ruleId, r]));
    expect(by['counter.off_hours']).toMatchObject({ month: MONTH, hits: 1, confirmed: 1, falseAlarms: 0, precision: 1 });
    expect(by['counter.refusal']).toMatchObject({ hits: 1, confirmed: 0, falseAlarms: 1, precision: 0 });
    expect(by['vehicle.frequent_transfer']).toMatchObject({ hits: 1, pending: 1, precision: null });
    const denied = await call('auditor', 'GET', '/api/v1/rules/quality');
    expect(denied.statusCode).toBe(403);
    const xlsx = await readXlsx((await call('rules', 'GET', `/api/v1/rules/quality.xlsx?from=${MONTH}&to=${MONTH}`)).rawPayload);
    expect(xlsx.length).toBe(res.json().items.length + 1);
  });

  it('marks the closer-checks draw as sampling: its normal findings are not false alarms', async () => {
    const FOURS = { institutionId: 'JCJ-4S', county: '451202' };
    await seedWarnings(hub, [
      { id: 'e-s1', ...FOURS, ruleId: 'counter.spot_check', family: 'counter', severity: 'low', occurredAt: OCT + 3_600_000 },
      { id: 'e-s2', ...FOURS, ruleId: 'counter.spot_check', family: 'counter', severity: 'low', occurredAt: OCT + 3_660_000 },
      { id: 'e-s3', ...FOURS, ruleId: 'counter.spot_check', family: 'counter', severity: 'low', occurredAt: OCT + 3_720_000 },
    ]);
    expect((await call('admin', 'POST', '/api/v1/workflow/sweep')).json()).toMatchObject({ assigned: 3 });
    const assignee = (await call('leader', 'GET', '/api/v1/warnings/e-s1')).json().state.assignee as string;
    await conclude(assignee, 'e-s1', 'false_alarm');
    await conclude(assignee, 'e-s2', 'false_alarm');
    await conclude(assignee, 'e-s3', 'confirmed');
    const res = await call('rules', 'GET', `/api/v1/rules/quality?from=${MONTH}&to=${MONTH}`);
    const items = res.json().items as { ruleId: string; sampling: boolean }[];
    const by = Object.fromEntries(items.map((r) => [r.ruleId, r]));
    // The same counts as any rule; one found abnormal of three drawn.
    expect(by['counter.spot_check']).toMatchObject({ hits: 3, confirmed: 1, falseAlarms: 2, sampling: true });
    expect(by['counter.spot_check']!).toHaveProperty('precision', 0.3333);
    expect(items.filter((r) => r.sampling).map((r) => r.ruleId)).toEqual(['counter.spot_check']);
    const xlsx = await readXlsx((await call('rules', 'GET', `/api/v1/rules/quality.xlsx?from=${MONTH}&to=${MONTH}`)).rawPayload);
    expect(xlsx[0]).toEqual(['月份', '规则编号', '规则名称', '性质', '命中', '属实', '正常（误报／抽查无异常）', '待核查', '准确率／检出率']);
    const row = (id: string) => xlsx.find((r) => r[1] === id)!;
    expect(row('counter.spot_check').slice(3)).toEqual(['随机抽查', '3', '1', '2', '0', '33.3%']);
    expect(row('counter.refusal')[3]).toBe('风险预警');
    // The warning itself says so, and its conclusion reads as a spot check's; another rule's does not.
    const drawn = (await call('auditor', 'GET', '/api/v1/warnings/e-s1')).json();
    expect(drawn).toMatchObject({ sampling: true, state: { conclusion: 'false_alarm', conclusionLabel: '正常（抽查无异常）' } });
    expect((await call('auditor', 'GET', '/api/v1/warnings/e-s3')).json().state.conclusionLabel).toBe('异常属实（抽查发现问题）');
    expect((await call('auditor', 'GET', '/api/v1/warnings/e-d')).json()).toMatchObject({ sampling: false, state: { conclusionLabel: '正常（误报）' } });
    // The abnormal one found deducts like any confirmed warning, its conclusion worded alike.
    await refresh();
    const ledger = (await call('leader', 'GET', `/api/v1/evaluation/institutions/JCJ-4S/deductions?month=${MONTH}`)).json().items as { warningId: string; conclusionLabel: string }[];
    expect(ledger.map((l) => [l.warningId, l.conclusionLabel])).toEqual([['e-s3', '异常属实（抽查发现问题）']]);
  });
});
