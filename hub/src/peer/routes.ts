/**
 * The peer-deviation job over HTTP.
 *
 *   POST /api/v1/peer-deviation/run                run the peer-deviation job now (rule_admin, system_admin)
 *   GET  /api/v1/peer-deviation/runs               recent runs (rule_admin, system_admin, leader)
 */
import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import { defineRoute } from '../http/define.js';
import { authorize, type Role } from '../http/access.js';
import type { PeerDeviationService } from './service.js';

const READERS: readonly Role[] = ['rule_admin', 'system_admin', 'leader'];
const APPROVERS: readonly Role[] = ['rule_admin', 'system_admin'];
const Epoch = z.number().int().min(0).max(4102444800000);

/** One peer rule's part of a run: its period [from, to) and what it found. */
const PeerRuleRun = z.object({ ruleId: z.string(), from: z.number(), to: z.number(), entities: z.number().int(), findings: z.number().int() });

/** A finished run (PeerRunResult). */
const PeerRunResult = z.object({
  runId: z.string(),
  periodEnd: z.number(),
  ruleSet: z.string(),
  transactions: z.number().int(),
  rules: z.array(PeerRuleRun),
  findings: z.number().int(),
  raised: z.number().int(),
  warningIds: z.array(z.string()),
});

/** A stored run (peer_runs). Times are epoch ms. */
const PeerRunRow = z.object({
  id: z.string(),
  periodFrom: z.number(),
  periodTo: z.number(),
  ruleSet: z.string(),
  trigger: z.string().describe('触发方式：schedule（定时）或 api:<用户名>'),
  transactions: z.number().int(),
  findings: z.number().int(),
  raised: z.number().int(),
  startedAt: z.number(),
  finishedAt: z.number(),
  rules: z.array(PeerRuleRun),
});

export function registerPeerRoutes(app: FastifyInstance, deps: { peer: PeerDeviationService }): void {
  const { peer } = deps;
  defineRoute(app, {
    method: 'POST',
    url: '/api/v1/peer-deviation/run',
    tags: ['规则发布'],
    summary: '立即运行同类偏离研判（按周期统计，异常者生成预警；同一周期重复运行不重复预警）',
    auth: APPROVERS,
    scope: 'city',
    audit: 'peer.run',
    body: z.object({ at: Epoch.optional(), wait: z.boolean().default(false) }).default({ wait: false }),
    // 200 with the result when waited for; 202 with the job id alone otherwise.
    response: z.object({ jobId: z.string(), result: PeerRunResult.optional() }),
    handler: async (req, reply) => {
      const p = authorize(req, APPROVERS);
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
    response: z.object({ items: z.array(PeerRunRow) }),
    handler: async (req) => {
      return { items: await peer.runs(req.query.limit) };
    },
  });}
