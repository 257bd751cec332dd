/**
 * Every rule state in memory, exact: what tests, the embedded demo and the bench pass as the
 * state members of an EvaluationContext — and what the hub keeps as its live rule state in a
 * long-running process, durable as a snapshot plus a log of StateOps.
 *
 * Design note
 * -----------
 * The four states stay the exact reference implementations (window-state.ts … sequence-state.ts);
 * a state made here additionally has, through the functions below:
 *
 *  * Expiry, as the hub's Redis keys expire (expiry.ts has the data structure): every write to a
 *    window key, interval key, (key, fingerprint) or (key, event) sets its expiresAt to
 *    clock() + the TTL the Redis script gives PEXPIRE — windowMs + windowRetainBeyondMs (else
 *    windowMs + 1 day) for a window key, ceil(retainMs) (at least 1) for the others. A call the
 *    Redis script answers without writing (a known id of overlap / claim, a known asker of
 *    latest) leaves it; record() and observe() always write. Nothing expires by itself:
 *    sweepRuleState(state, now) drops what is due, so answers never depend on when a call ran.
 *  * applyStateOps(): a batch of StateOps applied in order, synchronously — the StateBatcher
 *    contract over these states, and the replay of a StateOp log. The clock is read once per
 *    batch (Redis freezes time during a script, so every key of one batch script gets the same
 *    expiry base).
 *  * peekRuleState(): the four states read-only — each call answers what the writing call would
 *    answer now and changes nothing (the hold path's advisory decision).
 *  * exportRuleState() / importRuleState(): a snapshot as JSON-ready flat arrays, one per key or
 *    slot, after a header; an imported state answers every later call as the original would
 *    (same members, stored answers, horizons, expiry times; indexes are rebuilt).
 *  * ruleStateSize(): keys and entries held, from running counts (O(1), for metrics).
 *
 * The functions find a state's internals through its four members, so they accept the spread
 * form the engine's contexts use (`{ registry, calendar, ...createMemoryRuleState() }`).
 */
import { ExpiryClock } from './expiry.js';
import { fingerprintCore, type FingerprintCore, type MemoryFingerprintState } from './fingerprint-state.js';
import { intervalCore, type IntervalCore, type MemoryIntervalState } from './interval-state.js';
import { sequenceCore, type MemorySequenceState, type SequenceCore } from './sequence-state.js';
import { EntryReader } from './snapshot.js';
import type {
  FingerprintMatch,
  FingerprintState,
  IntervalConflict,
  IntervalState,
  SequenceMatch,
  SequenceState,
  StateOp,
  WindowState,
} from './types.js';
import { windowCore, type MemoryWindowState, type MemoryWindowStateOptions, type WindowCore } from './window-state.js';

export interface MemoryRuleState {
  state: MemoryWindowState;
  intervals: MemoryIntervalState;
  fingerprints: MemoryFingerprintState;
  sequences: MemorySequenceState;
}

export interface MemoryRuleStateOptions extends MemoryWindowStateOptions {
  /**
   * Wall-clock time in epoch ms (default Date.now), used only for expiry: a write sets its key's
   * expiresAt to clock() + TTL. Never for answers: those depend on the calls' own times.
   */
  clock?: () => number;
  /**
   * Track expiry (default true). false: no key ever expires, sweepRuleState() drops nothing and
   * the state cannot be exported — for states that live as long as one run (backtests, tests),
   * which then do not pay the bookkeeping (about 45 ns per new key and larger entries).
   */
  expiry?: boolean;
}

/** The four states' internals and their shared clock. */
interface Cores {
  readonly clock: ExpiryClock;
  readonly options: { retainMs: number | null; windowRetainBeyondMs: number | null };
  /** Created with `expiry: false`: nothing to sweep, nothing to export or import. */
  readonly untracked: boolean;
  readonly window: WindowCore;
  readonly intervals: IntervalCore;
  readonly fingerprints: FingerprintCore;
  readonly sequences: SequenceCore;
  peek: RuleStatePeek | undefined;
  /** A snapshot header was imported: later importRuleState() calls continue that snapshot. */
  imported: boolean;
}

/** Each public state object → the internals of the rule state it belongs to. */
const coresOf = new WeakMap<object, Cores>();

export function createMemoryRuleState(options: MemoryRuleStateOptions = {}): MemoryRuleState {
  const { clock = Date.now, retainMs, windowRetainBeyondMs, expiry = true } = options;
  if (typeof clock !== 'function') throw new TypeError('clock must be a function returning epoch ms');
  const c = new ExpiryClock(clock);
  const tracked = expiry ? c : undefined;
  const cores: Cores = {
    clock: c,
    options: { retainMs: retainMs ?? null, windowRetainBeyondMs: windowRetainBeyondMs ?? null },
    untracked: !expiry,
    window: windowCore({ retainMs, windowRetainBeyondMs }, tracked),
    intervals: intervalCore(tracked),
    fingerprints: fingerprintCore(tracked),
    sequences: sequenceCore(tracked),
    peek: undefined,
    imported: false,
  };
  const state: MemoryRuleState = {
    state: cores.window.api,
    intervals: cores.intervals.api,
    fingerprints: cores.fingerprints.api,
    sequences: cores.sequences.api,
  };
  for (const s of Object.values(state)) coresOf.set(s, cores);
  return state;
}

function cores(state: MemoryRuleState, what: string): Cores {
  const c = coresOf.get(state.state);
  if (c === undefined || coresOf.get(state.intervals) !== c || coresOf.get(state.fingerprints) !== c || coresOf.get(state.sequences) !== c) {
    throw new TypeError(`${what}: not the four states of one createMemoryRuleState()`);
  }
  return c;
}

/**
 * Drops every key and slot whose expiresAt <= now (now: the clock's time, epoch ms) and returns
 * how many it dropped. Costs O(1) when nothing is due and O(log keys) per key dropped (plus,
 * amortized, one heap re-key per key written since it was placed; see expiry.ts), never a scan of
 * the keys held: call it every few seconds. A dropped key is gone entirely — the next call on it starts afresh, as on an expired
 * Redis key.
 */
export function sweepRuleState(state: MemoryRuleState, now: number): number {
  const c = cores(state, 'sweepRuleState');
  if (typeof now !== 'number' || Number.isNaN(now)) throw new RangeError(`sweepRuleState: now must be a number, got ${String(now)}`);
  return c.window.sweep(now) + c.intervals.sweep(now) + c.fingerprints.sweep(now) + c.sequences.sweep(now);
}

/**
 * Applies the operations in order, synchronously, each exactly as its call would (observe →
 * WindowState.observe, overlap → IntervalState.overlap, claim → FingerprintState.claimMany,
 * record / latest → SequenceState), and returns one answer per operation: number,
 * IntervalConflict, FingerprintMatch[], undefined, SequenceMatch | null (StateOpAnswer). What a
 * StateBatcher over these states answers, and how a log of StateOps is replayed. A throwing
 * operation (invalid arguments) stops the batch there; the operations before it stay applied.
 */
export function applyStateOps(state: MemoryRuleState, ops: readonly StateOp[]): unknown[] {
  const c = cores(state, 'applyStateOps');
  const { state: w, intervals: iv, fingerprints: fp, sequences: sq } = state;
  const clock = c.clock;
  const outer = clock.pinned;
  // One clock read for the whole batch (see the design note); a nested call keeps the outer one.
  if (outer === undefined) clock.pinned = clock.read();
  try {
    const out: unknown[] = new Array(ops.length);
    for (let i = 0; i < ops.length; i++) {
      const o = ops[i]!;
      switch (o.op) {
        case 'observe':
          out[i] = w.observe(o.key, o.member, o.at, o.windowMs);
          break;
        case 'overlap':
          out[i] = iv.overlap(o.key, o.id, o.member, o.start, o.end, o.retainMs);
          break;
        case 'claim':
          out[i] = fp.claimMany(o.key, o.fingerprints, o.owner, o.id, o.at, o.windowMs, o.retainMs);
          break;
        case 'record':
          out[i] = sq.record(o.key, o.event, o.id, o.at, o.retainMs);
          break;
        case 'latest':
          out[i] = sq.latest(o.key, o.event, o.id, o.at, o.windowMs, o.retainMs);
          break;
        default:
          throw new TypeError(`applyStateOps: unknown operation ${JSON.stringify((o as { op?: unknown }).op)}`);
      }
    }
    return out;
  } finally {
    clock.pinned = outer;
  }
}

/** Read-only views of the four memory states: synchronous, changing nothing. */
export interface RuleStatePeek {
  state: WindowState & { observe(key: string, member: string, at: number, windowMs: number): number };
  intervals: IntervalState & { overlap(key: string, id: string, member: string, start: number, end: number, retainMs: number): IntervalConflict };
  fingerprints: FingerprintState & {
    claim(key: string, fingerprint: string, owner: string, id: string, at: number, windowMs: number, retainMs: number): FingerprintMatch;
    claimMany(key: string, fingerprints: readonly string[], owner: string, id: string, at: number, windowMs: number, retainMs: number): FingerprintMatch[];
  };
  sequences: SequenceState & {
    /** Checks the arguments as record() does, records nothing. */
    record(key: string, event: string, id: string, at: number, retainMs: number): void;
    latest(key: string, event: string, id: string, at: number, windowMs: number, retainMs: number): SequenceMatch | null;
  };
}

/**
 * The four states read-only: each method answers exactly what the writing call would answer at
 * this moment — a known id its stored answer; observe the count including the caller's member at
 * max(its time, at) — and throws where it would throw, but changes nothing (no member, answer,
 * newest time or horizon, expiry or index). sequences.record() records nothing. No batcher: a
 * peek is a single call. Answers are fresh objects, as the states' own.
 */
export function peekRuleState(state: MemoryRuleState): RuleStatePeek {
  const c = cores(state, 'peekRuleState');
  if (c.peek) return c.peek;
  const { window, intervals, fingerprints, sequences } = c;
  return (c.peek = {
    state: { observe: window.peek },
    intervals: { overlap: intervals.peek },
    fingerprints: { claim: fingerprints.peek, claimMany: fingerprints.peekMany },
    sequences: { record: sequences.peekRecord, latest: sequences.peekLatest },
  });
}

/**
 * What applyStateOps(state, ops) would answer now, changing nothing (peekRuleState per
 * operation): the hold path's reads as a list of StateOps, one answer per operation.
 */
export function peekStateOps(state: MemoryRuleState, ops: readonly StateOp[]): unknown[] {
  const p = peekRuleState(state);
  return ops.map((o) => {
    switch (o.op) {
      case 'observe':
        return p.state.observe(o.key, o.member, o.at, o.windowMs);
      case 'overlap':
        return p.intervals.overlap(o.key, o.id, o.member, o.start, o.end, o.retainMs);
      case 'claim':
        return p.fingerprints.claimMany(o.key, o.fingerprints, o.owner, o.id, o.at, o.windowMs, o.retainMs);
      case 'record':
        return p.sequences.record(o.key, o.event, o.id, o.at, o.retainMs);
      case 'latest':
        return p.sequences.latest(o.key, o.event, o.id, o.at, o.windowMs, o.retainMs);
    }
  });
}

/** The snapshot format's name and version: the first entry of every snapshot. */
export const RULE_STATE_FORMAT = 'jg-rule-state';
export const RULE_STATE_FORMAT_VERSION = 1;

/**
 * The state as a snapshot: a header, then one entry per key or slot. Every entry is a fresh, flat
 * array of strings, finite numbers and nulls (JSON-ready; no Maps, no shared objects):
 *
 *   ['jg-rule-state', 1, retainMs | null, windowRetainBeyondMs | null]              header
 *   ['w', key, expiresAt, newest, flags, member, time, …]                           window key
 *   ['i', key, expiresAt, maxStart, (id, member, start, end, overlapMs[, otherId,
 *         otherMember, otherStart, otherEnd])…]                                     interval key
 *   ['f', key, fingerprint, expiresAt, newest, flags, (id, owner, at, others[,
 *         firstOwner, firstId, firstAt])…]                                          fingerprint slot
 *   ['s', key, event, expiresAt, newest, oldest | null, flags, nRecords,
 *         (id, at) × nRecords, (askerId, askerAt, matchId, matchAt | null)…]        sequence slot
 *
 * Members, intervals, claims, records and answers are listed in the order the state holds them
 * (first observation, arrival, time); flags record which structures a key had grown (a map
 * instead of a single field, a time index, an id map) so the import rebuilds the same ones.
 * expiresAt is absolute clock time (epoch ms), so a state restored later expires its keys when
 * the original would have. The options in the header must match the importing state's.
 *
 * Entries are read from the live maps as the generator advances: consume it without writing to
 * the state in between for a consistent snapshot (writes in between leave each entry consistent
 * in itself, as of the moment it was yielded).
 */
export function* exportRuleState(state: MemoryRuleState): Generator<unknown[]> {
  const c = cores(state, 'exportRuleState');
  if (c.untracked) throw new Error('exportRuleState: a state created with expiry: false has no expiry times to export');
  yield [RULE_STATE_FORMAT, RULE_STATE_FORMAT_VERSION, c.options.retainMs, c.options.windowRetainBeyondMs];
  yield* c.window.entries();
  yield* c.intervals.entries();
  yield* c.fingerprints.entries();
  yield* c.sequences.entries();
}

/**
 * Loads a snapshot (exportRuleState's entries, JSON round trip allowed) into a FRESH state
 * created with the same options. The snapshot may come in parts (stored in chunks): call this
 * once per part, in order, on the same state — the first part starts with the header and needs a
 * fresh state, the next ones continue it. Each entry is checked in full before it is applied,
 * and a malformed one throws an Error naming its kind and key. The import is not atomic: entries
 * before a malformed one stay loaded (consistently, expiry included), so on an error discard the
 * state rather than use it.
 */
export function importRuleState(state: MemoryRuleState, entries: Iterable<unknown[]>): void {
  const c = cores(state, 'importRuleState');
  if (c.untracked) throw new Error('importRuleState: a state created with expiry: false cannot take a snapshot (it keeps no expiry times)');
  try {
    for (const e of entries) {
      if (!Array.isArray(e)) throw new Error(`rule state import: an entry must be an array, got ${typeof e}`);
      const tag: unknown = e[0];
      if (tag === RULE_STATE_FORMAT) {
        // A header starts a snapshot: only into an empty state (a header met halfway through a
        // snapshot fails here too).
        if (ruleStateSize(state).keys !== 0) throw new Error('rule state import: a header into a state that is not empty (import a snapshot, header first, into a fresh createMemoryRuleState())');
        checkHeader(e, c);
        c.imported = true;
        continue;
      }
      if (!c.imported) {
        throw new Error(`rule state import: the first entry must be the header ['${RULE_STATE_FORMAT}', version, …], got kind ${JSON.stringify(tag) ?? String(tag)}`);
      }
      switch (tag) {
        case 'w':
          c.window.load(new EntryReader(e, 'window', 1));
          break;
        case 'i':
          c.intervals.load(new EntryReader(e, 'interval', 1));
          break;
        case 'f':
          c.fingerprints.load(new EntryReader(e, 'fingerprint', 1));
          break;
        case 's':
          c.sequences.load(new EntryReader(e, 'sequence', 1));
          break;
        default:
          throw new Error(`rule state import: unknown entry kind ${JSON.stringify(tag) ?? String(tag)}${typeof e[1] === 'string' ? ` (key ${JSON.stringify(e[1])})` : ''}`);
      }
    }
    if (!c.imported) throw new Error('rule state import: empty snapshot (no header)');
  } finally {
    // Put what was loaded into the expiry heaps even on an error: the state stays consistent.
    c.window.loaded();
    c.intervals.loaded();
    c.fingerprints.loaded();
    c.sequences.loaded();
  }
}

function checkHeader(e: readonly unknown[], c: Cores): void {
  if (e[1] !== RULE_STATE_FORMAT_VERSION) throw new Error(`rule state import: snapshot format version ${JSON.stringify(e[1]) ?? String(e[1])} is not supported (this build reads ${RULE_STATE_FORMAT_VERSION})`);
  if (e.length !== 4) throw new Error(`rule state import: malformed header: expected 4 fields, got ${e.length}`);
  const { retainMs, windowRetainBeyondMs } = c.options;
  // Other options would prune differently from here on, so the state would not answer as the
  // original would: refuse rather than drift.
  if (e[2] !== retainMs || e[3] !== windowRetainBeyondMs) {
    throw new Error(
      `rule state import: the snapshot was taken with retainMs ${JSON.stringify(e[2])}, windowRetainBeyondMs ${JSON.stringify(e[3])}; this state has ${JSON.stringify(retainMs)}, ${JSON.stringify(windowRetainBeyondMs)}`,
    );
  }
}

/**
 * Keys held (window keys, interval keys, (key, fingerprint) and (key, event) slots) and entries
 * held (window members, intervals, fingerprint claims, sequence records plus stored answers).
 * O(1): running counts.
 */
export function ruleStateSize(state: MemoryRuleState): { keys: number; entries: number } {
  const c = cores(state, 'ruleStateSize');
  return {
    keys: state.state.keyCount + state.intervals.keyCount + state.fingerprints.size + state.sequences.size,
    entries: c.window.held() + c.intervals.held() + c.fingerprints.held() + c.sequences.held(),
  };
}
