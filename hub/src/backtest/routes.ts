/**
 * Backtests over HTTP.
 *
 *   POST /api/v1/rulesets/:version/backtest        queue a backtest {from, to} (rule_admin)
 *   GET  /api/v1/rulesets/:version/backtests       its backtests (rule_admin, system_admin, leader)
 *   GET  /api/v1/backtests/:id                     status, progress %, result (same)
 *   GET  /api/v1/backtests/:id/export?format=csv   the diff as CSV (UTF-8 BOM) or XLSX (same)
 */
import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import { defineRoute } from '../http/define.js';
import { authorize, type Role } from '../http/access.js';
import { HubError } from '../errors.js';
import { cstTime, type Column } from '../exports/table.js';
import { defineExportRoute } from '../exports/export-route.js';
import { BACKTEST_STATUS_LABELS, BacktestListSchema, BacktestViewSchema, type BacktestView } from '../protocol/releases.js';
import type { Backtest, DiffLine } from './repo.js';
import type { BacktestService } from './service.js';

const READERS: readonly Role[] = ['rule_admin', 'system_admin', 'leader'];
const AUTHORS: readonly Role[] = ['rule_admin'];
const VersionParams = z.object({ version: z.string().min(1).max(80) });
const IdParams = z.object({ id: z.string().min(1).max(80) });
const Epoch = z.number().int().min(0).max(4102444800000);
const BacktestBody = z.object({ from: Epoch, to: Epoch });

function backtestView(b: Backtest & { jobState?: string }): BacktestView {
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

export function registerBacktestRoutes(app: FastifyInstance, deps: { backtests: BacktestService }): void {
  const { backtests } = deps;
  defineRoute(app, {
    method: 'POST',
    url: '/api/v1/rulesets/:version/backtest',
    tags: ['规则发布'],
    summary: '回测：用历史业务数据对比现行规则集与该规则集的预警差异（后台任务）',
    auth: AUTHORS,
    // Whole-city data (every institution's transactions), as reading its result is.
    scope: 'city',
    audit: 'ruleset.backtest',
    params: VersionParams,
    body: BacktestBody,
    response: BacktestViewSchema,
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
    // The records carry whole-city totals, as GET /backtests/:id does.
    scope: 'city',
    params: VersionParams,
    response: BacktestListSchema,
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
    response: BacktestViewSchema,
    handler: async (req) => {
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
}
