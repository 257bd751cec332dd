/**
 * The whole pack against the collector's simulator (collector/src/sources/simulator.ts), with
 * every state in memory: normal traffic of every institution type raises NOTHING, and each
 * injected anomaly raises exactly its one rule — the set of (ruleId, transactionId) hits equals
 * the injected set, as the end-to-end test checks through the hub.
 *
 * The simulator's source is loaded by path at run time (no package dependency on the collector,
 * so no cycle: rules ← collector stays one-way). Its `@jianguan/rules` import is aliased to this
 * package's src in vitest.config.ts, so the simulator sees the same pack and fixtures as the test.
 * Types are declared locally (the slice of the simulator's API this test uses), so `tsc` never
 * type-checks collector sources under this package's settings.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import * as rulesViaAlias from '@jianguan/rules';
import {
  DEFAULT_CALENDAR,
  DEMO_INSTITUTIONS,
  DEMO_STAFF,
  TransactionSchema,
  createEngine,
  createMemoryRuleState,
  createRegistryView,
  createWorkCalendar,
  type EvaluationContext,
  type Institution,
  type InstitutionType,
  type RuleHit,
  type Transaction,
} from '../src/index.js';
import * as rulesSrc from '../src/index.js';
import { cst } from './helpers.js';

interface SourceRecord {
  raw: unknown;
  injected?: { ruleId: string; detail?: string };
}
interface SimulatorModule {
  createSimulator(o: {
    institutionId: string;
    institutionType?: InstitutionType;
    anomalyRate?: number;
    malformedRate?: number;
    seed?: string | number;
    streamKey?: string;
    now?: () => number;
  }): { readonly injectable: readonly string[]; next(): SourceRecord };
}
interface PseudonymModule {
  createPseudonymizer(key: string): unknown;
  toTransaction(raw: unknown, meta: { collectorId: string; seq: number; capturedAt: number }, p: unknown): Transaction;
}

const MALFORMED = '__malformed__';
let sim: SimulatorModule;
let pseudo: PseudonymModule;
let pseudonymizer: unknown;

beforeAll(async () => {
  const load = async <T>(rel: string): Promise<T> => {
    const url = new URL(rel, import.meta.url).href;
    try {
      return (await import(/* @vite-ignore */ url)) as T;
    } catch (err) {
      throw new Error(`cannot load the collector's ${rel} (the compatibility check needs it): ${String(err)}`);
    }
  };
  sim = await load<SimulatorModule>('../../collector/src/sources/simulator.ts');
  pseudo = await load<PseudonymModule>('../../collector/src/pseudonym.ts');
  pseudonymizer = pseudo.createPseudonymizer('rules-compat-pseudonym-key-0123456789');
});

/** Institution types missing from the demo registry get a test institution (no staff: the simulator finds none). */
const EXTRA: Institution[] = [
  { id: 'T-KC', name: '测试考场', type: 'exam_venue', county: '451202', lon: 108.05, lat: 24.7, status: 'active' },
  { id: 'T-YZ', name: '测试邮政网点', type: 'post_office', county: '451203', lon: 108.6, lat: 24.5, status: 'active' },
];
const registry = createRegistryView([...DEMO_INSTITUTIONS, ...EXTRA], DEMO_STAFF);
const calendar = createWorkCalendar(DEFAULT_CALENDAR);
const engine = createEngine();

/** One institution per type. */
const BY_TYPE: readonly [InstitutionType, string][] = [
  ['vehicle_office', 'JCJ-CGS'],
  ['vehicle_office_branch', 'YZ-CGFS'],
  ['registration_station', 'BM-DJZ'],
  ['dealer', 'JCJ-4S'],
  ['inspection_station', 'JCJ-JYZ'],
  ['driving_school', 'HJ-JX'],
  ['exam_venue', 'T-KC'],
  ['hospital', 'FS-YY'],
  ['post_office', 'T-YZ'],
];

interface Generated {
  src: SourceRecord;
  txn: Transaction;
}

function generate(institutionId: string, type: InstitutionType, n: number, start: number, stepMs: number, o: { anomalyRate: number; malformedRate?: number; seed: string }): Generated[] {
  let t = start;
  const s = sim.createSimulator({
    institutionId,
    institutionType: type,
    seed: o.seed,
    anomalyRate: o.anomalyRate,
    malformedRate: o.malformedRate ?? 0,
    streamKey: `compat:${institutionId}`,
    now: () => t,
  });
  const out: Generated[] = [];
  for (let seq = 1; seq <= n; seq++) {
    const src = s.next();
    out.push({ src, txn: pseudo.toTransaction(src.raw, { collectorId: `c-${institutionId}`, seq, capturedAt: t }, pseudonymizer) });
    t += stepMs;
  }
  return out;
}

function freshContext(): EvaluationContext & ReturnType<typeof createMemoryRuleState> {
  return { registry, calendar, ...createMemoryRuleState() };
}

const key = (h: RuleHit, txn: Transaction) => `${h.rule.id}|${txn.id}`;

/** Evaluates in order; returns the hit keys per record (undefined for records that fail validation). */
async function evaluateAll(records: readonly Generated[], ctx: EvaluationContext, opts: { blockingFirst?: boolean } = {}): Promise<(string[] | undefined)[]> {
  const out: (string[] | undefined)[] = [];
  for (const r of records) {
    const parsed = TransactionSchema.safeParse(r.txn);
    if (!parsed.success) {
      out.push(undefined);
      continue;
    }
    let blocking: string[] = [];
    if (opts.blockingFirst) blocking = (await engine.evaluateBlocking(parsed.data, ctx)).map((h) => key(h, parsed.data));
    const hits = (await engine.evaluate(parsed.data, ctx)).map((h) => key(h, parsed.data));
    // The hold path then the full run: the hold hits are exactly the full run's hold-rule hits.
    if (opts.blockingFirst) {
      const holdIds = new Set(engine.rules.filter((x) => x.action === 'hold').map((x) => x.id));
      expect(blocking).toEqual(hits.filter((k) => holdIds.has(k.split('|')[0]!)));
    }
    out.push(hits);
  }
  return out;
}

// Clock regimes: a working morning at 1 s per record; a burst at 200 records/s (as the end-to-end
// test drives it); Friday evening into the weekend; a public holiday; a slow month (one record
// every 20 minutes, so day-, week- and month-long windows fill up).
const REGIMES = [
  { name: 'Tuesday 10:00, 1 s per record', start: cst('2026-11-24T10:00'), step: 1_000 },
  { name: 'burst, 5 ms per record', start: cst('2026-11-25T15:30'), step: 5 },
  { name: 'Friday 17:30 into the weekend, 97 s per record', start: cst('2026-11-27T17:30'), step: 97_000 },
  { name: 'National Day holiday, 5 s per record', start: cst('2026-10-01T14:00'), step: 5_000 },
  { name: 'a month, 20 min per record', start: cst('2026-09-01T09:00'), step: 20 * 60_000 },
] as const;

describe('the full pack against the collector simulator (memory state for every kind)', () => {
  it('uses this package, not a stale build, inside the simulator', () => {
    expect(rulesViaAlias.createEngine).toBe(rulesSrc.createEngine);
    expect(engine.rules.length).toBeGreaterThanOrEqual(45);
  });

  it.each(BY_TYPE)('%s (%s): 2,000 normal records raise no rule, and touch the stateful rules', async (type, institutionId) => {
    const records = generate(institutionId, type, 2000, REGIMES[0].start, REGIMES[0].step, { anomalyRate: 0, seed: `normal-${type}` });
    const ctx = freshContext();
    const hits = await evaluateAll(records, ctx);
    expect(records.every((r) => r.src.injected === undefined)).toBe(true);
    expect(hits.filter((h) => h === undefined)).toHaveLength(0);
    const raised = records.flatMap((r, i) => (hits[i] ?? []).map((k) => `${k} (${r.txn.kind}${r.txn.ywlx ? ` ${r.txn.ywlx}` : ''})`));
    expect(raised.slice(0, 10)).toEqual([]);
  });

  it('the normal traffic actually exercised the new state kinds (the silence above is not vacuous)', async () => {
    const ctx = freshContext();
    for (const [type, id] of BY_TYPE) {
      await evaluateAll(generate(id, type, 400, REGIMES[0].start, REGIMES[0].step, { anomalyRate: 0, seed: `touch-${type}` }), ctx);
    }
    expect(ctx.state.keyCount).toBeGreaterThan(0); // VIN-keyed counts (transfers, replacements …)
    expect(ctx.sequences.size).toBeGreaterThan(0); // registrations recorded for later transfers
    expect(ctx.fingerprints.size).toBeGreaterThan(0); // check and inspection photos, measurement vectors
    expect(ctx.intervals.keyCount).toBeGreaterThan(0); // examiners' exam intervals
  });

  it.each(REGIMES.slice(1).map((r) => [r.name, r] as const))('clock regime %s: 600 normal records per type raise nothing', async (_n, regime) => {
    const raised: string[] = [];
    for (const [type, id] of BY_TYPE) {
      const records = generate(id, type, 600, regime.start, regime.step, { anomalyRate: 0, seed: `regime-${regime.start}-${type}` });
      const hits = await evaluateAll(records, freshContext());
      records.forEach((r, i) => {
        for (const k of hits[i] ?? []) raised.push(`${type} ${k} ${calendar.local(r.txn.occurredAt).date} ${calendar.local(r.txn.occurredAt).hhmm}`);
      });
    }
    expect(raised.slice(0, 10)).toEqual([]);
  });

  it.each(REGIMES.map((r) => [r.name, r] as const))(
    'clock regime %s: the set of (rule, transaction) hits equals the injected set; the hold path agrees',
    async (_n, regime) => {
      const injectedSeen = new Set<string>();
      const missed: string[] = [];
      const unexpected: string[] = [];
      for (const [type, id] of BY_TYPE) {
        const records = generate(id, type, 1500, regime.start, regime.step, { anomalyRate: 0.15, malformedRate: 0.01, seed: `inject-${regime.start}-${type}` });
        const hits = await evaluateAll(records, freshContext(), { blockingFirst: true });
        const expected = new Set<string>();
        const raised = new Set<string>();
        records.forEach((r, i) => {
          const inj = r.src.injected;
          if (inj?.ruleId === MALFORMED) {
            expect(hits[i], `${r.txn.id} is malformed but validates`).toBeUndefined();
            return;
          }
          expect(hits[i], `${r.txn.id} fails validation`).toBeDefined();
          if (inj) {
            expected.add(`${inj.ruleId}|${r.txn.id}`);
            injectedSeen.add(inj.ruleId);
          }
          for (const k of hits[i]!) raised.add(k);
        });
        for (const k of expected) if (!raised.has(k)) missed.push(`${type} ${k}`);
        for (const k of raised) if (!expected.has(k)) unexpected.push(`${type} ${k}`);
      }
      expect(missed.slice(0, 10)).toEqual([]);
      expect(unexpected.slice(0, 10)).toEqual([]);
      expect(injectedSeen.size).toBeGreaterThanOrEqual(4);
    },
  );

  it('every injection kind the simulator offers was exercised, and only rules of the pack are injected', async () => {
    const offered = new Set<string>();
    const injected = new Set<string>();
    for (const [type, id] of BY_TYPE) {
      const s = sim.createSimulator({ institutionId: id, institutionType: type, seed: 'offer', now: () => REGIMES[0].start });
      s.injectable.forEach((r) => offered.add(r));
      for (const r of generate(id, type, 1500, REGIMES[0].start, 1000, { anomalyRate: 0.3, seed: `offer-${type}` })) {
        if (r.src.injected) injected.add(r.src.injected.ruleId);
      }
    }
    const ids = new Set(engine.rules.map((r) => r.id));
    expect([...offered].filter((r) => !ids.has(r))).toEqual([]);
    expect([...injected].sort()).toEqual([...offered].sort());
  });

  it('re-delivering the whole stream changes no result (every state kind is idempotent)', async () => {
    for (const [type, id] of BY_TYPE) {
      const records = generate(id, type, 800, REGIMES[0].start, REGIMES[0].step, { anomalyRate: 0.2, seed: `replay-${type}` });
      const ctx = freshContext();
      const first = await evaluateAll(records, ctx);
      const again = await evaluateAll(records, ctx);
      expect(again, type).toEqual(first);
    }
  });
});
