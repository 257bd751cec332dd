/**
 * Evaluation routes: monthly scores with ranking, an institution's trend and the deductions
 * behind a score (each linked to its warning), its volumes by business type, exports, the
 * printable monthly report, and rule quality (hits, confirmed, false alarms, precision per rule
 * and month).
 */
import type { FastifyInstance } from 'fastify';
import { COUNTY_BY_CODE, INSTITUTION_TYPE_LABELS, InstitutionType, SEVERITY_LABELS, TRANSACTION_KIND_LABELS, type TransactionKind } from '@jianguan/rules';
import { z } from 'zod';
import { HubError } from '../errors.js';
import { assertInScope, authorize, scopedCounty, type Principal, type Role } from '../http/access.js';
import type { Registry } from '../registry/registry.js';
import { cstTime, type Column } from '../exports/table.js';
import { defineExportRoute } from '../exports/export-route.js';
import { consequenceTerm, consequenceTerms, noticeRules, renderNotice, termText, type ConsequenceLookup } from '../evaluation/notice.js';
import { renderReport } from '../evaluation/report.js';
import { CATEGORY_LABELS, explainMonth, GRADE_LABELS, gradeLabelOf, isGraded, ledgerEffect, monthOf, NO_BUSINESS_LABEL, previousMonths, previousQuarter, quarterLabel, quarterMonths, quarterOf, quarterWords, ruleNameOf, scoreQuarter, weightsFor, type Category } from '../evaluation/scoring.js';
import type { EvaluationService, LedgerRow, QuarterRow, RuleQualityRow, ScoreRow } from '../evaluation/service.js';
import { institutionVolumes } from '../evaluation/volumes.js';
import { InstitutionVolumesSchema, type VolumeRow } from '../protocol/volumes.js';
import {
  EvaluationConfigViewSchema,
  EvaluationRefreshJobSchema,
  InstitutionDeductionsSchema,
  QuarterListSchema,
  RuleQualityListSchema,
  ScoreListSchema,
  ScoreTrendSchema,
  type InstitutionDeductions,
  type LedgerItem,
  type QuarterItem,
  type RuleQualityItem,
  type ScoreItem,
} from '../protocol/index.js';
import type { Store } from '../store/store.js';
import { CONCLUSION_LABELS, SAMPLING_CONCLUSION_LABELS, STATE_LABELS, type Conclusion, type WarningStateName } from '../workflow/machine.js';
import { defineRoute, Month, Quarter } from '../http/define.js';

export interface EvaluationRouteDeps {
  registry: Registry;
  evaluation: EvaluationService;
  store: Store;
  /** The ids of the sampling rules (rules' isSamplingRule) among the built-in pack and the rule set in force. */
  samplingRules: () => ReadonlySet<string>;
}

export const EVALUATION_READERS: readonly Role[] = ['leader', 'auditor', 'registry_admin', 'system_admin'];
const RULE_QUALITY_READERS: readonly Role[] = ['rule_admin', 'leader', 'system_admin'];

const MonthQuery = z.object({ month: Month.default(() => monthOf(Date.now())) });
const InstitutionParams = z.object({ id: z.string().min(1).max(64) });


/** A rule's month of quality, with whether the rule samples (for the API and the export alike). */
type QualityRow = RuleQualityRow & { sampling: boolean };

function qualityItem(r: QualityRow): RuleQualityItem {
  return { month: r.month, ruleId: r.rule_id, ruleName: r.rule_name, family: r.family, hits: r.hits, confirmed: r.confirmed, falseAlarms: r.false_alarms, pending: r.pending, precision: r.precision, sampling: r.sampling };
}

export function registerEvaluationRoutes(app: FastifyInstance, deps: EvaluationRouteDeps): void {
  const { registry, evaluation, store } = deps;
  const name = (id: string) => registry.institution(id)?.name ?? id;
  const view = (r: ScoreRow): ScoreItem => {
    const graded = isGraded(r);
    return {
      month: r.month,
      institutionId: r.institution_id,
      institutionName: name(r.institution_id),
      institutionType: r.institution_type,
      typeName: INSTITUTION_TYPE_LABELS[r.institution_type as InstitutionType] ?? r.institution_type,
      county: r.county,
      countyName: COUNTY_BY_CODE.get(r.county)?.name ?? r.county,
      transactions: r.transactions,
      warnings: r.warnings,
      confirmed: r.confirmed,
      falseAlarms: r.false_alarms,
      escalated: r.escalated,
      deductCompliance: r.deduct_compliance,
      deductQuality: r.deduct_quality,
      deductIntegrity: r.deduct_integrity,
      deductResponsiveness: r.deduct_responsiveness,
      score: r.score,
      grade: r.grade,
      graded,
      gradeLabel: gradeLabelOf(graded, r.grade),
      veto: r.veto,
      vetoRules: r.veto_rules,
      vetoRuleNames: r.veto_rules.map(ruleNameOf),
      rank: r.rank,
      rankOf: r.rank_of,
      computedAt: r.computed_at,
    };
  };
  const institutionInScope = (p: Principal, id: string) => {
    const inst = registry.institution(id);
    if (!inst) throw new HubError('NOT_FOUND', `institution ${id}`);
    assertInScope(p, inst.county, 'institution');
    return inst;
  };

  const ScoresQuery = MonthQuery.extend({ county: z.string().regex(/^\d{6}$/).optional(), type: InstitutionType.optional() });
  const scoresOf = async (p: Principal, q: z.infer<typeof ScoresQuery>) => (await evaluation.scores(q.month, { county: scopedCounty(p, q.county), type: q.type })).map(view);

  defineRoute(app, {
    method: 'GET',
    url: '/api/v1/evaluation/scores',
    tags: ['考核'],
    summary: '机构月度得分、等级与同类排名（按区县、机构类型筛选）',
    auth: EVALUATION_READERS,
    scope: 'list',
    query: ScoresQuery,
    response: ScoreListSchema,
    handler: async (req) => {
      const p = authorize(req, EVALUATION_READERS);
      const items = await scoresOf(p, req.query);
      return { month: req.query.month, total: items.length, items };
    },
  });

  /** The columns both score sheets (a month's, a quarter's) open with: the institution and its business. */
  const institutionColumns = <T extends ScoreItem | QuarterItem>(): Column<T>[] => [
    { header: '机构编号', value: (r) => r.institutionId, width: 14 },
    { header: '机构名称', value: (r) => r.institutionName, width: 28 },
    { header: '机构类型', value: (r) => r.typeName, width: 16 },
    { header: '区县', value: (r) => r.countyName },
    { header: '业务量', value: (r) => r.transactions },
    { header: '预警数', value: (r) => r.warnings },
    { header: '属实预警', value: (r) => r.confirmed },
  ];
  /** And close with: the grade, its veto rules, (`consequence`,) the rank within the type. */
  const gradeColumns = <T extends ScoreItem | QuarterItem>(gradeHeader = '等级', consequence: Column<T>[] = []): Column<T>[] => [
    { header: gradeHeader, value: (r) => (r.graded ? `${r.grade} ${r.gradeLabel}` : r.gradeLabel) },
    { header: '一票否决', value: (r) => (r.veto ? r.vetoRuleNames.join('、') : '') },
    ...consequence,
    { header: '同类排名', value: (r) => (r.graded ? `${r.rank}/${r.rankOf}` : '') },
  ];

  const scoreColumns: Column<ScoreItem>[] = [
    { header: '月份', value: (r) => r.month },
    ...institutionColumns<ScoreItem>(),
    { header: '误报', value: (r) => r.falseAlarms },
    { header: '超期督办', value: (r) => r.escalated },
    { header: '合规扣分', value: (r) => r.deductCompliance },
    { header: '质量扣分', value: (r) => r.deductQuality },
    { header: '诚信扣分', value: (r) => r.deductIntegrity },
    { header: '响应扣分', value: (r) => r.deductResponsiveness },
    { header: '得分', value: (r) => r.score },
    ...gradeColumns<ScoreItem>(),
  ];

  defineExportRoute(app, {
    url: '/api/v1/evaluation/scores',
    tags: ['考核', '导出'],
    summary: (format) => `导出月度得分（${format.toUpperCase()}）`,
    auth: EVALUATION_READERS,
    scope: 'list',
    query: ScoresQuery,
    columns: scoreColumns,
    load: async (req) => ({ name: `机构考核得分_${req.query.month}`, rows: await scoresOf(authorize(req, EVALUATION_READERS), req.query) }),
  });

  // ---- quarterly grades ---------------------------------------------------------------------

  const quarterView = (r: QuarterRow, quarter: string, filed: ConsequenceLookup): QuarterItem => {
    const vetoRules = [...new Set(r.months.flatMap((m) => m.veto_rules))];
    return {
      quarter,
      institutionId: r.institution_id,
      institutionName: name(r.institution_id),
      institutionType: r.institution_type,
      typeName: INSTITUTION_TYPE_LABELS[r.institution_type as InstitutionType] ?? r.institution_type,
      county: r.county,
      countyName: COUNTY_BY_CODE.get(r.county)?.name ?? r.county,
      transactions: r.months.reduce((s, m) => s + m.transactions, 0),
      warnings: r.months.reduce((s, m) => s + m.warnings, 0),
      confirmed: r.months.reduce((s, m) => s + m.confirmed, 0),
      months: r.months.map((m) => {
        const graded = isGraded(m);
        return { month: m.month, score: m.score, grade: m.grade, graded, gradeLabel: gradeLabelOf(graded, m.grade), veto: m.veto };
      }),
      monthsGraded: r.monthsGraded,
      score: r.score,
      grade: r.grade,
      graded: r.graded,
      veto: r.veto,
      vetoRules,
      vetoRuleNames: vetoRules.map(ruleNameOf),
      ...quarterWords(r),
      rank: r.rank,
      rankOf: r.rank_of,
      consequenceFiled: r.graded ? filed(r.institution_id, r.grade) : null,
    };
  };
  /** The quarters of a trend whose every begun month is in its window (the first may be cut). */
  const quartersOf = (rows: readonly ScoreRow[], month: string, months: number) => {
    const window = new Set(previousMonths(month, months));
    const current = monthOf(Date.now());
    const out = [];
    for (const q of [...new Set([...window].map(quarterOf))]) {
      const all = quarterMonths(q);
      const begun = all.filter((m) => m <= current);
      if (!begun.length || !begun.every((m) => window.has(m))) continue;
      const list = rows.filter((r) => quarterOf(r.month) === q);
      const g = scoreQuarter(evaluation.config, list);
      out.push({
        quarter: q,
        months: begun,
        final: all[2] < current,
        monthsGraded: g.monthsGraded,
        score: g.score,
        grade: g.grade,
        graded: g.graded,
        veto: g.veto,
        ...quarterWords(g),
      });
    }
    return out;
  };
  const QuartersQuery = z.object({
    quarter: Quarter.default(() => quarterOf(monthOf(Date.now()))),
    county: z.string().regex(/^\d{6}$/).optional(),
    type: InstitutionType.optional(),
  });
  const quarterOfQuery = async (p: Principal, q: z.infer<typeof QuartersQuery>) => {
    const r = await evaluation.quarter(q.quarter, { county: scopedCounty(p, q.county), type: q.type });
    const filed = consequenceTerms(registry.currentSource().versions, q.quarter);
    return { quarter: q.quarter, months: r.months, final: r.final, items: r.rows.map((x) => quarterView(x, q.quarter, filed)) };
  };

  defineRoute(app, {
    method: 'GET',
    url: '/api/v1/evaluation/quarters',
    tags: ['考核'],
    summary: '机构季度等级：季度内各月得分的平均、等级（任一月一票否决即为 D）、处理与同类排名',
    auth: EVALUATION_READERS,
    scope: 'list',
    query: QuartersQuery,
    response: QuarterListSchema,
    handler: async (req) => {
      const r = await quarterOfQuery(authorize(req, EVALUATION_READERS), req.query);
      return { ...r, total: r.items.length };
    },
  });

  defineExportRoute(app, {
    url: '/api/v1/evaluation/quarters',
    tags: ['考核', '导出'],
    summary: (format) => `导出季度等级（${format.toUpperCase()}）`,
    auth: EVALUATION_READERS,
    scope: 'list',
    query: QuartersQuery,
    columns: [],
    load: async (req) => {
      const r = await quarterOfQuery(authorize(req, EVALUATION_READERS), req.query);
      // A column per month of the quarter that has begun, named by the month.
      const monthColumns: Column<QuarterItem>[] = r.months.map((month) => ({
        header: `${Number(month.slice(5))}月得分`,
        value: (x) => {
          const m = x.months.find((y) => y.month === month);
          return m?.graded ? m.score : (m?.gradeLabel ?? '');
        },
      }));
      const columns: Column<QuarterItem>[] = [
        { header: '季度', value: (x) => quarterLabel(x.quarter) },
        ...institutionColumns<QuarterItem>(),
        ...monthColumns,
        { header: '评分月数', value: (x) => x.monthsGraded },
        { header: '季度得分', value: (x) => (x.graded ? x.score : '') },
        ...gradeColumns<QuarterItem>('季度等级', [
          { header: '处理', value: (x) => x.action, width: 22 },
          // Whether the consequence is in the register yet, and for when.
          { header: '备案登记', value: (x) => (x.consequenceFiled ? `已登记：${termText(x.consequenceFiled)}` : x.graded && (x.grade === 'C' || x.grade === 'D') ? '尚未登记' : ''), width: 30 },
        ]),
        { header: '状态', value: () => (r.final ? '季度已结束' : '季度进行中（暂定）'), width: 18 },
      ];
      return { name: `机构季度等级_${req.query.quarter}`, rows: r.items, columns };
    },
  });

  defineRoute(app, {
    method: 'GET',
    url: '/api/v1/evaluation/institutions/:id/trend',
    tags: ['考核'],
    summary: '机构逐月得分趋势（截至 month，默认 12 个月）',
    auth: EVALUATION_READERS,
    scope: 'institution',
    params: InstitutionParams,
    query: MonthQuery.extend({ months: z.coerce.number().int().min(1).max(36).default(12) }),
    response: ScoreTrendSchema,
    handler: async (req) => {
      const p = authorize(req, EVALUATION_READERS);
      institutionInScope(p, req.params.id);
      const rows = await evaluation.trend(req.params.id, req.query.month, req.query.months);
      return { institutionId: req.params.id, items: rows.map(view), quarters: quartersOf(rows, req.query.month, req.query.months) };
    },
  });

  /**
   * The deductions of a month with the one explanation of the score: each row's severity points
   * and what they take off the score (ledgerEffect), and the month's calculation step by step
   * (explainMonth) — the institution screen and the monthly report show exactly these figures.
   */
  const explained = async (id: string, month: string): Promise<InstitutionDeductions> => {
    const [score] = await evaluation.scores(month, { institutionId: id });
    const rows = await evaluation.deductions(id, month);
    const type = score?.institution_type ?? registry.institution(id)?.type ?? '';
    const transactions = score?.transactions ?? 0;
    const sampling = deps.samplingRules();
    const items = rows.map((l) => ledgerItem(l, ledgerEffect(evaluation.config, type, transactions, l.points), sampling.has(l.rule_id)));
    const points: Partial<Record<Exclude<Category, 'responsiveness'>, number>> = {};
    for (const l of rows) if (l.category !== 'responsiveness') points[l.category] = Math.round(((points[l.category] ?? 0) + l.points) * 10_000) / 10_000;
    const explanation = score
      ? {
          ...explainMonth(evaluation.config, { institutionId: id, type, transactions, warnings: score.warnings, escalated: score.escalated, points, vetoRules: score.veto_rules }),
          // The stored score is the authority (the ledger may have moved since it was computed).
          score: score.score,
          vetoRuleNames: score.veto_rules.map(ruleNameOf),
        }
      : null;
    return { institutionId: id, month, net: Math.round(rows.reduce((s, l) => s + l.points, 0) * 100) / 100, explanation, items };
  };

  const ledgerItem = (l: LedgerRow, scorePoints: number, sampling: boolean): LedgerItem => ({
    id: l.id,
    month: l.month,
    institutionId: l.institution_id,
    warningId: l.warning_id,
    ruleId: l.rule_id,
    ruleName: l.rule_name,
    severity: l.severity,
    category: l.category,
    categoryLabel: CATEGORY_LABELS[l.category] ?? l.category,
    points: l.points,
    scorePoints,
    kind: l.kind,
    reverses: l.reverses,
    at: l.at,
    reason: l.reason,
    explanation: l.explanation,
    occurredAt: l.occurred_at,
    state: l.state,
    stateLabel: STATE_LABELS[l.state as WarningStateName] ?? l.state,
    conclusion: l.conclusion,
    // A spot check's conclusion is worded as one (正常（抽查无异常）, not 误报).
    conclusionLabel: l.conclusion ? ((sampling ? SAMPLING_CONCLUSION_LABELS : CONCLUSION_LABELS)[l.conclusion as Conclusion] ?? l.conclusion) : '',
  });

  defineRoute(app, {
    method: 'GET',
    url: '/api/v1/evaluation/institutions/:id/deductions',
    tags: ['考核'],
    summary: '扣分明细（台账）：每条扣分或冲销及其预警',
    auth: EVALUATION_READERS,
    scope: 'institution',
    params: InstitutionParams,
    query: MonthQuery,
    response: InstitutionDeductionsSchema,
    handler: async (req) => {
      const p = authorize(req, EVALUATION_READERS);
      institutionInScope(p, req.params.id);
      return explained(req.params.id, req.query.month);
    },
  });

  const ledgerColumns: Column<LedgerItem>[] = [
    { header: '月份', value: (l) => l.month },
    { header: '预警编号', value: (l) => l.warningId, width: 22 },
    { header: '规则', value: (l) => l.ruleName || l.ruleId, width: 24 },
    { header: '严重程度', value: (l) => SEVERITY_LABELS[l.severity as keyof typeof SEVERITY_LABELS] ?? l.severity },
    { header: '分项', value: (l) => l.categoryLabel },
    { header: '类型', value: (l) => (l.kind === 'deduct' ? '扣分' : '冲销') },
    { header: '严重程度点数', value: (l) => l.points },
    { header: '得分影响', value: (l) => -l.scorePoints },
    { header: '记账时间', value: (l) => cstTime(l.at), width: 20 },
    { header: '业务时间', value: (l) => cstTime(l.occurredAt), width: 20 },
    { header: '说明', value: (l) => l.explanation, width: 40 },
    { header: '处置状态', value: (l) => l.stateLabel },
    { header: '核查结论', value: (l) => l.conclusionLabel },
    { header: '原因', value: (l) => l.reason, width: 24 },
  ];

  defineExportRoute(app, {
    url: '/api/v1/evaluation/institutions/:id/deductions',
    tags: ['考核', '导出'],
    summary: (format) => `导出扣分明细（${format.toUpperCase()}）`,
    auth: EVALUATION_READERS,
    scope: 'institution',
    params: InstitutionParams,
    query: MonthQuery,
    columns: ledgerColumns,
    load: async (req) => {
      const inst = institutionInScope(authorize(req, EVALUATION_READERS), req.params.id);
      const { items: rows } = await explained(req.params.id, req.query.month);
      return { name: `扣分明细_${inst.name}_${req.query.month}`, rows };
    },
  });

  // Peers are the institutions of the same type the reader may see: a county-scoped reader gets
  // a county mean, so no figure is built from institutions outside their scope.
  const volumesOf = async (p: Principal, id: string, month: string) => {
    const inst = institutionInScope(p, id);
    const county = scopedCounty(p) ?? null;
    const peers = registry.listInstitutions().filter((i) => i.type === inst.type && (county === null || i.county === county));
    return { inst, volumes: await institutionVolumes(store, { institution: inst, month, peers, peerCounty: county }) };
  };

  defineRoute(app, {
    method: 'GET',
    url: '/api/v1/evaluation/institutions/:id/volumes',
    tags: ['考核'],
    summary: '机构月度业务量（按业务类型）：笔数、预警笔数与预警率、上月笔数、同类机构均值',
    auth: EVALUATION_READERS,
    scope: 'institution',
    params: InstitutionParams,
    query: MonthQuery,
    response: InstitutionVolumesSchema,
    handler: async (req) => (await volumesOf(authorize(req, EVALUATION_READERS), req.params.id, req.query.month)).volumes,
  });

  const rate = (v: number | null) => (v === null ? '' : `${(v * 100).toFixed(1)}%`);
  const volumeColumns: Column<VolumeRow & { month: string }>[] = [
    { header: '月份', value: (r) => r.month },
    { header: '业务类别', value: (r) => TRANSACTION_KIND_LABELS[r.kind as TransactionKind] ?? r.kind },
    { header: '业务类型代码', value: (r) => r.ywlx },
    { header: '业务类型', value: (r) => r.label, width: 28 },
    { header: '业务量', value: (r) => r.transactions },
    { header: '上月业务量', value: (r) => r.previous },
    { header: '预警笔数', value: (r) => r.warned },
    { header: '预警率', value: (r) => rate(r.warningRate) },
    { header: '同类均值', value: (r) => r.peerMean ?? '' },
  ];

  defineExportRoute(app, {
    url: '/api/v1/evaluation/institutions/:id/volumes',
    tags: ['考核', '导出'],
    summary: (format) => `导出业务量（按业务类型，${format.toUpperCase()}）`,
    auth: EVALUATION_READERS,
    scope: 'institution',
    params: InstitutionParams,
    query: MonthQuery,
    columns: volumeColumns,
    load: async (req) => {
      const { inst, volumes } = await volumesOf(authorize(req, EVALUATION_READERS), req.params.id, req.query.month);
      return { name: `业务量_${inst.name}_${volumes.month}`, rows: volumes.items.map((r) => ({ ...r, month: volumes.month })) };
    },
  });

  defineRoute(app, {
    method: 'GET',
    url: '/api/v1/evaluation/institutions/:id/report',
    tags: ['考核'],
    summary: '机构月度考核评价报告（可打印的 HTML）',
    auth: EVALUATION_READERS,
    scope: 'institution',
    produces: ['text/html'],
    params: InstitutionParams,
    query: MonthQuery,
    handler: async (req, reply) => {
      const p = authorize(req, EVALUATION_READERS);
      const inst = institutionInScope(p, req.params.id);
      const [score] = await evaluation.scores(req.query.month, { institutionId: inst.id });
      if (!score) throw new HubError('NOT_FOUND', `no score for ${inst.id} in ${req.query.month}`);
      const [trend, ledger] = await Promise.all([evaluation.trend(inst.id, req.query.month, 6), evaluation.deductions(inst.id, req.query.month)]);
      const html = renderReport({ institution: inst, month: req.query.month, score, trend, ledger, config: evaluation.config, generatedAt: Date.now() });
      return reply.type('text/html; charset=utf-8').send(html);
    },
  });

  defineRoute(app, {
    method: 'GET',
    url: '/api/v1/evaluation/institutions/:id/notice',
    tags: ['考核'],
    summary: '机构季度考核结果通知书（可打印的 HTML；C 级为书面警示通知书，D 级为暂停联网业务通知书；季度结束后方可出具；缺省为上一季度）',
    auth: EVALUATION_READERS,
    scope: 'institution',
    produces: ['text/html'],
    params: InstitutionParams,
    // Default: the last quarter over.
    query: z.object({ quarter: Quarter.default(() => previousQuarter(quarterOf(monthOf(Date.now())))) }),
    handler: async (req, reply) => {
      const p = authorize(req, EVALUATION_READERS);
      const inst = institutionInScope(p, req.params.id);
      const quarter = req.query.quarter;
      // Ranked among the institutions of its type across the city, as the quarter list ranks them.
      const r = await evaluation.quarter(quarter, { type: inst.type });
      if (!r.final) throw new HubError('QUARTER_NOT_FINAL', `${quarter} has not ended`);
      const row = r.rows.find((x) => x.institution_id === inst.id);
      if (!row) throw new HubError('NOT_FOUND', `no scores for ${inst.id} in ${quarter}`);
      const ledger = (await Promise.all(r.months.map((m) => evaluation.deductions(inst.id, m)))).flat();
      const term = row.graded ? consequenceTerm(registry.currentSource().versions, inst.id, quarter, row.grade) : null;
      const html = renderNotice({ institution: inst, quarter, row, rules: noticeRules(ledger), generatedAt: Date.now(), term });
      return reply.type('text/html; charset=utf-8').send(html);
    },
  });

  defineRoute(app, {
    method: 'GET',
    url: '/api/v1/evaluation/config',
    tags: ['考核'],
    summary: '考核权重与参数（按机构类型）',
    auth: EVALUATION_READERS,
    scope: 'none',
    response: EvaluationConfigViewSchema,
    handler: async () => {
      const cfg = evaluation.config;
      return {
        categories: CATEGORY_LABELS,
        grades: cfg.grades,
        gradeLabels: GRADE_LABELS,
        noBusinessLabel: NO_BUSINESS_LABEL,
        vetoRuleNames: Object.fromEntries(cfg.vetoRules.map((id) => [id, ruleNameOf(id)])),
        severityPoints: cfg.severityPoints,
        vetoRules: cfg.vetoRules,
        byType: Object.fromEntries(InstitutionType.options.map((t) => [t, weightsFor(cfg, t)])),
      };
    },
  });

  const RefreshAnswer = z.object({
    job: EvaluationRefreshJobSchema,
    months: z.array(z.string()).describe('重算的月份（进行中时为计划重算的月份）'),
    institutions: z.number().int().optional().describe('指定月份时：重算的机构数'),
  });
  defineRoute(app, {
    method: 'POST',
    url: '/api/v1/evaluation/refresh',
    tags: ['考核'],
    summary: '立即核对扣分台账并重算得分（默认本月与上月）',
    description:
      '在后台运行：最多等待 waitMs 毫秒（默认 15000），完成则返回 200 与结果，否则返回 202 与进度（之后用 GET 查询）。已有重算在进行时不会重复发起，返回进行中的那一个。',
    auth: ['system_admin'],
    scope: 'city',
    audit: 'evaluation.refresh',
    body: z.object({ month: Month.optional(), waitMs: z.number().int().min(0).max(60_000).default(15_000) }).default({ waitMs: 15_000 }),
    response: RefreshAnswer,
    handler: async (req, reply) => {
      const p = authorize(req, ['system_admin']);
      const { job, done } = await evaluation.requestRefresh(p.username, req.body.month);
      let timer: NodeJS.Timeout | undefined;
      const waited = await Promise.race([done, new Promise<undefined>((r) => (timer = setTimeout(() => r(undefined), req.body.waitMs)))]);
      clearTimeout(timer);
      const current = waited ?? (await evaluation.refreshJob()) ?? job;
      req.auditNote = { targetType: 'evaluation_refresh', targetId: current.id, detail: { state: current.state, month: current.month ?? '' } };
      if (current.state === 'failed') throw new HubError('STORE_UNAVAILABLE', `考核重算失败：${current.error ?? ''}`);
      const body = { job: current, months: current.months, ...(current.institutions !== undefined ? { institutions: current.institutions } : {}) };
      return reply.code(current.state === 'running' ? 202 : 200).send(body);
    },
  });

  defineRoute(app, {
    method: 'GET',
    url: '/api/v1/evaluation/refresh',
    tags: ['考核'],
    summary: '考核重算的进度（最近一次，保留 7 天）',
    auth: ['system_admin'],
    scope: 'city',
    response: z.object({ job: EvaluationRefreshJobSchema.nullable() }),
    handler: async () => ({ job: await evaluation.refreshJob() }),
  });

  const QualityQuery = z.object({
    from: Month.default(() => monthOf(Date.now() - 150 * 86_400_000)),
    to: Month.default(() => monthOf(Date.now())),
    rule: z.string().max(64).optional(),
    county: z.string().regex(/^\d{6}$/).optional(),
  });
  const quality = async (p: Principal, q: z.infer<typeof QualityQuery>): Promise<QualityRow[]> => {
    if (q.from > q.to) throw new HubError('QUERY_INVALID', 'from is after to');
    const rows = await evaluation.ruleQuality({ from: q.from, to: q.to, ruleId: q.rule, county: scopedCounty(p, q.county) });
    const sampling = deps.samplingRules();
    return rows.map((r) => ({ ...r, sampling: sampling.has(r.rule_id) }));
  };

  defineRoute(app, {
    method: 'GET',
    url: '/api/v1/rules/quality',
    tags: ['规则'],
    summary: '规则质量：各规则逐月命中数、属实数、误报数与准确率',
    auth: RULE_QUALITY_READERS,
    scope: 'list',
    query: QualityQuery,
    response: RuleQualityListSchema,
    handler: async (req) => {
      const items = (await quality(authorize(req, RULE_QUALITY_READERS), req.query)).map(qualityItem);
      return { from: req.query.from, to: req.query.to, items };
    },
  });

  const qualityColumns: Column<QualityRow>[] = [
    { header: '月份', value: (r) => r.month },
    { header: '规则编号', value: (r) => r.rule_id, width: 28 },
    { header: '规则名称', value: (r) => r.rule_name, width: 24 },
    { header: '性质', value: (r) => (r.sampling ? '随机抽查' : '风险预警') },
    { header: '命中', value: (r) => r.hits },
    { header: '属实', value: (r) => r.confirmed },
    // A sampling rule's normal findings are no false alarms: said in the one column for both.
    { header: '正常（误报／抽查无异常）', value: (r) => r.false_alarms, width: 14 },
    { header: '待核查', value: (r) => r.pending },
    { header: '准确率／检出率', value: (r) => (r.precision === null ? '' : `${(r.precision * 100).toFixed(1)}%`), width: 12 },
  ];
  defineExportRoute(app, {
    url: '/api/v1/rules/quality',
    tags: ['规则', '导出'],
    summary: (format) => `导出规则质量（${format.toUpperCase()}）`,
    auth: RULE_QUALITY_READERS,
    scope: 'list',
    query: QualityQuery,
    columns: qualityColumns,
    load: async (req) => ({ name: '规则质量', rows: await quality(authorize(req, RULE_QUALITY_READERS), req.query) }),
  });
}
