/**
 * Rule-set release over HTTP (backtests: backtest/routes.ts; the peer-deviation job: peer/routes.ts).
 *
 *   GET  /api/v1/rulesets                          list (rule_admin, system_admin, leader)
 *   GET  /api/v1/rulesets/current                  the set in force and the scheduled ones (same)
 *   GET  /api/v1/rulesets/:version                 one set with its definitions and diff (same)
 *   POST /api/v1/rulesets                          new draft (rule_admin)
 *   POST /api/v1/rulesets/:version/approve         approve a draft — another person than its
 *                                                  author (rule_admin, system_admin)
 *   POST /api/v1/rulesets/:version/retire          withdraw a draft / cancel a pending set (rule_admin, system_admin)
 */
import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import { defineRoute } from '../http/define.js';
import { authorize, type Role } from '../http/access.js';
import { HubError } from '../errors.js';
import { STATUS_LABELS, type RuleSetHead } from './repo.js';
import {
  RuleSetApprovedSchema,
  RuleSetCurrentSchema,
  RuleSetDetailSchema,
  RuleSetDraftViewSchema,
  RuleSetHeadViewSchema,
  RuleSetListSchema,
  type RuleSetHeadView,
} from '../protocol/releases.js';
import type { RuleSetService } from './service.js';

export interface RuleSetRouteDeps {
  rulesets: RuleSetService;
}

const READERS: readonly Role[] = ['rule_admin', 'system_admin', 'leader'];
const AUTHORS: readonly Role[] = ['rule_admin'];
const APPROVERS: readonly Role[] = ['rule_admin', 'system_admin'];

const VersionParams = z.object({ version: z.string().min(1).max(80) });
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

function headView(h: RuleSetHead, inForce: string): RuleSetHeadView {
  return { ...h, statusLabel: STATUS_LABELS[h.status], inForce: h.version === inForce };
}




export function registerRuleSetRoutes(app: FastifyInstance, deps: RuleSetRouteDeps): void {
  const { rulesets } = deps;

  defineRoute(app, {
    method: 'GET',
    url: '/api/v1/rulesets',
    tags: ['规则发布'],
    summary: '规则集版本列表（草稿、已审批、生效中、已停用）',
    auth: READERS,
    scope: 'none',
    response: RuleSetListSchema,
    handler: async () => {
      await rulesets.reload();
      const inForce = rulesets.versionAt();
      return { inForce, items: rulesets.list().map((h) => headView(h, inForce)), builtin: await rulesets.builtinStatus() };
    },
  });

  defineRoute(app, {
    method: 'GET',
    url: '/api/v1/rulesets/current',
    tags: ['规则发布'],
    summary: '当前生效的规则集及已审批待生效的规则集',
    auth: READERS,
    scope: 'none',
    response: RuleSetCurrentSchema,
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
    response: RuleSetDetailSchema,
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
    response: RuleSetDraftViewSchema,
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
    response: RuleSetApprovedSchema,
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
    response: RuleSetHeadViewSchema,
    handler: async (req) => {
      const p = authorize(req, APPROVERS);
      req.auditNote = { targetType: 'ruleset', targetId: req.params.version };
      const rs = await rulesets.retire(req.params.version, p.username);
      const { content: _c, ...head } = rs;
      return headView(head, rulesets.versionAt());
    },
  });

}
