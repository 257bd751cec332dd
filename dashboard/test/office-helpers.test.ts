import { describe, expect, it } from 'vitest';
import { canOpen, homeFor, navFor, safeNext, type Me } from '$lib/app/nav';
import { actionsFor, activeDeadline, conclusionText, conflictMessage, countdown, isOverdue, sortQueue } from '$lib/app/workflow';
import { cstMonth, cstTime, monthsEnding } from '$lib/app/format';
import { countBy, countySummaries } from '$lib/app/aggregate';
import { actionText, awaitingConsequence, filedText, noticeHref, noticeText, quarterEndLocal, quartersEnding, quarterText } from '$lib/app/quarter';
import { transactionRows } from '$lib/app/transaction';
import { qualityByRule } from '$lib/app/quality';
import { hitValueRows, measurementRows } from '$lib/app/labels';
import { errorText, KNOWN_ERROR_CODES } from '$lib/app/errors';
import { inEnglish } from './locale';
import { english } from '$lib/app/en';
import { paramCaption, paramFields, paramsFrom } from '$lib/app/params';
import { i18n } from '$lib/i18n/index.svelte';
import { PARAM_CHOICE_LABELS, PARAM_LABELS } from '@jianguan/rules';

const me = (username: string, ...roles: Me['roles']): Me => ({ userId: `u-${username}`, username, displayName: username, roles, scope: null, institutions: [] });

describe('role-aware navigation', () => {
  it('shows a wall viewer the wall only', () => {
    expect(navFor(['wall_viewer']).map((n) => n.label)).toEqual(['指挥大屏']);
  });
  it('shows an auditor 我的待办 and 预警, a leader 机构考核 and 预警', () => {
    expect(navFor(['auditor']).map((n) => n.label)).toEqual(['指挥大屏', '我的待办', '预警']);
    expect(navFor(['leader']).map((n) => n.label)).toEqual(['指挥大屏', '机构考核', '预警', '规则质量']);
    expect(navFor(['registry_admin']).map((n) => n.label)).toEqual(['指挥大屏', '备案管理']);
    expect(navFor(['rule_admin']).map((n) => n.label)).toEqual(['指挥大屏', '规则发布', '规则质量', '工作日历', '死信记录']);
    expect(navFor(['system_admin']).map((n) => n.en)).toEqual(['Wall', 'Evaluation', 'Warnings', 'Registry', 'Rule releases', 'Rule quality', 'Calendar', 'Dead letters', 'Collectors', 'Users', 'Audit log', 'Backups', 'Go-live']);
  });
  it('guards screens by role', () => {
    expect(canOpen(['wall_viewer'], '/workbench')).toBe(false);
    expect(canOpen(['wall_viewer'], '/warnings/w-1')).toBe(false);
    expect(canOpen(['auditor'], '/workbench')).toBe(true);
    expect(canOpen(['leader'], '/workbench')).toBe(false);
    expect(canOpen(['leader'], '/institutions/JCJ-CGS')).toBe(true);
    expect(canOpen(['rule_admin'], '/warnings')).toBe(true);
    expect(canOpen(['wall_viewer'], '/somewhere-else')).toBe(true);
    expect(canOpen(['auditor'], '/dead-letters')).toBe(false);
    expect(canOpen(['system_admin'], '/collectors')).toBe(true);
    expect(canOpen(['registry_admin'], '/users')).toBe(false);
    expect(canOpen(['system_admin'], '/backups')).toBe(true);
    expect(canOpen(['rule_admin', 'registry_admin', 'leader', 'auditor'], '/backups')).toBe(false);
    expect(canOpen(['system_admin'], '/readiness')).toBe(true);
    expect(canOpen(['rule_admin', 'registry_admin', 'leader', 'auditor', 'wall_viewer'], '/readiness')).toBe(false);
    // The work calendar: its editors, and leaders read-only (not in their nav).
    expect(canOpen(['rule_admin'], '/calendar')).toBe(true);
    expect(canOpen(['system_admin'], '/calendar')).toBe(true);
    expect(canOpen(['leader'], '/calendar')).toBe(true);
    expect(canOpen(['auditor', 'registry_admin', 'wall_viewer'], '/calendar')).toBe(false);
  });
  it('lands each role on its home screen and accepts only local next paths', () => {
    expect(homeFor(['auditor'])).toBe('/workbench');
    expect(homeFor(['leader'])).toBe('/evaluation');
    expect(homeFor(['wall_viewer'])).toBe('/wall');
    expect(safeNext('/warnings/x?y=1')).toBe('/warnings/x?y=1');
    expect(safeNext('//evil.example')).toBeNull();
    expect(safeNext('https://evil.example')).toBeNull();
    expect(safeNext('/login')).toBeNull();
    expect(safeNext(null)).toBeNull();
  });
});

describe('workflow actions offered', () => {
  const all = ['assigned', 'acknowledged', 'verification_started', 'concluded', 'disposed', 'reviewed', 'review_rejected', 'closed', 'reopened', 'commented', 'evidence_attached'];
  const st = (state: string, assignee: string | null, conclusion: 'confirmed' | 'false_alarm' | null = null) => ({ seq: 3, state: state as never, assignee, conclusion });

  it('lets only the assignee acknowledge', () => {
    expect(actionsFor(st('assigned', 'auditor'), ['assigned', 'acknowledged', 'commented', 'evidence_attached'], me('auditor', 'auditor'))).toEqual(['acknowledge', 'comment', 'evidence']);
    expect(actionsFor(st('assigned', 'auditor'), ['assigned', 'acknowledged', 'commented', 'evidence_attached'], me('other', 'auditor'))).toEqual(['comment']);
  });
  it('offers dispose only for a confirmed conclusion, review for a false alarm', () => {
    const allowed = ['disposed', 'reviewed', 'review_rejected', 'commented', 'evidence_attached'];
    expect(actionsFor(st('concluded', 'auditor', 'confirmed'), allowed, me('auditor', 'auditor'))).toContain('dispose');
    expect(actionsFor(st('concluded', 'auditor', 'false_alarm'), allowed, me('auditor', 'auditor'))).not.toContain('dispose');
    expect(actionsFor(st('concluded', 'auditor', 'false_alarm'), allowed, me('leader', 'leader'))).toEqual(['review', 'reject', 'comment', 'evidence']);
    expect(actionsFor(st('concluded', 'auditor', 'confirmed'), allowed, me('leader', 'leader'))).not.toContain('review');
  });
  it('reads the per-caller action names the hub lists now', () => {
    expect(actionsFor(st('assigned', 'auditor'), ['acknowledge', 'comment', 'evidence'], me('auditor', 'auditor'))).toEqual(['acknowledge', 'comment', 'evidence']);
    expect(actionsFor(st('disposed', 'auditor', 'confirmed'), ['review', 'comment', 'evidence'], me('leader', 'leader'))).toEqual(['review', 'reject', 'comment', 'evidence']);
    expect(actionsFor(st('verifying', 'auditor'), ['conclude', 'comment', 'evidence'], me('auditor', 'auditor'))).toEqual(['conclude', 'comment', 'evidence']);
    expect(actionsFor(st('assigned', 'auditor'), ['assign', 'comment', 'evidence'], me('leader', 'leader'))).toEqual(['assign', 'comment', 'evidence']);
    expect(actionsFor(st('assigned', 'auditor'), ['assign'], me('auditor', 'auditor'))).toEqual([]);
  });
  it('gives a leader close and reopen, never a wall viewer anything', () => {
    expect(actionsFor(st('reviewed', 'auditor', 'confirmed'), ['closed', 'commented', 'evidence_attached'], me('leader', 'leader'))).toEqual(['close', 'comment', 'evidence']);
    expect(actionsFor(st('closed', 'auditor', 'confirmed'), ['reopened', 'commented'], me('leader', 'leader'))).toEqual(['reopen', 'comment']);
    expect(actionsFor(st('assigned', 'wall'), all, me('wall', 'wall_viewer'))).toEqual([]);
  });
});

describe('queue order and deadlines', () => {
  const now = Date.UTC(2026, 0, 5, 3, 0, 0);
  it('puts overdue first, then high severity, then the earliest due', () => {
    const q = sortQueue(
      [
        { id: 'a', severity: 'low', raisedAt: 1, escalated: false, dueAt: now + 10_000 },
        { id: 'b', severity: 'high', raisedAt: 2, escalated: false, dueAt: now + 50_000 },
        { id: 'c', severity: 'low', raisedAt: 3, escalated: true, dueAt: null },
        { id: 'd', severity: 'medium', raisedAt: 4, escalated: false, dueAt: now - 1 },
        { id: 'e', severity: 'high', raisedAt: 5, escalated: false, dueAt: now + 20_000 },
      ],
      now,
    );
    expect(q.map((x) => x.id)).toEqual(['d', 'c', 'e', 'b', 'a']);
    expect(isOverdue({ id: 'x', severity: 'low', raisedAt: 0, escalated: false, dueAt: Number.POSITIVE_INFINITY }, now)).toBe(false);
  });
  it('counts down in Chinese and says when it is overdue', () => {
    expect(countdown(now + 2 * 3_600_000 + 5 * 60_000, now)).toEqual({ text: '剩余 2小时05分', overdue: false });
    expect(countdown(now - (26 * 3_600_000 + 60_000), now)).toEqual({ text: '超期 1天2小时', overdue: true });
    expect(countdown(now + 30 * 60_000, now).text).toBe('剩余 30分钟');
    expect(countdown(null, now)).toEqual({ text: '—', overdue: false });
  });
  it('picks the acknowledgement deadline before acknowledgement, then verification', () => {
    const d = { acknowledgeBy: 100, verifyBy: 200 };
    expect(activeDeadline(d, 'assigned')).toEqual({ kind: '签收', dueAt: 100 });
    expect(activeDeadline(d, 'verifying')).toEqual({ kind: '核查', dueAt: 200 });
    expect(activeDeadline({ acknowledgeBy: null, verifyBy: 200 }, 'assigned')).toEqual({ kind: '核查', dueAt: 200 });
    expect(activeDeadline(d, 'closed')).toBeNull();
  });
  it('explains a concurrency conflict in Chinese', () => {
    expect(conflictMessage({ state: 'acknowledged', assignee: 'auditor' })).toBe('操作未执行：该预警刚被他人更新（当前状态为「已签收」，核查人：auditor）。请重新加载后再操作。');
    expect(conflictMessage(null)).toContain('状态已变化');
    expect(inEnglish(() => conflictMessage({ state: 'acknowledged', assignee: 'auditor' }))).toBe('Not done: someone else has just updated this warning (now “Acknowledged”, auditor: auditor). Reload it and try again.');
    expect(errorText(409, 'CONFLICT')).toContain('他人更新');
    expect(errorText(503, 'STORE_DOWN')).toContain('服务器错误');
  });
});

describe('formatting and aggregation', () => {
  it('formats times and months in Asia/Shanghai', () => {
    expect(cstTime(Date.UTC(2026, 0, 31, 16, 30, 5))).toBe('2026-02-01 00:30:05');
    expect(cstMonth(Date.UTC(2026, 0, 31, 16, 30))).toBe('2026-02');
    expect(cstTime(0)).toBe('—');
    expect(monthsEnding('2026-02', 4)).toEqual(['2025-11', '2025-12', '2026-01', '2026-02']);
  });
  it('lists a C or D grade on the registry screen until what it brings is filed, and not again after its term', () => {
    const g = (institutionId: string, grade: string, consequenceFiled: { from: number; to: number | null } | null = null, graded = true) => ({ institutionId, grade, graded, consequenceFiled });
    const term = { from: Date.parse('2026-10-09T00:00:00+08:00'), to: Date.parse('2026-11-09T00:00:00+08:00') };
    const now: Record<string, { status: string; closerChecks?: boolean }> = {
      D1: { status: 'active' }, // nothing filed
      D2: { status: 'active' }, // suspended for a term that is over: active again
      D3: { status: 'suspended' }, // suspended now by a filing outside the quarter's window
      C1: { status: 'active' },
      C2: { status: 'active', closerChecks: true }, // under closer checks now
      C3: { status: 'active' }, // filed for a term that is over
      C4: { status: 'suspended' },
      A1: { status: 'active' },
    };
    const grades = [g('D1', 'D'), g('D2', 'D', term), g('D3', 'D'), g('C1', 'C'), g('C2', 'C'), g('C3', 'C', term), g('C4', 'C'), g('A1', 'A'), g('X1', 'D'), g('U1', 'D', null, false)];
    const { toSuspend, toCheck } = awaitingConsequence(grades, (id) => now[id]);
    expect(toSuspend.map((x) => x.institutionId)).toEqual(['D1']);
    expect(toCheck.map((x) => x.institutionId)).toEqual(['C1']);
  });

  it('names quarters and what their grades bring, in both languages', () => {
    expect(quartersEnding('2026-12', 3)).toEqual(['2026-Q4', '2026-Q3', '2026-Q2']);
    expect(quartersEnding('2027-01', 2)).toEqual(['2027-Q1', '2026-Q4']);
    expect(quartersEnding('2026-03', 1)).toEqual(['2026-Q1']);
    expect(quarterText('2026-Q4')).toBe('2026年第4季度');
    expect(actionText({ graded: true, grade: 'D', action: '暂停联网业务 1–3 个月' })).toBe('暂停联网业务 1–3 个月');
    expect(actionText({ graded: false, grade: 'A', action: '' })).toBe('—');
    expect(inEnglish(() => actionText({ graded: true, grade: 'D', action: '暂停联网业务 1–3 个月' }))).toBe('Networked business suspended for 1–3 months');
    expect(inEnglish(() => quarterText('2026-Q4'))).toBe('2026 Q4');
    // Every grade's consequence (hub/src/evaluation/scoring.ts QUARTER_ACTIONS) has English.
    for (const grade of ['A', 'B', 'C', 'D']) expect(inEnglish(() => actionText({ graded: true, grade, action: '（中文）' }))).not.toMatch(/[\u4e00-\u9fff]/);
    // The notice of a finished quarter, named by what the grade brings.
    expect(['A', 'B', 'C', 'D'].map((grade) => noticeText({ graded: true, grade }))).toEqual(['结果通知书', '结果通知书', '书面警示通知书', '暂停联网业务通知书']);
    expect(noticeText({ graded: false, grade: 'A' })).toBe('结果通知书');
    expect(inEnglish(() => noticeText({ graded: true, grade: 'C' }))).toBe('Written warning');
    expect(noticeHref('YZ JYZ', '2026-Q3')).toBe('/api/v1/evaluation/institutions/YZ%20JYZ/notice?quarter=2026-Q3');
    // Closer checks for the quarter run to its end: 00:00 on the first day after it.
    expect(['2026-Q1', '2026-Q2', '2026-Q3', '2026-Q4'].map(quarterEndLocal)).toEqual(['2026-04-01T00:00', '2026-07-01T00:00', '2026-10-01T00:00', '2027-01-01T00:00']);
  });
  it('summarises scores by county and counts by key', () => {
    const s = countySummaries(
      [{ adcode: '451202' }, { adcode: '451203' }],
      [{ id: 'a', county: '451202' }, { id: 'b', county: '451202' }, { id: 'c', county: '451203' }],
      [
        { institutionId: 'a', institutionName: 'A', county: '451202', score: 90, warnings: 3, confirmed: 1 },
        { institutionId: 'b', institutionName: 'B', county: '451202', score: 71, warnings: 5, confirmed: 2 },
      ],
    );
    expect(s[0]).toEqual({ county: '451202', institutions: 2, scored: 2, avgScore: 80.5, warnings: 8, confirmed: 3, low: { id: 'b', name: 'B', score: 71 } });
    expect(s[1]!.avgScore).toBeNull();
    expect(countBy(['x', 'y', 'x'], (v) => v)).toEqual([{ key: 'x', count: 2 }, { key: 'y', count: 1 }]);
  });
  it('labels transaction fields in Chinese and drops empty ones', () => {
    const rows = transactionRows({ id: 't1', lsh: 'L1', hphm: '', occurredAt: Date.UTC(2026, 0, 1, 0, 0, 0), measurements: '{}', agentMasked: null });
    expect(rows).toEqual([
      { key: 'id', label: '业务记录编号', value: 't1' },
      { key: 'lsh', label: '业务流水号', value: 'L1' },
      { key: 'occurredAt', label: '业务发生时间', value: '2026-01-01 08:00:00' },
    ]);
    const coded = transactionRows({ kind: 'check', ywlx: 'A', hpzl: '52', outcome: 'pass', channel: 'counter' });
    expect(coded.map((r) => r.value)).toEqual(['机动车查验', '注册登记（A）', '窗口', '小型新能源汽车（52）', '通过']);
    expect(transactionRows({ channel: 'institution', source: 'simulator' }).map((r) => r.value)).toEqual(['社会化机构', '模拟数据']);
    expect(transactionRows({ kind: 'licence', ywlx: 'B' })[1]!.value).toBe('增驾（B）');
    expect(transactionRows({ kind: 'queue', ywlx: 'Z9' })[1]!.value).toBe('Z9');
    const look = { staffName: (id: string) => `未备案人员（工号 ${id}）`, institutionName: (id: string) => `机构${id}` };
    expect(hitValueRows('{"reason":"not_found","staffId":"S9","role":"inspector","roleLabel":"查验员"}', look)).toEqual([
      { key: 'reason', label: '触发原因', value: '未备案（查无此人/此机构）' },
      { key: 'staffId', label: '经办人员', value: '未备案人员（工号 S9）' },
      { key: 'role', label: '岗位', value: '查验员' },
    ]);
    expect(hitValueRows('{"count":5,"windowDays":30}', look).map((r) => `${r.label}:${r.value}`)).toEqual(['计数:5 次', '统计时间窗:30 天']);
    expect(hitValueRows('not json', look)).toEqual([]);
    expect(measurementRows('{"score":92,"trainingHours":10.5}')).toEqual([
      { key: 'score', label: '考试成绩', value: '92 分' },
      { key: 'trainingHours', label: '已完成培训学时', value: '10.5 学时' },
    ]);
  });
});

describe('trend axis', async () => {
  const { trendFloor } = await import('$lib/charts/trend');
  it('starts the score axis near the lowest score, never above 60', () => {
    expect(trendFloor([95, 100])).toBe(60);
    expect(trendFloor([52.5, 90])).toBe(40);
    expect(trendFloor([3])).toBe(0);
    expect(trendFloor([null])).toBe(60);
  });
});

describe('registry and rule-release helpers', async () => {
  const reg = await import('$lib/app/registry');
  const rs = await import('$lib/app/rulesets');
  it('keys, labels and parses registry records', () => {
    expect(reg.keyOf('staff', { id: 'S1' })).toBe('S1');
    expect(reg.keyOf('listing', { list: 'person_black', key: 'abc' })).toBe('person_black:abc');
    expect(reg.cell('validTo', null)).toBe('长期');
    expect(reg.cell('validTo', Date.UTC(2028, 11, 31, 15, 59))).toBe('2028-12-31');
    expect(reg.cell('role', 'inspector')).toBe('查验员');
    expect(reg.cell('filed', false)).toBe('否');
    expect(reg.parseData('{"id":"x"}')).toEqual({ data: { id: 'x' } });
    expect(reg.parseData('[1]')).toHaveProperty('error');
    expect((reg.parseData('{oops') as { error: string }).error).toMatch(/^JSON 格式错误/);
  });
  it('puts a term in months after a start and turns form times into the hub\'s', async () => {
    const form = await import('$lib/app/form');
    expect(form.monthsLater('2026-12-08T00:00', 1)).toBe('2027-01-08T00:00');
    expect(form.monthsLater('2026-11-30T09:30', 3)).toBe('2027-02-28T09:30');
    expect(form.monthsLater('2028-01-31T00:00', 1)).toBe('2028-02-29T00:00');
    expect(form.monthsLater('2026-10-15T08:00:30', 2)).toBe('2026-12-15T08:00:30');
    expect(form.monthsLater('', 1)).toBe('');
    expect(form.monthsLater('明天', 1)).toBe('');
    expect(form.effectiveFromOf('2027-01-08T00:00')).toBe('2027-01-08T00:00:00+08:00');
    expect(form.effectiveFromOf('')).toBeUndefined();
  });
  it('leaves an optional flag absent when it was never filed and is left unticked', async () => {
    const form = await import('$lib/app/form');
    const base = { id: 'JCJ-4S', name: '某汽车销售公司', type: 'dealer', county: '451202', status: 'active' };
    const dataOf = (values: Record<string, string | boolean>, b: Record<string, unknown>) => (form.fromForm('institution', values, b) as { data: Record<string, unknown> }).data;
    expect(dataOf(form.toForm('institution', base), base)).not.toHaveProperty('closerChecks');
    expect(dataOf({ ...form.toForm('institution', base), closerChecks: true }, base).closerChecks).toBe(true);
    const checked = { ...base, closerChecks: true };
    expect(dataOf({ ...form.toForm('institution', checked), closerChecks: false }, checked).closerChecks).toBe(false);
    expect(form.toForm('institution', checked).closerChecks).toBe(true);
  });
  it('finds a term in force on a record: the highest version holding the instant, if it ends', () => {
    const open = { version: 2, validFrom: 1_000, validTo: null };
    const term = { version: 3, validFrom: 5_000, validTo: 9_000 };
    expect(reg.termInForce([{ version: 1, validFrom: 0, validTo: 1_000 }, open, term], 6_000)).toBe(9_000);
    expect(reg.termInForce([open, term], 4_999)).toBeNull();
    expect(reg.termInForce([open, term], 9_000)).toBeNull();
    // A later open-ended version over the term wins where they overlap: no term then.
    expect(reg.termInForce([open, term, { version: 4, validFrom: 6_000, validTo: null }], 7_000)).toBeNull();
    expect(reg.termInForce([], 7_000)).toBeNull();
  });
  it('never lets the maker check their own request', () => {
    expect(reg.canDecide({ status: 'pending', requestedBy: 'registry' }, 'registry')).toBe(false);
    expect(reg.canDecide({ status: 'pending', requestedBy: 'registry' }, 'registry2')).toBe(true);
    expect(reg.canDecide({ status: 'approved', requestedBy: 'registry' }, 'registry2')).toBe(false);
  });
  it('orders backtest diff lines by size of change and words the change', () => {
    const line = (key: string, added: number, removed: number) => ({ key, name: key, live: 10, draft: 10 + added - removed, added, removed, examples: [] });
    expect(rs.sortDiff([line('a', 0, 0), line('b', 1, 0), line('c', 0, 5)]).map((l) => l.key)).toEqual(['c', 'b', 'a']);
    expect(rs.sortDiff([line('a', 0, 0), line('b', 1, 0)], true).map((l) => l.key)).toEqual(['b']);
    expect(rs.changeText(33, 29)).toBe('−4（−12.1%）');
    expect(rs.changeText(0, 3)).toBe('+3（新增）');
    expect(rs.parseParams('{"minSeconds":120}')).toEqual({ params: { minSeconds: 120 } });
    expect(rs.parseParams('{}')).toHaveProperty('error');
  });
});

describe('rule parameters in English', () => {
  const CJK = /[\u3000-\u303f\u3400-\u9fff\uff00-\uffef]/;
  it('has an English label, unit, help and choice for every parameter of the rules package', () => {
    const missing: string[] = [];
    const check = (zh: string) => {
      const en = english(zh);
      if (en === zh || CJK.test(en)) missing.push(zh);
    };
    for (const [name, p] of Object.entries(PARAM_LABELS)) {
      check(p.label);
      check(p.help);
      if (p.unit && p.unit !== 'list') check(p.unit);
      for (const choice of Object.values(PARAM_CHOICE_LABELS[name] ?? {})) check(choice);
    }
    check('规则参数');
    expect(missing).toEqual([]);
  });
  it('captions a field with its unit in the screen language, and says what is missing in it', () => {
    const [min, peers, cidrs, night] = paramFields({ minSeconds: 180, minPeers: 5, allowedCidrs: ['10.0.0.0/8'], nightStart: '22:00' });
    try {
      i18n.locale = 'zh';
      expect(paramCaption(min!)).toBe('最短用时（秒）');
      expect(paramCaption(peers!)).toBe('最少同类数（个）');
      expect(paramsFrom([{ ...min!, value: '' }])).toEqual({ error: '请填写「最短用时」（数字）' });
      i18n.locale = 'en';
      expect(paramCaption(min!)).toBe('Minimum time (s)');
      expect(paramCaption(peers!)).toBe('Minimum peers');
      expect(paramCaption(cidrs!)).toBe('Allowed IP ranges');
      expect(paramCaption(night!)).toBe('Night starts (hh:mm)');
      expect(paramsFrom([{ ...min!, value: '' }])).toEqual({ error: 'Fill in “Minimum time” (a number)' });
      expect(paramsFrom([])).toEqual({ error: 'This rule has no parameters to adjust' });
    } finally {
      i18n.locale = 'zh';
    }
  });
});

describe('backups screen words', async () => {
  const bk = await import('$lib/app/backups');
  it('names every table in Chinese and English, and never shows an unknown table name as text', () => {
    const CJK = /[\u3400-\u9fff]/;
    for (const [name, [zh, en]] of Object.entries(bk.TABLE_LABELS)) {
      expect(CJK.test(zh), name).toBe(true);
      expect(en, name).toMatch(/^[A-Z][A-Za-z ]+$/);
    }
    expect(bk.tableLabel('transactions')).toEqual({ label: '业务记录', title: undefined });
    expect(bk.tableLabel('new_table_x')).toEqual({ label: '其他数据表', title: 'new_table_x' });
    try {
      i18n.locale = 'en';
      expect(bk.tableLabel('audit_log').label).toBe('Audit log');
      expect(bk.tableLabel('new_table_x').label).toBe('Other table');
      expect(bk.durationText(65_000)).toBe('1 min 5 s');
    } finally {
      i18n.locale = 'zh';
    }
  });
  it('words sizes, durations, row counts and the refusals', () => {
    expect(bk.sizeText(512)).toBe('512 B');
    expect(bk.sizeText(3.5 * 1024 ** 2)).toBe('3.5 MiB');
    expect(bk.sizeText(1.25 * 1024 ** 3)).toBe('1.25 GiB');
    expect(bk.durationText(800)).toBe('1 秒');
    expect(bk.durationText(185_000)).toBe('3 分 5 秒');
    expect(bk.durationText(3_720_000)).toBe('1 小时 2 分');
    expect(bk.durationText(null)).toBe('—');
    expect(bk.backupRows({ tables: [] })).toEqual({ business: null, total: null });
    expect(bk.backupRows({ tables: [{ name: 'transactions', rows: 120, bytes: 1 }, { name: 'warnings', rows: 30, bytes: 1 }] })).toEqual({ business: 120, total: 150 });
    expect(bk.orderTables([{ name: 'zz_new' }, { name: 'audit_log' }, { name: 'transactions' }]).map((t) => t.name)).toEqual(['transactions', 'audit_log', 'zz_new']);
    expect(bk.phaseText('copy')).toBe('复制数据');
    expect(bk.failureText('no_space')).toContain('空间不足');
    expect(bk.failureText('stopping')).toContain('中心服务停止');
    expect(bk.failureText('not_verified')).toContain('未通过校验');
    expect(bk.failureText(undefined)).toBe('备份失败');
    expect(errorText(409, 'BACKUP_RUNNING')).toBe('已有备份正在进行，请稍候');
    expect(errorText(409, 'BACKUP_UNSUPPORTED')).toContain('外部 ClickHouse');
    // Every code in English on the English screen, with no Chinese left in it.
    for (const code of KNOWN_ERROR_CODES) {
      const en = inEnglish(() => errorText(400, code));
      expect(en, code).not.toMatch(/[\u3400-\u9fff]/);
      expect(en, code).not.toBe(errorText(400, code));
    }
    expect(inEnglish(() => errorText(503, 'STORE_DOWN'))).toBe('Server error (STORE_DOWN): try again later');
    expect(inEnglish(() => errorText(422, 'IMPORT_INVALID', '3 处错误，未导入任何数据'))).toBe('Request failed: 3 处错误，未导入任何数据');
  });
});

describe('rule quality by rule', () => {
  const row = (ruleId: string, month: string, hits: number, confirmed: number, falseAlarms: number, sampling = false) => ({
    month, ruleId, ruleName: ruleId, family: 'counter', hits, confirmed, falseAlarms, pending: hits - confirmed - falseAlarms,
    precision: confirmed + falseAlarms ? confirmed / (confirmed + falseAlarms) : null, sampling,
  });

  it('sums the months and works precision out from the sums, lowest first, sampling rules apart', () => {
    const { warning, sampling } = qualityByRule([
      // 1/1 in a quiet month and 0/9 in a busy one: 10 %, not the 50 % a mean of months would say.
      row('a', '2026-10', 1, 1, 0),
      row('a', '2026-11', 12, 0, 9),
      row('b', '2026-11', 4, 2, 2),
      row('c', '2026-11', 3, 0, 0),
      row('s', '2026-10', 20, 1, 15, true),
      row('s', '2026-11', 10, 1, 5, true),
    ]);
    expect(warning.map((r) => [r.ruleId, r.hits, r.confirmed, r.falseAlarms, r.pending, r.precision])).toEqual([
      ['a', 13, 1, 9, 3, 0.1],
      ['b', 4, 2, 2, 0, 0.5],
      // No conclusion yet: last.
      ['c', 3, 0, 0, 3, null],
    ]);
    // The draw's normal findings are its expected outcome: listed apart, not as the worst rule.
    expect(sampling.map((r) => [r.ruleId, r.hits, r.confirmed, r.falseAlarms, r.precision])).toEqual([['s', 30, 2, 20, 2 / 22]]);
    expect(qualityByRule([])).toEqual({ warning: [], sampling: [] });
  });
});

describe('conclusions in words', () => {
  it('words a spot check found normal as such, not as a false alarm, in both languages', () => {
    expect(conclusionText('false_alarm')).toBe('正常（误报）');
    expect(conclusionText('false_alarm', true)).toBe('正常（抽查无异常）');
    expect(conclusionText('confirmed', true)).toBe('异常属实（抽查发现问题）');
    expect(inEnglish(() => conclusionText('false_alarm', true))).toBe('Normal (nothing found)');
    expect(inEnglish(() => conclusionText('false_alarm'))).toBe('Normal (false alarm)');
    expect(conclusionText('')).toBe('');
  });
});

describe('a grade\'s consequence as filed', () => {
  it('names its first and last day, a term ending at midnight ending the day before', () => {
    const cst = (iso: string) => Date.parse(`${iso}+08:00`);
    expect(filedText({ from: cst('2026-10-09T00:00:00'), to: cst('2026-11-09T00:00:00') })).toBe('已登记：2026-10-09 至 2026-11-08');
    expect(filedText({ from: cst('2026-10-09T00:00:00'), to: cst('2026-11-09T12:00:00') })).toBe('已登记：2026-10-09 至 2026-11-09');
    expect(filedText({ from: cst('2026-10-09T00:00:00'), to: null })).toBe('已登记：2026-10-09 起');
    expect(filedText(null)).toBe('尚未登记');
    expect(inEnglish(() => filedText({ from: cst('2026-10-09T00:00:00'), to: cst('2027-01-01T00:00:00') }))).toBe('filed: 2026-10-09 to 2026-12-31');
  });
});
