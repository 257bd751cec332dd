/**
 * The simulator against the real contract: every record validates against TransactionSchema, and
 * the real rule engine with the built-in pack raises exactly the injected rule on each injected
 * record and nothing on any other record — at working time, at night, on weekends and holidays,
 * and at the edges of the working day.
 */
import { describe, expect, it } from 'vitest';
import {
  DEFAULT_CALENDAR,
  DEMO_INSTITUTIONS,
  DEMO_STAFF,
  TransactionSchema,
  createEngine,
  createMemoryWindowState,
  createRegistryView,
  createWorkCalendar,
  isFiledAt,
  type Transaction,
} from '@jianguan/rules';
import { createBusinessClock } from '../src/sources/business-clock.js';
import { isValidIdNumber, isValidVin } from '../src/sources/identifiers.js';
import { createSimulator } from '../src/sources/simulator.js';
import { createPseudonymizer, toTransaction } from '../src/pseudonym.js';
import type { SourceRecord } from '../src/sources/types.js';
import { cst, PSEUDONYM_KEY } from './helpers.js';

const calendar = createWorkCalendar(DEFAULT_CALENDAR);
const registry = createRegistryView(DEMO_INSTITUTIONS, DEMO_STAFF);
const engine = createEngine();
const pseudo = createPseudonymizer(PSEUDONYM_KEY);

interface Generated {
  src: SourceRecord;
  txn: Transaction;
}

/** Runs a simulator on a clock that starts at `start` and advances `stepMs` per record. */
function generate(institutionId: string, n: number, start: number, stepMs: number, opts: { seed?: string; anomalyRate?: number; malformedRate?: number; streamKey?: string } = {}): Generated[] {
  let t = start;
  const sim = createSimulator({
    institutionId,
    seed: opts.seed ?? `seed-${institutionId}`,
    anomalyRate: opts.anomalyRate ?? 0.08,
    malformedRate: opts.malformedRate ?? 0.01,
    streamKey: opts.streamKey ?? 'test',
    now: () => t,
  });
  const out: Generated[] = [];
  for (let seq = 1; seq <= n; seq++) {
    const src = sim.next();
    const txn = toTransaction(src.raw, { collectorId: 'c-test', seq, capturedAt: t }, pseudo);
    out.push({ src, txn });
    t += stepMs;
  }
  return out;
}

/** Evaluates records in order with fresh rule state; returns the rule ids hit per record. */
async function evaluate(records: Generated[]): Promise<string[][]> {
  const ctx = { registry, state: createMemoryWindowState(), calendar };
  const hits: string[][] = [];
  for (const r of records) {
    const parsed = TransactionSchema.safeParse(r.txn);
    hits.push(parsed.success ? (await engine.evaluate(parsed.data, ctx)).map((h) => h.rule.id) : ['<invalid>']);
  }
  return hits;
}

// Clock regimes: a normal working morning; Friday evening into the weekend; a public holiday
// (2026-10-01); the first and last minutes of a working day; the 2026-10-10 adjusted working Saturday.
const REGIMES = [
  { name: 'Tuesday 10:00, 1 s per record', start: cst(2026, 11, 24, 10, 0), step: 1_000 },
  { name: 'Friday 17:30 into the weekend, 97 s per record', start: cst(2026, 11, 27, 17, 30), step: 97_000 },
  { name: 'National Day holiday 14:00', start: cst(2026, 10, 1, 14, 0), step: 5_000 },
  { name: 'Monday 07:59:30 (opening)', start: cst(2026, 11, 23, 7, 59, 30), step: 700 },
  { name: 'Wednesday 17:58 (closing)', start: cst(2026, 11, 25, 17, 58), step: 400 },
  { name: 'adjusted working Saturday 2026-10-10 09:00', start: cst(2026, 10, 10, 9, 0), step: 2_000 },
];

describe('simulator: records and the rule pack', () => {
  it.each(DEMO_INSTITUTIONS.map((i) => [i.id, i.type] as const))(
    '%s (%s): 3000 records validate; injected records raise exactly their rule, normal ones none',
    async (institutionId) => {
      const records = generate(institutionId, 3000, REGIMES[0]!.start, 1_000);
      const hits = await evaluate(records);
      const mismatches: string[] = [];
      records.forEach((r, i) => {
        const expected = r.src.injected?.ruleId;
        const got = hits[i]!;
        if (expected === '__malformed__') {
          if (TransactionSchema.safeParse(r.txn).success) mismatches.push(`${r.txn.id}: malformed record validates`);
        } else if (got[0] === '<invalid>') {
          mismatches.push(`${r.txn.id}: ${JSON.stringify(TransactionSchema.safeParse(r.txn).error?.issues)}`);
        } else if (expected ? got.length !== 1 || got[0] !== expected : got.length !== 0) {
          mismatches.push(`${r.txn.id} (${r.txn.kind}): expected [${expected ?? ''}] got [${got.join(',')}]`);
        }
      });
      expect(mismatches.slice(0, 10)).toEqual([]);
    },
  );

  it.each(REGIMES.map((r) => [r.name, r] as const))('clock regime %s: every institution, exact rule hits', async (_name, regime) => {
    const mismatches: string[] = [];
    for (const inst of DEMO_INSTITUTIONS) {
      const records = generate(inst.id, 600, regime.start, regime.step, { seed: `regime-${regime.start}`, anomalyRate: 0.1 });
      const hits = await evaluate(records);
      records.forEach((r, i) => {
        const expected = r.src.injected?.ruleId;
        if (expected === '__malformed__') return;
        const got = hits[i]!;
        if (expected ? got.length !== 1 || got[0] !== expected : got.length !== 0) {
          mismatches.push(`${inst.id} ${r.txn.id} ${calendar.local(r.txn.occurredAt).date} ${calendar.local(r.txn.occurredAt).hhmm}: expected [${expected ?? ''}] got [${got.join(',')}]`);
        }
      });
    }
    expect(mismatches.slice(0, 10)).toEqual([]);
  });

  it('every institution type produces only plausible kinds, channels and anomalies', () => {
    const expectKinds: Record<string, string[]> = {
      vehicle_office: ['vehicle', 'licence', 'violation', 'check'],
      vehicle_office_branch: ['vehicle', 'licence', 'violation', 'check'],
      registration_station: ['check', 'vehicle'],
      dealer: ['vehicle'],
      inspection_station: ['inspection', 'check'],
      driving_school: ['exam'],
      hospital: ['medical'],
    };
    const expectRules: Record<string, string[]> = {
      vehicle_office: ['counter.off_hours', 'agent.frequent', 'check.short_duration', 'check.inspector_unfiled', 'points.licence_multi_vehicle'],
      vehicle_office_branch: ['counter.off_hours', 'agent.frequent', 'check.short_duration', 'check.inspector_unfiled', 'points.licence_multi_vehicle'],
      registration_station: ['counter.off_hours', 'agent.frequent', 'check.short_duration', 'check.inspector_unfiled'],
      dealer: ['counter.off_hours', 'agent.frequent'],
      inspection_station: ['counter.off_hours', 'check.short_duration', 'check.inspector_unfiled'],
      driving_school: [],
      hospital: [],
    };
    for (const inst of DEMO_INSTITUTIONS) {
      const records = generate(inst.id, 1500, REGIMES[0]!.start, 1_000, { anomalyRate: 0.3, malformedRate: 0 });
      const kinds = new Set(records.map((r) => r.txn.kind));
      const rules = new Set(records.map((r) => r.src.injected?.ruleId).filter(Boolean));
      expect([...kinds].sort(), inst.id).toEqual([...expectKinds[inst.type]!].sort());
      expect([...rules].sort(), inst.id).toEqual([...expectRules[inst.type]!].sort());
      const channel = inst.type === 'vehicle_office' || inst.type === 'vehicle_office_branch' ? 'counter' : 'institution';
      expect(records.every((r) => r.txn.channel === channel && r.txn.institutionId === inst.id && r.txn.source === 'simulator')).toBe(true);
      // Agents only where agents act.
      const agents = records.filter((r) => r.txn.agent).length;
      if (['driving_school', 'hospital', 'inspection_station'].includes(inst.type)) expect(agents, inst.id).toBe(0);
      else expect(agents, inst.id).toBeGreaterThan(0);
    }
  });

  it('injected anomalies have the advertised shape; normal records stay clear of every rule', () => {
    const all: Generated[] = [];
    for (const inst of DEMO_INSTITUTIONS) {
      all.push(...generate(inst.id, 2000, REGIMES[1]!.start, 40_000, { anomalyRate: 0.15, malformedRate: 0 }));
    }
    const inWork = (t: number | undefined) => t === undefined || calendar.isWorkingTime(t);
    let shortChecks = 0;
    let offHours = 0;
    let unfiled = 0;
    for (const { src, txn } of all) {
      const rule = src.injected?.ruleId;
      const duration = txn.startedAt !== undefined && txn.endedAt !== undefined ? (txn.endedAt - txn.startedAt) / 1000 : undefined;
      if (rule === 'check.short_duration') {
        shortChecks++;
        expect(txn.kind).toBe('check');
        expect(['02', '52']).toContain(txn.vehicle?.hpzl);
        expect(duration).toBeGreaterThanOrEqual(60);
        expect(duration).toBeLessThanOrEqual(170);
      } else if (txn.kind === 'check') {
        expect(duration).toBeGreaterThanOrEqual(240);
        expect(duration).toBeLessThanOrEqual(900);
      }
      if (rule === 'counter.off_hours') {
        offHours++;
        expect(['vehicle', 'licence', 'violation', 'check']).toContain(txn.kind);
        for (const t of [txn.occurredAt, txn.startedAt, txn.endedAt, txn.appliedAt]) if (t !== undefined) expect(calendar.isWorkingTime(t)).toBe(false);
        const h = Number(calendar.local(txn.occurredAt).hhmm.slice(0, 2));
        expect(h).toBeGreaterThanOrEqual(21);
        expect(txn.occurredAt).toBeLessThanOrEqual(txn.capturedAt); // an evening that is over
      } else {
        expect([txn.occurredAt, txn.appliedAt, txn.startedAt, txn.endedAt, txn.completedAt].every(inWork)).toBe(true);
      }
      if (txn.kind === 'check' || txn.kind === 'inspection') {
        const filed = isFiledAt(registry.staff(txn.staffId ?? ''), 'inspector', txn.occurredAt);
        if (rule === 'check.inspector_unfiled') {
          unfiled++;
          expect(filed).toBe(false);
          expect(txn.staffId).toMatch(new RegExp(`^${txn.institutionId}-(I90|X99)$`));
        } else {
          expect(filed).toBe(true);
        }
      }
      if (txn.agent) expect(['vehicle', 'licence']).toContain(txn.kind);
    }
    expect(shortChecks).toBeGreaterThan(10);
    expect(offHours).toBeGreaterThan(10);
    expect(unfiled).toBeGreaterThan(10);
    const unfiledIds = new Set(all.filter((g) => g.src.injected?.ruleId === 'check.inspector_unfiled').map((g) => g.txn.staffId!.slice(-3)));
    expect([...unfiledIds].sort()).toEqual(['I90', 'X99']);
  });

  it('agent bursts: 6 consecutive records share one agent, only the 6th is reported; other agents are fresh', () => {
    const records = generate('JCJ-CGS', 5000, REGIMES[0]!.start, 1_000, { anomalyRate: 0.1, malformedRate: 0 });
    const agentUse = new Map<string, number[]>();
    records.forEach((r, i) => {
      if (r.txn.agent) agentUse.set(r.txn.agent.idHash, [...(agentUse.get(r.txn.agent.idHash) ?? []), i]);
    });
    const bursts = records.flatMap((r, i) => (r.src.injected?.ruleId === 'agent.frequent' ? [i] : []));
    expect(bursts.length).toBeGreaterThan(5);
    for (const i of bursts) {
      const agent = records[i]!.txn.agent!.idHash;
      expect(agentUse.get(agent)).toEqual([i - 5, i - 4, i - 3, i - 2, i - 1, i]);
      for (let k = i - 5; k < i; k++) expect(records[k]!.src.injected).toBeUndefined();
      const times = [i - 5, i - 4, i - 3, i - 2, i - 1, i].map((k) => records[k]!.txn.occurredAt);
      expect([...times].sort((a, b) => a - b)).toEqual(times);
      expect(new Set(times).size).toBe(6);
    }
    // Every agent outside a burst appears exactly once.
    const burstAgents = new Set(bursts.map((i) => records[i]!.txn.agent!.idHash));
    for (const [agent, uses] of agentUse) if (!burstAgents.has(agent)) expect(uses).toHaveLength(1);
  });

  it('points-for-sale: one licence, three vehicles owned by others; normal violations are by the owner', () => {
    const records = generate('YZ-CGFS', 5000, REGIMES[0]!.start, 1_000, { anomalyRate: 0.1, malformedRate: 0 });
    const thirds = records.flatMap((r, i) => (r.src.injected?.ruleId === 'points.licence_multi_vehicle' ? [i] : []));
    expect(thirds.length).toBeGreaterThan(5);
    const inRun = new Set<number>();
    for (const i of thirds) {
      const run = [i - 2, i - 1, i].map((k) => records[k]!.txn);
      for (const t of run) {
        expect(t.kind).toBe('violation');
        expect(t.licence?.numberHash).toBe(run[0]!.licence?.numberHash);
        expect(t.subject?.idHash).toBe(run[0]!.subject?.idHash);
        expect(t.vehicle?.ownerIdHash).not.toBe(t.subject?.idHash);
      }
      expect(new Set(run.map((t) => t.vehicle?.vin)).size).toBe(3);
      expect(new Set(run.map((t) => t.vehicle?.ownerIdHash)).size).toBe(3);
      [i - 2, i - 1, i].forEach((k) => inRun.add(k));
    }
    records.forEach((r, i) => {
      if (r.txn.kind === 'violation' && !inRun.has(i)) expect(r.txn.vehicle?.ownerIdHash).toBe(r.txn.subject?.idHash);
    });
  });

  it('identifiers look real, are pseudonymised, and raw identity numbers never leave the collector', () => {
    const records = generate('BM-DJZ', 2000, REGIMES[0]!.start, 1_000, { malformedRate: 0 });
    const rawIds = new Set<string>();
    for (const { src, txn } of records) {
      for (const p of [src.raw.subject, src.raw.agent]) if (p) rawIds.add(p.idNumber);
      if (src.raw.vehicle?.ownerIdNumber) rawIds.add(src.raw.vehicle.ownerIdNumber);
      if (src.raw.subject) {
        expect(isValidIdNumber(src.raw.subject.idNumber)).toBe(true);
        expect(txn.subject?.idHash).toMatch(/^[0-9a-f]{64}$/);
        expect(txn.subject?.masked).toBe(`${src.raw.subject.idNumber.slice(0, 2)}**************${src.raw.subject.idNumber.slice(-2)}`);
      }
      if (txn.vehicle?.vin) expect(isValidVin(txn.vehicle.vin)).toBe(true);
      if (txn.vehicle?.hphm) expect(txn.vehicle.hphm).toMatch(/^桂M[0-9A-Z]{4,6}[挂学]?$/);
      expect(txn.id).toBe(`c-test:${txn.seq}`);
    }
    const wire = JSON.stringify(records.map((r) => r.txn));
    const leaked = [...rawIds].filter((id) => wire.includes(id));
    expect(rawIds.size).toBeGreaterThan(1000);
    expect(leaked).toEqual([]);
    expect(wire).not.toMatch(/idNumber|ownerIdNumber/);
  });

  it('is deterministic for a seed and stream key, and differs across stream keys', () => {
    const a = generate('JCJ-JYZ', 500, REGIMES[0]!.start, 1_000, { seed: 's1', streamKey: 'c:1' }).map((g) => g.txn);
    const b = generate('JCJ-JYZ', 500, REGIMES[0]!.start, 1_000, { seed: 's1', streamKey: 'c:1' }).map((g) => g.txn);
    const c = generate('JCJ-JYZ', 500, REGIMES[0]!.start, 1_000, { seed: 's1', streamKey: 'c:501' }).map((g) => g.txn);
    expect(b).toEqual(a);
    expect(JSON.stringify(c)).not.toBe(JSON.stringify(a));
  });

  it('anomaly and malformed rates are honoured', () => {
    const records = generate('JCJ-CGS', 10_000, REGIMES[0]!.start, 1_000, { anomalyRate: 0.05, malformedRate: 0.02 });
    const injected = records.filter((r) => r.src.injected && r.src.injected.ruleId !== '__malformed__').length;
    const malformed = records.filter((r) => r.src.injected?.ruleId === '__malformed__').length;
    // Multi-record anomalies use up 2–5 extra records each, so the share is a little below 5 %.
    expect(injected).toBeGreaterThan(300);
    expect(injected).toBeLessThan(600);
    expect(malformed).toBeGreaterThan(120);
    expect(malformed).toBeLessThan(290);
    const none = generate('JCJ-CGS', 2000, REGIMES[0]!.start, 1_000, { anomalyRate: 0, malformedRate: 0 });
    expect(none.some((r) => r.src.injected)).toBe(false);
  });

  it('malformed records fail validation but keep id, collectorId and seq', () => {
    const records = generate('ND-CGFS', 3000, REGIMES[0]!.start, 1_000, { anomalyRate: 0, malformedRate: 0.2 });
    const bad = records.filter((r) => r.src.injected?.ruleId === '__malformed__');
    expect(new Set(bad.map((r) => r.src.injected?.detail))).toEqual(new Set(['missing_institution', 'occurred_at_string', 'unknown_kind', 'vin_length']));
    for (const r of bad) {
      expect(TransactionSchema.safeParse(r.txn).success).toBe(false);
      expect(r.txn.id).toBe(`c-test:${r.txn.seq}`);
      expect(r.txn.collectorId).toBe('c-test');
    }
  });

  it('an institution outside the demo registry needs a type', () => {
    expect(() => createSimulator({ institutionId: 'NOPE' })).toThrowError(expect.objectContaining({ code: 'SOURCE_INVALID' }));
    const sim = createSimulator({ institutionId: 'NOPE', institutionType: 'post_office', seed: 1 });
    const txn = toTransaction(sim.next().raw, { collectorId: 'c', seq: 1, capturedAt: Date.now() }, pseudo);
    expect(TransactionSchema.safeParse(txn).success).toBe(true);
  });
});

describe('business clock', () => {
  const clock = createBusinessClock(calendar);

  it('is the real clock during working time', () => {
    const t = cst(2026, 11, 24, 10, 15, 7);
    expect(clock.businessNow(t)).toBe(t);
  });

  it('replays the last working day at night, on weekends and on holidays, advancing 1:1 and wrapping', () => {
    // Friday 2026-11-27 18:00 is the anchor for the whole weekend.
    const sat3am = cst(2026, 11, 28, 3, 0);
    const b = clock.businessNow(sat3am);
    expect(calendar.isWorkingTime(b)).toBe(true);
    expect(calendar.local(b).date).toBe('2026-11-27');
    // 9 h after the anchor → 09:00 into the 10-hour day → 17:00.
    expect(calendar.local(b).hhmm).toBe('17:00');
    expect(clock.businessNow(sat3am + 60_000) - b).toBe(60_000);
    // One more hour wraps to the opening: 08:00 of the same day.
    expect(calendar.local(clock.businessNow(sat3am + 3_600_000)).hhmm).toBe('08:00');
    // National Day: the last working day before 2026-10-01 is Wednesday 09-30.
    const hol = clock.businessNow(cst(2026, 10, 3, 12, 0));
    expect(calendar.local(hol).date).toBe('2026-09-30');
    expect(calendar.isWorkingTime(hol)).toBe(true);
    // Before opening on a working day: yesterday.
    expect(calendar.local(clock.businessNow(cst(2026, 11, 24, 7, 0))).date).toBe('2026-11-23');
  });

  it('is always inside working time, minute by minute over a fortnight', () => {
    const start = cst(2026, 9, 24, 0, 0);
    for (let t = start; t < start + 14 * 86_400_000; t += 7 * 60_000) {
      expect(calendar.isWorkingTime(clock.businessNow(t))).toBe(true);
    }
  });
});
