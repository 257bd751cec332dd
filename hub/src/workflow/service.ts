/**
 * The warning workflow service: validates and appends workflow events, assigns new warnings to
 * auditors, escalates overdue ones, stores evidence.
 *
 * Atomic append per warning (optimistic concurrency): the caller sends `expectedSeq`, the seq of
 * the state it saw. Under a per-warning Redis lock (SET NX PX, released by compare-and-delete)
 * the service reads the warning's events from ClickHouse, folds them with the pure reducer,
 * compares the current seq with `expectedSeq` (CONFLICT with the current state if another action
 * landed first), validates the new event with `applyEvent`, and inserts it — then releases the
 * lock. Two writers of the same warning are thus serialised and the loser sees the winner's
 * event; nothing is lost and seq has no gaps. Bulk actions lock and insert many warnings at once
 * and answer per item.
 */
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import type { Redis } from 'ioredis';
import { z } from 'zod';
import type { FastifyBaseLogger } from 'fastify';
import type { Warning, WorkCalendar } from '@jianguan/rules';
import { HubError, errorMessage, isHubError, type ErrorCode } from '../errors.js';
import { inScope, type Principal } from '../http/access.js';
import { listUsers, type User } from '../auth/users.js';
import type { Store } from '../store/store.js';
import {
  applyEvent,
  CONCLUSIONS,
  DISPOSAL_ACTIONS,
  foldEvents,
  ROLES_FOR,
  type ActorRole,
  type EventPayload,
  type EventType,
  type WarningState,
  type WorkflowEvent,
} from './machine.js';
import { escalationCandidates, eventRow, loadEvents, openLoad, unassignedWarnings, warningsByIds, type EventRow, type WarningPlace, type WarningWithState } from './repo.js';

/** What append may know beforehand of the warnings it is given. */
export interface AppendWhere {
  /** Their institutions (narrows reading them). */
  institutions?: readonly string[];
  /** Their places, for warnings just stored by this hub: they are not read at all. */
  places?: ReadonlyMap<string, WarningPlace>;
}

/** What automatic assignment needs of a just-stored warning (and what its first event carries of it). */
export type FreshWarning = Pick<Warning, 'id' | 'county' | 'institutionId' | 'raisedAt' | 'ruleId' | 'severity'>;
import { deadlinesOf, missedDeadline, type SlaConfig } from './sla.js';
import { emit } from '../telemetry/events.js';

/** Who acts: a logged-in user or the system itself. */
export interface Actor {
  username: string;
  roles: readonly ActorRole[];
  scope: string | null;
}

export const SYSTEM_ACTOR: Actor = { username: 'system', roles: ['system'], scope: null };

export function actorOf(p: Principal): Actor {
  return { username: p.username, roles: p.roles, scope: p.scope };
}

const Comment = z.string().trim().min(1).max(2000);
const Refs = z.array(z.string().regex(/^[0-9a-f]{64}$/)).max(20);

/** The body of POST /api/v1/warnings/:id/actions (without expectedSeq). */
export const ActionSchema = z.discriminatedUnion('type', [
  z.object({ type: z.literal('assign'), assignee: z.string().min(1).max(64), comment: Comment.optional() }),
  z.object({ type: z.literal('acknowledge'), comment: Comment.optional() }),
  z.object({ type: z.literal('start_verification'), comment: Comment.optional() }),
  z.object({ type: z.literal('conclude'), conclusion: z.enum(CONCLUSIONS), comment: Comment.optional(), refs: Refs.optional() }),
  z.object({ type: z.literal('dispose'), disposal: z.array(z.enum(DISPOSAL_ACTIONS)).min(1), comment: Comment.optional(), refs: Refs.optional() }),
  z.object({ type: z.literal('review'), approve: z.boolean(), comment: Comment.optional() }),
  z.object({ type: z.literal('close'), comment: Comment.optional() }),
  z.object({ type: z.literal('reopen'), comment: Comment }),
  z.object({ type: z.literal('comment'), comment: Comment }),
]);
export type Action = z.infer<typeof ActionSchema>;

export function eventOf(a: Action): { type: EventType; payload: EventPayload } {
  const base: EventPayload = {};
  if ('comment' in a && a.comment) base.comment = a.comment;
  switch (a.type) {
    case 'assign':
      return { type: 'assigned', payload: { ...base, assignee: a.assignee } };
    case 'acknowledge':
      return { type: 'acknowledged', payload: base };
    case 'start_verification':
      return { type: 'verification_started', payload: base };
    case 'conclude':
      return { type: 'concluded', payload: { ...base, conclusion: a.conclusion, ...(a.refs ? { refs: a.refs } : {}) } };
    case 'dispose':
      return { type: 'disposed', payload: { ...base, disposal: a.disposal, ...(a.refs ? { refs: a.refs } : {}) } };
    case 'review':
      return { type: a.approve ? 'reviewed' : 'review_rejected', payload: base };
    case 'close':
      return { type: 'closed', payload: base };
    case 'reopen':
      return { type: 'reopened', payload: base };
    case 'comment':
      return { type: 'commented', payload: base };
  }
}

export interface AppendItem {
  warningId: string;
  expectedSeq: number;
  type: EventType;
  payload: EventPayload;
}

export type AppendResult =
  | { warningId: string; ok: true; seq: number; state: WarningState }
  | { warningId: string; ok: false; code: ErrorCode; message: string; current?: WarningState };

export interface Appended {
  event: WorkflowEvent;
  before: WarningState;
  after: WarningState;
  warning: WarningPlace;
}

export interface WorkflowDeps {
  store: Store;
  redis: Redis;
  prefix: string;
  calendar: WorkCalendar;
  sla: SlaConfig;
  evidenceDir: string;
  evidenceMaxBytes: number;
  intervalMs: number;
  log: FastifyBaseLogger;
  /** After events are stored (evaluation refresh, wall). */
  onAppended?: (appended: readonly Appended[]) => void;
  /** Escalated (overdue) warnings, for the wall. */
  onOverdue?: (items: readonly { warning: WarningWithState; state: WarningState; kind: 'acknowledge' | 'verify'; dueAt: number }[]) => void;
}

const RELEASE_LUA = `if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('del', KEYS[1]) else return 0 end`;
const LOCK_TTL_MS = 15_000;
const LOCK_WAIT_MS = 5_000;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** How long automatic assignment balances on a count of open warnings before reading it again. */
const LOAD_REFRESH_MS = 10_000;

/** What one sweep pass did. */
export interface SweepResult {
  assigned: number;
  escalated: number;
}

/** The answer when no pass was made (the service is closed, or the pass failed and logged it). */
const NO_PASS: Readonly<SweepResult> = Object.freeze({ assigned: 0, escalated: 0 });

export class WorkflowService {
  private timer: NodeJS.Timeout | undefined;
  private pendingRaised = new Map<string, FreshWarning>();
  private assignTimer: NodeJS.Timeout | undefined;
  /** The assignment round in flight; close() waits for it so it never outlives the store. */
  private assigning: Promise<void> = Promise.resolve();
  private sweeping = false;
  /** The sweep pass in flight; close() waits for it too. */
  private sweepRun: Promise<void> = Promise.resolve();
  /** The pass queued behind the running one: requests made meanwhile share it (sweep()). */
  private nextSweep: Promise<SweepResult> | undefined;
  private usersCache: { at: number; users: User[] } | undefined;
  private loadCache: { at: number; load: Map<string, number> } | undefined;
  private closed = false;

  constructor(private readonly deps: WorkflowDeps) {
    fs.mkdirSync(deps.evidenceDir, { recursive: true });
    removeStaleTemps(deps.evidenceDir, deps.log);
  }

  start(): void {
    // The timer's pass is skipped while one runs or waits: the next tick comes soon enough.
    this.timer = setInterval(() => {
      if (!this.sweepBusy) void this.sweep();
    }, this.deps.intervalMs);
    this.timer.unref();
  }

  async close(): Promise<void> {
    this.closed = true;
    if (this.timer) clearInterval(this.timer);
    if (this.assignTimer) clearTimeout(this.assignTimer);
    this.assignTimer = undefined;
    // Warnings stored just before shutdown are still assigned, before the store closes.
    this.assignPending();
    await this.assigning;
    await this.sweepRun;
    await this.nextSweep;
  }

  // ---- locks ---------------------------------------------------------------------------------

  private lockKey(id: string): string {
    return `${this.deps.prefix}:wf:lock:${id}`;
  }

  /** Locks as many of `ids` as it can within LOCK_WAIT_MS; returns the tokens of those held. */
  private async lockAll(ids: readonly string[]): Promise<Map<string, string>> {
    const held = new Map<string, string>();
    const deadline = Date.now() + LOCK_WAIT_MS;
    let todo = [...ids];
    while (todo.length) {
      // One draw for the round: a randomBytes call is about 5 µs of fixed cost (OpenSSL), a token 24 hex digits of it.
      const pool = crypto.randomBytes(12 * todo.length).toString('hex');
      const tokens = todo.map((_, i) => pool.slice(24 * i, 24 * i + 24));
      const pipe = this.deps.redis.pipeline();
      todo.forEach((id, i) => pipe.set(this.lockKey(id), tokens[i]!, 'PX', LOCK_TTL_MS, 'NX'));
      const res = (await pipe.exec()) ?? [];
      const missed: string[] = [];
      todo.forEach((id, i) => (res[i]?.[1] === 'OK' ? held.set(id, tokens[i]!) : missed.push(id)));
      todo = missed;
      if (!todo.length || Date.now() > deadline) break;
      await sleep(20 + Math.random() * 30);
    }
    return held;
  }

  private async unlockAll(held: Map<string, string>): Promise<void> {
    if (!held.size) return;
    const pipe = this.deps.redis.pipeline();
    for (const [id, token] of held) pipe.eval(RELEASE_LUA, 1, this.lockKey(id), token);
    await pipe.exec();
  }

  // ---- reads ---------------------------------------------------------------------------------

  async stateOf(warningId: string): Promise<{ state: WarningState; events: WorkflowEvent[] }> {
    const events = (await loadEvents(this.deps.store, [warningId])).get(warningId) ?? [];
    return { state: foldEvents(warningId, events), events };
  }

  deadlines(w: { severity: string; raised_at: number }) {
    return deadlinesOf(this.deps.calendar, this.deps.sla, w.severity, w.raised_at);
  }

  private async users(): Promise<User[]> {
    if (!this.usersCache || Date.now() - this.usersCache.at > 5_000) this.usersCache = { at: Date.now(), users: await listUsers(this.deps.store) };
    return this.usersCache.users;
  }

  invalidateUsers(): void {
    this.usersCache = undefined;
  }

  // ---- append --------------------------------------------------------------------------------

  private roleFor(actor: Actor, type: EventType): ActorRole {
    const allowed = ROLES_FOR[type];
    return actor.roles.find((r) => allowed.includes(r)) ?? actor.roles[0] ?? 'wall_viewer';
  }

  /**
   * Appends one event per item (distinct warnings), each checked against its expectedSeq and the
   * state machine, all inserted in one statement. Per-item results; never throws for an item.
   */
  async append(actor: Actor, items: readonly AppendItem[], where: AppendWhere = {}): Promise<AppendResult[]> {
    const results = new Map<string, AppendResult>();
    const ids = [...new Set(items.map((i) => i.warningId))];
    if (ids.length !== items.length) throw new HubError('BODY_INVALID', 'a warning appears twice in one request');
    // `where.places`: warnings this hub has just stored (automatic assignment of fresh ones) —
    // their county and institution are all an event row needs, so nothing is read back;
    // `where.institutions`: where the caller knows the warnings to be, so that reading them does
    // not scan every institution's warnings.
    const warnings: ReadonlyMap<string, WarningPlace> = where.places ?? (await warningsByIds(this.deps.store, ids, where.institutions));
    const users = items.some((i) => i.type === 'assigned') ? await this.users() : [];

    const candidates: AppendItem[] = [];
    for (const it of items) {
      const w = warnings.get(it.warningId);
      if (!w) results.set(it.warningId, { warningId: it.warningId, ok: false, code: 'NOT_FOUND', message: `warning ${it.warningId}` });
      else if (!inScope({ scope: actor.scope } as Principal, w.county)) {
        results.set(it.warningId, { warningId: it.warningId, ok: false, code: 'OUT_OF_SCOPE', message: `warning belongs to ${w.county}` });
      } else if (it.type === 'assigned') {
        const u = users.find((x) => x.username === it.payload.assignee);
        const problem = !u
          ? 'no such user'
          : !u.active
            ? 'user is disabled'
            : !u.roles.some((r) => r === 'auditor' || r === 'leader')
              ? 'assignee must be an auditor or a leader'
              : u.scope !== null && u.scope !== w.county
                ? `assignee's scope ${u.scope} does not cover ${w.county}`
                : null;
        if (problem) results.set(it.warningId, { warningId: it.warningId, ok: false, code: 'BODY_INVALID', message: `assignee ${it.payload.assignee}: ${problem}` });
        else candidates.push(it);
      } else candidates.push(it);
    }

    const held = await this.lockAll(candidates.map((c) => c.warningId));
    const rows: EventRow[] = [];
    const appended: Appended[] = [];
    try {
      const locked = candidates.filter((c) => held.has(c.warningId));
      for (const c of candidates) {
        if (!held.has(c.warningId)) results.set(c.warningId, { warningId: c.warningId, ok: false, code: 'BUSY', message: 'warning is locked by another action' });
      }
      const events = await loadEvents(this.deps.store, locked.map((c) => c.warningId));
      const now = Date.now();
      for (const c of locked) {
        const before = foldEvents(c.warningId, events.get(c.warningId) ?? []);
        if (before.seq !== c.expectedSeq) {
          results.set(c.warningId, { warningId: c.warningId, ok: false, code: 'CONFLICT', message: `expectedSeq ${c.expectedSeq}, current seq ${before.seq}`, current: before });
          continue;
        }
        const event: WorkflowEvent = {
          warningId: c.warningId,
          seq: before.seq + 1,
          type: c.type,
          actor: actor.username,
          role: this.roleFor(actor, c.type),
          // Strictly increasing within a warning even within one millisecond.
          at: Math.max(now, (before.updatedAt ?? 0) + 1),
          payload: c.payload,
        };
        try {
          const after = applyEvent(before, event);
          const w = warnings.get(c.warningId)!;
          rows.push(eventRow(event, before, after, w));
          appended.push({ event, before, after, warning: w });
        } catch (e) {
          if (!isHubError(e)) throw e;
          results.set(c.warningId, { warningId: c.warningId, ok: false, code: e.code, message: errorMessage(e), current: before });
        }
      }
      if (rows.length) await this.deps.store.insert('warning_events', rows);
    } finally {
      await this.unlockAll(held).catch((e) => emit(this.deps.log, 'workflow.unlock_failed', { err: e }));
    }
    for (const a of appended) results.set(a.event.warningId, { warningId: a.event.warningId, ok: true, seq: a.event.seq, state: a.after });
    if (appended.length) {
      try {
        this.deps.onAppended?.(appended);
      } catch (e) {
        emit(this.deps.log, 'workflow.on_appended_failed', { err: e });
      }
    }
    return items.map((i) => results.get(i.warningId)!);
  }

  /** One action; throws the item's error (CONFLICT carries the current state). */
  async act(actor: Actor, warningId: string, expectedSeq: number, action: Action): Promise<WarningState> {
    const { type, payload } = eventOf(action);
    const [r] = await this.append(actor, [{ warningId, expectedSeq, type, payload }]);
    if (!r) throw new HubError('NOT_FOUND', warningId);
    if (r.ok) return r.state;
    throw Object.assign(new HubError(r.code, r.message), { current: r.current });
  }

  // ---- evidence ------------------------------------------------------------------------------

  evidencePath(sha256: string): string {
    if (!/^[0-9a-f]{64}$/.test(sha256)) throw new HubError('NOT_FOUND', 'evidence');
    return path.join(this.deps.evidenceDir, sha256);
  }

  /**
   * Stores an evidence file and appends `evidence_attached`.
   *
   * A refused upload (too large, empty, conflict, wrong state, not the assignee) leaves nothing
   * on disk: the bytes go to a private temp file first, the event is appended under the warning's
   * lock (which is where state and permission are decided), and only then is the temp file
   * renamed to its content address. Every failure path removes the temp file. Two uploads of the
   * same bytes rename identical content over each other, which is harmless.
   */
  async attachEvidence(actor: Actor, warningId: string, expectedSeq: number, file: { name: string; mime: string; data: Buffer }, comment?: string): Promise<{ state: WarningState; sha256: string }> {
    if (file.data.length > this.deps.evidenceMaxBytes) throw new HubError('PAYLOAD_TOO_LARGE', `${file.data.length} > ${this.deps.evidenceMaxBytes} bytes`);
    if (file.data.length === 0) throw new HubError('BODY_INVALID', 'empty file');
    const sha256 = crypto.createHash('sha256').update(file.data).digest('hex');
    const target = this.evidencePath(sha256);
    const tmp = `${target}.${process.pid}.${crypto.randomBytes(6).toString('hex')}${TEMP_SUFFIX}`;
    let placed = false;
    try {
      // Written before the append so that an accepted event never points at bytes the disk
      // refused (ENOSPC fails here, before anything is recorded).
      await fs.promises.writeFile(tmp, file.data, { flag: 'wx' });
      const evidence = { sha256, name: file.name.slice(0, 200), mime: file.mime.slice(0, 100), size: file.data.length };
      const [r] = await this.append(actor, [{ warningId, expectedSeq, type: 'evidence_attached', payload: { evidence, ...(comment ? { comment } : {}) } }]);
      if (!r?.ok) throw Object.assign(new HubError(r?.code ?? 'NOT_FOUND', r?.ok === false ? r.message : warningId), { current: r && !r.ok ? r.current : undefined });
      await fs.promises.rename(tmp, target);
      placed = true;
      await this.deps.store.insert('evidence_files', [{ sha256, warning_id: warningId, name: evidence.name, mime: evidence.mime, size: evidence.size, uploaded_by: actor.username, at: Date.now() }]);
      return { state: r.state, sha256 };
    } finally {
      if (!placed) await fs.promises.rm(tmp, { force: true }).catch((e: unknown) => emit(this.deps.log, 'evidence.temp_remove_failed', { file: tmp, err: errorMessage(e) }));
    }
  }

  // ---- automatic assignment ------------------------------------------------------------------

  /**
   * Called when warnings are stored: assigns them within a second (batched). The caller hands
   * over what assignment and its events need (`FreshWarning`), so the fresh warnings are not read back
   * from the warnings table — whose key leads with the institution, so a lookup by id alone scans
   * it (measured 100 ms a round with a few thousand warnings; it grows with the years).
   */
  raised(warnings: readonly FreshWarning[]): void {
    if (this.closed) return;
    for (const w of warnings) this.pendingRaised.set(w.id, w);
    if (this.pendingRaised.size && !this.assignTimer) {
      this.assignTimer = setTimeout(() => {
        this.assignTimer = undefined;
        this.assignPending();
      }, 500);
      this.assignTimer.unref();
    }
  }

  private assignPending(): void {
    if (!this.pendingRaised.size) return;
    const batch = [...this.pendingRaised.values()];
    this.pendingRaised.clear();
    const previous = this.assigning;
    this.assigning = previous
      .then(() => this.assignFresh(batch))
      .then(
        () => undefined,
        (e: unknown) => emit(this.deps.log, 'workflow.assign_failed', { err: e }),
      );
  }

  /**
   * Assigns just-stored warnings still in state raised. Each is assigned at seq 0; one that
   * already has an event (a re-delivered batch's) gets a CONFLICT from append, which decides it
   * under the warning's lock from its events — the one read of a round. The warnings themselves
   * are not read back: the pipeline handed over their place (`FreshWarning`).
   */
  async assignFresh(fresh: readonly FreshWarning[]): Promise<number> {
    const candidates = fresh.map((w) => ({ id: w.id, county: w.county, institution_id: w.institutionId, seq: 0, raised_at: w.raisedAt, rule_id: w.ruleId, severity: w.severity }));
    return this.assignCandidates(candidates, new Map(candidates.map((w) => [w.id, w])));
  }

  /**
   * Picks an auditor for each warning: the most specific match first (county-scoped covering the
   * institution > county-scoped > city-wide covering the institution > city-wide), then the
   * least loaded (open assigned/acknowledged/verifying warnings), then by user name. Warnings
   * with no candidate stay `raised` for a leader to assign.
   */
  pickAssignees(warnings: readonly { id: string; county: string; institution_id: string }[], auditors: readonly User[], load: Map<string, number>): Map<string, string> {
    const out = new Map<string, string>();
    for (const w of warnings) {
      let best: { user: User; tier: number; load: number } | undefined;
      for (const u of auditors) {
        if (u.scope !== null && u.scope !== w.county) continue;
        if (u.institutions.length && !u.institutions.includes(w.institution_id)) continue;
        const tier = (u.scope !== null ? 0 : 2) + (u.institutions.length ? 0 : 1);
        const l = load.get(u.username) ?? 0;
        if (!best || tier < best.tier || (tier === best.tier && (l < best.load || (l === best.load && u.username < best.user.username)))) best = { user: u, tier, load: l };
      }
      if (best) {
        out.set(w.id, best.user.username);
        load.set(best.user.username, best.load + 1);
      }
    }
    return out;
  }

  /** Assigns the given raised warnings (or any unassigned ones when `ids` is omitted). */
  async assign(ids?: readonly string[]): Promise<number> {
    const candidates = ids
      ? [...(await warningsByIds(this.deps.store, ids)).values()].filter((w) => w.state === 'raised')
      : await unassignedWarnings(this.deps.store, Date.now() - 90 * 86_400_000, 2000);
    return this.assignCandidates(candidates);
  }

  /** `places`: the candidates are fresh warnings of this hub (append need not read them back). */
  private async assignCandidates(candidates: readonly { id: string; county: string; institution_id: string; seq: number }[], places?: ReadonlyMap<string, WarningPlace>): Promise<number> {
    if (!candidates.length) return 0;
    const auditors = (await this.users()).filter((u) => u.active && u.roles.includes('auditor'));
    if (!auditors.length) return 0;
    const picks = this.pickAssignees(candidates, auditors, await this.openLoad());
    const picked = candidates.filter((w) => picks.has(w.id));
    const items: AppendItem[] = picked.map((w) => ({ warningId: w.id, expectedSeq: w.seq, type: 'assigned' as const, payload: { assignee: picks.get(w.id)! } }));
    let n = 0;
    for (let i = 0; i < items.length; i += 500) {
      const res = await this.append(SYSTEM_ACTOR, items.slice(i, i + 500), places ? { places } : { institutions: picked.slice(i, i + 500).map((w) => w.institution_id) });
      n += res.filter((r) => r.ok).length;
    }
    return n;
  }

  /**
   * Open warnings per auditor, for balancing automatic assignment. Counting them folds every
   * workflow event ever written (warning_current), so a round no longer does it each time: the
   * count is read at most every LOAD_REFRESH_MS and the rounds in between add their own picks to
   * it (pickAssignees updates the map it is given). What that misses for a few seconds —
   * warnings concluded meanwhile, another hub's assignments — only shifts which of two equally
   * suitable auditors gets the next warning.
   */
  private async openLoad(): Promise<Map<string, number>> {
    const now = Date.now();
    if (!this.loadCache || now - this.loadCache.at > LOAD_REFRESH_MS) this.loadCache = { at: now, load: await openLoad(this.deps.store) };
    return this.loadCache.load;
  }

  // ---- deadlines -----------------------------------------------------------------------------

  /** Escalates (once) every warning past a deadline; returns how many. */
  async checkOverdue(now = Date.now()): Promise<number> {
    // A working hour is at least an hour of clock time, so younger warnings cannot be late.
    const minMinutes = Math.min(this.deps.sla.highAckMinutes, this.deps.sla.highVerifyMinutes, this.deps.sla.verifyMinutes);
    const open = await escalationCandidates(this.deps.store, now - minMinutes * 60_000, 5000);
    const late: { w: WarningWithState; kind: 'acknowledge' | 'verify'; dueAt: number }[] = [];
    for (const w of open) {
      const miss = missedDeadline(this.deadlines(w), w.state, now);
      if (miss) late.push({ w, ...miss });
    }
    if (!late.length) return 0;
    const res = await this.append(
      SYSTEM_ACTOR,
      late.map((l) => ({ warningId: l.w.id, expectedSeq: l.w.seq, type: 'escalated' as const, payload: { overdue: { kind: l.kind, dueAt: l.dueAt } } })),
    );
    const done = late.flatMap((l, i) => {
      const r = res[i];
      return r?.ok ? [{ warning: l.w, state: r.state, kind: l.kind, dueAt: l.dueAt }] : [];
    });
    if (done.length) this.deps.onOverdue?.(done);
    return done.length;
  }

  /**
   * A pass: assign what is unassigned, escalate what is late (the timer's, and an administrator's
   * "run now", POST /api/v1/workflow/sweep). Passes never overlap. A request made while one runs
   * waits for it and then gets a pass of its own — what the running pass read may predate the
   * request — shared with the other requests made meanwhile; it used to answer "0 assigned, 0
   * escalated" at once, for a pass it had not made. `now`: the clock the deadlines are judged by.
   */
  sweep(now?: number): Promise<SweepResult> {
    if (this.closed) return Promise.resolve({ ...NO_PASS });
    if (!this.sweepBusy) return this.startSweep(now ?? Date.now());
    this.nextSweep ??= this.sweepRun.then(() => {
      this.nextSweep = undefined;
      return this.closed ? { ...NO_PASS } : this.startSweep(now ?? Date.now());
    });
    return this.nextSweep;
  }

  /** A pass runs, or one waits to run after it. */
  private get sweepBusy(): boolean {
    return this.sweeping || this.nextSweep !== undefined;
  }

  private startSweep(now: number): Promise<SweepResult> {
    this.sweeping = true;
    const run = this.sweepOnce(now);
    this.sweepRun = run.then(() => undefined);
    return run;
  }

  private async sweepOnce(now: number): Promise<SweepResult> {
    try {
      const assigned = await this.assign();
      const escalated = await this.checkOverdue(now);
      if (assigned || escalated) emit(this.deps.log, 'workflow.sweep', { assigned, escalated });
      return { assigned, escalated };
    } catch (e) {
      emit(this.deps.log, 'workflow.sweep_failed', { err: e });
      return { ...NO_PASS };
    } finally {
      this.sweeping = false;
    }
  }
}

/** Evidence files in flight are `<sha256>.<pid>.<random>.tmp` next to their final name. */
const TEMP_SUFFIX = '.tmp';
/** Older temp files belong to no upload in flight (an upload is bounded by the body timeout). */
const STALE_TEMP_MS = 60 * 60_000;

/** Removes temp files left by a process that died mid-upload. Best effort; never throws. */
function removeStaleTemps(dir: string, log: FastifyBaseLogger): void {
  try {
    const now = Date.now();
    for (const name of fs.readdirSync(dir)) {
      if (!name.endsWith(TEMP_SUFFIX)) continue;
      const file = path.join(dir, name);
      try {
        if (now - fs.statSync(file).mtimeMs > STALE_TEMP_MS) fs.rmSync(file, { force: true });
      } catch {
        /* gone already, or another process's */
      }
    }
  } catch (e) {
    emit(log, 'evidence.temp_sweep_failed', { dir, err: errorMessage(e) });
  }
}
