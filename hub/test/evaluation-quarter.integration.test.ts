/**
 * Quarterly grades (GET /api/v1/evaluation/quarters, its exports and the trend's quarters): the
 * mean of a quarter's graded months, its grade, a veto in any month, the consequence of the
 * grade, ranking within the type, months without business left out.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Hub } from '../src/app.js';
import { parseCsv, readXlsx } from '../src/exports/table.js';
import { consequenceTerm, noticeRules, renderNotice, termText } from '../src/evaluation/notice.js';
import type { VersionRow } from '../src/registry/build.js';
import { DEFAULT_EVALUATION, monthOf, QUARTER_ACTIONS, quarterMonths, quarterOf, ruleNameOf, scoreQuarter } from '../src/evaluation/scoring.js';
import type { LedgerRow, QuarterRow, ScoreRow } from '../src/evaluation/service.js';
import { login, startTestHub, withToken } from './helpers.js';
import { seedTransactions, seedWarnings } from './seed.js';

let hub: Hub;
const tokens: Record<string, string> = {};
/** 2026-07-15 / 2026-09-15 10:00 China Standard Time: the third quarter of 2026, over. */
const JUL = Date.UTC(2026, 6, 15, 2, 0, 0);
const SEP = Date.UTC(2026, 8, 15, 2, 0, 0);
const YZ = { institutionId: 'YZ-JYZ', county: '451203' };
const DL = { institutionId: 'DL-JYZ', county: '451224' };

async function call(user: string, method: 'GET' | 'POST', url: string, payload?: object) {
  return hub.app.inject(withToken(tokens[user]!, { method, url, ...(payload ? { payload } : {}) }));
}

async function act(user: string, id: string, body: Record<string, unknown>) {
  const seq = (await call('leader', 'GET', `/api/v1/warnings/${id}`)).json().state.seq as number;
  const res = await call(user, 'POST', `/api/v1/warnings/${id}/actions`, { ...body, expectedSeq: seq });
  expect(res.statusCode, `${id} ${JSON.stringify(body)}: ${res.body}`).toBe(200);
}

async function confirm(user: string, id: string) {
  await act(user, id, { type: 'acknowledge' });
  await act(user, id, { type: 'start_verification' });
  await act(user, id, { type: 'conclude', conclusion: 'confirmed' });
}

type Item = { institutionId: string; score: number; grade: string; graded: boolean; veto: boolean; monthsGraded: number; action: string; rank: number; rankOf: number; months: { month: string; score: number; graded: boolean }[]; vetoRuleNames: string[] };

beforeAll(async () => {
  ({ hub } = await startTestHub({ workflowIntervalMs: 3_600_000, evaluationIntervalMs: 3_600_000 }));
  for (const u of ['auditor', 'auditor-yz', 'leader', 'admin', 'registry', 'registry2']) tokens[u] = await login(hub, u);
  await seedWarnings(hub, [
    { id: 'q-a', ...YZ, ruleId: 'counter.off_hours', family: 'counter', severity: 'high', occurredAt: JUL + 60_000 },
    { id: 'q-v', ...DL, ruleId: 'check.inspector_unfiled', severity: 'high', occurredAt: JUL + 120_000 },
  ]);
  // 宜州: 200 transactions in July (one behind the warning), none in August, 100 in September.
  await seedTransactions(hub, YZ.institutionId, YZ.county, 199, JUL + 3_600_000);
  await seedTransactions(hub, YZ.institutionId, YZ.county, 100, SEP);
  // 东兰: a vetoed July, a clean September.
  await seedTransactions(hub, DL.institutionId, DL.county, 99, JUL + 3_600_000);
  await seedTransactions(hub, DL.institutionId, DL.county, 100, SEP);
  expect((await call('admin', 'POST', '/api/v1/workflow/sweep')).json()).toMatchObject({ assigned: 2 });
  await confirm('auditor-yz', 'q-a');
  await confirm('auditor', 'q-v');
  for (const month of ['2026-07', '2026-08', '2026-09']) {
    const res = await call('admin', 'POST', '/api/v1/evaluation/refresh', { month });
    expect(res.statusCode, res.body).toBe(200);
  }
});

afterAll(async () => {
  await hub?.close();
});

describe('the quarter (pure)', () => {
  it('names quarters and their months, and grades the mean of the graded months', () => {
    expect(quarterOf('2026-01')).toBe('2026-Q1');
    expect(quarterOf('2026-09')).toBe('2026-Q3');
    expect(quarterOf('2026-10')).toBe('2026-Q4');
    expect(quarterMonths('2026-Q4')).toEqual(['2026-10', '2026-11', '2026-12']);
    expect(quarterMonths('2027-Q1')).toEqual(['2027-01', '2027-02', '2027-03']);
    const m = (score: number, transactions = 100, veto = false) => ({ score, transactions, veto });
    expect(scoreQuarter(DEFAULT_EVALUATION, [m(94), m(100, 0), m(80)])).toEqual({ score: 87, grade: 'B', veto: false, graded: true, monthsGraded: 2 });
    expect(scoreQuarter(DEFAULT_EVALUATION, [m(95), m(96), m(97)])).toMatchObject({ score: 96, grade: 'A' });
    expect(scoreQuarter(DEFAULT_EVALUATION, [m(70), m(60), m(55.5)])).toMatchObject({ score: 61.83, grade: 'C' });
    expect(scoreQuarter(DEFAULT_EVALUATION, [m(99), m(98, 100, true)])).toMatchObject({ grade: 'D', veto: true });
    // A vetoed month without business cannot happen; a quarter without business is not graded.
    expect(scoreQuarter(DEFAULT_EVALUATION, [m(100, 0), m(100, 0)])).toMatchObject({ graded: false, monthsGraded: 0 });
    expect(scoreQuarter({ grades: { A: 95, B: 85, C: 70 } }, [m(90)])).toMatchObject({ grade: 'B' });
    expect(QUARTER_ACTIONS).toEqual({ A: '正常', B: '正常', C: '书面警示，加强抽查', D: '暂停联网业务 1–3 个月' });
  });
});

describe('GET /api/v1/evaluation/quarters', () => {
  it('grades each institution on the mean of its graded months, a veto in any month making it D', async () => {
    const res = await call('leader', 'GET', '/api/v1/evaluation/quarters?quarter=2026-Q3');
    expect(res.statusCode, res.body).toBe(200);
    const body = res.json() as { quarter: string; months: string[]; final: boolean; total: number; items: Item[] };
    expect(body).toMatchObject({ quarter: '2026-Q3', months: ['2026-07', '2026-08', '2026-09'], final: true });
    const by = new Map(body.items.map((i) => [i.institutionId, i]));
    const yz = by.get('YZ-JYZ')!;
    // July: high = 3 points × 4 × 100/200 = 6 off compliance → 94; August no business; September 100.
    expect(yz.months.map((x) => [x.month, x.score, x.graded])).toEqual([['2026-07', 94, true], ['2026-08', 100, false], ['2026-09', 100, true]]);
    expect(yz).toMatchObject({ score: 97, grade: 'A', graded: true, monthsGraded: 2, veto: false, action: '正常' });
    const dl = by.get('DL-JYZ')!;
    // July: 3 × 4 × 100/100 = 12 → 88, vetoed; September 100: the mean 94 would be A, the veto makes the quarter D.
    expect(dl).toMatchObject({ score: 94, grade: 'D', veto: true, action: '暂停联网业务 1–3 个月', vetoRuleNames: ['查验员未备案或备案过期'] });
    // Ranked within the type by the quarter's score: 宜州 97 before 东兰 94; 金城江's station did no business.
    expect([yz.rank, yz.rankOf, dl.rank, dl.rankOf]).toEqual([1, 2, 2, 2]);
    expect(by.get('JCJ-JYZ')).toMatchObject({ graded: false, monthsGraded: 0, action: '', rank: 0 });
    expect(body.total).toBe(body.items.length);
  });

  it('keeps the current quarter provisional with the months begun so far, and a county reader to their county', async () => {
    const now = monthOf(Date.now());
    const q = quarterOf(now);
    const res = await call('leader', 'GET', '/api/v1/evaluation/quarters');
    expect(res.json()).toMatchObject({ quarter: q, final: false, months: quarterMonths(q).filter((m) => m <= now) });
    // A quarter not yet begun has no months and no rows.
    const next = `${Number(q.slice(0, 4)) + 1}-Q1`;
    expect((await call('leader', 'GET', `/api/v1/evaluation/quarters?quarter=${next}`)).json()).toMatchObject({ quarter: next, months: [], final: false, total: 0, items: [] });
    const yz = await call('auditor-yz', 'GET', '/api/v1/evaluation/quarters?quarter=2026-Q3');
    expect(new Set((yz.json().items as { county: string }[]).map((i) => i.county))).toEqual(new Set(['451203']));
  });

  it('refuses a quarter that is not YYYY-Qn with a coded error', async () => {
    for (const bad of ['2026-Q5', '2026Q3', '2026-10', 'Q3']) {
      const res = await call('leader', 'GET', `/api/v1/evaluation/quarters?quarter=${bad}`);
      expect(res.statusCode, bad).toBe(400);
      expect(res.json().error.code).toBe('QUERY_INVALID');
    }
  });

  it('exports the quarter to Excel and CSV with a column per month, reading back equal to the API', async () => {
    const api = (await call('leader', 'GET', '/api/v1/evaluation/quarters?quarter=2026-Q3')).json().items as Item[];
    const xlsx = await call('leader', 'GET', '/api/v1/evaluation/quarters.xlsx?quarter=2026-Q3');
    expect(xlsx.statusCode, xlsx.body).toBe(200);
    expect(decodeURIComponent(String(xlsx.headers['content-disposition']))).toContain('机构季度等级_2026-Q3.xlsx');
    const sheet = await readXlsx(xlsx.rawPayload);
    const header = sheet[0]!;
    expect(header).toEqual(['季度', '机构编号', '机构名称', '机构类型', '区县', '业务量', '预警数', '属实预警', '7月得分', '8月得分', '9月得分', '评分月数', '季度得分', '季度等级', '一票否决', '处理', '备案登记', '同类排名', '状态']);
    const row = (id: string) => sheet.find((r) => r[1] === id)!;
    const col = (name: string) => header.indexOf(name);
    expect(row('DL-JYZ')[col('季度')]).toBe('2026年第3季度');
    expect(row('DL-JYZ')[col('季度等级')]).toBe('D 不合格');
    expect(row('DL-JYZ')[col('处理')]).toBe('暂停联网业务 1–3 个月');
    // Nothing filed for it yet; an A grade has nothing to file.
    expect([row('DL-JYZ')[col('备案登记')], row('YZ-JYZ')[col('备案登记')]]).toEqual(['尚未登记', '']);
    expect(row('YZ-JYZ')[col('8月得分')]).toBe('无业务');
    expect(Number(row('YZ-JYZ')[col('季度得分')])).toBe(api.find((i) => i.institutionId === 'YZ-JYZ')!.score);
    expect(row('YZ-JYZ')[col('状态')]).toBe('季度已结束');
    const csv = parseCsv((await call('leader', 'GET', '/api/v1/evaluation/quarters.csv?quarter=2026-Q3')).body);
    expect(csv[0]).toEqual(header);
    expect(csv.length).toBe(api.length + 1);
  });

  it('states the quarter so far in the printable monthly report', async () => {
    const sep = await call('leader', 'GET', '/api/v1/evaluation/institutions/DL-JYZ/report?month=2026-09');
    expect(sep.statusCode, sep.body).toBe(200);
    expect(sep.body).toContain('2026年第3季度（全季度，2 个月有业务）：季度得分 94.00，等级 <b>D 不合格</b>（一票否决）；处理：暂停联网业务 1–3 个月。');
    const jul = await call('leader', 'GET', '/api/v1/evaluation/institutions/YZ-JYZ/report?month=2026-07');
    expect(jul.body).toContain('2026年第3季度（截至 2026-07，1 个月有业务）：季度得分 94.00，等级 <b>A 优秀</b>；处理：正常。');
  });

  it('gives an institution trend the quarters it covers whole', async () => {
    const res = await call('leader', 'GET', '/api/v1/evaluation/institutions/DL-JYZ/trend?month=2026-09&months=4');
    expect(res.statusCode, res.body).toBe(200);
    // June–September: the second quarter is cut (only June in the window), the third is whole.
    expect(res.json().quarters).toEqual([
      { quarter: '2026-Q3', months: ['2026-07', '2026-08', '2026-09'], final: true, monthsGraded: 2, score: 94, grade: 'D', graded: true, gradeLabel: '不合格', veto: true, action: '暂停联网业务 1–3 个月' },
    ]);
  });
});

describe('the quarter\'s notice to the institution (GET /api/v1/evaluation/institutions/:id/notice)', () => {
  it('is titled and worded by the grade, the deductions by rule net of false alarms', () => {
    const ledger = (rule_id: string, kind: 'deduct' | 'reverse', points: number) => ({ rule_id, rule_name: '', kind, points }) as LedgerRow;
    expect(
      noticeRules([ledger('counter.off_hours', 'deduct', 3), ledger('counter.off_hours', 'deduct', 3), ledger('check.too_short', 'deduct', 2), ledger('check.too_short', 'reverse', -2), ledger('counter.off_hours', 'deduct', 1)]),
    ).toEqual([{ ruleName: ruleNameOf('counter.off_hours'), confirmed: 3, points: 7 }]);
    const month = (m: string, score: number) => ({ month: m, transactions: 100, confirmed: 4, score, grade: 'C', veto: false, veto_rules: [] }) as unknown as ScoreRow;
    const row = { institution_id: 'HJ-JX', institution_type: 'driving_school', county: '451226', months: [month('2026-07', 72), month('2026-08', 70), month('2026-09', 68)], score: 70, grade: 'C', veto: false, graded: true, monthsGraded: 3, rank: 2, rank_of: 2 } as QuarterRow;
    const html = renderNotice({ institution: { id: 'HJ-JX', name: '环江县驾驶培训学校', type: 'driving_school', county: '451226', status: 'active' }, quarter: '2026-Q3', row, rules: [{ ruleName: '<b>规则</b>', confirmed: 12, points: 30 }], generatedAt: Date.UTC(2026, 9, 8, 2) });
    expect(html).toContain('<h1>考核书面警示通知书</h1>');
    expect(html).toContain('<p class="to">环江县驾驶培训学校：</p>');
    expect(html).toContain('经考核，你单位2026年第3季度考核得分 <b>70.00</b>（季度内 3 个有业务月份得分的平均），等级 <b class="grade-inline">C 警示</b>，在全市同类机构（驾校）2 家中排名第 2。');
    expect(html).toContain('现予书面警示，下一季度对你单位办理的业务加强抽查');
    // What only the detachment can say is left blank to fill in before printing: the document
    // number, the rectification deadline a warning sets, the contact.
    const blanks = (h: string) => [...h.matchAll(/<span class="fill" contenteditable="true" spellcheck="false" data-fill="(\w+)"/g)].map((m) => m[1]);
    expect(blanks(html)).toEqual(['docno', 'deadline', 'contact', 'phone']);
    expect(html).toMatch(/并于<span class="fill"[^>]*data-fill="deadline"[^>]*><\/span>前将整改情况书面报送考核单位/);
    // Names as data, escaped; the date the notice was made.
    expect(html).toContain('<td>&lt;b&gt;规则&lt;/b&gt;</td><td class="n">12</td><td class="n">30</td>');
    expect(html).toContain('考核单位（盖章）<br>2026-10-08');
    // A quarter without business: said once, not graded, nothing asked.
    const idle = renderNotice({ institution: { id: 'HJ-JX', name: '环江县驾驶培训学校', type: 'driving_school', county: '451226', status: 'active' }, quarter: '2026-Q3', row: { ...row, graded: false, monthsGraded: 0 }, rules: [], generatedAt: 0 });
    expect(idle).toContain('<p data-result>你单位2026年第3季度无业务，不评等级。</p>');
    expect(idle).not.toContain('data-consequence');
    expect(idle).toContain('<h1>季度考核结果通知书</h1>');
    expect(blanks(idle)).toEqual(['docno', 'contact', 'phone']);
  });

  it('states the term a D or C grade brought once it is filed, from the register', () => {
    const cst = (iso: string) => Date.parse(`${iso}+08:00`);
    const v = (key: string, from: string, to: string | null, data: object, retired = 0): VersionRow => ({ entity: 'institution', key, version: 1, from_ms: cst(from), to_ms: to === null ? null : cst(to), retired, data: JSON.stringify(data) });
    const versions = [
      v('DL-JYZ', '2026-01-01T00:00:00', null, { status: 'active' }),
      // Filed during the quarter graded: not its consequence.
      v('DL-JYZ', '2026-09-20T00:00:00', '2026-09-21T00:00:00', { status: 'suspended' }),
      // A withdrawn filing, another institution's, one two quarters on: none of them.
      v('DL-JYZ', '2026-10-05T00:00:00', '2026-11-05T00:00:00', { status: 'suspended' }, 1),
      v('YZ-JYZ', '2026-10-06T00:00:00', '2026-11-06T00:00:00', { status: 'suspended' }),
      v('DL-JYZ', '2027-04-01T00:00:00', '2027-05-01T00:00:00', { status: 'suspended' }),
      v('DL-JYZ', '2026-11-09T00:00:00', '2026-12-09T00:00:00', { status: 'suspended' }),
      v('DL-JYZ', '2026-10-09T00:00:00', '2026-11-09T00:00:00', { status: 'suspended' }),
      v('HJ-JX', '2026-10-10T08:30:00', null, { status: 'active', closerChecks: true }),
    ];
    // The first in the next quarter; its end at midnight is the day before's last.
    const d = consequenceTerm(versions, 'DL-JYZ', '2026-Q3', 'D')!;
    expect(d).toEqual({ from: cst('2026-10-09T00:00:00'), to: cst('2026-11-09T00:00:00') });
    expect(termText(d)).toBe('自2026年10月9日起至2026年11月8日止');
    expect(consequenceTerm(versions, 'DL-JYZ', '2026-Q3', 'C')).toBeNull();
    expect(consequenceTerm(versions, 'DL-JYZ', '2026-Q3', 'B')).toBeNull();
    const c = consequenceTerm(versions, 'HJ-JX', '2026-Q3', 'C')!;
    expect(termText(c)).toBe('自2026年10月10日 08:30起');
    // A December quarter's consequence falls in the next year's first quarter.
    expect(consequenceTerm([v('DL-JYZ', '2027-01-04T00:00:00', '2027-02-04T00:00:00', { status: 'suspended' })], 'DL-JYZ', '2026-Q4', 'D')).not.toBeNull();
    expect(consequenceTerm([v('DL-JYZ', '2027-04-01T00:00:00', null, { status: 'suspended' })], 'DL-JYZ', '2026-Q4', 'D')).toBeNull();
    // Printed in the notice, said as filed.
    const month = (m: string) => ({ month: m, transactions: 100, confirmed: 4, score: 70, grade: 'C', veto: false, veto_rules: [] }) as unknown as ScoreRow;
    const row = { institution_id: 'HJ-JX', institution_type: 'driving_school', county: '451226', months: [month('2026-07'), month('2026-08'), month('2026-09')], score: 70, grade: 'C', veto: false, graded: true, monthsGraded: 3, rank: 1, rank_of: 1 } as QuarterRow;
    const inst = { id: 'HJ-JX', name: '环江县驾驶培训学校', type: 'driving_school', county: '451226', status: 'active' } as const;
    const html = renderNotice({ institution: inst, quarter: '2026-Q3', row, rules: [], generatedAt: 0, term: { from: cst('2026-10-10T00:00:00'), to: cst('2027-01-01T00:00:00') } });
    expect(html).toContain('现予书面警示，<b data-term>自2026年10月10日起至2026年12月31日止</b>对你单位办理的业务加强抽查（已备案登记）');
    const suspended = renderNotice({ institution: inst, quarter: '2026-Q3', row: { ...row, grade: 'D' }, rules: [], generatedAt: 0, term: { from: cst('2026-10-09T00:00:00'), to: null } });
    expect(suspended).toContain('暂停你单位联网办理业务，<b data-term>自2026年10月9日起</b>（已备案登记），恢复时间另行通知，暂停期间不得办理联网业务');
  });

  it('answers a finished quarter\'s notice: a vetoed station told of its suspension, another of its result', async () => {
    const dl = await call('leader', 'GET', '/api/v1/evaluation/institutions/DL-JYZ/notice?quarter=2026-Q3');
    expect(dl.statusCode, dl.body).toBe(200);
    expect(dl.headers['content-type']).toBe('text/html; charset=utf-8');
    expect(dl.body).toContain('<h1>暂停联网业务通知书</h1>');
    expect(dl.body).toContain(`等级 <b class="grade-inline">D 不合格</b>（一票否决：${ruleNameOf('check.inspector_unfiled')}）`);
    expect(dl.body).toContain('暂停你单位联网办理业务 1–3 个月，起止时间以备案登记为准');
    // Once the suspension is filed and approved, the notice states its term.
    const station = hub.registry.institution('DL-JYZ')!;
    const filed = await call('registry', 'POST', '/api/v1/registry/requests', { summary: '2026年第3季度考核 D 级：暂停联网业务', effectiveFrom: '2026-10-09T00:00:00+08:00', effectiveTo: '2026-11-09T00:00:00+08:00', items: [{ entity: 'institution', data: { ...station, status: 'suspended' } }] });
    expect(filed.statusCode, filed.body).toBe(201);
    expect((await call('registry2', 'POST', `/api/v1/registry/requests/${filed.json().id}/approve`, {})).statusCode).toBe(200);
    const after = await call('leader', 'GET', '/api/v1/evaluation/institutions/DL-JYZ/notice?quarter=2026-Q3');
    expect(after.body).toContain('暂停你单位联网办理业务，<b data-term>自2026年10月9日起至2026年11月8日止</b>（已备案登记），暂停期间不得办理联网业务');
    // The quarter's grades say so too, in the list and its export; an A grade brings nothing to file.
    const grades = (await call('leader', 'GET', '/api/v1/evaluation/quarters?quarter=2026-Q3')).json().items as { institutionId: string; consequenceFiled: unknown }[];
    const filedOf = (id: string) => grades.find((g) => g.institutionId === id)?.consequenceFiled;
    expect(filedOf('DL-JYZ')).toEqual({ from: Date.parse('2026-10-09T00:00:00+08:00'), to: Date.parse('2026-11-09T00:00:00+08:00') });
    expect(filedOf('YZ-JYZ')).toBeNull();
    const sheet = parseCsv((await call('leader', 'GET', '/api/v1/evaluation/quarters.csv?quarter=2026-Q3')).body);
    const col = sheet[0]!.indexOf('备案登记');
    expect(col).toBeGreaterThan(0);
    expect(sheet.find((r) => r.includes('东兰县机动车检测站'))![col]).toBe('已登记：自2026年10月9日起至2026年11月8日止');
    // The rule as its warning names it (the seeded warnings carry one name), one confirmed, 3 points (high).
    expect(dl.body).toContain('<tr><td class="n">1</td><td>查验用时过短</td><td class="n">1</td><td class="n">3</td></tr>');
    // Every month of the quarter, August without business.
    expect([...dl.body.matchAll(/<tr><td>(2026-0\d)<\/td>/g)].map((m) => m[1])).toEqual(['2026-07', '2026-08', '2026-09']);
    expect(dl.body).toContain('<tr><td>2026-08</td><td class="n">0</td><td class="n">0</td><td class="n">—</td><td>无业务</td></tr>');
    const yz = await call('auditor-yz', 'GET', '/api/v1/evaluation/institutions/YZ-JYZ/notice?quarter=2026-Q3');
    expect(yz.statusCode, yz.body).toBe(200);
    expect(yz.body).toContain('<h1>季度考核结果通知书</h1>');
    expect(yz.body).toContain('等级 <b class="grade-inline">A 优秀</b>');
    expect(yz.body).toContain('考核结果正常');
    expect(yz.body).toContain('<tr><td class="n">1</td><td>查验用时过短</td><td class="n">1</td><td class="n">3</td></tr>');
  });

  it('refuses a quarter not over, another county\'s institution, an unknown one and a malformed quarter, each with its code', async () => {
    const now = quarterOf(monthOf(Date.now()));
    const codeOf = async (user: string, url: string) => {
      const r = await call(user, 'GET', url);
      return [r.statusCode, r.json().error.code];
    };
    expect(await codeOf('leader', `/api/v1/evaluation/institutions/DL-JYZ/notice?quarter=${now}`)).toEqual([409, 'QUARTER_NOT_FINAL']);
    expect(await codeOf('auditor-yz', '/api/v1/evaluation/institutions/DL-JYZ/notice?quarter=2026-Q3')).toEqual([403, 'OUT_OF_SCOPE']);
    expect(await codeOf('leader', '/api/v1/evaluation/institutions/NO-SUCH/notice?quarter=2026-Q3')).toEqual([404, 'NOT_FOUND']);
    expect(await codeOf('leader', '/api/v1/evaluation/institutions/DL-JYZ/notice?quarter=2026-Q5')).toEqual([400, 'QUERY_INVALID']);
    // Without a quarter: the last one over.
    const last = await call('leader', 'GET', '/api/v1/evaluation/institutions/DL-JYZ/notice');
    const lastQuarter = quarterOf(new Date(Date.UTC(Number(now.slice(0, 4)), (Number(now.slice(6)) - 1) * 3 - 1, 1)).toISOString().slice(0, 7));
    expect(last.statusCode, last.body).toBe(200);
    expect(last.body).toContain(`<div class="sub">${lastQuarter.slice(0, 4)}年第${lastQuarter.slice(6)}季度 · 东兰县机动车检测站`);
  });
});
