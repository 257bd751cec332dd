/**
 * The notice of an institution's quarterly grade as a printable HTML page (Chinese, A4): what the
 * detachment sends the institution once a quarter is over. Its title and what it asks follow the
 * grade (A/B normal; C a written warning and closer checks; D networked business suspended for
 * 1–3 months): 季度考核结果通知书, 考核书面警示通知书, 暂停联网业务通知书. It states the months'
 * scores, the veto items, and the confirmed warnings behind the deductions by rule — a deduction
 * traces to confirmed warnings, net of those later found to be false alarms.
 *
 * What only the detachment can say — the document number (文号), a C grade's rectification
 * deadline, the contact — are blanks to fill in the browser before printing (contenteditable,
 * tinted on screen); one left empty prints as an underlined blank to write in by hand. What the
 * register already says is printed: a D grade's suspension or a C grade's closer checks, once
 * filed for a term after the quarter, with its dates.
 */
import { COUNTY_BY_CODE, INSTITUTION_TYPE_LABELS, type Institution } from '@jianguan/rules';
import { cstTime } from '../exports/table.js';
import type { VersionRow } from '../registry/build.js';
import { lastCovered, monthBounds } from '../time/business-time.js';
import { escapeHtml, PRINT_STYLE } from './report.js';
import { GRADE_LABELS, gradeText, isGraded, nextQuarter, quarterLabel, quarterMonths, ruleNameOf, type Grade } from './scoring.js';
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

/** A filed term: [from, to), `to` null when open-ended. */
export interface NoticeTerm {
  from: number;
  to: number | null;
}

/** Finds what a grade brought: by institution and grade, null when nothing is filed. */
export type ConsequenceLookup = (institutionId: string, grade: Grade) => NoticeTerm | null;

/**
 * What the grades of `quarter` brought in the register, as filed: for an institution, the first
 * version of its own record starting in the next quarter (the grade's consequence follows it)
 * that suspends it (D) or puts it under closer checks (C). Null when none is filed (yet), or for
 * A and B. The register is read once here, not once per institution of a quarter's list.
 */
export function consequenceTerms(versions: readonly VersionRow[], quarter: string): ConsequenceLookup {
  const quarterEnd = monthBounds(quarterMonths(quarter)[2]).to;
  const nextEnd = monthBounds(quarterMonths(nextQuarter(quarter))[2]).to;
  const byKey = new Map<string, { from: number; to: number | null; data: Record<string, unknown> }[]>();
  for (const v of versions) {
    if (v.entity !== 'institution' || Number(v.retired) || Number(v.from_ms) < quarterEnd || Number(v.from_ms) >= nextEnd) continue;
    let data: Record<string, unknown>;
    try {
      data = JSON.parse(v.data) as Record<string, unknown>;
    } catch {
      continue;
    }
    const list = byKey.get(v.key) ?? [];
    list.push({ from: Number(v.from_ms), to: v.to_ms === null ? null : Number(v.to_ms), data });
    byKey.set(v.key, list);
  }
  for (const list of byKey.values()) list.sort((x, y) => x.from - y.from);
  return (institutionId, grade) => {
    if (grade !== 'C' && grade !== 'D') return null;
    const t = byKey.get(institutionId)?.find((x) => (grade === 'D' ? x.data.status === 'suspended' : x.data.closerChecks === true));
    return t ? { from: t.from, to: t.to } : null;
  };
}

/** One institution's: consequenceTerms for a single notice. */
export function consequenceTerm(versions: readonly VersionRow[], institutionId: string, quarter: string, grade: Grade): NoticeTerm | null {
  return consequenceTerms(versions, quarter)(institutionId, grade);
}

/** 2026年10月9日 (with the time when not midnight), China time. */
function dateText(ms: number): string {
  const t = cstTime(ms);
  const day = `${Number(t.slice(0, 4))}年${Number(t.slice(5, 7))}月${Number(t.slice(8, 10))}日`;
  return t.slice(11, 16) === '00:00' ? day : `${day} ${t.slice(11, 16)}`;
}

/** A term in words: from its first day to its last (an end at midnight ends the day before). */
export function termText(t: NoticeTerm): string {
  if (t.to === null) return `自${dateText(t.from)}起`;
  return `自${dateText(t.from)}起至${dateText(lastCovered(t.to))}止`;
}

/** A blank the detachment fills in before printing; `hint` shows on screen while it is empty. */
function blank(name: string, hint: string): string {
  return `<span class="fill" contenteditable="true" spellcheck="false" data-fill="${name}" data-hint="${hint}"></span>`;
}

const TITLES: Readonly<Record<Grade, string>> = { A: '季度考核结果通知书', B: '季度考核结果通知书', C: '考核书面警示通知书', D: '暂停联网业务通知书' };

/** What the grade brings, as the notice says it to the institution. */
const CONSEQUENCES: Readonly<Record<Grade, string>> = {
  A: '考核结果正常，请继续保持规范办理业务。',
  B: '考核结果正常，请针对下列扣分问题改进。',
  C: `根据考核办法，现予书面警示，下一季度对你单位办理的业务加强抽查。请针对下列问题逐项整改，并于${blank('deadline', '年 月 日')}前将整改情况书面报送考核单位。`,
  D: '根据考核办法，暂停你单位联网办理业务 1–3 个月，起止时间以备案登记为准，暂停期间不得办理联网业务。请针对下列问题逐项整改，暂停期满前将整改情况书面报送考核单位。',
};

/** The notice's title for a graded quarter (or the plain one for a quarter without business). */
export function noticeTitle(row: Pick<QuarterRow, 'graded' | 'grade'>): string {
  return row.graded ? TITLES[row.grade] : TITLES.A;
}

/** What the grade brings, with the term filed for it when there is one. */
function consequence(grade: Grade, term: NoticeTerm | null): string {
  if (!term) return CONSEQUENCES[grade];
  if (grade === 'D') {
    const end = term.to === null ? '，恢复时间另行通知' : '';
    return `根据考核办法，暂停你单位联网办理业务，<b data-term>${termText(term)}</b>（已备案登记）${end}，暂停期间不得办理联网业务。请针对下列问题逐项整改，暂停期满前将整改情况书面报送考核单位。`;
  }
  return CONSEQUENCES.C.replace('下一季度对你单位办理的业务加强抽查', `<b data-term>${termText(term)}</b>对你单位办理的业务加强抽查（已备案登记）`);
}

export function renderNotice(p: { institution: Institution; quarter: string; row: QuarterRow; rules: readonly NoticeRule[]; generatedAt: number; term?: NoticeTerm | null }): string {
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
  .docno { text-align: center; font-size: 14px; margin: 2px 0 4px; }
  .contact { font-size: 14px; margin-top: 28px; }
  .fill { display: inline-block; min-width: 8em; border-bottom: 1px solid #111; padding: 0 4px; text-indent: 0; line-height: 1.5; outline: none; }
  .docno .fill { min-width: 14em; }
  @media screen {
    .fill { background: #fff6cc; }
    .fill:empty::before { content: attr(data-hint); color: #999; }
  }
</style></head>
<body>
<p class="noprint"><button onclick="window.print()">打印</button> 带底色的空白处可直接点击填写（文号${q.graded && q.grade === 'C' ? '、整改期限' : ''}、联系人），填好后打印；未填的打印为空白横线，可手写。</p>
<h1>${escapeHtml(title)}</h1>
<div class="docno">${blank('docno', '文号')}</div>
<div class="sub">${escapeHtml(quarterName)} · ${escapeHtml(inst.name)}（${escapeHtml(typeName)}，${escapeHtml(countyName)}）</div>
<p class="to">${escapeHtml(inst.name)}：</p>
<div class="body">
<p data-result>${result}</p>
${q.graded ? `<p data-consequence>${consequence(q.grade, p.term ?? null)}</p>` : ''}
</div>
<h2>一、各月考核结果</h2>
<table><tr><th>月份</th><th>业务量</th><th>属实预警</th><th>得分</th><th>等级</th></tr>${months}</table>
<h2>二、扣分所涉问题</h2>
${rules ? `<table><tr><th>序号</th><th>问题（规则）</th><th>属实预警</th><th>扣分点数</th></tr>${rules}</table><p>以上为经核查属实的预警，已核查为误报的不计。每条预警的时间、经办与核查记录见月度考核评价报告。</p>` : '<p>本季度无属实预警扣分。</p>'}
<p class="contact">联系人：${blank('contact', '姓名')}　联系电话：${blank('phone', '电话')}</p>
<div class="sign">考核单位（盖章）<br>${escapeHtml(cstTime(p.generatedAt).slice(0, 10))}</div>
</body></html>`;
}
