/**
 * Rule-set release, backtests and the peer-deviation job over HTTP.
 *
 *   GET  /api/v1/rulesets                          list (rule_admin, system_admin, leader)
 *   GET  /api/v1/rulesets/current                  the set in force and the scheduled ones (same)
 *   GET  /api/v1/rulesets/:version                 one set with its definitions and diff (same)
 *   POST /api/v1/rulesets                          new draft (rule_admin)
 *   POST /api/v1/rulesets/:version/approve         approve a draft — another person than its
 *                                                  author (rule_admin, system_admin)
 *   POST /api/v1/rulesets/:version/retire          withdraw a draft / cancel a pending set (rule_admin, system_admin)
 *   POST /api/v1/rulesets/:version/backtest        queue a backtest {from, to} (rule_admin)
 *   GET  /api/v1/rulesets/:version/backtests       its backtests (rule_admin, system_admin, leader)
 *   GET  /api/v1/backtests/:id                     status, progress %, result (same)
 *   GET  /api/v1/backtests/:id/export?format=csv   the diff as CSV (UTF-8 BOM) or XLSX (same)
 *   POST /api/v1/peer-deviation/run                run the peer-deviation job now (rule_admin, system_admin)
 *   GET  /api/v1/peer-deviation/runs               recent runs (rule_admin, system_admin, leader)
 */
import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import { defineRoute } from '../api/define.js';
import { assertCityScope, authorize, type Role } from '../auth/principal.js';
import type { BacktestService } from '../backtest/service.js';
import type { Backtest, DiffLine } from '../backtest/repo.js';
import { HubError } from '../errors.js';
import { cstTime, type Column } from '../exports/table.js';
import { defineExportRoute } from '../exports/export-route.js';
import type { PeerDeviationService } from '../peer/service.js';
import { STATUS_LABELS, type RuleSetHead } from './repo.js';
import { BACKTEST_STATUS_LABELS, type BacktestView, type RuleSetHeadView } from '../protocol/releases.js';
import type { RuleSetService } from './service.js';

export interface RuleSetRouteDeps {
  rulesets: RuleSetService;
  backtests: BacktestService;
  peer: PeerDeviationService;
}

const READERS: readonly Role[] = ['rule_admin', 'system_admin', 'leader'];
const AUTHORS: readonly Role[] = ['rule_admin'];
const APPROVERS: readonly Role[] = ['rule_admin', 'system_admin'];

const VersionParams = z.object({ version: z.string().min(1).max(80) });
const IdParams = z.object({ id: z.string().min(1).max(80) });
const Epoch = z.number().int().min(0).max(4102444800000);

const DraftBody = z.object({
  definitions: z.array(z.unknown()).min(1).max(1000).optional(),
  params: z.record(z.string(), z.record(z.string(), z.unknown())).optional(),
  fromBuiltin: z.boolean().optional(),
  baseVersion: z.string().max(80).optional(),
  note: z.string().max(1000).optional(),
});
const ApproveBody = z
  .object({
    effectiveAt: Epoch.optional(),
    override: z.boolean().optional(),
    reason: z.string().max(1000).optional(),
  })
  .default({});
const BacktestBody = z.object({ from: Epoch, to: Epoch });

function headView(h: RuleSetHead, inForce: string): RuleSetHeadView {
  return { ...h, statusLabel: STATUS_LABELS[h.status], inForce: h.version === inForce };
}

function backtestView(b: Backtest & { jobState?: string }): BacktestView & { jobState?: string } {
  return { ...b, statusLabel: BACKTEST_STATUS_LABELS[b.status] };
}

interface DiffRow {
  dimension: string;
  line: DiffLine;
}

const DIFF_COLUMNS: Column<DiffRow>[] = [
  { header: '维度', value: (r) => r.dimension },
  { header: '编号', value: (r) => r.line.key, width: 28 },
  { header: '名称', value: (r) => r.line.name, width: 28 },
  { header: '现行规则集预警数', value: (r) => r.line.live },
  { header: '新规则集预警数', value: (r) => r.line.draft },
  { header: '新增', value: (r) => r.line.added },
  { header: '减少', value: (r) => r.line.removed },
  {
    header: '示例',
    width: 80,
    value: (r) =>
      r.line.examples.map((e) => `${e.change === 'added' ? '新增' : '减少'} ${e.transactionId} ${cstTime(e.occurredAt)} ${e.ruleId} ${e.explanation}`).join('；'),
  },
];

export function registerRuleSetRoutes(app: FastifyInstance, deps: RuleSetRouteDeps): void {
  const { rulesets, backtests, peer } = deps;

  defineRoute(app, {
    method: 'GET',
    url: '/api/v1/rulesets',
    tags: ['规则发布'],
    summary: '规则集版本列表（草稿、已审批、生效中、已停用）',
    auth: READERS,
    scope: 'none',
    handler: async () => {
      await rulesets.reload();
      const inForce = rulesets.versionAt();
      return { inForce, items: rulesets.list().map((h) => headView(h, inForce)) };
    },
  });

  defineRoute(app, {
    method: 'GET',
    url: '/api/v1/rulesets/current',
    tags: ['规则发布'],
    summary: '当前生效的规则集及已审批待生效的规则集',
    auth: READERS,
    scope: 'none',
    handler: async () => {
      const now = Date.now();
      const inForce = rulesets.versionAt(now);
      const scheduled = rulesets
        .list()
        .filter((h) => h.status === 'approved' && (h.effectiveAt ?? 0) > now)
        .map((h) => headView(h, inForce));
      return { inForce: rulesets.head(inForce) ? headView(rulesets.head(inForce)!, inForce) : { version: inForce }, scheduled };
    },
  });

  defineRoute(app, {
    method: 'GET',
    url: '/api/v1/rulesets/:version',
    tags: ['规则发布'],
    summary: '规则集详情（规则定义、参数、与基线的差异）',
    auth: READERS,
    scope: 'none',
    params: VersionParams,
    handler: async (req) => {
      const rs = await rulesets.get(req.params.version);
      if (!rs) throw new HubError('NOT_FOUND', `rule set ${req.params.version}`);
      const engine = await rulesets.engineOf(rs.version).catch(() => undefined);
      return { ...headView(rs, rulesets.versionAt()), content: rs.content, rules: engine?.rules ?? [] };
    },
  });

  defineRoute(app, {
    method: 'POST',
    url: '/api/v1/rulesets',
    tags: ['规则发布'],
    summary: '新建规则集草稿（在现行规则集基础上调整参数，或提交完整的规则定义）',
    auth: AUTHORS,
    scope: 'none',
    audit: 'ruleset.draft',
    body: DraftBody,
    handler: async (req, reply) => {
      const p = authorize(req, AUTHORS);
      const rs = await rulesets.createDraft(req.body, p.username);
      req.auditNote = { targetType: 'ruleset', targetId: rs.version, detail: { base: rs.baseVersion, diff: rs.diff } };
      return reply.code(201).send(headView(rs, rulesets.versionAt()));
    },
  });

  defineRoute(app, {
    method: 'POST',
    url: '/api/v1/rulesets/:version/approve',
    tags: ['规则发布'],
    summary: '审批规则集草稿（审批人不得为起草人；回测差异超过阈值须 override 并说明理由）',
    auth: APPROVERS,
    scope: 'none',
    audit: 'ruleset.approve',
    params: VersionParams,
    body: ApproveBody,
    handler: async (req) => {
      const p = authorize(req, APPROVERS);
      req.auditNote = { targetType: 'ruleset', targetId: req.params.version, detail: { ...req.body } };
      const rs = await rulesets.approve(req.params.version, p.username, req.body);
      req.auditNote.detail = { effectiveAt: rs.effectiveAt, override: rs.override, reason: rs.overrideReason, exceeded: rs.exceeded, backtestId: rs.backtestId };
      const { content: _c, exceeded, ...head } = rs;
      return { ...headView(head, rulesets.versionAt()), exceeded };
    },
  });

  defineRoute(app, {
    method: 'POST',
    url: '/api/v1/rulesets/:version/retire',
    tags: ['规则发布'],
    summary: '撤回草稿或取消尚未生效的规则集',
    auth: APPROVERS,
    scope: 'none',
    audit: 'ruleset.retire',
    params: VersionParams,
    handler: async (req) => {
      const p = authorize(req, APPROVERS);
      req.auditNote = { targetType: 'ruleset', targetId: req.params.version };
      const rs = await rulesets.retire(req.params.version, p.username);
      const { content: _c, ...head } = rs;
      return headView(head, rulesets.versionAt());
    },
  });

  defineRoute(app, {
    method: 'POST',
    url: '/api/v1/rulesets/:version/backtest',
    tags: ['规则发布'],
    summary: '回测：用历史业务数据对比现行规则集与该规则集的预警差异（后台任务）',
    auth: AUTHORS,
    scope: 'none',
    audit: 'ruleset.backtest',
    params: VersionParams,
    body: BacktestBody,
    handler: async (req, reply) => {
      const p = authorize(req, AUTHORS);
      const bt = await backtests.request(req.params.version, req.body, p.username);
      req.auditNote = { targetType: 'backtest', targetId: bt.id, detail: { version: bt.version, live: bt.liveVersion, from: bt.from, to: bt.to } };
      return reply.code(202).send(backtestView(bt));
    },
  });

  defineRoute(app, {
    method: 'GET',
    url: '/api/v1/rulesets/:version/backtests',
    tags: ['规则发布'],
    summary: '该规则集的回测记录',
    auth: READERS,
    scope: 'none',
    params: VersionParams,
    handler: async (req) => ({ items: (await backtests.list(req.params.version)).map(backtestView) }),
  });

  defineRoute(app, {
    method: 'GET',
    url: '/api/v1/backtests/:id',
    tags: ['规则发布'],
    summary: '回测进度（%）、状态与差异结果（按规则、按机构，含示例）',
    auth: READERS,
    scope: 'city',
    params: IdParams,
    handler: async (req) => {
      assertCityScope(authorize(req, READERS));
      return backtestView(await backtests.get(req.params.id));
    },
  });

  defineExportRoute(app, {
    url: '/api/v1/backtests/:id/export',
    formatIn: 'query',
    tags: ['规则发布'],
    summary: '导出回测差异（CSV：UTF-8 BOM、中文表头；或 XLSX）',
    auth: READERS,
    scope: 'city',
    params: IdParams,
    columns: DIFF_COLUMNS,
    load: async (req) => {
      assertCityScope(authorize(req, READERS));
      const bt = await backtests.get(req.params.id);
      if (bt.status !== 'done' || !bt.result) throw new HubError('BACKTEST_NOT_READY', `${bt.id} is ${bt.status}`);
      const rows: DiffRow[] = [
        { dimension: '合计', line: { key: '', name: `${bt.version} 对比 ${bt.liveVersion}（${bt.result.transactions}笔业务）`, live: bt.liveTotal, draft: bt.draftTotal, added: bt.added, removed: bt.removed, examples: [] } },
        ...bt.result.byRule.map((line) => ({ dimension: '规则', line })),
        ...bt.result.byInstitution.map((line) => ({ dimension: '机构', line })),
      ];
      return { name: `回测差异-${bt.version}`, rows };
    },
  });

  defineRoute(app, {
    method: 'POST',
    url: '/api/v1/peer-deviation/run',
    tags: ['规则发布'],
    summary: '立即运行同类偏离研判（按周期统计，异常者生成预警；同一周期重复运行不重复预警）',
    auth: APPROVERS,
    scope: 'city',
    audit: 'peer.run',
    body: z.object({ at: Epoch.optional(), wait: z.boolean().default(false) }).default({ wait: false }),
    handler: async (req, reply) => {
      const p = authorize(req, APPROVERS);
      assertCityScope(p);
      const r = await peer.trigger(req.body.at, p.username, req.body.wait ? 120_000 : undefined);
      req.auditNote = { targetType: 'peer_run', targetId: r.jobId, detail: r.result ? { raised: r.result.raised, findings: r.result.findings } : {} };
      return reply.code(r.result ? 200 : 202).send(r);
    },
  });

  defineRoute(app, {
    method: 'GET',
    url: '/api/v1/peer-deviation/runs',
    tags: ['规则发布'],
    summary: '同类偏离研判运行记录',
    auth: READERS,
    scope: 'city',
    query: z.object({ limit: z.coerce.number().int().min(1).max(200).default(20) }),
    handler: async (req) => {
      assertCityScope(authorize(req, READERS));
      return { items: await peer.runs(req.query.limit) };
    },
  });
}
