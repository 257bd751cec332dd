import { describe, expect, it } from 'vitest';
import {
  DEMO_INSTITUTIONS,
  DEMO_STAFF,
  createEngine,
  createRegistryView,
  filingStatus,
  isFiledAt,
  type Transaction,
} from '../src/index.js';
import { SECOND, context, cst, txn } from './helpers.js';

const engine = createEngine();
const AT = cst('2026-11-26T10:00');

const check = (overrides: Partial<Transaction> = {}): Transaction =>
  txn({
    kind: 'check',
    channel: 'institution',
    institutionId: 'JCJ-JYZ',
    staffId: 'JCJ-JYZ-I01',
    counter: 'L1',
    vehicle: { hpzl: '02', hphm: '桂M12345', vin: 'LSVAU2180N2183456' },
    occurredAt: AT,
    startedAt: AT,
    endedAt: AT + 600 * SECOND,
    ...overrides,
  });

const hitsOf = async (t: Transaction, rule: string, ctx = context()) => (await engine.evaluate(t, ctx)).filter((h) => h.rule.id === rule);

describe('check.short_duration (duration)', () => {
  const R = 'check.short_duration';
  const withSeconds = (s: number, extra: Partial<Transaction> = {}) => check({ startedAt: AT, endedAt: AT + s * SECOND, ...extra });

  it.each([
    [179, true],
    [179.999, true],
    [180, false],
    [181, false],
    [0, true],
  ])('%s s → fires=%s', async (s, fires) => {
    expect(await hitsOf(withSeconds(s), R)).toHaveLength(fires ? 1 : 0);
  });

  it('explains with the observed seconds and the threshold', async () => {
    const [hit] = await hitsOf(withSeconds(95), R);
    expect(hit?.explanation).toBe('查验用时95秒，少于阈值180秒');
    expect(hit?.values).toEqual({ seconds: 95, minSeconds: 180 });
    // Fractions are shown rounded down, never up to the threshold.
    const [edge] = await hitsOf(withSeconds(179.96), R);
    expect(edge?.explanation).toBe('查验用时179.9秒，少于阈值180秒');
  });

  it('applies to small cars (02) and small new-energy cars (52) only', async () => {
    expect(await hitsOf(withSeconds(60, { vehicle: { hpzl: '52', hphm: '桂MD12345' } }), R)).toHaveLength(1);
    expect(await hitsOf(withSeconds(60, { vehicle: { hpzl: '01', hphm: '桂M88888' } }), R)).toHaveLength(0);
    expect(await hitsOf(withSeconds(60, { kind: 'inspection' }), R)).toHaveLength(0);
    expect(await hitsOf(withSeconds(60, { vehicle: undefined }), R)).toHaveLength(0);
  });

  it('skips when a timestamp is missing or the clock went backwards', async () => {
    expect(await hitsOf(check({ endedAt: undefined }), R)).toHaveLength(0);
    expect(await hitsOf(check({ startedAt: undefined }), R)).toHaveLength(0);
    expect(await hitsOf(check({ startedAt: AT, endedAt: AT - 5 * SECOND }), R)).toHaveLength(0);
  });

  it('honours a minSeconds override', async () => {
    const tuned = createEngine(undefined, { params: { [R]: { minSeconds: 120 } } });
    const fires = async (s: number) => (await tuned.evaluate(withSeconds(s), context())).some((h) => h.rule.id === R);
    expect(await fires(119)).toBe(true);
    expect(await fires(120)).toBe(false);
  });
});

describe('check.inspector_unfiled (registry)', () => {
  const R = 'check.inspector_unfiled';

  it('does not fire for a filed, valid inspector (fixtures JCJ-JYZ-I01)', async () => {
    expect(await hitsOf(check(), R)).toHaveLength(0);
    expect(await hitsOf(check({ kind: 'inspection' }), R)).toHaveLength(0);
  });

  it('fires for an inspector whose filing expired, naming the local expiry date', async () => {
    const [hit] = await hitsOf(check({ staffId: 'JCJ-JYZ-I90' }), R);
    expect(hit?.explanation).toBe('查验员莫桂芳（JCJ-JYZ-I90）备案已于2025-06-30过期');
    expect(hit?.values).toMatchObject({ reason: 'expired', staffId: 'JCJ-JYZ-I90', validTo: '2025-06-30' });
    expect(hit?.rule).toMatchObject({ severity: 'high', action: 'hold', family: 'check' });
  });

  it('treats the last local day of the filing as valid and the next day as expired', async () => {
    expect(await hitsOf(check({ staffId: 'JCJ-JYZ-I90', occurredAt: cst('2025-06-30T23:59:59') }), R)).toHaveLength(0);
    expect(await hitsOf(check({ staffId: 'JCJ-JYZ-I90', occurredAt: cst('2025-07-01T00:00:00') }), R)).toHaveLength(1);
  });

  it('distinguishes unknown, missing, wrong role, unapproved and not yet valid', async () => {
    const explain = async (t: Transaction, ctx = context()) => (await hitsOf(t, R, ctx))[0]?.explanation;
    expect(await explain(check({ staffId: 'JCJ-JYZ-I77' }))).toBe('查验员JCJ-JYZ-I77未备案');
    expect(await explain(check({ staffId: undefined }))).toBe('未记录查验员');
    expect(await explain(check({ staffId: '' }))).toBe('未记录查验员');
    expect(await explain(check({ staffId: 'JCJ-JYZ-C01' }))).toBe('陆宁（JCJ-JYZ-C01）备案身份为业务员，未备案为查验员');
    expect(await explain(check({ occurredAt: cst('2023-12-31T12:00') }))).toBe('查验员农永刚（JCJ-JYZ-I01）备案自2024-01-01起生效，业务发生时尚未生效');

    const unapproved = { ...DEMO_STAFF.find((s) => s.id === 'JCJ-JYZ-I02')!, filed: false };
    const registry = createRegistryView(DEMO_INSTITUTIONS, [...DEMO_STAFF.filter((s) => s.id !== unapproved.id), unapproved]);
    expect(await explain(check({ staffId: 'JCJ-JYZ-I02' }), context({ registry }))).toBe('查验员梁红梅（JCJ-JYZ-I02）备案未审核通过');
    // Filed without a name (a register that keeps codes only): the code alone, never an empty name.
    const nameless = createRegistryView(DEMO_INSTITUTIONS, [...DEMO_STAFF.filter((s) => s.id !== unapproved.id), { ...unapproved, name: '' }]);
    expect(await explain(check({ staffId: 'JCJ-JYZ-I02' }), context({ registry: nameless }))).toBe('查验员JCJ-JYZ-I02备案未审核通过');
  });

  it('applies to check and inspection business only', async () => {
    expect(await hitsOf(txn({ kind: 'vehicle', staffId: 'NOBODY' }), R)).toHaveLength(0);
    expect(await hitsOf(check({ kind: 'inspection', staffId: 'NOBODY' }), R)).toHaveLength(1);
  });

  it('is on the blocking path, and the blocking path runs hold rules only', async () => {
    expect(engine.rules.filter((r) => r.action === 'hold').map((r) => r.id)).toContain(R);
    const night = check({ staffId: 'JCJ-JYZ-I90', occurredAt: cst('2026-11-26T22:00'), startedAt: cst('2026-11-26T22:00'), endedAt: cst('2026-11-26T22:01') });
    const blocking = await engine.evaluateBlocking(night, context());
    expect(blocking.map((h) => h.rule.id)).toEqual([R]);
    const all = await engine.evaluate(night, context());
    expect(all.map((h) => h.rule.id)).toEqual(['counter.off_hours', 'check.short_duration', R]);
  });

  it('fires exactly when isFiledAt is false (filingStatus agrees with isFiledAt)', () => {
    const times = [cst('2023-06-01T00:00'), cst('2025-06-30T23:59:59'), cst('2025-07-01T00:00'), AT, cst('2029-01-01T00:00')];
    for (const s of DEMO_STAFF) {
      for (const role of ['clerk', 'inspector', 'examiner', 'doctor'] as const) {
        for (const at of times) {
          expect(filingStatus(s, role, at) === 'ok').toBe(isFiledAt(s, role, at));
          expect(filingStatus({ ...s, filed: false }, role, at) === 'ok').toBe(false);
        }
      }
    }
    expect(filingStatus(undefined, 'inspector', AT)).toBe('not_found');
  });
});
