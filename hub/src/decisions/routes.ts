/**
 * The hold path's two doors and the decision log:
 *
 *   POST /api/v1/decisions   body: one Transaction. Auth: `Authorization: Collector <id>:<token>`
 *                            (a filed collector; the record must be its own) or a logged-in user.
 *   socket /collect          `decision.request` {requestId, transaction} → ack DecisionAck
 *                            (the collector's socket, authenticated by ingest's handshake)
 *   GET  /api/v1/decisions   the decision log (rule_admin, system_admin, leader; whole city)
 */
import crypto from 'node:crypto';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { Namespace, Server } from 'socket.io';
import { TransactionSchema, type Transaction } from '@jianguan/rules';
import { z } from 'zod';
import { defineRoute, Page } from '../api/define.js';
import { assertCityScope, authorize, type Role } from '../auth/principal.js';
import type { CollectorService } from '../collectors/service.js';
import { HubError, errorMessage, isHubError } from '../errors.js';
import { DecisionRequestSchema, NAMESPACE_COLLECT, type CollectClientToServer, type CollectServerToClient, type DecisionAck } from '../protocol/index.js';
import { sha256Hex, type Registry } from '../registry/registry.js';
import { param, sql } from '../store/sql.js';
import type { Store } from '../store/store.js';
import type { DecisionService } from './service.js';

export interface DecisionRouteDeps {
  decisions: DecisionService;
  registry: Registry;
  collectors: CollectorService;
  store: Store;
}

const READERS: readonly Role[] = ['rule_admin', 'system_admin', 'leader'];

function describe(e: z.ZodError): string {
  return e.issues
    .slice(0, 8)
    .map((i) => `${i.path.join('.') || '(transaction)'}: ${i.message}`)
    .join('; ');
}

/**
 * A collector's token, as ingest accepts it: the hub registry's credentials first, then the
 * collector service's record (static collectors registered there, approved, token hash).
 */
export function authenticateCollector(deps: Pick<DecisionRouteDeps, 'registry' | 'collectors'>, collectorId: string, token: string): boolean {
  if (deps.registry.authenticate(collectorId, token)) return true;
  const rec = deps.collectors.get(collectorId);
  if (!rec || rec.status !== 'approved' || !rec.tokenSha256) return false;
  const a = Buffer.from(sha256Hex(token), 'hex');
  const b = Buffer.from(rec.tokenSha256, 'hex');
  return a.length === b.length && crypto.timingSafeEqual(a, b);
}

/** `Collector <id>:<token>` → the collector id; undefined without such a header; throws AUTH_FAILED on a bad one. */
function collectorOf(req: FastifyRequest, deps: DecisionRouteDeps): string | undefined {
  const h = req.headers.authorization;
  if (!h || !/^Collector\s+/i.test(h)) return undefined;
  const cred = h.replace(/^Collector\s+/i, '').trim();
  const i = cred.indexOf(':');
  const id = i > 0 ? cred.slice(0, i) : '';
  const token = i > 0 ? cred.slice(i + 1) : '';
  if (!id || !token || !authenticateCollector(deps, id, token)) throw new HubError('AUTH_FAILED', 'unknown collector or wrong token');
  return id;
}

function parseTransaction(raw: unknown, collectorId: string | undefined): Transaction {
  const parsed = TransactionSchema.safeParse(raw);
  if (!parsed.success) throw new HubError('DECISION_INVALID', describe(parsed.error));
  if (collectorId !== undefined && parsed.data.collectorId !== collectorId) {
    throw new HubError('COLLECTOR_MISMATCH', `collectorId: record says ${parsed.data.collectorId}, caller is ${collectorId}`);
  }
  return parsed.data;
}

export function registerDecisionRoutes(app: FastifyInstance, deps: DecisionRouteDeps): void {
  defineRoute(app, {
    method: 'POST',
    url: '/api/v1/decisions',
    tags: ['实时干预'],
    summary: '实时干预：业务办理前询问是否放行（仅运行拦截类规则，不改变规则状态）',
    description: '认证：采集终端 `Authorization: Collector <终端编号>:<令牌>`，或已登录用户。返回 allow（放行）或 hold（拦截）及中文原因。',
    // Collectors authenticate themselves here; users are checked in the handler.
    auth: 'public',
    scope: 'none',
    // Every answer is in the `decisions` table with who asked; an audit row per request would
    // put a second ClickHouse insert on the millisecond path.
    audit: false,
    handler: async (req) => {
      const collectorId = collectorOf(req, deps);
      const requestedBy = collectorId !== undefined ? `collector:${collectorId}` : authorize(req).username;
      const txn = parseTransaction(req.body, collectorId);
      const header = req.headers['x-request-id'];
      const requestId = typeof header === 'string' && header.length > 0 && header.length <= 200 ? header : undefined;
      const answer = await deps.decisions.decide(txn, { requestId, requestedBy, channel: 'http' });
      return answer;
    },
  });

  defineRoute(app, {
    method: 'GET',
    url: '/api/v1/decisions',
    tags: ['实时干预'],
    summary: '实时干预记录（最新在前）',
    auth: READERS,
    scope: 'city',
    query: Page.extend({
      decision: z.enum(['allow', 'hold']).optional(),
      collector: z.string().max(64).optional(),
    }),
    handler: async (req) => {
      assertCityScope(authorize(req, READERS));
      const q = req.query;
      const where = sql`(${param.String(q.decision ?? '')} = '' OR decision = ${param.String(q.decision ?? '')})
        AND (${param.String(q.collector ?? '')} = '' OR collector_id = ${param.String(q.collector ?? '')})`;
      const rows = await deps.store.query<Record<string, unknown>>(sql`
        SELECT request_id, transaction_id, collector_id, institution_id, county, channel, requested_by, decision, reasons,
          rule_set, ms, kind, ywlx, staff_id, lsh, toUnixTimestamp64Milli(occurred_at) AS occurred_at,
          toUnixTimestamp64Milli(decided_at) AS decided_at
        FROM decisions FINAL WHERE ${where}
        ORDER BY decided_at DESC, request_id LIMIT ${param.UInt32(q.limit)} OFFSET ${param.UInt32(q.offset)}`);
      return {
        items: rows.map((r) => ({
          requestId: String(r.request_id),
          transactionId: String(r.transaction_id),
          collectorId: String(r.collector_id),
          institutionId: String(r.institution_id),
          county: String(r.county),
          channel: String(r.channel),
          requestedBy: String(r.requested_by),
          decision: String(r.decision),
          reasons: JSON.parse(String(r.reasons || '[]')) as unknown[],
          ruleSetVersion: String(r.rule_set),
          ms: Number(r.ms),
          kind: String(r.kind),
          ywlx: String(r.ywlx),
          staffId: String(r.staff_id),
          lsh: String(r.lsh),
          occurredAt: Number(r.occurred_at),
          decidedAt: Number(r.decided_at),
        })),
      };
    },
  });
}

interface SocketData {
  collectorId: string;
  institutionId: string;
}

/** `decision.request` on the collectors' namespace (socket.data.collectorId set by ingest's handshake). */
export function attachDecisionSocket(io: Server, deps: Pick<DecisionRouteDeps, 'decisions' | 'collectors'>): void {
  const nsp = io.of(NAMESPACE_COLLECT) as unknown as Namespace<CollectClientToServer, CollectServerToClient, Record<string, never>, SocketData>;
  nsp.on('connection', (socket) => {
    socket.on('decision.request', (payload, ack) => {
      if (typeof ack !== 'function') return;
      const requestId = typeof (payload as { requestId?: unknown })?.requestId === 'string' ? (payload as { requestId: string }).requestId : '';
      const refuse = (code: string, message: string): void => ack({ ok: false, requestId, code, message } satisfies DecisionAck);
      const collectorId = socket.data.collectorId;
      const req = DecisionRequestSchema.safeParse(payload);
      if (!req.success) return refuse('DECISION_INVALID', describe(req.error));
      if (deps.collectors.get(collectorId)?.status === 'pending') return refuse('FORBIDDEN', `collector ${collectorId} is pending approval`);
      let txn: Transaction;
      try {
        txn = parseTransaction(req.data.transaction, collectorId);
      } catch (e) {
        return refuse(isHubError(e) ? e.code : 'DECISION_INVALID', errorMessage(e));
      }
      deps.decisions.decide(txn, { requestId: req.data.requestId, requestedBy: `collector:${collectorId}`, channel: 'socket' }).then(
        ({ transactionId: _t, ...answer }) => ack(answer),
        (e: unknown) => refuse(isHubError(e) ? e.code : 'EVALUATION_FAILED', errorMessage(e)),
      );
    });
  });
}
