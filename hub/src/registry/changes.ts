/**
 * Registry changes with maker-checker and versions.
 *
 * A registry administrator files a request (one or many items: upsert or retire of an
 * institution, staff member, device, line/route or list entry; an import is one request holding
 * every row). A DIFFERENT registry administrator approves or rejects it; nothing changes before that.
 *
 * Effective time: a request may carry `effectiveFrom` (past allowed; default the moment of
 * approval), and an imported row its own filing dates (`validFrom`/`validTo` of the row, which
 * win over the request's). Approval, per item, with E = the item's effective start:
 *   - the next version number is written with [E, validTo-of-the-row or open);
 *   - the open version is closed at E when it began before E and the new one is open-ended (the
 *     ordinary case: versions tile time and the history reads naturally);
 *   - nothing else is rewritten. A back-dated version that overlaps older ones simply wins where
 *     they overlap, because "as of T" answers with the highest version whose [valid_from,
 *     valid_to) contains T. The as-of history therefore stays append-only: what the registry said
 *     before a correction can still be read from the versions with lower numbers.
 * Then the live projection (`institutions`, `staff`) is refreshed from the versions in force now,
 * and the in-memory Registry reloaded.
 *
 * A request for a period (`effectiveTo`, a suspension of three months) writes bounded versions
 * [E, effectiveTo): the filing they interrupt is left open, so it answers again at the end with
 * no second request. Approved after its end (and starting at approval) it would never be in
 * force: refused, REQUEST_PERIOD_OVER.
 *
 * Boundaries in the future: a version that begins after the approval that wrote it (a request
 * effective from next Monday) or ends after it (a filing with an end date, a suspension lifted on
 * a set day) changes what is in force when its time comes, with no approval then. `startSchedule`
 * applies such boundaries as they pass — the projection of the keys concerned refreshed, the
 * registry reloaded (listings, lines and devices are computed at the reload), the replicas told —
 * with a timer set to the next one; the last instant applied is kept in Redis, so a hub that was
 * stopped across a boundary applies it when it starts. The rules never wait for this: they read
 * the versions as of each transaction's time.
 *
 * Approval is serialised by a Redis lock per request, and the status check happens under it, so
 * a request is applied at most once.
 *
 * Every hub replica holds the registry in memory; after an approval this replica reloads its own
 * and publishes on `<prefix>:registry` so the others reload theirs (`follow()`).
 */
import crypto from 'node:crypto';
import type { Redis } from 'ioredis';
import { followChannel } from '../redis-follow.js';
import { COUNTY_BY_CODE, createRegistryView, LIST_LABELS, maskIdNumber, type Device, type Institution, type Listing, type RegistryView, type Staff } from '@jianguan/rules';
import { z } from 'zod';
import { HubError } from '../errors.js';
import { inScope, type Principal } from '../http/access.js';
import { loadInstitutions, loadStaff, upsertInstitutions, upsertStaff } from './repo.js';
import { joinSql, param, sql, type SqlQuery } from '../store/sql.js';
import type { Store } from '../store/store.js';
import { Entity, institutionOf, keyOf, SCHEMAS, zhIssue, type EntityData, type FiledStaff, type Line, type RowError } from './entities.js';
import { identityPseudonyms, isIdNumberText, type FiledIdentities, type HubPseudonyms } from '../pseudonyms.js';
import type { RegistryItemChange } from '../protocol/index.js';

/**
 * What changes need of the in-memory registry (registry.ts): a county lookup and a reload after
 * an approval. An interface rather than the class, since registry.ts reads its as-of views here.
 */
export interface RegistryHandle extends FiledIdentities {
  institution(id: string): { county: string } | undefined;
  reload(): Promise<void>;
  /** OPTIONAL. Called after every reload (a replica's, after another approved: the next boundary may have moved). */
  onReload?(listener: () => void): () => void;
}

/** The longest the boundary timer sleeps: a clock set forward, or a boundary a replica missed, is caught within it. */
const BOUNDARY_RECHECK_MS = 3_600_000;

/** A version that begins or ends after the approval that wrote it (`revision`): its boundary is applied when it passes. */
const LATER_FROM = sql`valid_from > revision`;
const LATER_TO = sql`isNotNull(valid_to) AND assumeNotNull(valid_to) > revision`;

export const ChangeItemSchema = z.object({
  entity: Entity,
  op: z.enum(['upsert', 'retire']).default('upsert'),
  data: z.record(z.string(), z.unknown()),
});
export type ChangeItemInput = z.infer<typeof ChangeItemSchema> & {
  /** Import rows: the version's own validity (the row's filing dates), epoch ms. */
  validFrom?: number;
  validTo?: number | null;
};

export interface ChangeItem {
  entity: Entity;
  op: 'upsert' | 'retire';
  key: string;
  data: EntityData;
  /** OPTIONAL. The version's validity start; absent = the request's effectiveFrom or approval. */
  validFrom?: number;
  /** OPTIONAL. The version's validity end; absent or null = open-ended. */
  validTo?: number | null;
}

/** ISO 8601 with a zone (2024-03-01T00:00:00+08:00) → epoch ms; past allowed. */
export const EffectiveFrom = z.iso
  .datetime({ offset: true, local: false })
  .transform((s) => Date.parse(s))
  .refine((ms) => ms >= 0 && ms < 4102444800000, '有效时间超出范围');

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
  /** From when the versions are valid (epoch ms); null = from the moment of approval. */
  effectiveFrom: number | null;
  /**
   * Until when (epoch ms, exclusive); null = open-ended. A bounded version leaves the filing it
   * interrupts in place, so that filing answers again from then on (a suspension for a term).
   */
  effectiveTo: number | null;
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

/**
 * Where each item's version will end within its own request, as approval writes it: a bounded
 * version at its end; an open-ended row of a record that has later rows in the request (an
 * imported history) where the next of them begins; otherwise open (null). What a preview shows.
 */
export function versionEnds(items: readonly Pick<ChangeItem, 'entity' | 'key' | 'validFrom' | 'validTo'>[]): (number | null)[] {
  const starts = new Map<string, number[]>();
  for (const it of items) {
    if (it.validFrom === undefined) continue;
    const k = `${it.entity}\u0000${it.key}`;
    const list = starts.get(k);
    if (list) list.push(it.validFrom);
    else starts.set(k, [it.validFrom]);
  }
  return items.map((it) => {
    if (it.validTo !== undefined && it.validTo !== null) return it.validTo;
    if (it.validFrom === undefined) return null;
    const later = (starts.get(`${it.entity}\u0000${it.key}`) ?? []).filter((f) => f > it.validFrom!);
    return later.length ? Math.min(...later) : null;
  });
}

/** An item of a pending request against the record as it is filed now (see review()). */
export type ReviewedItem = ChangeItem & { index: number; change: RegistryItemChange; changedFields?: string[]; before?: EntityData };

/** Nothing filled in: a form's empty field, a column the sheet left blank, no 准驾车型. */
const blank = (v: unknown) => v === undefined || v === null || v === '' || (Array.isArray(v) && v.length === 0);

/**
 * The fields whose values differ between the record filed now and the one an item files, in the
 * item's field order then the filed record's. Blank and absent are the same (an export written
 * back leaves an optional column empty); values compare as JSON (准驾车型 is a list).
 */
export function changedFields(before: Readonly<Record<string, unknown>>, after: Readonly<Record<string, unknown>>): string[] {
  const out: string[] = [];
  for (const f of new Set([...Object.keys(after), ...Object.keys(before)])) {
    const a = before[f];
    const b = after[f];
    if (blank(a) && blank(b)) continue;
    if (JSON.stringify(a) !== JSON.stringify(b)) out.push(f);
  }
  return out;
}

/**
 * A record's key as the person who typed it would recognise it: a person list's entry by its list
 * and the masked number typed (its key is a keyed hash by now), or the start of the digest given.
 */
function shownKey(entity: Entity, data: EntityData, raw: Readonly<Record<string, unknown>>): string {
  if (entity !== 'listing') return keyOf(entity, data);
  const l = data as Listing;
  const typed = typeof raw.key === 'string' ? raw.key.trim() : '';
  const label = LIST_LABELS[l.list] ?? l.list;
  if (l.key === typed) return `${label} ${l.key}`;
  return `${label} ${isIdNumberText(typed) ? maskIdNumber(typed) : `${typed.slice(0, 8)}…`}`;
}

/** Each (entity, key) of `items` once. */
const distinctKeys = (items: readonly ChangeItem[]) => [...new Map(items.map((i) => [`${i.entity}\u0000${i.key}`, { entity: i.entity, key: i.key }])).values()];

/** Items against the versions in force (`current`, by entity and key): see RegistryChanges.review. */
function reviewAgainst(items: readonly ChangeItem[], current: ReadonlyMap<string, Version>): ReviewedItem[] {
  return items.map((it, index): ReviewedItem => {
    if (it.op === 'retire') return { ...it, index, change: 'retire' };
    const cur = current.get(`${it.entity}\u0000${it.key}`);
    if (!cur || cur.retired) return { ...it, index, change: 'new' };
    const fields = changedFields(cur.data as unknown as Record<string, unknown>, it.data as unknown as Record<string, unknown>);
    return fields.length ? { ...it, index, change: 'changed', changedFields: fields, before: cur.data } : { ...it, index, change: 'same' };
  });
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
    effective_from: r.effectiveFrom,
    effective_to: r.effectiveTo,
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
    effectiveFrom: r.effective_from_ms === null || r.effective_from_ms === undefined ? null : Number(r.effective_from_ms),
    effectiveTo: r.effective_to_ms === null || r.effective_to_ms === undefined ? null : Number(r.effective_to_ms),
  };
}

const REQUEST_COLUMNS = sql`id, kind, status, summary, source, items, item_count, counties, requested_by,
  toUnixTimestamp64Milli(requested_at) AS requested_at_ms, decided_by,
  if(isNull(decided_at), NULL, toUnixTimestamp64Milli(assumeNotNull(decided_at))) AS decided_at_ms, decision_comment,
  if(isNull(effective_from), NULL, toUnixTimestamp64Milli(assumeNotNull(effective_from))) AS effective_from_ms,
  if(isNull(effective_to), NULL, toUnixTimestamp64Milli(assumeNotNull(effective_to))) AS effective_to_ms`;

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
    private readonly registry: RegistryHandle,
    /**
     * The hub's pseudonym layer (pseudonyms.ts): a staff member's identity and a person list's key
     * are entered as a raw identity number or a collector-form hash and filed in the hub form, so
     * they compare with the transactions' hashes. Absent = stored as given (tests).
     */
    private readonly identities: Pick<HubPseudonyms, 'fileRegistryRecord'> = identityPseudonyms(),
  ) {}

  private get channel(): string {
    return `${this.prefix}:registry`;
  }

  private boundaryTimer: NodeJS.Timeout | undefined;
  /** The scheduled run while `startSchedule` is on (the timer calls it); undefined when stopped. */
  private boundaryRun: (() => void) | undefined;
  /** Whether a registry reload sets the timer (its onReload listener): applyDue's reload then does. */
  private reschedulesOnReload = false;

  /**
   * Applies boundaries that passed since the last one applied (a stopped hub catches up here),
   * then as each next one passes. Returns the stop function.
   */
  startSchedule(onError: (e: unknown) => void): () => void {
    const run = () => void this.applyDue().catch(onError);
    this.boundaryRun = run;
    const unsubscribe = this.registry.onReload?.(() => void this.scheduleNext(run).catch(onError));
    this.reschedulesOnReload = unsubscribe !== undefined;
    run();
    return () => {
      this.boundaryRun = undefined;
      unsubscribe?.();
      clearTimeout(this.boundaryTimer);
    };
  }

  private get dueKey(): string {
    return `${this.channel}:applied-until`;
  }

  /**
   * Refreshes the live projection of the keys whose later boundary lies in (the instant applied
   * last, now], reloads the registry and tells the replicas; answers how many keys it refreshed.
   */
  async applyDue(now = Date.now()): Promise<number> {
    const since = Number(await this.redis.get(this.dueKey)) || 0;
    const due = await this.store.query<{ entity: string; key: string }>(sql`
      SELECT DISTINCT entity, key FROM registry_versions FINAL
      WHERE (${LATER_FROM} AND valid_from > ${param.DateTime64(since)} AND valid_from <= ${param.DateTime64(now)})
         OR (${LATER_TO} AND assumeNotNull(valid_to) > ${param.DateTime64(since)} AND assumeNotNull(valid_to) <= ${param.DateTime64(now)})`);
    if (due.length) {
      const keys = due.map((d) => ({ entity: d.entity as Entity, key: d.key }));
      const newest = await this.newestVersions(keys);
      await this.refreshProjection(
        keys.flatMap((k) => {
          const v = newest.get(`${k.entity}\u0000${k.key}`);
          return v ? [{ entity: k.entity, op: 'upsert' as const, key: k.key, data: v.data }] : [];
        }),
        now,
      );
    }
    // Marked applied once the projection holds it (a failure before is retried on the next run).
    await this.redis.set(this.dueKey, String(now));
    if (due.length) {
      await this.registry.reload();
      // Best effort, as after an approval: a replica that misses it catches up on its own timer.
      await this.redis.publish(this.channel, 'boundary').catch(() => 0);
    }
    // The next boundary: set by the reload's listener when there was one, else here.
    if (this.boundaryRun && !(due.length && this.reschedulesOnReload)) await this.scheduleNext(this.boundaryRun, now);
    return due.length;
  }

  /** Sets the timer to the next later boundary after `now` (at most BOUNDARY_RECHECK_MS away). */
  private async scheduleNext(run: () => void, now = Date.now()): Promise<void> {
    const [r] = await this.store.query<{ n: string | number; next: string | number }>(sql`
      SELECT count() AS n, min(b) AS next FROM (
        SELECT toUnixTimestamp64Milli(valid_from) AS b FROM registry_versions FINAL WHERE ${LATER_FROM} AND valid_from > ${param.DateTime64(now)}
        UNION ALL
        SELECT toUnixTimestamp64Milli(assumeNotNull(valid_to)) AS b FROM registry_versions FINAL WHERE ${LATER_TO} AND assumeNotNull(valid_to) > ${param.DateTime64(now)})`);
    if (!this.boundaryRun) return;
    const next = Number(r?.n ?? 0) > 0 ? Number(r!.next) : null;
    clearTimeout(this.boundaryTimer);
    // A few milliseconds past the boundary: the version is in force from its instant on.
    this.boundaryTimer = setTimeout(run, next === null ? BOUNDARY_RECHECK_MS : Math.min(BOUNDARY_RECHECK_MS, Math.max(0, next - now) + 5));
    this.boundaryTimer.unref();
  }

  /**
   * Reloads this replica's registry whenever any replica approves a change. Returns the stop
   * function. (Re)subscribing also reloads, so changes made while disconnected are picked up.
   */
  follow(onError: (e: unknown) => void): Promise<() => void> {
    return followChannel(this.redis, this.channel, { reload: () => void this.registry.reload().catch(onError), onError });
  }

  // ---- validation -----------------------------------------------------------------------------

  /**
   * Validates items; returns the normalised items or per-item errors (never partial). `where`
   * names an item's place for a repeat's report: an import's sheet row (第 7 行), else 第 N 项.
   */
  validate(inputs: readonly ChangeItemInput[], who: Principal, where: (index: number) => string = (i) => `第 ${i + 1} 项`): { items: ChangeItem[]; errors: ItemError[]; counties: string[] } {
    const items: ChangeItem[] = [];
    const errors: ItemError[] = [];
    const counties = new Set<string>();
    const newInstitutions = new Map<string, string>();
    // Per key, the effective starts seen: a key may repeat only as a history — every row of it
    // with its own filing start (an import of years of filings, one row per filing period).
    const starts = new Map<string, { first: number; starts: (number | undefined)[] }>();
    const inputIndex: number[] = [];
    inputs.forEach((inp, index) => {
      // Identities into the hub form before anything else: raw numbers never reach a stored request.
      const filed = this.identities.fileRegistryRecord(inp.entity, inp.data, this.registry);
      if (!filed.ok) {
        errors.push({ index, field: filed.field, message: filed.message });
        return;
      }
      const parsed = SCHEMAS[inp.entity].safeParse(filed.data);
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
      const seen = starts.get(k);
      if (seen && (inp.validFrom === undefined || seen.starts.includes(undefined) || seen.starts.includes(inp.validFrom))) {
        const field = inp.entity === 'listing' ? 'key' : 'id';
        errors.push({ index, field, message: `重复：${shownKey(inp.entity, data, inp.data)}，同${where(seen.first)}（同一编号出现多行时，须各有不同的有效期起，每行为一个时期的备案）` });
      }
      if (seen) seen.starts.push(inp.validFrom);
      else starts.set(k, { first: index, starts: [inp.validFrom] });
      if (inp.entity === 'institution') newInstitutions.set(key, (data as Institution).county);
      if (inp.validFrom !== undefined && inp.validTo !== undefined && inp.validTo !== null && inp.validTo <= inp.validFrom) {
        errors.push({ index, field: 'validTo', message: '有效期止须晚于有效期起' });
        return;
      }
      items.push({ entity: inp.entity, op: inp.op, key, data, ...(inp.validFrom !== undefined ? { validFrom: inp.validFrom } : {}), ...(inp.validTo !== undefined ? { validTo: inp.validTo } : {}) });
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

  async createRequest(
    who: Principal,
    input: { kind: 'change' | 'import'; summary: string; source: string; items: ChangeItemInput[]; effectiveFrom?: number | null; effectiveTo?: number | null; where?: (index: number) => string },
  ): Promise<RegistryRequest> {
    const to = input.effectiveTo ?? null;
    // Against its start, or against now when it starts at approval: a period over before it could
    // begin would never be in force.
    if (to !== null && to <= (input.effectiveFrom ?? Date.now())) {
      throw new HubError('BODY_INVALID', input.effectiveFrom == null ? 'effectiveTo must be later than now' : 'effectiveTo must be later than effectiveFrom');
    }
    const { items, errors, counties } = this.validate(input.items, who, input.where);
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
      effectiveFrom: input.effectiveFrom ?? null,
      effectiveTo: to,
    };
    await this.store.insert('registry_requests', [requestRow(req, now)]);
    return req;
  }

  /**
   * When a request was last written (filed, decided) and its status, without its items: what a
   * page turn checks before it reuses the items it read for the previous page.
   */
  async stamp(id: string): Promise<{ status: string; updatedAt: number } | undefined> {
    const [r] = await this.store.query<{ status: string; at: number | string }>(
      sql`SELECT status, toUnixTimestamp64Milli(updated_at) AS at FROM registry_requests FINAL WHERE id = ${param.String(id)}`,
    );
    return r ? { status: String(r.status), updatedAt: Number(r.at) } : undefined;
  }

  async get(id: string): Promise<RegistryRequest | undefined> {
    const [r] = await this.store.query<Record<string, unknown>>(sql`SELECT ${REQUEST_COLUMNS} FROM registry_requests FINAL WHERE id = ${param.String(id)}`);
    return r ? toRequest(r, true) : undefined;
  }

  /**
   * What a request would do to the register, item by item, against the version of each record
   * in force now (the open one): new (none, or a retired one), changed (with the fields and the
   * record as filed), the same, or a retirement. What the approver reads before deciding; only
   * meaningful while the request is pending.
   */
  async review(items: readonly ChangeItem[]): Promise<ReviewedItem[]> {
    return reviewAgainst(items, await this.currentVersions(distinctKeys(items)));
  }

  /**
   * The items as they are kept once decided: each with its change against the register at the
   * moment of the decision (what the approver saw), so that a decided request still says what it
   * did. The fields, not the filed record itself: stored hashes in `data` are the ones a keyring
   * rotation rewrites (pseudonym-rotation.ts), and a copy elsewhere would escape it.
   */
  private static asDecided(items: readonly ChangeItem[], current: ReadonlyMap<string, Version>): ChangeItem[] {
    return reviewAgainst(items, current).map(({ index: _index, before: _before, ...it }) => it);
  }


  async list(f: { status?: RequestStatus; county?: string; institution?: string; limit: number; offset: number }): Promise<{ total: number; items: RegistryRequest[] }> {
    const c: SqlQuery[] = [];
    if (f.status) c.push(sql`status = ${param.String(f.status)}`);
    // Requests filing the institution's own record (what the registry screen checks before it
    // offers to file a suspension). A scan of the items' text: the table holds requests, not rows.
    if (f.institution) {
      c.push(sql`arrayExists(x -> JSONExtractString(x, 'entity') = 'institution' AND JSONExtractString(x, 'key') = ${param.String(f.institution)}, JSONExtractArrayRaw(items))`);
    }
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
      const next: RegistryRequest = { ...r, items: RegistryChanges.asDecided(r.items, await this.currentVersions(distinctKeys(r.items))), status: 'rejected', decidedBy: who.username, decidedAt: now, decisionComment: comment };
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
      if (r.effectiveTo !== null && r.effectiveFrom === null && r.effectiveTo <= now) {
        throw new HubError('REQUEST_PERIOD_OVER', `${r.id} was to be in force until ${new Date(r.effectiveTo).toISOString()}`);
      }
      // One read of the versions in force: what the items are compared with, then closed against.
      const keys = distinctKeys(r.items);
      const [current, latest] = await Promise.all([this.currentVersions(keys), this.latestVersionNumbers(keys)]);
      const decided = RegistryChanges.asDecided(r.items, current);
      await this.applyItems(r.items, { requestId: r.id, approvedBy: who.username, at: now, effectiveFrom: r.effectiveFrom, effectiveTo: r.effectiveTo }, current, latest);
      const next: RegistryRequest = { ...r, items: decided, status: 'approved', decidedBy: who.username, decidedAt: now, decisionComment: comment };
      await this.store.insert('registry_requests', [requestRow(next, now)]);
      await this.registry.reload();
      // Best effort: a replica that misses it still reloads on its next follow() reconnect.
      await this.redis.publish(this.channel, r.id).catch(() => 0);
      return next;
    });
  }

  /**
   * Writes the versions of approved items and refreshes the live projection. A key's rows of one
   * request (an imported history) are applied oldest first, each as if approved after the one
   * before: the next version number, and the open version closed where the next begins.
   */
  private async applyItems(
    items: readonly ChangeItem[],
    meta: { requestId: string; approvedBy: string; at: number; effectiveFrom: number | null; effectiveTo: number | null },
    current: ReadonlyMap<string, Version>,
    latestNumbers: ReadonlyMap<string, number>,
  ): Promise<void> {
    // Copies: the loop below advances them as it writes each key's next version.
    const open = new Map(current);
    const latest = new Map(latestNumbers);
    const fromOf = (it: ChangeItem) => it.validFrom ?? meta.effectiveFrom ?? meta.at;
    // Keys in the order they first appear; a key's rows by their start.
    const first = new Map<string, number>();
    items.forEach((it, i) => {
      const k = `${it.entity}\u0000${it.key}`;
      if (!first.has(k)) first.set(k, i);
    });
    const ordered = items
      .map((it, i) => ({ it, i, group: first.get(`${it.entity}\u0000${it.key}`)! }))
      .sort((a, b) => a.group - b.group || fromOf(a.it) - fromOf(b.it) || a.i - b.i);
    // Versions stored before, closed now (a replacement row, newer revision), and versions this
    // request creates, each written once in its final state: a replacement row of the same
    // revision would not be sure to win over the row it replaces.
    const closed: Version[] = [];
    const created = new Set<Version>();
    for (const { it } of ordered) {
      const k = `${it.entity}\u0000${it.key}`;
      const from = fromOf(it);
      const to = it.validTo ?? meta.effectiveTo;
      const cur = open.get(k);
      // The ordinary case closes the open version where the next begins; a back-dated or bounded
      // version leaves it alone and wins only where the two overlap (see the design note).
      if (cur && to === null && cur.validFrom < from) {
        if (created.has(cur)) cur.validTo = from;
        else closed.push({ ...cur, validTo: from });
      }
      const next: Version = {
        entity: it.entity,
        key: it.key,
        version: (latest.get(k) ?? 0) + 1,
        validFrom: from,
        validTo: to,
        retired: it.op === 'retire',
        data: it.data,
        requestId: meta.requestId,
        approvedBy: meta.approvedBy,
      };
      created.add(next);
      latest.set(k, next.version);
      // As currentVersions would answer now: the highest open version.
      if (to === null) open.set(k, next);
    }
    await this.store.insert('registry_versions', [...closed, ...created].map((v) => versionRow(v, meta.at)));
    await this.refreshProjection(items, meta.at);
  }

  /**
   * The live projection the rule engine's current view and the registry screens read, from the
   * versions in force at `at` (an import of filings that ended years ago, or a version effective
   * tomorrow, must not become "current"). A key with no version in force now shows its newest
   * data as not filed / suspended. A retired institution is suspended; a retired filing is not filed.
   */
  private async refreshProjection(items: readonly ChangeItem[], at: number): Promise<void> {
    // Once per key: an imported history has several rows of one.
    const once = new Map(items.filter((i) => i.entity === 'institution' || i.entity === 'staff').map((i) => [`${i.entity}\u0000${i.key}`, i]));
    const touched = [...once.values()];
    if (!touched.length) return;
    const now = await this.inForceAt(touched.map((i) => ({ entity: i.entity, key: i.key })), at);
    const inst: Institution[] = [];
    const staff: Staff[] = [];
    for (const it of touched) {
      const v = now.get(`${it.entity}\u0000${it.key}`);
      const live = v && !v.retired;
      const data = (v?.data ?? it.data) as EntityData;
      if (it.entity === 'institution') inst.push(live ? (data as Institution) : { ...(data as Institution), status: 'suspended' });
      else staff.push(live ? (data as Staff) : { ...(data as Staff), filed: false });
    }
    if (inst.length) await upsertInstitutions(this.store, inst);
    if (staff.length) await upsertStaff(this.store, staff);
  }

  /** The version answering at `at` per key (highest version containing `at`; retired included). */
  private async inForceAt(keys: readonly { entity: Entity; key: string }[], at: number): Promise<Map<string, Version>> {
    if (!keys.length) return new Map();
    const rows = await this.store.query<Record<string, unknown>>(sql`
      SELECT ${VERSION_COLUMNS} FROM registry_versions FINAL
      WHERE ${keyFilter(keys)} AND valid_from <= ${param.DateTime64(at)} AND (isNull(valid_to) OR assumeNotNull(valid_to) > ${param.DateTime64(at)})
      ORDER BY entity, key, version DESC LIMIT 1 BY entity, key`);
    return new Map(rows.map((r) => [`${String(r.entity)}\u0000${String(r.key)}`, toVersion(r)]));
  }

  private async latestVersionNumbers(keys: readonly { entity: Entity; key: string }[]): Promise<Map<string, number>> {
    if (!keys.length) return new Map();
    const rows = await this.store.query<{ entity: string; key: string; v: number | string }>(sql`
      SELECT entity, key, max(version) AS v FROM registry_versions WHERE ${keyFilter(keys)} GROUP BY entity, key`);
    return new Map(rows.map((r) => [`${r.entity}\u0000${r.key}`, Number(r.v)]));
  }

  /** The highest version of each key, whatever its interval. */
  private async newestVersions(keys: readonly { entity: Entity; key: string }[]): Promise<Map<string, Version>> {
    if (!keys.length) return new Map();
    const rows = await this.store.query<Record<string, unknown>>(sql`
      SELECT ${VERSION_COLUMNS} FROM registry_versions FINAL WHERE ${keyFilter(keys)}
      ORDER BY entity, key, version DESC LIMIT 1 BY entity, key`);
    return new Map(rows.map((r) => [`${String(r.entity)}\u0000${String(r.key)}`, toVersion(r)]));
  }

  /** The open-ended version of each key (the highest one, should a back-dated one be open too). */
  async currentVersions(keys: readonly { entity: Entity; key: string }[]): Promise<Map<string, Version>> {
    if (!keys.length) return new Map();
    const rows = await this.store.query<Record<string, unknown>>(sql`
      SELECT ${VERSION_COLUMNS} FROM registry_versions FINAL
      WHERE isNull(valid_to) AND ${keyFilter(keys)}
      ORDER BY entity, key, version DESC LIMIT 1 BY entity, key`);
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
  async currentOf(entity: 'listing' | 'line' | 'staff' | 'device'): Promise<Version[]> {
    return versionsAsOf(this.store, entity, Date.now());
  }
}

/** Records of `entity` in force at `at`: per key the highest version containing `at`, unless retired. */
export async function versionsAsOf(store: Store, entity: Entity, at: number): Promise<Version[]> {
  const rows = await store.query<Record<string, unknown>>(sql`
    SELECT ${VERSION_COLUMNS} FROM registry_versions FINAL
    WHERE entity = ${param.String(entity)} AND valid_from <= ${param.DateTime64(at)}
      AND (isNull(valid_to) OR assumeNotNull(valid_to) > ${param.DateTime64(at)})
    ORDER BY key, version DESC LIMIT 1 BY key`);
  return rows.map(toVersion).filter((v) => !v.retired);
}

/** WHERE over (entity, key) pairs. */
function keyFilter(keys: readonly { entity: Entity; key: string }[]): SqlQuery {
  return sql`(entity, key) IN (SELECT tupleElement(t, 1), tupleElement(t, 2) FROM (SELECT arrayJoin(arrayZip(${param.ArrayString(keys.map((k) => k.entity))}, ${param.ArrayString(keys.map((k) => k.key))})) AS t))`;
}

/** A RegistryView at `at`, plus the records themselves (`records`, not to shadow the lookups). */
export type RegistryViewAsOf = RegistryView & { at: number; records: { institutions: Institution[]; staff: FiledStaff[]; listings: Listing[]; lines: Line[]; devices: Device[] } };

/** The registry as it stood at `at`, as the rule engine sees it (for backtests). */
export async function registryViewAsOf(store: Store, at: number): Promise<RegistryViewAsOf> {
  const [inst, staff, lists, lines, devs] = await Promise.all(
    (['institution', 'staff', 'listing', 'line', 'device'] as const).map((e) => versionsAsOf(store, e, at)),
  );
  const institutions = inst!.map((v) => v.data as Institution);
  const filed = staff!.map((v) => v.data as FiledStaff);
  const listings = lists!.map((v) => v.data as Listing);
  const devices = devs!.map((v) => v.data as Device);
  const view = createRegistryView(institutions, filed, listings, devices);
  return Object.assign(view, { at, records: { institutions, staff: filed, listings, lines: lines!.map((v) => v.data as Line), devices } });
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
