/**
 * Versioned rule sets and their release (规则发布): draft → approved by a second person
 * (maker-checker) → in force from its effective time → retired when superseded.
 *
 * Design note
 * -----------
 * - A rule set is data: the rule definitions plus per-rule parameter overrides, stored in
 *   `rule_sets` (migration 021). Its version is the compiled engine's version with the label
 *   `rs<seq>` (e.g. `rs3-1a2b3c4d`): a hash of the effective definitions, so the version on a
 *   warning names exactly the rules that raised it. The first start stores the built-in pack as
 *   the baseline (seq 0, label `pack-<PACK_VERSION>`, the version the hub used before releases).
 * - Which set is in force at time T: among sets with status approved or active, the one with
 *   the latest effective_at ≤ T (ties: the later approval). `engineAt(T)` answers from the
 *   in-memory index, so the evaluate worker's `deps.engine(batch.receivedAt)` picks the set in
 *   force when the batch arrived, with no restart and no I/O per batch. Compiled engines are
 *   cached per version.
 * - Convergence across hub replicas: every hub re-reads the index every `pollMs` (light
 *   columns only; definitions are immutable per version and fetched once), and at once when
 *   another hub publishes on the Redis channel `<prefix>:rulesets` after a change. Approval
 *   normally happens before the effective time, so every replica knows the set before it
 *   applies; the switch itself is a time comparison, identical everywhere.
 * - Status housekeeping (approved → active at its effective time, the superseded active set →
 *   retired) is written by whichever hub takes a short Redis lock on the poll after the switch;
 *   it is bookkeeping for people, never consulted by engineAt().
 * - Approval gate: the approver must differ from the author (SAME_APPROVER). The newest finished
 *   backtest of the draft against the set live at approval time must stay under the thresholds
 *   (total warnings change ≤ maxTotalChange, every rule's added + removed ≤ maxRuleChange);
 *   otherwise — or without such a backtest when one is required — approval needs
 *   `override: true` and a reason, both recorded on the row.
 */
import type { FastifyBaseLogger } from 'fastify';
import type { RuleTimeline, RuleTimelineEntry } from './timeline.js';
import type { Redis } from 'ioredis';
import {
  DEFAULT_PACK,
  PACK_VERSION,
  RuleConfigError,
  canonicalJson,
  createEngine,
  isRuleConfigError,
  type CompiledRuleEngine,
  type RuleParamOverrides,
} from '@jianguan/rules';
import { HubError, errorMessage } from '../errors.js';
import type { Backtest, BuiltinPackStatus } from '../protocol/releases.js';
import type { Store } from '../store/store.js';
import { loadContent, loadHeads, saveRuleSet, type RuleSet, type RuleSetContent, type RuleSetDiff, type RuleSetHead, type RuleParamChange } from './repo.js';
import { emit } from '../telemetry/events.js';

export interface RuleSetThresholds {
  /** Fraction: |draft total − live total| / live total above this needs an override. */
  maxTotalChange: number;
  /** Warnings added + removed for any one rule above this needs an override. */
  maxRuleChange: number;
  /** Approving without a finished backtest needs an override. */
  requireBacktest: boolean;
}

export interface RuleSetServiceDeps {
  store: Store;
  redis: Redis;
  prefix: string;
  log: FastifyBaseLogger;
  pollMs: number;
  thresholds: RuleSetThresholds;
  /**
   * The latest finished backtest of `version` against `liveVersion`, which approval weighs.
   * Injected: backtests run on rule sets, so the backtest feature sits above this one.
   */
  latestBacktest: (version: string, liveVersion: string) => Promise<Backtest | undefined>;
}

export interface DraftInput {
  /** Full replacement of the definitions; absent = those of `baseVersion`. */
  definitions?: unknown[] | undefined;
  /** Overrides merged per rule over the base's (or replacing them when `definitions` is given). */
  params?: RuleParamOverrides | undefined;
  /**
   * Start from the built-in pack of this hub's code (a code upgrade is released like any change),
   * keeping the base's parameter overrides of the rules the pack has.
   */
  fromBuiltin?: boolean | undefined;
  /** Default: the set in force now. */
  baseVersion?: string | undefined;
  note?: string | undefined;
}

export interface ApproveInput {
  effectiveAt?: number | undefined;
  override?: boolean | undefined;
  reason?: string | undefined;
}

const BUILTIN_LABEL = `pack-${PACK_VERSION}`;
const labelOf = (version: string): string => version.replace(/-[0-9a-f]{8}$/, '');

function diffOf(base: CompiledRuleEngine, baseVersion: string, next: CompiledRuleEngine): RuleSetDiff {
  const before = new Map(base.definitions.map((d) => [d.id, d]));
  const after = new Map(next.definitions.map((d) => [d.id, d]));
  const metaBefore = new Map(base.rules.map((r) => [r.id, r]));
  const metaAfter = new Map(next.rules.map((r) => [r.id, r]));
  const diff: RuleSetDiff = { base: baseVersion, added: [], removed: [], changed: [] };
  for (const [id, d] of after) if (!before.has(id)) diff.added.push({ ruleId: id, name: d.name });
  for (const [id, d] of before) if (!after.has(id)) diff.removed.push({ ruleId: id, name: d.name });
  for (const [id, d] of after) {
    const b = before.get(id);
    if (!b) continue;
    const fromVersion = metaBefore.get(id)!.version;
    const toVersion = metaAfter.get(id)!.version;
    if (fromVersion === toVersion) continue;
    const pb = (b.params ?? {}) as Record<string, unknown>;
    const pa = (d.params ?? {}) as Record<string, unknown>;
    const params: RuleParamChange[] = [];
    for (const k of [...new Set([...Object.keys(pb), ...Object.keys(pa)])].sort()) {
      if (canonicalJson(pb[k]) !== canonicalJson(pa[k])) params.push({ param: k, from: pb[k] ?? null, to: pa[k] ?? null });
    }
    const definition = canonicalJson({ ...b, params: {} }) !== canonicalJson({ ...d, params: {} });
    diff.changed.push({ ruleId: id, name: d.name, fromVersion, toVersion, params, definition });
  }
  return diff;
}

/** Why a backtest diff needs an override (Chinese, for the approver); empty = within thresholds. */
export function diffExceeds(bt: Backtest | undefined, t: RuleSetThresholds): string[] {
  if (!bt || !bt.result) return t.requireBacktest ? ['未对现行规则集完成回测'] : [];
  const out: string[] = [];
  const change = Math.abs(bt.draftTotal - bt.liveTotal);
  const ratio = bt.liveTotal === 0 ? (change > 0 ? Number.POSITIVE_INFINITY : 0) : change / bt.liveTotal;
  if (ratio > t.maxTotalChange) {
    out.push(`预警总数由${bt.liveTotal}条变为${bt.draftTotal}条（变化${Number.isFinite(ratio) ? (ratio * 100).toFixed(1) : '∞'}%），超过阈值${(t.maxTotalChange * 100).toFixed(0)}%`);
  }
  for (const r of bt.result.byRule) {
    const n = r.added + r.removed;
    if (n > t.maxRuleChange) out.push(`规则${r.key}（${r.name}）新增${r.added}条、减少${r.removed}条，超过阈值${t.maxRuleChange}条`);
  }
  return out;
}

/** The base's overrides (of the rules `keep` accepts) with the given ones merged over them, per rule. */
function mergedParams(base: RuleParamOverrides, given: RuleParamOverrides | undefined, keep: (id: string) => boolean = () => true): Record<string, Record<string, unknown>> {
  const merged: Record<string, Record<string, unknown>> = {};
  for (const [id, p] of Object.entries(base)) if (keep(id)) merged[id] = { ...p };
  for (const [id, p] of Object.entries(given ?? {})) merged[id] = { ...(merged[id] ?? {}), ...p };
  return merged;
}

export class RuleSetService {
  private heads = new Map<string, RuleSetHead>();
  /** approved/active sets by effective time, ascending (ties: approval time). */
  private releasable: RuleSetHead[] = [];
  private engines = new Map<string, CompiledRuleEngine>();
  /** What each compiled engine was compiled from (the evaluation threads compile the same). */
  private sources = new Map<string, { content: RuleSetContent; label: string }>();
  private definitionTexts = new Map<string, string>();
  private readonly listeners = new Set<(timeline: RuleTimeline) => void>();
  private readonly builtin: CompiledRuleEngine;
  private timer: NodeJS.Timeout | undefined;
  private sub: Redis | undefined;
  private reloading: Promise<void> = Promise.resolve();
  private closed = false;

  constructor(private readonly deps: RuleSetServiceDeps) {
    this.builtin = createEngine(DEFAULT_PACK, { label: BUILTIN_LABEL });
    this.engines.set(this.builtin.version, this.builtin);
    this.sources.set(this.builtin.version, { content: { definitions: [...DEFAULT_PACK], params: {} }, label: BUILTIN_LABEL });
  }

  private get channel(): string {
    return `${this.deps.prefix}:rulesets`;
  }

  /** Stores the built-in pack as the baseline when the table is empty, loads the index, starts polling. */
  async start(): Promise<void> {
    await this.reload();
    if (this.heads.size === 0) {
      const now = Date.now();
      await saveRuleSet(this.deps.store, {
        version: this.builtin.version,
        seq: 0,
        status: 'active',
        content: { definitions: [...DEFAULT_PACK], params: {} },
        baseVersion: '',
        note: '内置规则包（首次启动时作为基线）',
        diff: null,
        createdBy: 'system',
        createdAt: now,
        approvedBy: 'system',
        approvedAt: now,
        effectiveAt: 0,
        activatedAt: now,
        retiredAt: null,
        retiredBy: '',
        backtestId: '',
        override: false,
        overrideReason: '',
        updatedAt: now,
      });
      await this.reload();
    }
    await this.warm();
    this.sub = this.deps.redis.duplicate();
    this.sub.on('message', () => void this.reload().catch((e: unknown) => emit(this.deps.log, 'ruleset.reload_failed', { err: errorMessage(e) })));
    this.sub.on('error', (e) => emit(this.deps.log, 'ruleset.subscriber_error', { err: errorMessage(e) }));
    await this.sub.subscribe(this.channel);
    this.timer = setInterval(() => void this.tick(), this.deps.pollMs);
    this.timer.unref();
  }

  async close(): Promise<void> {
    this.closed = true;
    if (this.timer) clearInterval(this.timer);
    if (this.sub) {
      this.sub.disconnect();
      this.sub = undefined;
    }
    await this.reloading.catch(() => undefined);
  }

  /** Re-reads the index (light columns). Calls are serialised: each one reads after the previous finished. */
  reload(): Promise<void> {
    const run = this.reloading.catch(() => undefined).then(async () => {
      const heads = await loadHeads(this.deps.store);
      this.heads = new Map(heads.map((h) => [h.version, h]));
      this.releasable = heads
        .filter((h) => (h.status === 'approved' || h.status === 'active') && h.effectiveAt !== null)
        .sort((a, b) => a.effectiveAt! - b.effectiveAt! || (a.approvedAt ?? 0) - (b.approvedAt ?? 0) || a.seq - b.seq);
      await this.warm();
      const timeline = this.timeline();
      for (const l of this.listeners) l(timeline);
    });
    this.reloading = run;
    return run;
  }

  /** Compiles every releasable set not compiled yet (so engineAt never waits on I/O). */
  private async warm(): Promise<void> {
    for (const h of this.releasable) {
      if (this.engines.has(h.version)) continue;
      try {
        await this.engineOf(h.version);
      } catch (e) {
        emit(this.deps.log, 'ruleset.compile_failed', { version: h.version, err: errorMessage(e) });
      }
    }
  }

  private async tick(): Promise<void> {
    if (this.closed) return;
    try {
      await this.reload();
      await this.housekeeping();
    } catch (e) {
      emit(this.deps.log, 'ruleset.poll_failed', { err: errorMessage(e) });
    }
  }

  /** Marks the set in force as active and the sets it superseded (active or approved) as retired (bookkeeping only). */
  async housekeeping(now = Date.now()): Promise<void> {
    const current = this.headAt(now);
    if (!current) return;
    // Superseded: the set that was active, and any approved one whose time came and went while
    // a later one took over (it would otherwise read 已审批待生效 forever).
    const stale = [...this.heads.values()].filter(
      (h) => (h.status === 'active' || h.status === 'approved') && h.version !== current.version && (h.effectiveAt ?? 0) <= (current.effectiveAt ?? 0),
    );
    if (current.status === 'active' && stale.length === 0) return;
    const lock = `${this.deps.prefix}:rulesets:housekeeping`;
    if ((await this.deps.redis.set(lock, '1', 'PX', Math.max(1000, this.deps.pollMs), 'NX')) !== 'OK') return;
    try {
      if (current.status !== 'active') {
        const rs = await this.get(current.version);
        if (rs) await saveRuleSet(this.deps.store, { ...rs, status: 'active', activatedAt: rs.effectiveAt !== null ? Math.max(rs.effectiveAt, rs.approvedAt ?? 0) : now });
        emit(this.deps.log, 'ruleset.activated', { version: current.version });
      }
      for (const h of stale) {
        const rs = await this.get(h.version);
        if (rs) await saveRuleSet(this.deps.store, { ...rs, status: 'retired', retiredAt: now, retiredBy: 'system' });
      }
      await this.reload();
      await this.deps.redis.publish(this.channel, current.version);
    } finally {
      await this.deps.redis.del(lock);
    }
  }

  private headAt(at: number): RuleSetHead | undefined {
    let found: RuleSetHead | undefined;
    for (const h of this.releasable) {
      if (h.effectiveAt! <= at && this.engines.has(h.version)) found = h;
      else if (h.effectiveAt! > at) break;
    }
    return found;
  }

  /**
   * The released sets with their compiled contents, in the order engineAt() consults them, and
   * the built-in pack: everything an evaluation thread needs to answer engineAt() the same way.
   */
  timeline(): RuleTimeline {
    const entries: RuleTimelineEntry[] = [];
    for (const h of this.releasable) {
      const src = this.engines.has(h.version) ? this.sources.get(h.version) : undefined;
      if (src) entries.push({ version: h.version, effectiveAt: h.effectiveAt!, ...src });
    }
    return { builtin: { version: this.builtin.version, effectiveAt: 0, ...this.sources.get(this.builtin.version)! }, entries };
  }

  /** Called after every reload with the new timeline. */
  onTimeline(listener: (timeline: RuleTimeline) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** The engine in force at `at` (default now): what evaluate uses per batch. Never does I/O. */
  engineAt(at: number = Date.now()): CompiledRuleEngine {
    const h = this.headAt(at);
    return (h && this.engines.get(h.version)) ?? this.builtin;
  }

  /** Version in force at `at`. */
  versionAt(at: number = Date.now()): string {
    return this.engineAt(at).version;
  }

  /** The compiled engine of any stored version (drafts included); RULESET_INVALID if it does not compile. */
  async engineOf(version: string): Promise<CompiledRuleEngine> {
    const cached = this.engines.get(version);
    if (cached) return cached;
    const content = await loadContent(this.deps.store, version);
    if (!content) throw new HubError('NOT_FOUND', `rule set ${version}`);
    const engine = this.compile(content, labelOf(version));
    this.sources.set(version, { content, label: labelOf(version) });
    if (engine.version !== version) {
      emit(this.deps.log, 'ruleset.version_mismatch', { stored: version, compiled: engine.version });
    }
    this.engines.set(version, engine);
    return engine;
  }

  private compile(content: RuleSetContent, label: string): CompiledRuleEngine {
    try {
      return createEngine(content.definitions, { params: content.params, label });
    } catch (e) {
      if (isRuleConfigError(e)) {
        const err = new HubError('RULESET_INVALID', `${e.code}: ${e.message}`);
        throw Object.assign(err, { issues: (e as RuleConfigError).issues, ruleId: (e as RuleConfigError).ruleId });
      }
      throw e;
    }
  }

  /**
   * Whether the definitions in force are this code's built-in pack (parameter overrides aside),
   * and a set still to come — drafted, or approved for later — that carries them. Drafts
   * another process made are loaded (and compiled) here; one that does not compile is skipped.
   */
  async builtinStatus(): Promise<BuiltinPackStatus> {
    const now = Date.now();
    const inForce = this.versionAt(now);
    const current = this.definitionsOf(inForce) === this.definitionsOf(this.builtin.version);
    let pending: string | null = null;
    for (const h of this.list()) {
      // Still to come: a draft, or a set approved for later (one approved for earlier and not in
      // force was superseded, whatever its status says until housekeeping).
      const toCome = h.status === 'draft' || (h.status === 'approved' && (h.effectiveAt ?? 0) > now);
      if (h.version === inForce || !toCome) continue;
      try {
        await this.engineOf(h.version);
      } catch {
        continue;
      }
      if (this.definitionsOf(h.version) === this.definitionsOf(this.builtin.version)) {
        pending = h.version;
        break;
      }
    }
    return { version: this.builtin.version, current, pending };
  }

  /** Canonical text of a compiled set's definitions (cached per version: sets are immutable). */
  private definitionsOf(version: string): string | undefined {
    let text = this.definitionTexts.get(version);
    if (text === undefined) {
      const src = this.sources.get(version);
      if (!src) return undefined;
      text = canonicalJson(src.content.definitions);
      this.definitionTexts.set(version, text);
    }
    return text;
  }

  list(): RuleSetHead[] {
    return [...this.heads.values()].sort((a, b) => b.seq - a.seq);
  }

  head(version: string): RuleSetHead | undefined {
    return this.heads.get(version);
  }

  async get(version: string): Promise<RuleSet | undefined> {
    const [head] = (await loadHeads(this.deps.store)).filter((h) => h.version === version);
    if (!head) return undefined;
    const content = await loadContent(this.deps.store, version);
    return content ? { ...head, content } : undefined;
  }

  private async nextSeq(): Promise<number> {
    const key = `${this.deps.prefix}:rulesets:seq`;
    const max = Math.max(0, ...[...(await loadHeads(this.deps.store))].map((h) => h.seq));
    await this.deps.redis.set(key, String(max), 'NX');
    const n = await this.deps.redis.incr(key);
    // Another deployment may have used the same Redis with an older table: never reuse a number.
    return n > max ? n : this.deps.redis.set(key, String(max + 1)).then(() => max + 1);
  }

  async createDraft(input: DraftInput, author: string): Promise<RuleSet> {
    await this.reload();
    const live = this.engineAt();
    const baseVersion = input.baseVersion ?? live.version;
    const base = baseVersion === this.builtin.version ? { definitions: [...DEFAULT_PACK] as unknown[], params: {} } : await loadContent(this.deps.store, baseVersion);
    if (!base) throw new HubError('NOT_FOUND', `rule set ${baseVersion}`);
    let content: RuleSetContent;
    if (input.definitions) content = { definitions: input.definitions, params: input.params ?? {} };
    else if (input.fromBuiltin) {
      // A software upgrade's definitions with the deployment's tuning kept (of the rules the pack still has).
      const ids = new Set(DEFAULT_PACK.map((d) => d.id));
      content = { definitions: [...DEFAULT_PACK], params: mergedParams(base.params, input.params, (id) => ids.has(id)) };
    } else content = { definitions: base.definitions, params: mergedParams(base.params, input.params) };
    this.compile(content, 'draft'); // validate before taking a number
    const baseEngine = await this.engineOf(baseVersion);
    const seq = await this.nextSeq();
    const engine = this.compile(content, `rs${seq}`);
    if (this.heads.has(engine.version)) throw new HubError('CONFLICT', `rule set ${engine.version} exists`);
    const now = Date.now();
    const rs = await saveRuleSet(this.deps.store, {
      version: engine.version,
      seq,
      status: 'draft',
      content,
      baseVersion,
      note: input.note ?? '',
      diff: diffOf(baseEngine, baseVersion, engine),
      createdBy: author,
      createdAt: now,
      approvedBy: '',
      approvedAt: null,
      effectiveAt: null,
      activatedAt: null,
      retiredAt: null,
      retiredBy: '',
      backtestId: '',
      override: false,
      overrideReason: '',
      updatedAt: now,
    });
    this.engines.set(engine.version, engine);
    this.sources.set(engine.version, { content, label: `rs${seq}` });
    await this.changed(rs.version);
    emit(this.deps.log, 'ruleset.drafted', { version: rs.version, by: author, base: baseVersion });
    return rs;
  }

  async approve(version: string, approver: string, input: ApproveInput): Promise<RuleSet & { exceeded: string[] }> {
    const rs = await this.get(version);
    if (!rs) throw new HubError('NOT_FOUND', `rule set ${version}`);
    if (rs.status !== 'draft') throw new HubError('RULESET_NOT_DRAFT', `${version} is ${rs.status}`);
    if (rs.createdBy === approver) throw new HubError('SAME_APPROVER', `${version} was drafted by ${approver}`);
    await this.engineOf(version); // must compile
    const liveVersion = this.versionAt();
    const bt = await this.deps.latestBacktest(version, liveVersion);
    const exceeded = diffExceeds(bt, this.deps.thresholds);
    const reason = (input.reason ?? '').trim();
    if (exceeded.length > 0 && !(input.override === true && reason.length > 0)) {
      throw Object.assign(new HubError('RULESET_DIFF_TOO_LARGE', exceeded.join('；')), { exceeded });
    }
    const now = Date.now();
    const saved = await saveRuleSet(this.deps.store, {
      ...rs,
      status: 'approved',
      approvedBy: approver,
      approvedAt: now,
      effectiveAt: Math.max(now, input.effectiveAt ?? now),
      backtestId: bt?.id ?? '',
      override: exceeded.length > 0,
      overrideReason: exceeded.length > 0 ? reason : '',
    });
    await this.changed(version);
    emit(this.deps.log, 'ruleset.approved', { version, by: approver, effectiveAt: saved.effectiveAt, override: saved.override });
    return { ...saved, exceeded };
  }

  /** Withdraws a draft or cancels an approved set before it takes effect. */
  async retire(version: string, by: string): Promise<RuleSet> {
    const rs = await this.get(version);
    if (!rs) throw new HubError('NOT_FOUND', `rule set ${version}`);
    const inForce = this.versionAt() === version;
    if (rs.status === 'retired' || rs.status === 'active' || inForce) {
      throw new HubError('INVALID_TRANSITION', inForce || rs.status === 'active' ? '生效中的规则集只能由新发布的规则集替代' : `${version} is ${rs.status}`);
    }
    const saved = await saveRuleSet(this.deps.store, { ...rs, status: 'retired', retiredAt: Date.now(), retiredBy: by });
    await this.changed(version);
    return saved;
  }

  private async changed(version: string): Promise<void> {
    await this.reload();
    await this.deps.redis.publish(this.channel, version).catch(() => 0);
  }
}
