/** Shared test fixtures: local-time helper, a valid transaction factory and a context. */
import {
  DEMO_INSTITUTIONS,
  DEMO_STAFF,
  TransactionSchema,
  applyStateOps,
  createMemoryRuleState,
  createMemoryWindowState,
  createRegistryView,
  createWorkCalendar,
  fnv1a64,
  type EvaluationContext,
  type MemoryRuleState,
  type RegistryView,
  type StateBatcher,
  type StateOp,
  type Transaction,
  type WindowState,
} from '../src/index.js';

/** Local China time 'YYYY-MM-DDTHH:MM[:SS]' → epoch ms. */
export function cst(local: string): number {
  const ms = Date.parse(`${local}+08:00`);
  if (Number.isNaN(ms)) throw new Error(`bad local time ${local}`);
  return ms;
}

export const SECOND = 1000;
export const DAY = 86_400_000;

/** A keyed-hash lookalike (hex, 16 chars) for a label. */
export const hashOf = (label: string): string => fnv1a64(`test-key|${label}`);

export const person = (label: string, masked = '4512**********123X') => ({ idHash: hashOf(label), masked });

let seq = 0;
/** A schema-valid, rule-neutral transaction (working hours, filed clerk, no agent). */
export function txn(overrides: Partial<Transaction> = {}): Transaction {
  seq += 1;
  const occurredAt = overrides.occurredAt ?? cst('2026-11-26T10:00');
  return TransactionSchema.parse({
    id: `c-test:${seq}`,
    collectorId: 'c-test',
    seq,
    source: 'test',
    channel: 'counter',
    institutionId: 'JCJ-CGS',
    staffId: 'JCJ-CGS-C01',
    kind: 'vehicle',
    ywlx: 'A',
    capturedAt: occurredAt + 500,
    ...overrides,
    occurredAt,
  });
}

export function context(
  overrides: { registry?: RegistryView; state?: WindowState } = {},
): EvaluationContext {
  return {
    registry: overrides.registry ?? createRegistryView(DEMO_INSTITUTIONS, DEMO_STAFF),
    state: overrides.state ?? createMemoryWindowState(),
    calendar: createWorkCalendar(),
  };
}

/** A WindowState wrapper that records every observe() call. */
export function spyState(inner: WindowState = createMemoryWindowState()) {
  const calls: { key: string; member: string; at: number; windowMs: number }[] = [];
  const state: WindowState = {
    observe(key, member, at, windowMs) {
      calls.push({ key, member, at, windowMs });
      return inner.observe(key, member, at, windowMs);
    },
  };
  return { state, calls };
}

/** Expects a RuleConfigError-like throw and returns it (tests assert the code). */
export function thrown(fn: () => unknown): { code?: string; ruleId?: string; issues?: readonly string[]; message: string } {
  try {
    fn();
  } catch (err) {
    return err as { code?: string; message: string };
  }
  throw new Error('expected a throw');
}

/** Reference FNV-1a 64 with BigInt, to pin the limb implementation. */
export function fnvReference(s: string): string {
  let h = 0xcbf29ce484222325n;
  for (const b of new TextEncoder().encode(s)) {
    h ^= BigInt(b);
    h = (h * 0x100000001b3n) & 0xffffffffffffffffn;
  }
  return h.toString(16).padStart(16, '0');
}


/**
 * The memory states behind a StateBatcher that applies each operation to them in order
 * (applyStateOps): what a batching store (the hub's Redis script) must be equivalent to. Every
 * state answers only through the batcher's promises here, so evaluateBatch() takes its batched
 * path.
 */
export function batchedMemoryStates(inner: MemoryRuleState = createMemoryRuleState()) {
  const runs: number[] = [];
  const batcher: StateBatcher = {
    async run(ops: readonly StateOp[]) {
      runs.push(ops.length);
      return applyStateOps(inner, ops);
    },
  };
  const unbatched = () => {
    throw new Error('a batched state was called directly');
  };
  return {
    /** Lengths of the operation lists the batcher was given, one per run(). */
    runs,
    states: {
      state: { observe: unbatched, batcher },
      intervals: { overlap: unbatched, batcher },
      fingerprints: { claim: unbatched, batcher },
      sequences: { record: unbatched, latest: unbatched, batcher },
    } satisfies Pick<EvaluationContext, 'state' | 'intervals' | 'fingerprints' | 'sequences'>,
  };
}

/** mulberry32: a tiny seeded PRNG in [0, 1), for reproducible random tests. */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
