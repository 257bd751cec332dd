/**
 * The peer-deviation job over HTTP.
 *
 *   POST /api/v1/peer-deviation/run                run the peer-deviation job now (rule_admin, system_admin)
 *   GET  /api/v1/peer-deviation/runs               recent runs (rule_admin, system_admin, leader)
 */
import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import { defineRoute } from '../http/define.js';
import { assertCityScope, authorize, type Role } from '../auth/principal.js';
import type { PeerDeviationService } from './service.js';

const READERS: readonly Role[] = ['rule_admin', 'system_admin', 'leader'];
const APPROVERS: readonly Role[] = ['rule_admin', 'system_admin'];
const Epoch = z.number().int().min(0).max(4102444800000);

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
  });}
