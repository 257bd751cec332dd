/**
 * Registry changes with maker-checker and versions.
 *
 * A registry administrator files a request (one or many items: upsert or retire of an
 * institution, staff member, line/route or list entry; an import is one request holding every
 * row). A DIFFERENT registry administrator approves or rejects it; nothing changes before that.
 * Approval, per item: close the current version (valid_to = now) and open the next one
 * (valid_from = now), then refresh the live projection (`institutions`, `staff`) that the rule
 * engine reads, and reload the in-memory Registry. Queries "as of T" read the version whose
 * [valid_from, valid_to) contains T.
 *
 * Approval is serialised by a Redis lock per request, and the status check happens under it, so
 * a request is applied at most once.
 *
 * Every hub replica holds the registry in memory; after an approval this replica reloads its own
 * and publishes on `<prefix>:registry` so the others reload theirs (`follow()`).
 */
import crypto from 'node:crypto';
import type { Redis } from 'ioredis';
import { COUNTY_BY_CODE, createRegistryView, type Institution, type Listing, type RegistryView, type Staff } from '@jianguan/rules';
import { z } from 'zod';
import { HubError } from '../errors.js';
import { inScope, type Principal } from '../auth/principal.js';
import { loadInstitutions, loadStaff, upsertInstitutions, upsertStaff } from '../store/repo.js';
import { joinSql, param, sql, type SqlQuery } from '../store/sql.js';
import type { Store } from '../store/store.js';
import { Entity, institutionOf, keyOf, SCHEMAS, zhIssue, type EntityData, type FiledStaff, type Line, type RowError } from './entities.js';
import type { Registry } from './registry.js';

export const ChangeItemSchema = z.object({
  entity: Entity,
  op: z.enum(['upsert', 'retire']).default('upsert'),
  data: z.record(z.string(), z.unknown()),
});
export type ChangeItemInput = z.infer<typeof ChangeItemSchema>;

export interface ChangeItem {
  entity: Entity;
  op: 'upsert' | 'retire';
  key: string;
  data: EntityData;
}

export type RequestStatus = 'pending' | 'approved' | 'rejected';

export interface RegistryRequest {
  id: string;
  kind: 'change' | 'import';
  status: RequestStatus;
  summary: string;
  source: string;
  items: ChangeItem[];
  itemCount: number;
  counties: string[];
  requestedBy: string;
  requestedAt: number;
  decidedBy: string;
  decidedAt: number | null;
  decisionComment: string;
}

export interface Version {
  entity: Entity;
  key: string;
  version: number;
  validFrom: number;
  validTo: number | null;
  retired: boolean;
  data: EntityData;
  requestId: string;
  approvedBy: string;
}

function requestRow(r: RegistryRequest, updatedAt: number) {
  return {
    id: r.id,
    kind: r.kind,
    status: r.status,
    summary: r.summary,
    source: r.source,
    items: JSON.stringify(r.items),
    item_count: r.itemCount,
    counties: r.counties,
    requested_by: r.requestedBy,
    requested_at: r.requestedAt,
    decided_by: r.decidedBy,
    decided_at: r.decidedAt,
    decision_comment: r.decisionComment,
    updated_at: updatedAt,
  };
}

function toRequest(r: Record<string, unknown>, withItems: boolean): RegistryRequest {
  return {
    id: String(r.id),
    kind: r.kind as RegistryRequest['kind'],
    status: r.status as RequestStatus,
    summary: String(r.summary),
    source: String(r.source),
    items: withItems ? (JSON.parse(String(r.items)) as ChangeItem[]) : [],
    itemCount: Number(r.item_count),
    counties: r.counties as string[],
    requestedBy: String(r.requested_by),
    requestedAt: Number(r.requested_at_ms),
    decidedBy: String(r.decided_by),
    decidedAt: r.decided_at_ms === null ? null : Number(r.decided_at_ms),
    decisionComment: String(r.decision_comment),
  };
}

const REQUEST_COLUMNS = sql`id, kind, status, summary, source, items, item_count, counties, requested_by,
  toUnixTimestamp64Milli(requested_at) AS requested_at_ms, decided_by,
  if(isNull(decided_at), NULL, toUnixTimestamp64Milli(assumeNotNull(decided_at))) AS decided_at_ms, decision_comment`;

// Aliases must not reuse column names: ClickHouse resolves WHERE names to SELECT aliases first.
const VERSION_COLUMNS = sql`entity, key, version, toUnixTimestamp64Milli(valid_from) AS valid_from_ms,
  if(isNull(valid_to), NULL, toUnixTimestamp64Milli(assumeNotNull(valid_to))) AS valid_to_ms, retired, data, request_id, approved_by`;

function toVersion(r: Record<string, unknown>): Version {
  return {
    entity: r.entity as Entity,
    key: String(r.key),
    version: Number(r.version),
    validFrom: Number(r.valid_from_ms),
    validTo: r.valid_to_ms === null ? null : Number(r.valid_to_ms),
    retired: Number(r.retired) === 1,
    data: JSON.parse(String(r.data)) as EntityData,
    requestId: String(r.request_id),
    approvedBy: String(r.approved_by),
  };
}

/** Validation problem of one item in a request (index = position in the request). */
export interface ItemError {
  index: number;
  field: string;
  message: string;
}

export class RegistryChanges {
  constructor(
    private readonly store: Store,
    private readonly redis: Redis,
    private readonly prefix: string,
    private readonly registry: Registry,
  ) {}

  private get channel(): string {
    return `${this.prefix}:registry`;
  }

  /**
   * Reloads this replica's registry whenever any replica approves a change. Returns the stop
   * function. (Re)subscribing also reloads, so changes made while disconnected are picked up.
   */
  async follow(onError: (e: unknown) => void): Promise<() => void> {
    const sub = this.redis.duplicate();
    const reload = () => void this.registry.reload().catch(onError);
    sub.on('message', reload);
    sub.on('ready', reload);
    sub.on('error', onError);
    await sub.subscribe(this.channel);
    return () => sub.disconnect();
  }

  // ---- validation -----------------------------------------------------------------------------

  /** Validates items; returns the normalised items or per-item errors (never partial). */
  validate(inputs: readonly ChangeItemInput[], who: Principal): { items: ChangeItem[]; errors: ItemError[]; counties: string[] } {
    const items: ChangeItem[] = [];
    const errors: ItemError[] = [];
    const counties = new Set<string>();
    const newInstitutions = new Map<string, string>();
    const keys = new Set<string>();
    const inputIndex: number[] = [];
    inputs.forEach((inp, index) => {
      const parsed = SCHEMAS[inp.entity].safeParse(inp.data);
      if (!parsed.success) {
        for (const i of parsed.error.issues) errors.push({ index, field: i.path.join('.'), message: zhIssue(i, (inp.data as Record<string, unknown>)[String(i.path[0] ?? '')]) });
        return;
      }
      const data = parsed.data as EntityData;
      if (inp.entity === 'institution' && !COUNTY_BY_CODE.has((data as Institution).county)) {
        errors.push({ index, field: 'county', message: `不是河池市的区县代码：${(data as Institution).county}` });
        return;
      }
      const key = keyOf(inp.entity, data);
      const k = `${inp.entity}\u0000${key}`;
      if (keys.has(k)) errors.push({ index, field: 'id', message: `重复：${key}` });
      keys.add(k);
      if (inp.entity === 'institution') newInstitutions.set(key, (data as Institution).county);
      items.push({ entity: inp.entity, op: inp.op, key, data });
      inputIndex.push(index);
    });
    items.forEach((it, i) => {
      const index = inputIndex[i]!;
      const instId = institutionOf(it.entity, it.data);
      let county: string | undefined;
      if (it.entity === 'institution') county = (it.data as Institution).county;
      else if (instId) {
        county = newInstitutions.get(instId) ?? this.registry.institution(instId)?.county;
        if (county === undefined) errors.push({ index, field: 'institutionId', message: `机构不存在：${instId}` });
      }
      if (county !== undefined) {
        if (!inScope(who, county)) errors.push({ index, field: 'county', message: `超出管辖范围：${county}` });
        counties.add(county);
      }
    });
    errors.sort((a, b) => a.index - b.index);
    return { items, errors, counties: [...counties].sort() };
  }

  // ---- requests -------------------------------------------------------------------------------

  async createRequest(who: Principal, input: { kind: 'change' | 'import'; summary: string; source: string; items: ChangeItemInput[] }): Promise<RegistryRequest> {
    const { items, errors, counties } = this.validate(input.items, who);
    if (errors.length) {
      throw Object.assign(new HubError('IMPORT_INVALID', `${errors.length} problem(s)`), { report: errors });
    }
    const now = Date.now();
    const req: RegistryRequest = {
      id: `rr-${now.toString(36)}-${crypto.randomBytes(4).toString('hex')}`,
      kind: input.kind,
      status: 'pending',
      summary: input.summary,
      source: input.source,
      items,
      itemCount: items.length,
      counties,
      requestedBy: who.username,
      requestedAt: now,
      decidedBy: '',
      decidedAt: null,
      decisionComment: '',
    };
    await this.store.insert('registry_requests', [requestRow(req, now)]);
    return req;
  }

  async get(id: string): Promise<RegistryRequest | undefined> {
    const [r] = await this.store.query<Record<string, unknown>>(sql`SELECT ${REQUEST_COLUMNS} FROM registry_requests FINAL WHERE id = ${param.String(id)}`);
    return r ? toRequest(r, true) : undefined;
  }

  async list(f: { status?: RequestStatus; county?: string; limit: number; offset: number }): Promise<{ total: number; items: RegistryRequest[] }> {
    const c: SqlQuery[] = [];
    if (f.status) c.push(sql`status = ${param.String(f.status)}`);
    // A county-scoped viewer sees requests touching only their county.
    if (f.county) c.push(sql`arrayAll(x -> x = ${param.String(f.county)}, counties)`);
    const w = joinSql(c, ' AND ');
    const [t] = await this.store.query<{ n: string }>(sql`SELECT count() AS n FROM registry_requests FINAL WHERE ${w}`);
    const rows = await this.store.query<Record<string, unknown>>(sql`
      SELECT ${REQUEST_COLUMNS} FROM registry_requests FINAL WHERE ${joinSql(c, ' AND ')}
      ORDER BY requested_at DESC LIMIT ${param.UInt32(f.limit)} OFFSET ${param.UInt32(f.offset)}`);
    return { total: Number(t?.n ?? 0), items: rows.map((r) => toRequest(r, false)) };
  }

  private async withLock<T>(id: string, fn: () => Promise<T>): Promise<T> {
    const key = `${this.prefix}:reg:lock:${id}`;
    const token = crypto.randomBytes(8).toString('hex');
    const ok = await this.redis.set(key, token, 'PX', 60_000, 'NX');
    if (ok !== 'OK') throw new HubError('BUSY', `request ${id} is being decided`);
    try {
      return await fn();
    } finally {
      await this.redis.eval(`if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('del', KEYS[1]) else return 0 end`, 1, key, token);
    }
  }

  private checkDecider(who: Principal, r: RegistryRequest): void {
    if (r.status !== 'pending') throw new HubError('REQUEST_NOT_PENDING', `${r.id} is ${r.status}`);
    if (r.requestedBy === who.username) throw new HubError('SAME_APPROVER', `${r.id} was filed by ${who.username}`);
    for (const c of r.counties) if (!inScope(who, c)) throw new HubError('OUT_OF_SCOPE', `request touches ${c}`);
  }

  async reject(who: Principal, id: string, comment: string): Promise<RegistryRequest> {
    return this.withLock(id, async () => {
      const r = await this.get(id);
      if (!r) throw new HubError('NOT_FOUND', `request ${id}`);
      this.checkDecider(who, r);
      const now = Math.max(Date.now(), r.requestedAt + 1);
      const next: RegistryRequest = { ...r, status: 'rejected', decidedBy: who.username, decidedAt: now, decisionComment: comment };
      await this.store.insert('registry_requests', [requestRow(next, now)]);
      return next;
    });
  }

  async approve(who: Principal, id: string, comment: string): Promise<RegistryRequest> {
    return this.withLock(id, async () => {
      const r = await this.get(id);
      if (!r) throw new HubError('NOT_FOUND', `request ${id}`);
      this.checkDecider(who, r);
      const now = Math.max(Date.now(), r.requestedAt + 1);
      await this.applyItems(r.items, { requestId: r.id, approvedBy: who.username, at: now });
      const next: RegistryRequest = { ...r, status: 'approved', decidedBy: who.username, decidedAt: now, decisionComment: comment };
      await this.store.insert('registry_requests', [requestRow(next, now)]);
      await this.registry.reload();
      // Best effort: a replica that misses it still reloads on its next follow() reconnect.
      await this.redis.publish(this.channel, r.id).catch(() => 0);
      return next;
    });
  }

  /** Writes the versions of approved items and refreshes the live projection. */
  private async applyItems(items: readonly ChangeItem[], meta: { requestId: string; approvedBy: string; at: number }): Promise<void> {
    const current = await this.currentVersions(items.map((i) => ({ entity: i.entity, key: i.key })));
    const rows: Record<string, unknown>[] = [];
    for (const it of items) {
      const cur = current.get(`${it.entity}\u0000${it.key}`);
      if (cur) rows.push(versionRow({ ...cur, validTo: meta.at }, meta.at));
      rows.push(
        versionRow(
          {
            entity: it.entity,
            key: it.key,
            version: (cur?.version ?? 0) + 1,
            validFrom: meta.at,
            validTo: null,
            retired: it.op === 'retire',
            data: it.data,
            requestId: meta.requestId,
            approvedBy: meta.approvedBy,
          },
          meta.at,
        ),
      );
    }
    await this.store.insert('registry_versions', rows);
    // The live projection the rule engine reads. A retired institution is suspended; a retired
    // staff filing is no longer filed.
    const inst = items.filter((i) => i.entity === 'institution').map((i) => (i.op === 'retire' ? { ...(i.data as Institution), status: 'suspended' as const } : (i.data as Institution)));
    const staff = items.filter((i) => i.entity === 'staff').map((i) => (i.op === 'retire' ? { ...(i.data as Staff), filed: false } : (i.data as Staff)));
    if (inst.length) await upsertInstitutions(this.store, inst);
    if (staff.length) await upsertStaff(this.store, staff);
  }

  async currentVersions(keys: readonly { entity: Entity; key: string }[]): Promise<Map<string, Version>> {
    if (!keys.length) return new Map();
    const rows = await this.store.query<Record<string, unknown>>(sql`
      SELECT ${VERSION_COLUMNS} FROM registry_versions FINAL
      WHERE isNull(valid_to) AND (entity, key) IN (SELECT tupleElement(t, 1), tupleElement(t, 2) FROM (SELECT arrayJoin(arrayZip(${param.ArrayString(keys.map((k) => k.entity))}, ${param.ArrayString(keys.map((k) => k.key))})) AS t))`);
    return new Map(rows.map((r) => [`${String(r.entity)}\u0000${String(r.key)}`, toVersion(r)]));
  }

  async history(entity: Entity, key: string): Promise<Version[]> {
    const rows = await this.store.query<Record<string, unknown>>(sql`
      SELECT ${VERSION_COLUMNS} FROM registry_versions FINAL WHERE entity = ${param.String(entity)} AND key = ${param.String(key)} ORDER BY version`);
    return rows.map(toVersion);
  }

  asOf(entity: Entity, at: number): Promise<Version[]> {
    return versionsAsOf(this.store, entity, at);
  }

  /**
   * Gives every institution and staff member of the live tables a first version (valid from the
   * epoch, request 'baseline') when it has none — demo seeds and rows written before versions
   * existed. Idempotent.
   */
  async baseline(): Promise<number> {
    const have = new Set(
      (await this.store.query<{ entity: string; key: string }>(sql`SELECT DISTINCT entity, key FROM registry_versions WHERE entity IN ('institution', 'staff')`)).map(
        (r) => `${r.entity}\u0000${r.key}`,
      ),
    );
    const [inst, staff] = await Promise.all([loadInstitutions(this.store), loadStaff(this.store)]);
    const now = Date.now();
    const rows: Record<string, unknown>[] = [];
    const add = (entity: Entity, key: string, data: EntityData) => {
      if (have.has(`${entity}\u0000${key}`)) return;
      rows.push(versionRow({ entity, key, version: 1, validFrom: 0, validTo: null, retired: false, data, requestId: 'baseline', approvedBy: 'system' }, now));
    };
    for (const i of inst) add('institution', i.id, i);
    for (const s of staff) add('staff', s.id, s);
    if (rows.length) await this.store.insert('registry_versions', rows);
    return rows.length;
  }

  /** Current list entries and lines (the Registry's in-memory view reads these). */
  async currentOf(entity: 'listing' | 'line' | 'staff'): Promise<Version[]> {
    const rows = await this.store.query<Record<string, unknown>>(sql`
      SELECT ${VERSION_COLUMNS} FROM registry_versions FINAL WHERE entity = ${param.String(entity)} AND isNull(valid_to) AND retired = 0`);
    return rows.map(toVersion);
  }
}

/** Records of `entity` in force at `at` (not retired). */
export async function versionsAsOf(store: Store, entity: Entity, at: number): Promise<Version[]> {
  const rows = await store.query<Record<string, unknown>>(sql`
    SELECT ${VERSION_COLUMNS} FROM registry_versions FINAL
    WHERE entity = ${param.String(entity)} AND valid_from <= ${param.DateTime64(at)}
      AND (isNull(valid_to) OR assumeNotNull(valid_to) > ${param.DateTime64(at)}) AND retired = 0
    ORDER BY key`);
  return rows.map(toVersion);
}

/** A RegistryView at `at`, plus the records themselves (`records`, not to shadow the lookups). */
export type RegistryViewAsOf = RegistryView & { at: number; records: { institutions: Institution[]; staff: FiledStaff[]; listings: Listing[]; lines: Line[] } };

/** The registry as it stood at `at`, as the rule engine sees it (for backtests). */
export async function registryViewAsOf(store: Store, at: number): Promise<RegistryViewAsOf> {
  const [inst, staff, lists, lines] = await Promise.all(
    (['institution', 'staff', 'listing', 'line'] as const).map((e) => versionsAsOf(store, e, at)),
  );
  const institutions = inst!.map((v) => v.data as Institution);
  const filed = staff!.map((v) => v.data as FiledStaff);
  const listings = lists!.map((v) => v.data as Listing);
  const view = createRegistryView(institutions, filed, listings);
  return Object.assign(view, { at, records: { institutions, staff: filed, listings, lines: lines!.map((v) => v.data as Line) } });
}

function versionRow(v: Version, revision: number): Record<string, unknown> {
  return {
    entity: v.entity,
    key: v.key,
    version: v.version,
    valid_from: v.validFrom,
    valid_to: v.validTo,
    retired: v.retired ? 1 : 0,
    data: JSON.stringify(v.data),
    request_id: v.requestId,
    approved_by: v.approvedBy,
    revision,
  };
}

export type { RowError };
