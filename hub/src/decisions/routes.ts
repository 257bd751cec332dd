/**
 * The hold path's two doors and the decision log:
 *
 *   POST /api/v1/decisions   body: one Transaction. Auth: `Authorization: Collector <id>:<token>`
 *                            (a filed collector; the record must be its own and name its own
 *                            institution), or a logged-in system_admin (an operator checking a
 *                            record by hand). No other role may ask.
 *   socket /collect          `decision.request` {requestId, transaction} → ack DecisionAck
 *                            (the collector's socket, authenticated by ingest's handshake)
 *   GET  /api/v1/decisions   the decision log (rule_admin, system_admin, leader; whole city)
 *
 * The log is keyed by request id (ReplacingMergeTree, migration 020), so the stored key is
 * namespaced by the authenticated caller (service.ts `decisionKey`): a caller's X-Request-Id or
 * socket requestId can only ever replace that caller's own rows, never a collector's "hold".
 */
import crypto from 'node:crypto';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { Transaction } from '@jianguan/rules';
import { z } from 'zod';
import { defineRoute, Page } from '../http/define.js';
import { authorize, type Role } from '../http/access.js';
import type { CollectorService } from '../collectors/service.js';
import { HubError, errorMessage, isHubError } from '../errors.js';
import { DecisionMadeSchema, DecisionReasonSchema, DecisionRequestSchema, type DecisionAck } from '../protocol/index.js';
import { safeAck, type CollectHooks } from '../ingest/collect.js';
import type { CollectSocket } from '../sockets.js';
import { sha256Hex, type Registry } from '../registry/registry.js';
import { param, sql } from '../store/sql.js';
import type { Store } from '../store/store.js';
import { clientRequestId, type DecisionCaller, type DecisionService } from './service.js';
import type { HubPseudonyms } from '../pseudonyms.js';
import type { AuditEntry } from '../auth/audit.js';
import { describeIssues } from '../validation/issues.js';
import { transactionOf } from '../validation/transaction.js';

export interface DecisionRouteDeps {
  decisions: DecisionService;
  registry: Registry;
  collectors: CollectorService;
  store: Store;
  /** The hub's pseudonym layer: a question is evaluated against the same hashes as stored data. */
  pseudonyms?: HubPseudonyms;
  /**
   * 'required': the HTTP `Collector <id>:<token>` door is closed to a collector with a bound key
   * (a token alone never suffices; it asks over its signed /collect socket).
   */
  collectorKeys?: 'required' | 'optional';
}

const READERS: readonly Role[] = ['rule_admin', 'system_admin', 'leader'];
/** Users who may ask for a decision by hand (collectors ask with their own credential). */
export const DECISION_OPERATORS: readonly Role[] = ['system_admin'];

/** The answer of POST /api/v1/decisions: the decision (DecisionAck, ok) with the transaction's id. */
const DecisionAnswerSchema = DecisionMadeSchema.extend({ transactionId: z.string() });

/** One row of the decision log. Times are epoch ms. */
const DecisionLogItemSchema = z.object({
  requestId: z.string(),
  transactionId: z.string(),
  collectorId: z.string(),
  institutionId: z.string(),
  county: z.string(),
  channel: z.string().describe('http 或 socket'),
  requestedBy: z.string(),
  decision: z.enum(['allow', 'hold']),
  reasons: z.array(DecisionReasonSchema),
  ruleSetVersion: z.string(),
  ms: z.number(),
  kind: z.string(),
  ywlx: z.string(),
  staffId: z.string(),
  lsh: z.string(),
  occurredAt: z.number(),
  decidedAt: z.number(),
});

const describe = (e: z.ZodError): string => describeIssues(e, { root: '(transaction)' });

/**
 * A collector's token, as ingest accepts it: the hub registry's credentials first, then the
 * collector service's record (static collectors registered there, approved, token hash).
 * Returns the collector's institution, or undefined when the token does not authenticate.
 */
export function authenticateCollector(deps: Pick<DecisionRouteDeps, 'registry' | 'collectors'>, collectorId: string, token: string): { institutionId: string } | undefined {
  const filed = deps.registry.authenticate(collectorId, token);
  if (filed) return filed;
  const rec = deps.collectors.get(collectorId);
  if (!rec || rec.status !== 'approved' || !rec.tokenSha256) return undefined;
  const a = Buffer.from(sha256Hex(token), 'hex');
  const b = Buffer.from(rec.tokenSha256, 'hex');
  return a.length === b.length && crypto.timingSafeEqual(a, b) ? { institutionId: rec.institutionId } : undefined;
}

interface CollectorCaller {
  collectorId: string;
  institutionId: string;
}

/** `Collector <id>:<token>` → the collector; undefined without such a header; throws AUTH_FAILED on a bad one. */
function collectorOf(req: FastifyRequest, deps: DecisionRouteDeps): CollectorCaller | undefined {
  const h = req.headers.authorization;
  if (!h || !/^Collector\s+/i.test(h)) return undefined;
  const cred = h.replace(/^Collector\s+/i, '').trim();
  const i = cred.indexOf(':');
  const id = i > 0 ? cred.slice(0, i) : '';
  const token = i > 0 ? cred.slice(i + 1) : '';
  const who = id && token ? authenticateCollector(deps, id, token) : undefined;
  if (!who) throw new HubError('AUTH_FAILED', 'unknown collector or wrong token');
  if (deps.collectorKeys !== 'optional') {
    throw new HubError('COLLECTOR_KEY_REQUIRED', `${id}: a token alone does not authenticate a collector; ask over the signed /collect connection`);
  }
  return { collectorId: id, institutionId: who.institutionId };
}

/**
 * Whether a collector may ask about business of `institutionId`: the same rule as ingest — its
 * own institution, or one it is configured to report for (`reportsFor`).
 */
function mayAskFor(deps: Pick<DecisionRouteDeps, 'collectors'>, caller: CollectorCaller, institutionId: string): boolean {
  return caller.institutionId === institutionId || deps.collectors.mayReportFor(caller.collectorId, institutionId);
}

function parseTransaction(raw: unknown, caller: CollectorCaller | undefined, deps: Pick<DecisionRouteDeps, 'collectors' | 'pseudonyms'>): Transaction {
  const checked = transactionOf(deps.pseudonyms ? deps.pseudonyms.rekeyRecord(raw) : raw, '(transaction)');
  if (!checked.ok) throw new HubError('DECISION_INVALID', checked.message);
  const txn = checked.t;
  if (caller !== undefined && txn.collectorId !== caller.collectorId) {
    throw new HubError('COLLECTOR_MISMATCH', `collectorId: record says ${txn.collectorId}, caller is ${caller.collectorId}`);
  }
  if (caller !== undefined && !mayAskFor(deps, caller, txn.institutionId)) {
    throw new HubError('FORBIDDEN', `institutionId: collector ${caller.collectorId} may not ask about business of ${txn.institutionId}`);
  }
  return txn;
}

/** X-Request-Id when it is a usable id (printable ASCII, 1–200 characters); otherwise none. */
function requestIdOf(req: FastifyRequest): string | undefined {
  const header = req.headers['x-request-id'];
  return typeof header === 'string' && /^[\x21-\x7e]{1,200}$/.test(header) ? header : undefined;
}

export function registerDecisionRoutes(app: FastifyInstance, deps: DecisionRouteDeps): void {
  defineRoute(app, {
    method: 'POST',
    url: '/api/v1/decisions',
    tags: ['实时干预'],
    summary: '实时干预：业务办理前询问是否放行（仅运行拦截类规则，不改变规则状态）',
    description: '认证：采集终端 `Authorization: Collector <终端编号>:<令牌>`（仅限本机构业务），或已登录的系统管理员。返回 allow（放行）或 hold（拦截）及中文原因。',
    // Collectors authenticate themselves here; users (system_admin only) are checked in the handler.
    auth: 'public',
    scope: 'none',
    // Audited like every write (the audit writer commits in groups, so a burst costs a few
    // inserts): who asked, about which transaction, and the answer.
    audit: 'decision.request',
    response: DecisionAnswerSchema,
    handler: async (req) => {
      const collector = collectorOf(req, deps);
      if (collector) req.auditNote = { actor: `collector:${collector.collectorId}` };
      const caller: DecisionCaller = collector !== undefined ? { kind: 'collector', id: collector.collectorId } : { kind: 'user', id: authorize(req, DECISION_OPERATORS).username };
      const txn = parseTransaction(req.body, collector, deps);
      const answer = await deps.decisions.decide(txn, { requestId: requestIdOf(req), caller, channel: 'http' });
      req.auditNote = { ...(req.auditNote ?? {}), targetType: 'transaction', targetId: txn.id, detail: { decision: (answer as { decision?: unknown }).decision, institutionId: txn.institutionId } };
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
    response: z.object({ items: z.array(DecisionLogItemSchema) }),
    handler: async (req) => {
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
          requestId: clientRequestId(String(r.request_id)),
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

/**
 * `decision.request` on the collectors' namespace, installed per authenticated socket through
 * ingest's hook (ingest/collect.ts owns /collect and sets socket.data in its handshake).
 */
export function decisionSocketHook(
  deps: Pick<DecisionRouteDeps, 'decisions' | 'collectors' | 'pseudonyms'> & {
    /** Audits each answer and refusal; must not wait (the hold path answers in milliseconds). */
    audit?: (e: Omit<AuditEntry, 'id' | 'at' | 'actorRoles' | 'actorScope' | 'targetType' | 'targetId' | 'detail'> & Partial<AuditEntry>) => void;
  },
): CollectHooks {
  const onSocket = (socket: CollectSocket): void => {
    socket.on('decision.request', (payload, ack) => {
      if (typeof ack !== 'function') return;
      const requestId = typeof (payload as { requestId?: unknown })?.requestId === 'string' ? (payload as { requestId: string }).requestId : '';
      const { collectorId, institutionId } = socket.data;
      const address = typeof socket.handshake.address === 'string' ? socket.handshake.address : '';
      const audit = (result: AuditEntry['result'], status: number, targetId: string, detail: Record<string, unknown>) => {
        try {
          deps.audit?.({ actor: `collector:${String(collectorId ?? '?')}`, action: 'decision.request', method: 'WS', path: '/collect decision.request', ip: address, result, status, targetType: 'transaction', targetId, detail: JSON.stringify(detail) });
        } catch {
          // auditing must not decide the answer
        }
      };
      const refuse = (code: string, message: string): void => {
        audit(code === 'AUTH_FAILED' || code === 'FORBIDDEN' ? 'denied' : 'failed', code === 'AUTH_FAILED' ? 401 : code === 'FORBIDDEN' ? 403 : 400, '', { code, requestId });
        safeAck<DecisionAck>(ack, { ok: false, requestId, code, message });
      };
      // Set by ingest's handshake; a socket without them never authenticated.
      if (typeof collectorId !== 'string' || typeof institutionId !== 'string') return refuse('AUTH_FAILED', 'not an authenticated collector');
      const req = DecisionRequestSchema.safeParse(payload);
      if (!req.success) return refuse('DECISION_INVALID', describe(req.error));
      if (deps.collectors.get(collectorId)?.status === 'pending') return refuse('FORBIDDEN', `collector ${collectorId} is pending approval`);
      let txn: Transaction;
      try {
        txn = parseTransaction(req.data.transaction, { collectorId, institutionId }, deps);
      } catch (e) {
        return refuse(isHubError(e) ? e.code : 'DECISION_INVALID', errorMessage(e));
      }
      deps.decisions.decide(txn, { requestId: req.data.requestId, caller: { kind: 'collector', id: collectorId }, channel: 'socket' }).then(
        ({ transactionId: _t, ...answer }) => {
          audit('ok', 200, txn.id, { decision: (answer as { decision?: unknown }).decision, requestId });
          safeAck(ack, answer);
        },
        (e: unknown) => refuse(isHubError(e) ? e.code : 'EVALUATION_FAILED', errorMessage(e)),
      );
    });
  };
  return { onSocket };
}
