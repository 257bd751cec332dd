/**
 * The monthly evaluation report of one institution as a printable HTML page (Chinese, A4 print
 * CSS, no external assets): score and grade, rank within the type, deductions by category, the
 * quarter's grade so far, the month-by-month trend, and every ledger row with its warning.
 */
import { COUNTY_BY_CODE, INSTITUTION_TYPE_LABELS, SEVERITY_LABELS, type Institution } from '@jianguan/rules';
import { cstTime } from '../exports/table.js';
import { CONCLUSION_LABELS, STATE_LABELS, type Conclusion, type WarningStateName } from '../workflow/machine.js';
import { CATEGORY_LABELS, GRADE_LABELS, gradeText, isGraded, ledgerEffect, NO_BUSINESS_LABEL, QUARTER_ACTIONS, quarterLabel, quarterMonths, quarterOf, ruleNameOf, scoreQuarter, weightsFor, type EvaluationConfig } from './scoring.js';
import type { LedgerRow, ScoreRow } from './service.js';

/** The printed pages' look (A4, the CJK fonts a Chinese office has, no external assets). */
export const PRINT_STYLE = `<style>
  @page { size: A4; margin: 16mm 14mm; }
  body { font-family: "Noto Sans CJK SC", "Source Han Sans SC", "Microsoft YaHei", sans-serif; color: #111; font-size: 12px; margin: 0 auto; max-width: 190mm; }
  h1 { font-size: 20px; text-align: center; margin: 8px 0 2px; }
  .sub { text-align: center; color: #444; margin-bottom: 14px; }
  h2 { font-size: 14px; border-left: 4px solid #b3261e; padding-left: 6px; margin: 18px 0 6px; }
  table { border-collapse: collapse; width: 100%; }
  th, td { border: 1px solid #999; padding: 3px 5px; vertical-align: top; }
  th { white-space: nowrap; }
  th { background: #eee; }
  td.n { text-align: right; font-variant-numeric: tabular-nums; }
  .mono { font-family: monospace; font-size: 10px; }
  .summary td { font-size: 13px; }
  .grade { font-size: 28px; font-weight: bold; color: #b3261e; }
  tr.reverse td { color: #2e7d32; }
  .veto { color: #b3261e; font-weight: bold; }
  .sign { margin-top: 28px; display: flex; justify-content: space-between; }
  @media print { .noprint { display: none; } h2 { break-after: avoid; } tr { break-inside: avoid; } }
</style>`;

export function escapeHtml(s: unknown): string {
  return String(s ?? '').replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);
}

function sparkline(all: readonly ScoreRow[], gradeA: number): string {
  // Months without business have no score to plot (they are not graded).
  const trend = all.filter(isGraded);
  if (trend.length < 2) return '';
  const w = 520;
  const h = 120;
  const pad = 24;
  const x = (i: number) => pad + (i * (w - 2 * pad)) / (trend.length - 1);
  // Scores sit high; scale from a little under the lowest (at most 60) to 100.
  const lo = Math.max(0, Math.min(60, ...trend.map((t) => t.score - 5)));
  const y = (s: number) => h - pad - ((s - lo) / (100 - lo)) * (h - 2 * pad);
  const pts = trend.map((t, i) => `${x(i).toFixed(1)},${y(t.score).toFixed(1)}`).join(' ');
  const labels = trend
    .map((t, i) => `<text x="${x(i).toFixed(1)}" y="${h - 6}" font-size="9" text-anchor="middle">${escapeHtml(t.month.slice(2))}</text><text x="${x(i).toFixed(1)}" y="${(y(t.score) - 5).toFixed(1)}" font-size="9" text-anchor="middle">${t.score}${t.veto ? ' D' : ''}</text>`)
    .join('');
  return `<svg viewBox="0 0 ${w} ${h}" width="${w}" height="${h}" role="img" aria-label="月度得分趋势"><line x1="${pad}" x2="${w - pad}" y1="${y(gradeA)}" y2="${y(gradeA)}" stroke="#bbb" stroke-dasharray="3 3"/><polyline fill="none" stroke="#b3261e" stroke-width="2" points="${pts}"/>${labels}</svg>`;
}

export function renderReport(p: { institution: Institution; month: string; score: ScoreRow; trend: readonly ScoreRow[]; ledger: readonly LedgerRow[]; config: EvaluationConfig; generatedAt: number }): string {
  const { institution: inst, score: s, month } = p;
  const w = weightsFor(p.config, inst.type).weights;
  const typeName = INSTITUTION_TYPE_LABELS[inst.type] ?? inst.type;
  const countyName = COUNTY_BY_CODE.get(inst.county)?.name ?? inst.county;
  const cat = (k: 'compliance' | 'quality' | 'integrity' | 'responsiveness', d: number) =>
    `<tr><td>${CATEGORY_LABELS[k]}</td><td class="n">${w[k]}</td><td class="n">${d.toFixed(2)}</td><td class="n">${(w[k] - d).toFixed(2)}</td></tr>`;
  const tw = weightsFor(p.config, inst.type);
  const graded = isGraded(s);
  /** The same per-row figure the institution screen shows (scoring.ts ledgerEffect). */
  const effect = (pts: number) => {
    const e = ledgerEffect(p.config, inst.type, s.transactions, pts);
    return `${e > 0 ? '−' : '+'}${Math.abs(e).toFixed(2)}`;
  };
  const ledgerRows = p.ledger
    .map(
      (l) => `<tr class="${l.kind}"><td>${escapeHtml(cstTime(l.occurred_at))}</td><td>${escapeHtml(l.rule_name || l.rule_id)}</td><td>${escapeHtml(SEVERITY_LABELS[l.severity as 'high'] ?? l.severity)}</td>
      <td>${escapeHtml(CATEGORY_LABELS[l.category] ?? l.category)}</td><td class="n">${l.points}</td><td class="n">${effect(l.points)}${l.kind === 'reverse' ? '（冲销）' : ''}</td>
      <td>${escapeHtml(l.explanation)}</td><td>${escapeHtml(STATE_LABELS[l.state as WarningStateName] ?? l.state)}${l.conclusion ? ` / ${escapeHtml(CONCLUSION_LABELS[l.conclusion as Conclusion] ?? l.conclusion)}` : ''}</td><td class="mono">${escapeHtml(l.warning_id)}</td></tr>`,
    )
    .join('');
  // The quarter up to the report's month (the trend holds the months before it).
  const quarter = quarterOf(month);
  const upTo = quarterMonths(quarter).filter((m) => m <= month);
  const q = scoreQuarter(p.config, p.trend.filter((t) => upTo.includes(t.month)));
  const quarterName = quarterLabel(quarter);
  const quarterLine = q.graded
    ? `<p data-quarter="${quarter}">${quarterName}（${upTo.length === 3 ? '全季度' : `截至 ${escapeHtml(month)}`}，${q.monthsGraded} 个月有业务）：季度得分 ${q.score.toFixed(2)}，等级 <b>${q.grade} ${GRADE_LABELS[q.grade]}</b>${q.veto ? '（一票否决）' : ''}；处理：${QUARTER_ACTIONS[q.grade]}。季度等级为季度内各月得分的平均，任一月一票否决即为 D。</p>`
    : `<p data-quarter="${quarter}">${quarterName}：${NO_BUSINESS_LABEL}，不评等级。</p>`;
  const trendRows = p.trend
    .map((t) => `<tr><td>${escapeHtml(t.month)}</td><td class="n">${t.transactions}</td><td class="n">${t.confirmed}</td><td class="n">${isGraded(t) ? t.score.toFixed(2) : '—'}</td><td>${escapeHtml(gradeText(t))}</td><td class="n">${isGraded(t) ? `${t.rank}/${t.rank_of}` : '—'}</td></tr>`)
    .join('');
  return `<!doctype html>
<html lang="zh-CN"><head><meta charset="utf-8">
<title>${escapeHtml(inst.name)} ${escapeHtml(month)} 月度考核评价报告</title>
${PRINT_STYLE}</head>
<body>
<p class="noprint"><button onclick="window.print()">打印</button></p>
<h1>社会化机构月度考核评价报告</h1>
<div class="sub">${escapeHtml(inst.name)}（${escapeHtml(typeName)}，${escapeHtml(countyName)}） · 考核月份 ${escapeHtml(month)}</div>
<h2>一、考核结果</h2>
<table class="summary"><tr><th>得分</th><th>等级</th><th>同类排名</th><th>业务量</th><th>预警数</th><th>属实预警</th><th>误报</th><th>超期督办</th></tr>
<tr><td class="n">${graded ? s.score.toFixed(2) : '—'}</td><td>${graded ? `<span class="grade">${s.grade}</span> ${escapeHtml(GRADE_LABELS[s.grade])}` : NO_BUSINESS_LABEL}</td><td class="n">${graded ? `${s.rank} / ${s.rank_of}` : '—'}</td>
<td class="n">${s.transactions}</td><td class="n">${s.warnings}</td><td class="n">${s.confirmed}</td><td class="n">${s.false_alarms}</td><td class="n">${s.escalated}</td></tr></table>
${s.veto ? `<p class="veto">一票否决：本月存在属实的否决项预警（${escapeHtml(s.veto_rules.map(ruleNameOf).join('、'))}），等级定为 D。</p>` : ''}
${quarterLine}
<h2>二、分项扣分</h2>
<table><tr><th>分项</th><th>权重</th><th>扣分</th><th>得分</th></tr>
${cat('compliance', s.deduct_compliance)}${cat('quality', s.deduct_quality)}${cat('integrity', s.deduct_integrity)}${cat('responsiveness', s.deduct_responsiveness)}
</table>
<p>扣分规则：每条属实预警按严重程度计点（高 ${p.config.severityPoints.high}、中 ${p.config.severityPoints.medium}、低 ${p.config.severityPoints.low}），得分影响 = 点数 × ${tw.factor} × 100 ÷ ${Math.max(s.transactions, tw.minVolume)}（本月业务量 ${s.transactions} 笔，不足 ${tw.minVolume} 笔按 ${tw.minVolume} 笔计），合规、质量、诚信各项以权重为上限；响应项按超期督办预警占比扣分。预警经核查为误报的，其扣分予以冲销。等级：A ≥ ${p.config.grades.A}，B ≥ ${p.config.grades.B}，C ≥ ${p.config.grades.C}，其余 D；无业务的月份不评等级。</p>
<h2>三、月度趋势</h2>
${sparkline(p.trend, p.config.grades.A)}
<table><tr><th>月份</th><th>业务量</th><th>属实预警</th><th>得分</th><th>等级</th><th>排名</th></tr>${trendRows}</table>
<h2>四、扣分明细</h2>
${p.ledger.length ? `<table><tr><th>业务时间</th><th>规则</th><th>严重程度</th><th>分项</th><th>严重程度点数</th><th>得分影响</th><th>说明</th><th>处置状态</th><th>预警编号</th></tr>${ledgerRows}</table>` : '<p>本月无扣分。</p>'}
<div class="sign"><span>考核单位（盖章）：</span><span>审核人：</span><span>生成时间：${escapeHtml(cstTime(p.generatedAt))}</span></div>
</body></html>`;
}
