/**
 * The newer kinds as data: validation with coded errors, parameter overrides, skipping when a
 * state is absent from the context (the current hub), the metadata the hub reads, peer_deviation's
 * assess(), template formats and the small pure helpers.
 */
import { describe, expect, it } from 'vitest';
import {
  DEFAULT_PACK,
  DEMO_INSTITUTIONS,
  DEMO_STAFF,
  createEngine,
  createMemoryRuleState,
  createMemoryWindowState,
  createRegistryView,
  createWorkCalendar,
  fnv1a64,
  measurementFingerprint,
  parseCidr,
  parseIpv4,
  stateKindOf,
  validateDefinitions,
  type EvaluationContext,
  type PeerSample,
  type RuleDefinitionInput,
  type Transaction,
} from '../src/index.js';
import { DAY, SECOND, cst, hashOf, person, thrown, txn } from './helpers.js';

const clone = <T>(v: T): T => JSON.parse(JSON.stringify(v)) as T;
const AT = cst('2026-11-26T10:00');
const MIN = 60 * SECOND;
const registry = createRegistryView(DEMO_INSTITUTIONS, DEMO_STAFF);
const calendar = createWorkCalendar();
const withPatch = (id: string, patch: (d: Record<string, unknown>) => void): unknown[] =>
  DEFAULT_PACK.map((d) => {
    const c = clone(d) as unknown as Record<string, unknown>;
    if (c.id === id) patch(c);
    return c;
  });
const codeOf = (defs: unknown[]) => thrown(() => createEngine(defs)).code;
const paramsCode = (params: Record<string, Record<string, unknown>>) => thrown(() => createEngine(undefined, { params })).code;

describe('validation of the newer kinds (coded errors)', () => {
  it.each([
    ['field_predicate: a param used but not declared', 'agent.elderly_applicant', (d: Record<string, unknown>) => (d.params = {})],
    ['field_predicate: a numeric param given as a list', 'agent.elderly_applicant', (d: Record<string, unknown>) => (d.params = { minAge: ['80'] })],
    ['field_predicate: a reason without a template', 'counter.self_dealing', (d: Record<string, unknown>) => (d.explain = { applicant: 'x' })],
    ['field_predicate: a template for no reason', 'counter.refusal', (d: Record<string, unknown>) => ((d.explain as Record<string, string>).other = 'x')],
    ['field_predicate: an invalid CIDR', 'counter.ip_not_whitelisted', (d: Record<string, unknown>) => (d.params = { allowedCidrs: ['10.0.0.0/33'] })],
    ['field_predicate: an unknown measurement', 'exam.identity_mismatch', (d: Record<string, unknown>) => (((d.cases as { test: { left: unknown } }[])[0]!.test.left = { field: 'measurements.faceScore' }))],
    ['predicate: an invalid regular expression', 'vehicle.good_plate_repeat', (d: Record<string, unknown>) => ((d.when as { pattern?: string }[])[2]!.pattern = '(\\d')],
    ['calendar night without its band', 'inspection.night_test', (d: Record<string, unknown>) => (d.params = {})],
    ['calendar working time with a night band', 'counter.off_hours', (d: Record<string, unknown>) => (d.params = { nightStart: '22:00', nightEnd: '06:00' })],
    ['calendar night without the night template', 'inspection.night_test', (d: Record<string, unknown>) => (d.explain = { outside_hours: 'x' })],
    ['window: both units', 'medical.doctor_hourly', (d: Record<string, unknown>) => (d.params = { windowHours: 1, windowDays: 1, threshold: 20 })],
    ['window: a placeholder of the unit not used', 'medical.doctor_hourly', (d: Record<string, unknown>) => (d.explain = { exceeded: '近{windowDays}天' })],
    ['overlap: from = to', 'exam.examiner_two_venues', (d: Record<string, unknown>) => (d.to = 'startedAt')],
    ['overlap: non-positive minimum', 'exam.examiner_two_venues', (d: Record<string, unknown>) => (d.params = { minOverlapSeconds: 0 })],
    ['fingerprint: unknown excluded measurement', 'inspection.identical_measurements', (d: Record<string, unknown>) => ((d.source as { exclude: string[] }).exclude = ['photoAt'])],
    ['fingerprint: unknown source', 'check.photo_reuse', (d: Record<string, unknown>) => (d.source = { from: 'video' })],
    ['sequence: the same event twice', 'vehicle.transfer_after_registration', (d: Record<string, unknown>) => ((d.then as { event: string }).event = 'registered')],
    ['sequence: present mode without its template', 'vehicle.transfer_after_registration', (d: Record<string, unknown>) => (d.explain = { missing: 'x' })],
    ['registry: staff with classField but no class template', 'exam.examiner_unfiled', (d: Record<string, unknown>) => delete (d.explain as Record<string, string>).class_not_permitted],
    ['registry: staff that fires on missing without a template', 'exam.examiner_unfiled', (d: Record<string, unknown>) => (d.ifMissing = 'fire')],
    ['registry: unknown list', 'agent.blacklisted', (d: Record<string, unknown>) => (d.list = 'grey')],
    ['registry: unknown target', 'agent.blacklisted', (d: Record<string, unknown>) => (d.target = 'device')],
    ['peer: a hold action', 'exam.venue_pass_rate', (d: Record<string, unknown>) => (d.action = 'hold')],
    ['peer: pp on a count metric', 'counter.output_outlier', (d: Record<string, unknown>) => (d.params = { periodDays: 30, method: 'pp', pp: 10, direction: 'above', minSamples: 1, minPeers: 3 })],
    ['peer: sigma without k', 'inspection.pass_rate_deviation', (d: Record<string, unknown>) => (d.params = { periodDays: 30, method: 'sigma', direction: 'both', minSamples: 50, minPeers: 3 })],
    ['peer: a transaction field in a template', 'exam.venue_pass_rate', (d: Record<string, unknown>) => ((d.explain as Record<string, string>).above = '{institutionId}')],
    ['peer: direction both without a below template', 'exam.venue_pass_rate', (d: Record<string, unknown>) => delete (d.explain as Record<string, string>).below],
    ['template: unknown format', 'vehicle.temp_plate_registered', (d: Record<string, unknown>) => (d.explain = { followed: '{firstAt|month}' })],
  ])('%s → RULE_DEFINITION_INVALID', (_name, id, patch) => {
    const err = thrown(() => createEngine(withPatch(id, patch)));
    expect(err.code).toBe('RULE_DEFINITION_INVALID');
    expect(err.ruleId).toBe(id);
  });

  it('state key prefixes are unique across every stateful kind', () => {
    const overlapOnAgentPrefix = withPatch('exam.examiner_two_venues', (d) => ((d.key as { prefix: string }).prefix = 'agent'));
    expect(codeOf(overlapOnAgentPrefix)).toBe('RULE_DEFINITION_CONFLICT');
    const seqOnPhotoPrefix = withPatch('vehicle.dereg_restored', (d) => ((d.key as { prefix: string }).prefix = 'check-photos'));
    expect(codeOf(seqOnPhotoPrefix)).toBe('RULE_DEFINITION_CONFLICT');
  });

  it('parameter overrides keep names and types of field_predicate params, and re-check CIDRs and bounds', () => {
    expect(paramsCode({ 'agent.elderly_applicant': { minAge: '75' } })).toBe('RULE_PARAMS_INVALID');
    expect(paramsCode({ 'agent.elderly_applicant': { maxAge: 99 } })).toBe('RULE_PARAMS_INVALID');
    expect(paramsCode({ 'counter.ip_not_whitelisted': { allowedCidrs: ['10.45.0.0'] } })).toBe('RULE_PARAMS_INVALID');
    expect(paramsCode({ 'inspection.night_test': { nightStart: '25:00' } })).toBe('RULE_PARAMS_INVALID');
    expect(paramsCode({ 'inspection.night_test': { nightStart: '06:00' } })).toBe('RULE_PARAMS_INVALID'); // = nightEnd
    expect(paramsCode({ 'medical.doctor_hourly': { windowDays: 1 } })).toBe('RULE_PARAMS_INVALID'); // would set both units
    expect(paramsCode({ 'exam.venue_pass_rate': { method: 'sigma' } })).toBe('RULE_PARAMS_INVALID'); // sigma needs k, not pp
    expect(paramsCode({ 'exam.examiner_two_venues': { minOverlapSeconds: -5 } })).toBe('RULE_PARAMS_INVALID');
    const tuned = createEngine(undefined, { params: { 'agent.elderly_applicant': { minAge: 75 }, 'medical.doctor_hourly': { windowHours: 2 } } });
    expect(tuned.definitions.find((d) => d.id === 'agent.elderly_applicant')?.params).toEqual({ minAge: 75 });
    expect(tuned.definitions.find((d) => d.id === 'medical.doctor_hourly')?.params).toEqual({ windowHours: 2, threshold: 20 });
    expect(tuned.version).not.toBe(createEngine().version);
  });

  it('a half-valid shape is still a coded error, never a crash', () => {
    for (const junk of [{ kind: 'field_predicate' }, { kind: 'sequence', id: 'x.y' }, { kind: 'peer_deviation', id: 'x.y', metric: {} }, { kind: 'registry', target: 'listing' }]) {
      expect(codeOf([junk])).toBe('RULE_DEFINITION_INVALID');
    }
  });

  it('every kind in the pack is accepted as plain JSON data', () => {
    const defs = validateDefinitions(clone(DEFAULT_PACK) as unknown[]);
    expect(new Set(defs.map((d) => d.kind))).toEqual(
      new Set(['calendar', 'window_count', 'distinct_count', 'duration', 'registry', 'field_predicate', 'overlap', 'fingerprint', 'sequence', 'peer_deviation']),
    );
  });
});

describe('metadata and the current hub', () => {
  const engine = createEngine();

  it('tells the hub each rule kind and the state it needs', () => {
    for (const [i, r] of engine.rules.entries()) {
      expect(r.kind).toBe(engine.definitions[i]!.kind);
      expect(r.state).toBe(stateKindOf(engine.definitions[i]!));
    }
    const states = new Set(engine.rules.map((r) => r.state));
    expect(states).toEqual(new Set(['none', 'window', 'interval', 'fingerprint', 'sequence', 'scheduled']));
    expect(engine.peerRules.map((p) => p.meta.id)).toEqual(engine.rules.filter((r) => r.state === 'scheduled').map((r) => r.id));
  });

  it('skips interval, fingerprint and sequence rules when the context lacks their state (no hit, no throw)', async () => {
    const hubContext: EvaluationContext = { registry, calendar, state: createMemoryWindowState() };
    const full = { registry, calendar, ...createMemoryRuleState() };
    const records: Partial<Transaction>[] = [
      // exam.examiner_two_venues (interval)
      { kind: 'exam', channel: 'institution', institutionId: 'HJ-JX', staffId: 'HJ-JX-E01', startedAt: AT, endedAt: AT + 15 * MIN },
      { kind: 'exam', channel: 'institution', institutionId: 'JCJ-JX', staffId: 'HJ-JX-E01', startedAt: AT + 5 * MIN, endedAt: AT + 20 * MIN },
      // check.photo_reuse (fingerprint)
      { kind: 'check', channel: 'institution', institutionId: 'JCJ-JYZ', staffId: 'JCJ-JYZ-I01', vehicle: { hpzl: '01', vin: 'LSVAU2180N2000001' }, evidence: ['h'] },
      { kind: 'check', channel: 'institution', institutionId: 'JCJ-JYZ', staffId: 'JCJ-JYZ-I01', vehicle: { hpzl: '01', vin: 'LSVAU2180N2000002' }, evidence: ['h'] },
      // vehicle.transfer_after_registration (sequence)
      { kind: 'vehicle', ywlx: 'A', vehicle: { hpzl: '02', vin: 'LSVAU2180N2000003' } },
      { kind: 'vehicle', ywlx: 'B', vehicle: { hpzl: '02', vin: 'LSVAU2180N2000003' }, occurredAt: AT + DAY },
    ];
    const inHub: string[] = [];
    const inFull: string[] = [];
    for (const r of records) {
      const t = txn({ occurredAt: AT + 20 * MIN, ...r });
      inHub.push(...(await engine.evaluate(t, hubContext)).map((h) => h.rule.id));
      inFull.push(...(await engine.evaluate(t, full)).map((h) => h.rule.id));
    }
    expect(inHub).toEqual([]);
    expect(inFull).toEqual(['exam.examiner_two_venues', 'check.photo_reuse', 'vehicle.transfer_after_registration']);
  });

  it('gives the same fingerprint hits whether the state claims a record\'s fingerprints together or one by one', async () => {
    const together = { registry, calendar, ...createMemoryRuleState() };
    expect(together.fingerprints.claimMany).toBeTypeOf('function');
    const base = createMemoryRuleState();
    const fp = base.fingerprints;
    const oneByOne: EvaluationContext = { registry, calendar, ...base, fingerprints: { claim: (...a) => fp.claim(...a) } };
    const vins = ['LSVAU2180N2000011', 'LSVAU2180N2000012', 'LSVAU2180N2000013'];
    const photos = ['p1', 'p2', 'p3', 'p4'];
    const a: string[][] = [];
    const b: string[][] = [];
    for (let i = 0; i < 40; i++) {
      const evidence = [photos[i % 4]!, photos[(i * 3 + 1) % 4]!, `own-${i}`];
      const t = txn({ kind: 'check', channel: 'institution', institutionId: 'JCJ-JYZ', staffId: 'JCJ-JYZ-I01', vehicle: { hpzl: '01', vin: vins[i % 3]! }, evidence, occurredAt: AT + i * MIN });
      a.push((await engine.evaluate(t, together)).map((h) => `${h.rule.id}:${JSON.stringify(h.values)}`));
      b.push((await engine.evaluate(t, oneByOne)).map((h) => `${h.rule.id}:${JSON.stringify(h.values)}`));
    }
    expect(a).toEqual(b);
    expect(a.flat().some((h) => h.startsWith('check.photo_reuse:'))).toBe(true);
  });

  it('never runs peer_deviation rules in evaluate()', async () => {
    const onlyPeers = createEngine(DEFAULT_PACK.filter((d) => d.kind === 'peer_deviation'));
    expect(onlyPeers.rules.length).toBeGreaterThan(0);
    const ctx = { registry, calendar, ...createMemoryRuleState() };
    expect(await onlyPeers.evaluate(txn({ kind: 'exam', outcome: 'fail' }), ctx)).toEqual([]);
    expect(await onlyPeers.evaluateBlocking(txn({ kind: 'exam', outcome: 'fail' }), ctx)).toEqual([]);
  });
});

describe('peer_deviation: counting predicates and assess()', () => {
  const engine = createEngine();
  const peer = (id: string) => engine.peerRules.find((p) => p.meta.id === id)!;
  const s = (entity: string, numerator: number, denominator: number, group = 'exam_venue'): PeerSample => ({ entity, group, numerator, denominator });

  it('exposes the entity and the numerator/denominator predicates', () => {
    const p = peer('exam.venue_pass_rate');
    const passed = txn({ kind: 'exam', institutionId: 'HJ-JX', outcome: 'pass' });
    const failed = txn({ kind: 'exam', institutionId: 'HJ-JX', outcome: 'fail' });
    const booking = txn({ kind: 'exam', institutionId: 'HJ-JX' });
    expect(p.periodDays).toBe(30);
    expect(p.entityOf(passed)).toBe('HJ-JX');
    expect([passed, failed, booking].map((t) => p.inDenominator(t))).toEqual([true, true, false]);
    expect([passed, failed, booking].map((t) => p.inNumerator(t))).toEqual([true, false, false]);
    expect(p.inDenominator(txn({ kind: 'check', outcome: 'pass' }))).toBe(false);
    expect(peer('counter.output_outlier').inNumerator(txn({ kind: 'licence' }))).toBe(true);
  });

  it('pp: fires above 15 percentage points from the other venues’ mean, not at 15', () => {
    const p = peer('exam.venue_pass_rate');
    // C's peers: 60, 70, 65, 65 % → mean 65 %. 80 % is +15.0 pp (no), 80.1 % is +15.1 pp (fires).
    const peers = [s('A', 60, 100), s('B', 70, 100), s('D', 65, 100), s('E', 65, 100)];
    expect(p.assess([...peers, s('C', 800, 1000)])).toEqual([]);
    const fired = p.assess([...peers, s('C', 801, 1000)]);
    expect(fired.map((f) => f.entity)).toEqual(['C']);
    expect(fired[0]).toMatchObject({ entity: 'C', group: 'exam_venue', direction: 'above' });
    expect(fired[0]!.explanation).toBe('考场C近30天考试合格率80.1%，同类平均65%，高出15.1个百分点，阈值±15');
    const low = p.assess([...peers, s('C', 499, 1000)]);
    expect(low.map((f) => f.entity)).toEqual(['C']);
    expect(low[0]!.explanation).toBe('考场C近30天考试合格率49.9%，同类平均65%，低15.1个百分点，阈值±15');
  });

  it('sigma: leave-one-out, strict at k; σ = 0 is not judged', () => {
    const p = peer('counter.output_outlier'); // count, k = 3, above, minPeers 3
    const base = [s('a', 10, 0, 'g'), s('b', 12, 0, 'g'), s('c', 10, 0, 'g'), s('d', 12, 0, 'g')]; // mean 11, σ 1 for any 3 of them + …
    // x against a..d: mean 11, σ 1 → 14 is z = 3 (no), 15 is z = 4 (fires).
    expect(p.assess([...base, s('x', 14, 0, 'g')]).map((f) => f.entity)).toEqual([]);
    const [f] = p.assess([...base, s('x', 15, 0, 'g')]);
    expect(f?.entity).toBe('x');
    expect(f?.explanation).toBe('业务员x近30天办件15笔，同类人员平均11笔，偏离4个标准差，阈值3');
    expect(p.assess([s('a', 5, 0, 'g'), s('b', 5, 0, 'g'), s('c', 5, 0, 'g'), s('x', 50, 0, 'g')])).toEqual([]);
  });

  it('names the entity by its filing when given the registry: an institution, a clerk, a code without a filing', () => {
    const registry = createRegistryView(DEMO_INSTITUTIONS, DEMO_STAFF);
    const venue = peer('exam.venue_pass_rate');
    const venues = [s('JCJ-JX', 60, 100), s('YZ-JX', 70, 100), s('X-JX', 65, 100), s('DL-JX', 65, 100), s('HJ-JX', 801, 1000)];
    const named = venue.assess(venues, undefined, registry).find((f) => f.entity === 'HJ-JX');
    expect(named?.explanation).toBe(`考场${DEMO_INSTITUTIONS.find((i) => i.id === 'HJ-JX')!.name}（HJ-JX）近30天考试合格率80.1%，同类平均65%，高出15.1个百分点，阈值±15`);
    // Without the registry (or for a code nobody filed) the code alone.
    expect(venue.assess(venues).find((f) => f.entity === 'HJ-JX')?.explanation).toMatch(/^考场HJ-JX近30天/);
    const clerk = DEMO_STAFF.find((x) => x.role === 'clerk' && x.name)!;
    const output = peer('counter.output_outlier');
    const base = [s('a', 10, 0, 'g'), s('b', 12, 0, 'g'), s('c', 10, 0, 'g'), s('d', 12, 0, 'g')];
    expect(output.assess([...base, s(clerk.id, 15, 0, 'g')], undefined, registry)[0]?.explanation).toBe(`业务员${clerk.name}（${clerk.id}）近30天办件15笔，同类人员平均11笔，偏离4个标准差，阈值3`);
    expect(output.assess([...base, s('NOBODY-01', 15, 0, 'g')], undefined, registry)[0]?.explanation).toMatch(/^业务员NOBODY-01近30天/);
  });

  it('respects minSamples, minPeers, groups and direction', () => {
    const p = peer('exam.venue_pass_rate'); // minSamples 50, minPeers 2, both
    expect(p.assess([s('A', 30, 49), s('B', 70, 100), s('C', 900, 1000)])).toEqual([]); // A too small: C has 1 peer
    expect(p.assess([s('A', 60, 100, 'x'), s('B', 70, 100, 'y'), s('C', 900, 1000, 'x')])).toEqual([]); // B in another group
    const above = peer('check.review_rejection_outlier'); // direction above only
    const group = [s('a', 3, 100, 'r'), s('b', 5, 100, 'r'), s('c', 4, 100, 'r')];
    expect(above.assess([...group, s('low', 0, 100, 'r')])).toEqual([]);
    expect(above.assess([...group, s('high', 40, 100, 'r')]).map((f) => f.entity)).toEqual(['high']);
  });
});

describe('field_predicate and calendar details', () => {
  const engine = createEngine();
  const ctx = () => ({ registry, calendar, ...createMemoryRuleState() });
  const ids = async (t: Transaction) => (await engine.evaluate(t, ctx())).map((h) => h.rule.id);

  it('derives the age from the local year of occurredAt', async () => {
    const newYear = (at: number) => txn({ ywlx: 'B', occurredAt: at, subject: { ...person('s'), birthYear: 1946 } });
    // 2026-12-31 23:59 local is still 2026 (UTC is 15:59); 2027-01-01 00:00 local is 2027 though UTC is 2026.
    expect(await ids(newYear(cst('2026-01-05T09:00')))).toContain('agent.elderly_applicant');
    expect(await ids(newYear(cst('2025-12-31T10:00')))).not.toContain('agent.elderly_applicant');
  });

  it('offers every param and the values a case looked at', async () => {
    const [hit] = (await engine.evaluate(txn({ kind: 'exam', institutionId: 'HJ-JX', staffId: 'HJ-JX-E01', measurements: { faceMatchScore: 12 } }), ctx())).filter(
      (h) => h.rule.id === 'exam.identity_mismatch',
    );
    expect(hit?.values).toEqual({ reason: 'mismatch', minScore: 70, 'measurements.faceMatchScore': 12 });
  });

  it('a night band that does not wrap midnight works too', async () => {
    const early = createEngine(DEFAULT_PACK.filter((d) => d.id === 'inspection.night_test'), {
      params: { 'inspection.night_test': { nightStart: '00:00', nightEnd: '05:00' } },
    });
    const at = (hhmm: string) => txn({ kind: 'inspection', occurredAt: cst(`2026-11-26T${hhmm}`) });
    expect((await early.evaluate(at('00:00'), ctx())).length).toBe(1);
    expect((await early.evaluate(at('04:59'), ctx())).length).toBe(1);
    expect((await early.evaluate(at('05:00'), ctx())).length).toBe(0);
    expect((await early.evaluate(at('23:59'), ctx())).length).toBe(0);
  });
});

describe('pure helpers', () => {
  it('parses IPv4 and CIDR', () => {
    expect(parseIpv4('10.45.1.11')).toBe(((10 * 256 + 45) * 256 + 1) * 256 + 11);
    expect(parseIpv4('255.255.255.255')).toBe(0xffffffff);
    for (const bad of ['256.1.1.1', '1.2.3', '::1', '1.2.3.4.5', '']) expect(parseIpv4(bad)).toBeUndefined();
    expect(parseCidr('172.16.0.0/12')).toEqual({ net: 0xac100000, mask: 0xfff00000 });
    expect(parseCidr('0.0.0.0/0')).toEqual({ net: 0, mask: 0 });
    expect(parseCidr('10.1.2.3/8')).toEqual({ net: 0x0a000000, mask: 0xff000000 });
    for (const bad of ['10.0.0.0', '10.0.0.0/33', '10.0.0.0/x']) expect(parseCidr(bad)).toBeUndefined();
  });

  it('fingerprints a measurement vector independently of key order, excluding metadata', () => {
    const a = measurementFingerprint({ x: 1, y: 2.5, z: 3 }, new Set(), 3);
    expect(measurementFingerprint({ z: 3, x: 1, y: 2.5 }, new Set(), 3)).toBe(a);
    expect(measurementFingerprint({ z: 3, x: 1, y: 2.5, t: 99 }, new Set(['t']), 3)).toBe(a);
    expect(measurementFingerprint({ z: 3, x: 1, y: 2.50001 }, new Set(), 3)).not.toBe(a);
    expect(measurementFingerprint({ x: 1, y: 2 }, new Set(), 3)).toBeUndefined();
  });

  it('fingerprints exactly the sorted, joined `name=value` text (random vectors, odd names)', () => {
    // The joined-string definition, written out plainly.
    const plain = (m: Record<string, number>, exclude: ReadonlySet<string>, minValues: number) => {
      const names = Object.keys(m).filter((k) => !exclude.has(k) && Number.isFinite(m[k]));
      return names.length < minValues ? undefined : `m-${fnv1a64(names.sort().map((k) => `${k}=${m[k]}`).join(';'))}`;
    };
    const pool = ['brakeFrontPct', 'coPct', 'b', 'B', 'a1', '10', '2', '速度', 'ß', 'x_y', 'filedMinSeconds', ''];
    let seed = 7;
    const rnd = () => ((seed = (seed * 1103515245 + 12345) % 2147483648) / 2147483648);
    for (let round = 0; round < 500; round++) {
      const m: Record<string, number> = {};
      for (const k of pool) if (rnd() < 0.5) m[k] = rnd() < 0.1 ? Number.NaN : Math.round(rnd() * 1e6) / [1, 10, 100, 3][Math.floor(rnd() * 4)]!;
      const exclude = new Set(rnd() < 0.5 ? ['filedMinSeconds'] : []);
      const minValues = Math.floor(rnd() * 4);
      expect(measurementFingerprint(m, exclude, minValues)).toBe(plain(m, exclude, minValues));
    }
  });

  it('renders date/time formats in the calendar’s local time', async () => {
    const def: RuleDefinitionInput = {
      id: 'x.format', kind: 'field_predicate', name: '格式', family: 'counter', severity: 'low', action: 'warn',
      description: '格式', basis: 'test',
      cases: [{ reason: 'r', test: { op: 'present', field: 'completedAt' } }],
      explain: { r: '{completedAt|date}|{completedAt|time}|{completedAt|datetime}|{appliedAt|date}' },
    };
    const [hit] = await createEngine([def]).evaluate(txn({ completedAt: cst('2026-12-31T23:59'), agent: person('a'), licence: { numberHash: hashOf('l') } }), {
      registry, calendar, state: createMemoryWindowState(),
    });
    expect(hit?.explanation).toBe('2026-12-31|23:59|2026-12-31 23:59|未知');
  });

  it('names staff and institution codes by their filing, and leaves other values as they are', async () => {
    const def: RuleDefinitionInput = {
      id: 'x.names', kind: 'field_predicate', name: '名称', family: 'counter', severity: 'low', action: 'warn',
      description: '名称', basis: 'test',
      cases: [{ reason: 'r', test: { op: 'present', field: 'staffId' } }],
      explain: { r: '{staffId|staff}|{institutionId|institution}|{counter|staff}|{startedAt|staff}|{deviceId|device}' },
    };
    const clerk = DEMO_STAFF.find((x) => x.id === 'JCJ-CGS-C01')!;
    const office = DEMO_INSTITUTIONS.find((i) => i.id === 'JCJ-CGS')!;
    const terminal = { id: 'JCJ-CGS-T01', institutionId: 'JCJ-CGS', kind: 'counter_pc', name: '3号窗口终端', filed: true, validFrom: 0, validTo: null } as const;
    const withDevice = createRegistryView(DEMO_INSTITUTIONS, DEMO_STAFF, [], [terminal]);
    const run = (t: Transaction, reg = withDevice) => createEngine([def]).evaluate(t, { registry: reg, calendar, state: createMemoryWindowState() });
    const [hit] = await run(txn({ staffId: 'JCJ-CGS-C01', institutionId: 'JCJ-CGS', counter: 'W03', startedAt: AT, deviceId: 'JCJ-CGS-T01' }));
    // A counter is no staff code (the code as written); a number is formatted as any value.
    expect(hit?.explanation).toBe(`${clerk.name}（JCJ-CGS-C01）|${office.name}（JCJ-CGS）|W03|${AT}|3号窗口终端（JCJ-CGS-T01）`);
    const [unfiled] = await run(txn({ staffId: 'NOBODY-01', institutionId: 'NOWHERE', counter: 'W03', startedAt: AT, deviceId: 'JCJ-CGS-T09' }));
    expect(unfiled?.explanation).toBe(`NOBODY-01|NOWHERE|W03|${AT}|JCJ-CGS-T09`);
    // A registry without devices (they are optional) leaves device codes as they are.
    const [noDevices] = await run(txn({ staffId: 'JCJ-CGS-C01', institutionId: 'JCJ-CGS', counter: 'W03', startedAt: AT, deviceId: 'JCJ-CGS-T01' }), registry);
    expect(noDevices?.explanation).toMatch(/\|JCJ-CGS-T01$/);
    expect(codeOf([{ ...def, explain: { r: '{staffId|person}' } }])).toBe('RULE_DEFINITION_INVALID');
  });
});
