/**
 * The audit log: append-only rows in ClickHouse `audit_log`. The auth plugin writes one row for
 * every mutating /api request (whatever its result, denied and failed included) from an onSend
 * hook — before the response leaves, so an answered request is always audited — and handlers
 * enrich it through `request.auditNote`. Logins and logouts are rows too.
 */
import crypto from 'node:crypto';
import { z } from 'zod';
import { joinSql, param, sql, type SqlQuery } from '../store/sql.js';
import type { Store } from '../store/store.js';
import { createStoreWriter, type StoreWriter } from '../store/writer.js';
import { AuditActionsParam } from '../protocol/index.js';

export interface AuditEntry {
  id: string;
  at: number;
  actor: string;
  actorRoles: string[];
  actorScope: string;
  action: string;
  method: string;
  path: string;
  targetType: string;
  targetId: string;
  ip: string;
  /** ok | denied (401/403) | failed (other 4xx) | error (5xx) */
  result: 'ok' | 'denied' | 'failed' | 'error';
  status: number;
  detail: string;
}

export function resultOf(status: number): AuditEntry['result'] {
  if (status < 400) return 'ok';
  if (status === 401 || status === 403) return 'denied';
  if (status < 500) return 'failed';
  return 'error';
}

/**
 * Audit rows go through the store writer (store/writer.ts): group commit, spaced — a row is
 * written at once when the table is idle and no insert of it started within the last
 * AUDIT_INSERT_INTERVAL_MS; rows that arrive meanwhile go together in the next insert. Each
 * caller's promise settles when its own row is stored, so a response is never sent before its
 * audit row is durable, and a steady stream of audited requests costs at most a few inserts a
 * second — every insert costs the engine a fixed few milliseconds of CPU and leaves a part to
 * merge.
 *
 * Rows that nobody waits for (`writeLater`: socket decisions, refused handshakes and screens,
 * which answer at once) have their own writer spaced AUDIT_LATER_INTERVAL_MS: the socket hold
 * path audits hundreds of decisions a second, and at 50 ms spacing their parts alone kept the
 * engine's merges busy. Like the decision log they are written within that interval of the event,
 * and a crash loses at most that much of them; `flush()` (on close) writes everything pending.
 */
const AUDIT_INSERT_INTERVAL_MS = 50;
const AUDIT_LATER_INTERVAL_MS = 500;

export class AuditWriter {
  private readonly writer: StoreWriter;
  private readonly later: StoreWriter;

  constructor(store: Pick<Store, 'insertText'>) {
    this.writer = createStoreWriter(store, { lingerMs: 0, intervalMs: AUDIT_INSERT_INTERVAL_MS, maxRows: 1000 });
    this.later = createStoreWriter(store, { lingerMs: 0, intervalMs: AUDIT_LATER_INTERVAL_MS, maxRows: 5000 });
  }

  /** Resolves once the row is stored: for responses that must not go out before their audit. */
  write(e: Omit<AuditEntry, 'id'>): Promise<void> {
    return this.writer.insert('audit_log', [auditRow(e)]);
  }

  /** For events answered without waiting: written within AUDIT_LATER_INTERVAL_MS. */
  writeLater(e: Omit<AuditEntry, 'id'>): Promise<void> {
    return this.later.insert('audit_log', [auditRow(e)]);
  }

  /** Writes everything pending (both writers) and waits for it. */
  async flush(): Promise<void> {
    await Promise.all([this.writer.flush(), this.later.flush()]);
  }
}

export async function appendAudit(store: Store, e: Omit<AuditEntry, 'id'>): Promise<void> {
  await store.insert('audit_log', [auditRow(e)]);
}

/**
 * ClickHouse refuses text that is not valid Unicode (a lone UTF-16 surrogate), and a refused row
 * sinks the whole batched insert; paths, ids and details come from clients, so every string is
 * made well-formed (lone surrogates become U+FFFD) before it is written.
 */
const text = (s: string): string => s.toWellFormed();

function auditRow(e: Omit<AuditEntry, 'id'>): Record<string, unknown> {
  return (
    {
      id: crypto.randomUUID(),
      at: e.at,
      actor: text(e.actor),
      actor_roles: e.actorRoles,
      actor_scope: e.actorScope,
      action: text(e.action),
      method: e.method,
      path: text(e.path.slice(0, 500)),
      target_type: text(e.targetType),
      target_id: text(e.targetId),
      ip: e.ip,
      result: e.result,
      status: e.status,
      detail: text(e.detail.slice(0, 8000)),
    }
  );
}

export const AuditQuery = z.object({
  limit: z.coerce.number().int().min(1).max(1000).default(50),
  offset: z.coerce.number().int().min(0).default(0),
  actor: z.string().max(64).optional(),
  /** A prefix of the action code (`warning.` finds every warning step). */
  action: z.string().max(64).optional(),
  /** Action codes matched exactly, comma-separated: the audit screen's filter groups. */
  actions: AuditActionsParam.optional(),
  result: z.enum(['ok', 'denied', 'failed', 'error']).optional(),
  targetType: z.string().max(64).optional(),
  targetId: z.string().max(128).optional(),
  /** Epoch ms, inclusive. */
  from: z.coerce.number().int().min(0).optional(),
  /** Epoch ms, exclusive. */
  to: z.coerce.number().int().min(0).optional(),
});
export type AuditQuery = z.infer<typeof AuditQuery>;

function where(q: AuditQuery): SqlQuery {
  const c: SqlQuery[] = [];
  if (q.actor) c.push(sql`actor = ${param.String(q.actor)}`);
  if (q.action) c.push(sql`startsWith(action, ${param.String(q.action)})`);
  if (q.actions?.length) c.push(sql`action IN ${param.ArrayString(q.actions)}`);
  if (q.result) c.push(sql`result = ${param.String(q.result)}`);
  if (q.targetType) c.push(sql`target_type = ${param.String(q.targetType)}`);
  if (q.targetId) c.push(sql`target_id = ${param.String(q.targetId)}`);
  if (q.from !== undefined) c.push(sql`at >= ${param.DateTime64(q.from)}`);
  if (q.to !== undefined) c.push(sql`at < ${param.DateTime64(q.to)}`);
  return joinSql(c, ' AND ');
}

export async function queryAudit(store: Store, q: AuditQuery): Promise<{ total: number; items: AuditEntry[] }> {
  const w = where(q);
  const [t] = await store.query<{ n: string }>(sql`SELECT count() AS n FROM audit_log WHERE ${w}`);
  const rows = await store.query<Record<string, unknown>>(sql`
    SELECT id, toUnixTimestamp64Milli(at) AS at_ms, actor, actor_roles, actor_scope, action, method, path, target_type, target_id,
      ip, result, status, detail
    FROM audit_log WHERE ${where(q)} ORDER BY at DESC, id LIMIT ${param.UInt32(q.limit)} OFFSET ${param.UInt32(q.offset)}`);
  return {
    total: Number(t?.n ?? 0),
    items: rows.map((r) => ({
      id: String(r.id),
      at: Number(r.at_ms),
      actor: String(r.actor),
      actorRoles: r.actor_roles as string[],
      actorScope: String(r.actor_scope),
      action: String(r.action),
      method: String(r.method),
      path: String(r.path),
      targetType: String(r.target_type),
      targetId: String(r.target_id),
      ip: String(r.ip),
      result: r.result as AuditEntry['result'],
      status: Number(r.status),
      detail: String(r.detail),
    })),
  };
}
