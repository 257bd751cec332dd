/**
 * Collector filing over HTTP (事前备案 for devices).
 *
 *   POST /api/v1/collectors/enrol         a collector asks to be filed (public: it proves its key)
 *   GET  /api/v1/collectors               status, key, last seen, last batch seq, held batches
 *   POST /api/v1/collectors/:id/approve   pending → approved; held batches are evaluated in order
 *   POST /api/v1/collectors/:id/revoke    → revoked; its sockets are closed, handshakes refused
 *
 * The listing and the approve/revoke actions require the system-admin role (system_admin),
 * enforced by the auth hooks (hub/src/auth/plugin.ts) through each route's declared `auth`.
 */
import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import { defineRoute } from '../http/define.js';
import { clientAddress } from '../http-edges.js';
import { CollectorEnrolSchema, CollectorInfoSchema, CollectorListSchema, type CollectorInfo, type CollectorView } from '../protocol/index.js';
import type { CollectorService } from './service.js';

// The interface the service answers with and the schema the routes declare are the same shape.
const sameShape: [CollectorInfo, CollectorView] extends [CollectorView, CollectorInfo] ? true : never = true;
void sameShape;

const IdParams = z.object({ id: z.string().min(1).max(64) });
const RevokeBody = z.object({ reason: z.string().max(500).default('') }).default({ reason: '' });
/** `reportsFor`: institutions the collector may report business for besides its own (replaces the list). */
/** `keyFingerprint`: the fingerprint the device shows (`identity.loaded`); approval fails on any other key. */
const ApproveBody = z
  .object({ reportsFor: z.array(z.string().min(1).max(64)).max(10_000).optional(), keyFingerprint: z.string().regex(/^[0-9a-f]{16}$/).optional() })
  .default({});

export function registerCollectorRoutes(app: FastifyInstance, deps: { collectors: CollectorService }): void {
  const { collectors } = deps;

  defineRoute(app, {
    method: 'POST',
    url: '/api/v1/collectors/enrol',
    tags: ['采集终端'],
    summary: '采集终端申请备案（出示公钥及签名证明，待管理员审批）',
    auth: 'public',
    scope: 'none',
    audit: 'collector.enrol',
    body: CollectorEnrolSchema,
    response: CollectorInfoSchema,
    handler: async (req, reply) => {
      const rec = await collectors.enrol(req.body, clientAddress(req));
      req.auditNote = { action: 'collector.enrol', actor: rec.collectorId, targetType: 'collector', targetId: rec.collectorId };
      return reply.code(rec.status === 'pending' ? 202 : 200).send(collectors.info(rec));
    },
  });

  defineRoute(app, {
    method: 'GET',
    url: '/api/v1/collectors',
    tags: ['采集终端'],
    summary: '采集终端列表（状态、最后联系时间、最后批次序号、暂存批次）',
    auth: ['system_admin'],
    scope: 'city',
    response: CollectorListSchema,
    handler: async (req) => {
      return { items: await collectors.list() };
    },
  });

  defineRoute(app, {
    method: 'POST',
    url: '/api/v1/collectors/:id/approve',
    tags: ['采集终端'],
    summary: '批准采集终端备案及其公钥（可附终端显示的公钥指纹以核对）；暂存的批次按顺序进入研判',
    auth: ['system_admin'],
    scope: 'city',
    audit: 'collector.approve',
    params: IdParams,
    body: ApproveBody,
    response: CollectorInfoSchema,
    handler: async (req) => {
      const rec = await collectors.approve(req.params.id, req.principal?.username ?? '', req.body.reportsFor, req.body.keyFingerprint);
      req.auditNote = { action: 'collector.approve', targetType: 'collector', targetId: rec.collectorId, detail: { keyFingerprint: rec.keyFingerprint } };
      return collectors.info(rec);
    },
  });

  defineRoute(app, {
    method: 'POST',
    url: '/api/v1/collectors/:id/revoke',
    tags: ['采集终端'],
    summary: '吊销采集终端（断开连接，拒绝其后续握手）',
    auth: ['system_admin'],
    scope: 'city',
    audit: 'collector.revoke',
    params: IdParams,
    body: RevokeBody,
    response: CollectorInfoSchema,
    handler: async (req) => {
      const rec = await collectors.revoke(req.params.id, req.body.reason, req.principal?.username ?? '');
      req.auditNote = { action: 'collector.revoke', targetType: 'collector', targetId: rec.collectorId, detail: { reason: req.body.reason } };
      return collectors.info(rec);
    },
  });
}
