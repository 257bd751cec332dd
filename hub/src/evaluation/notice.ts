/**
 * The notice of an institution's quarterly grade as a printable HTML page (Chinese, A4): what the
 * detachment sends the institution once a quarter is over. Its title and what it asks follow the
 * grade (A/B normal; C a written warning and closer checks; D networked business suspended for
 * 1–3 months): 季度考核结果通知书, 考核书面警示通知书, 暂停联网业务通知书. It states the months'
 * scores, the veto items, and the confirmed warnings behind the deductions by rule — a deduction
 * traces to confirmed warnings, net of those later found to be false alarms.
 */
import { COUNTY_BY_CODE, INSTITUTION_TYPE_LABELS, type Institution } from '@jianguan/rules';
import { cstTime } from '../exports/table.js';
import { escapeHtml, PRINT_STYLE } from './report.js';
import { GRADE_LABELS, gradeText, isGraded, quarterLabel, ruleNameOf, type Grade } from './scoring.js';
import type { LedgerRow, QuarterRow } from './service.js';

/** One rule behind a quarter's deductions: its confirmed warnings and points, net of reversals. */
export interface NoticeRule {
  ruleName: string;
  confirmed: number;
  points: number;
}

/** The ledger of a quarter's months by rule, reversals taken off; rules left with nothing dropped. */
export function noticeRules(ledger: readonly LedgerRow[]): NoticeRule[] {
  const by = new Map<string, NoticeRule>();
  for (const l of ledger) {
    const name = l.rule_name || ruleNameOf(l.rule_id);
    const r = by.get(l.rule_id) ?? { ruleName: name, confirmed: 0, points: 0 };
    // A reversal carries the negative of the points it takes back.
    r.confirmed += l.kind === 'reverse' ? -1 : 1;
    r.points = Math.round((r.points + l.points) * 1e4) / 1e4;
    by.set(l.rule_id, r);
  }
  return [...by.values()].filter((r) => r.confirmed > 0).sort((a, b) => b.points - a.points || b.confirmed - a.confirmed || a.ruleName.localeCompare(b.ruleName, 'zh'));
}

const TITLES: Readonly<Record<Grade, string>> = { A: '季度考核结果通知书', B: '季度考核结果通知书', C: '考核书面警示通知书', D: '暂停联网业务通知书' };

/** What the grade brings, as the notice says it to the institution. */
const CONSEQUENCES: Readonly<Record<Grade, string>> = {
  A: '考核结果正常，请继续保持规范办理业务。',
  B: '考核结果正常，请针对下列扣分问题改进。',
  C: '根据考核办法，现予书面警示，下一季度对你单位办理的业务加强抽查。请针对下列问题逐项整改，并在规定期限内将整改情况书面报送考核单位。',
  D: '根据考核办法，暂停你单位联网办理业务 1–3 个月，起止时间以备案登记为准，暂停期间不得办理联网业务。请针对下列问题逐项整改，暂停期满前将整改情况书面报送考核单位。',
};

/** The notice's title for a graded quarter (or the plain one for a quarter without business). */
export function noticeTitle(row: Pick<QuarterRow, 'graded' | 'grade'>): string {
  return row.graded ? TITLES[row.grade] : TITLES.A;
}

export function renderNotice(p: { institution: Institution; quarter: string; row: QuarterRow; rules: readonly NoticeRule[]; generatedAt: number }): string {
  const { institution: inst, row: q } = p;
  const typeName = INSTITUTION_TYPE_LABELS[inst.type] ?? inst.type;
  const countyName = COUNTY_BY_CODE.get(inst.county)?.name ?? inst.county;
  const quarterName = quarterLabel(p.quarter);
  const title = noticeTitle(q);
  const vetoRules = [...new Set(q.months.flatMap((m) => (m.veto ? m.veto_rules : [])))].map(ruleNameOf);
  const result = q.graded
    ? `经考核，你单位${quarterName}考核得分 <b>${q.score.toFixed(2)}</b>（季度内 ${q.monthsGraded} 个有业务月份得分的平均），等级 <b class="grade-inline">${q.grade} ${GRADE_LABELS[q.grade]}</b>${q.veto ? `（一票否决：${escapeHtml(vetoRules.join('、'))}）` : ''}，在全市同类机构（${escapeHtml(typeName)}）${q.rank_of} 家中排名第 ${q.rank}。`
    : `你单位${quarterName}无业务，不评等级。`;
  const months = q.months
    .map((m) => `<tr><td>${escapeHtml(m.month)}</td><td class="n">${m.transactions}</td><td class="n">${m.confirmed}</td><td class="n">${isGraded(m) ? m.score.toFixed(2) : '—'}</td><td>${gradeText(m)}${m.veto ? '（一票否决）' : ''}</td></tr>`)
    .join('');
  const rules = p.rules.map((r, i) => `<tr><td class="n">${i + 1}</td><td>${escapeHtml(r.ruleName)}</td><td class="n">${r.confirmed}</td><td class="n">${r.points}</td></tr>`).join('');
  return `<!doctype html>
<html lang="zh-CN"><head><meta charset="utf-8">
<title>${escapeHtml(inst.name)} ${escapeHtml(quarterName)} ${escapeHtml(title)}</title>
${PRINT_STYLE}
<style>
  .to { font-size: 14px; margin: 18px 0 8px; }
  .body p { font-size: 14px; line-height: 1.9; text-indent: 2em; margin: 6px 0; }
  .grade-inline { color: #b3261e; }
  .sign { margin-top: 48px; display: block; text-align: right; font-size: 14px; line-height: 2; }
</style></head>
<body>
<p class="noprint"><button onclick="window.print()">打印</button></p>
<h1>${escapeHtml(title)}</h1>
<div class="sub">${escapeHtml(quarterName)} · ${escapeHtml(inst.name)}（${escapeHtml(typeName)}，${escapeHtml(countyName)}）</div>
<p class="to">${escapeHtml(inst.name)}：</p>
<div class="body">
<p data-result>${result}</p>
${q.graded ? `<p data-consequence>${CONSEQUENCES[q.grade]}</p>` : ''}
</div>
<h2>一、各月考核结果</h2>
<table><tr><th>月份</th><th>业务量</th><th>属实预警</th><th>得分</th><th>等级</th></tr>${months}</table>
<h2>二、扣分所涉问题</h2>
${rules ? `<table><tr><th>序号</th><th>问题（规则）</th><th>属实预警</th><th>扣分点数</th></tr>${rules}</table><p>以上为经核查属实的预警，已核查为误报的不计。每条预警的时间、经办与核查记录见月度考核评价报告。</p>` : '<p>本季度无属实预警扣分。</p>'}
<div class="sign">考核单位（盖章）<br>${escapeHtml(cstTime(p.generatedAt).slice(0, 10))}</div>
</body></html>`;
}
