/**
 * The simulator source: realistic business for one institution of the demonstration registry
 * (rules/src/fixtures/hechi.ts), with anomalies injected at a configurable rate.
 *
 * What each institution type produces:
 *   vehicle office / branch   vehicle business (A B D E G K L O …), licence business, violations,
 *                             vehicle checks (查验); channel 'counter'; agents on some business
 *   registration station      vehicle checks + vehicle business (A B D K); agents
 *   dealer                    new-car registration A and temporary plates O, mostly via agents
 *   inspection station        inspections (kind 'inspection', ywlx P, lane, measurements) + checks
 *   driving school / venue    exams, subjects 1–4, run by filed examiners
 *   hospital                  driver medicals by filed doctors
 *   post office               plate/licence replacements and renewals
 * Social institutions use channel 'institution'.
 *
 * Times: normal records are stamped with the simulated business clock (business-clock.ts), so
 * they always fall inside working time; every interval (appliedAt … endedAt) lies inside one
 * working period. `capturedAt` is assigned by the collector from the real clock.
 *
 * Injection. Per generated record, with probability `anomalyRate` the simulator starts one of the
 * anomalies the institution can plausibly produce. Each targets exactly one hub rule, and normal
 * records are built so they trigger none of them:
 *
 *   counter.off_hours             vehicle/licence/violation/check record whose whole interval lies
 *                                 at 21:00–23:59 local (the business day's evening if it is already
 *                                 over, else the evening before). Normal: inside working time.
 *   agent.frequent                the same agent on 6 consecutive vehicle/licence records; only the
 *                                 6th is reported (the rule fires when the count exceeds 5).
 *                                 Normal: a fresh random agent every time.
 *   check.short_duration          check of a small car (hpzl 02/52) lasting 60–170 s.
 *                                 Normal checks last 240–900 s, whatever the plate type.
 *   check.inspector_unfiled       check/inspection by the station's expired inspector
 *                                 `${inst}-I90` or the unknown `${inst}-X99`. Normal: a filed
 *                                 inspector valid at occurredAt.
 *   points.licence_multi_vehicle  one licence taking violations of 3 different vehicles, each owned
 *                                 by someone else; only the 3rd is reported. Normal violations: the
 *                                 subject owns the vehicle.
 * Multi-record anomalies run to completion before anything else is injected, and no record
 * carries two anomalies. Driving schools, exam venues and hospitals produce nothing these five
 * rules look at, so nothing is injected there.
 *
 * With probability `malformedRate` a record is made to fail the hub's validation (missing
 * institutionId, occurredAt as a string, a 16-character VIN, an unknown kind); reported with the
 * rule id '__malformed__'.
 *
 * Determinism: the same seed, stream key and clock give the same records. The collector uses
 * `${collectorId}:${first seq}` as the stream key so a restarted collector (or a sibling with the
 * same seed) does not replay the same agents and licences — which would make the hub's window
 * rules see repeated people.
 */
import crypto from 'node:crypto';
import {
  DEFAULT_CALENDAR,
  DEMO_INSTITUTIONS,
  DEMO_STAFF,
  createWorkCalendar,
  demoStaffOf,
  isFiledAt,
  type InstitutionType,
  type StaffRole,
  type WorkCalendar,
} from '@jianguan/rules';
import { CollectorError } from '../errors.js';
import { createBusinessClock, DAY_MS, HOUR_MS, MINUTE_MS, type BusinessClock } from './business-clock.js';
import { identityNumber, licenceNumber, photoHash, plate, vin } from './identifiers.js';
import { createRng, type Rng } from './rng.js';
import {
  MALFORMED_RULE_ID,
  type InjectableRuleId,
  type RawPerson,
  type RawTransaction,
  type SourceRecord,
} from './types.js';

type Maker = 'vehicle' | 'licence' | 'violation' | 'check' | 'inspection' | 'exam' | 'medical';

interface Profile {
  makers: readonly (readonly [Maker, number])[];
  channel: 'counter' | 'institution';
  /** Whether agents (代办人) act at this institution. */
  agents: boolean;
  /** Share of vehicle/licence business done through a (fresh) agent. */
  agentRate: number;
  vehicleYwlx: readonly (readonly [string, number])[];
  licenceYwlx: readonly (readonly [string, number])[];
}

const OFFICE_VEHICLE_YWLX = [['A', 18], ['B', 24], ['D', 10], ['E', 6], ['F', 2], ['G', 6], ['I', 3], ['K', 16], ['L', 5], ['M', 2], ['O', 6], ['V', 2]] as const;
const OFFICE_LICENCE_YWLX = [['A', 14], ['B', 8], ['C', 18], ['F', 3], ['K', 14], ['S', 20], ['V', 10], ['L', 6], ['T', 3], ['G', 2], ['H', 2]] as const;

const OFFICE: Profile = {
  makers: [['vehicle', 42], ['licence', 28], ['violation', 16], ['check', 14]],
  channel: 'counter',
  agents: true,
  agentRate: 0.25,
  vehicleYwlx: OFFICE_VEHICLE_YWLX,
  licenceYwlx: OFFICE_LICENCE_YWLX,
};

const PROFILES: Readonly<Record<InstitutionType, Profile>> = {
  vehicle_office: OFFICE,
  vehicle_office_branch: OFFICE,
  registration_station: {
    makers: [['check', 55], ['vehicle', 45]],
    channel: 'institution',
    agents: true,
    agentRate: 0.35,
    vehicleYwlx: [['A', 30], ['B', 40], ['D', 12], ['K', 18]],
    licenceYwlx: [],
  },
  dealer: {
    makers: [['vehicle', 1]],
    channel: 'institution',
    agents: true,
    agentRate: 0.8,
    vehicleYwlx: [['A', 70], ['O', 30]],
    licenceYwlx: [],
  },
  inspection_station: {
    makers: [['inspection', 80], ['check', 20]],
    channel: 'institution',
    agents: false,
    agentRate: 0,
    vehicleYwlx: [],
    licenceYwlx: [],
  },
  driving_school: { makers: [['exam', 1]], channel: 'institution', agents: false, agentRate: 0, vehicleYwlx: [], licenceYwlx: [] },
  exam_venue: { makers: [['exam', 1]], channel: 'institution', agents: false, agentRate: 0, vehicleYwlx: [], licenceYwlx: [] },
  hospital: { makers: [['medical', 1]], channel: 'institution', agents: false, agentRate: 0, vehicleYwlx: [], licenceYwlx: [] },
  post_office: {
    makers: [['vehicle', 40], ['licence', 60]],
    channel: 'institution',
    agents: false,
    agentRate: 0,
    vehicleYwlx: [['K', 60], ['L', 40]],
    licenceYwlx: [['C', 50], ['S', 40], ['K', 10]],
  },
};

const HPZL_MIX = [['02', 58], ['52', 14], ['01', 8], ['07', 10], ['15', 3], ['16', 2], ['13', 3], ['51', 2]] as const;
const ZJCX_MIX = [['C1', 58], ['C2', 16], ['B2', 8], ['A2', 4], ['A1', 2], ['D', 7], ['E', 5]] as const;

export interface SimulatorOptions {
  institutionId: string;
  /** Needed only for an institution that is not in the demonstration registry. */
  institutionType?: InstitutionType;
  /** Probability per record of starting an injected anomaly. @defaultValue 0.05 */
  anomalyRate?: number;
  /** Probability per record of a record that fails validation. @defaultValue 0 */
  malformedRate?: number;
  /** PRNG seed; unset = random. */
  seed?: string | number;
  /** Mixed into the seed (the collector passes `${collectorId}:${firstSeq}`). */
  streamKey?: string;
  /** @defaultValue createWorkCalendar(DEFAULT_CALENDAR) — the calendar the hub's rules use. */
  calendar?: WorkCalendar;
  /** Real clock. @defaultValue Date.now */
  now?: () => number;
}

export interface Simulator {
  readonly institutionId: string;
  readonly institutionType: InstitutionType;
  /** The rules this institution's traffic can be made to trigger. */
  readonly injectable: readonly InjectableRuleId[];
  /** The next record (normal, part of an injected anomaly, or malformed). */
  next(): SourceRecord;
}

/**
 * A multi-record anomaly in progress. Its records end at `anchor + k minutes` (k = 0, 1, …), so
 * their occurredAt strictly increase and the hub's sliding windows see the last one last.
 */
type Plan =
  | { type: 'agent'; agent: RawPerson; total: number; remaining: number; anchor: number }
  | { type: 'licence'; holder: RawPerson; licence: string; zjcx: string; total: number; remaining: number; anchor: number };

interface BuildOptions {
  offHours?: boolean;
  /** End the record's interval here (plan records). */
  endAt?: number;
  agent?: RawPerson;
  /** Staff id to use instead of a filed one, given the record's occurredAt. */
  staffOverride?: (at: number) => string;
  shortCheck?: boolean;
  violation?: { holder: RawPerson; licence: string; zjcx: string };
}

export function createSimulator(options: SimulatorOptions): Simulator {
  const inst = DEMO_INSTITUTIONS.find((i) => i.id === options.institutionId);
  const type = options.institutionType ?? inst?.type;
  if (!type) {
    throw new CollectorError(
      'SOURCE_INVALID',
      `institution ${options.institutionId} is not in the demonstration registry; set simulator.institutionType`,
    );
  }
  const institutionId = options.institutionId;
  const profile = PROFILES[type];
  const now = options.now ?? Date.now;
  const clock: BusinessClock = createBusinessClock(options.calendar ?? createWorkCalendar(DEFAULT_CALENDAR));
  const anomalyRate = options.anomalyRate ?? 0.05;
  const malformedRate = options.malformedRate ?? 0;
  const seed = options.seed === undefined ? crypto.randomBytes(16).toString('hex') : String(options.seed);
  const rng: Rng = createRng(`${seed}|${institutionId}|${options.streamKey ?? ''}`);
  const instIndex = Math.max(0, DEMO_INSTITUTIONS.findIndex((i) => i.id === institutionId)) + 1;

  // Only produce checks/inspections where filed inspectors exist.
  const hasInspectors = demoStaffOf(institutionId, 'inspector', now()).length > 0;
  const makers = profile.makers.filter(([m]) => hasInspectors || (m !== 'check' && m !== 'inspection'));
  if (makers.length === 0) throw new CollectorError('SOURCE_INVALID', `institution ${institutionId} has nothing to simulate`);
  const produces = (m: Maker): boolean => makers.some(([k]) => k === m);
  const makersOf = (kinds: readonly Maker[]) => makers.filter(([m]) => kinds.includes(m));

  const injectable: InjectableRuleId[] = [];
  if (makersOf(['vehicle', 'licence', 'violation', 'check']).length > 0) injectable.push('counter.off_hours');
  if (profile.agents && makersOf(['vehicle', 'licence']).length > 0) injectable.push('agent.frequent');
  if (produces('check')) injectable.push('check.short_duration');
  if (produces('check') || produces('inspection')) injectable.push('check.inspector_unfiled');
  if (produces('violation')) injectable.push('points.licence_multi_vehicle');

  let plan: Plan | undefined;

  // ---- small helpers ------------------------------------------------------------------------

  const yearOf = (t: number): number => new Date(t + clock.calendar.config.utcOffsetMinutes * MINUTE_MS).getUTCFullYear();
  const person = (t: number, minAge = 18, maxAge = 70): RawPerson => ({ idNumber: identityNumber(rng, yearOf(t), minAge, maxAge) });
  const staffOf = (role: StaffRole, at: number): string | undefined => {
    const pool = demoStaffOf(institutionId, role, at);
    return pool.length > 0 ? rng.pick(pool).id : undefined;
  };
  const hex2 = (n: number): string => (n & 0xff).toString(16).toUpperCase().padStart(2, '0');
  const terminal = (prefix: string, n: number) => ({
    counter: `${prefix}${String(n).padStart(2, '0')}`,
    deviceId: `${institutionId}-T${String(n).padStart(2, '0')}`,
    ip: `10.45.${instIndex}.${10 + n}`,
    mac: `3C:97:0E:${hex2(instIndex)}:${hex2(n)}:${hex2(instIndex * 7 + n)}`,
  });
  const lsh = (t: number): string => {
    const d = new Date(t + clock.calendar.config.utcOffsetMinutes * MINUTE_MS).toISOString();
    return `1${d.slice(2, 4)}${d.slice(5, 7)}${d.slice(8, 10)}${rng.chars('0123456789', 7)}`;
  };
  const vehicleOf = (t: number, hpzl: string, owner: RawPerson, isNew = false) => ({
    hpzl,
    hphm: plate(rng, hpzl),
    vin: vin(rng, isNew ? yearOf(t) : yearOf(t) - rng.int(0, 12)),
    ownerIdNumber: owner.idNumber,
  });

  /** [start, end] of an interval of `durationMs`: in working time, or in an evening off-hours. */
  const interval = (durationMs: number, o: BuildOptions): [number, number] | undefined => {
    const realNow = now();
    const business = o.endAt ?? clock.businessNow(realNow);
    if (!o.offHours) return clock.placeInPeriod(business, durationMs);
    // Evening of the business day if it is already over, else the evening before.
    let day = clock.localMidnight(business);
    if (day + DAY_MS - MINUTE_MS > realNow) day -= DAY_MS;
    const cal = clock.calendar;
    for (const [fromH, toH] of [[21, 24], [2, 5]] as const) {
      const lo = day + fromH * HOUR_MS + durationMs;
      const hi = day + toH * HOUR_MS - MINUTE_MS;
      if (hi <= lo) continue;
      const end = rng.int(lo, hi);
      const start = end - durationMs;
      if (!cal.isWorkingTime(start) && !cal.isWorkingTime(end) && !cal.isWorkingTime(start + durationMs / 2)) return [start, end];
    }
    return undefined;
  };

  const hhmm = (t: number): string => clock.calendar.local(t).hhmm;

  /**
   * Where a plan of `steps` records ends its first record: the business clock, moved (if needed)
   * so that every record's interval — up to 40 minutes long, one minute apart — stays inside the
   * current working period.
   */
  const planAnchor = (steps: number): number => {
    const b = clock.businessNow(now());
    const p = clock.periodAt(b);
    if (!p) return b;
    const lo = p.start + 40 * MINUTE_MS;
    const hi = p.end - (steps + 1) * MINUTE_MS;
    return hi < lo ? b : Math.min(Math.max(b, lo), hi);
  };

  // ---- record builders ----------------------------------------------------------------------

  const base = (kind: RawTransaction['kind'], term: ReturnType<typeof terminal>, staffId: string | undefined, t: number) => ({
    source: 'simulator',
    channel: profile.channel,
    institutionId,
    ...term,
    ...(staffId ? { staffId } : {}),
    lsh: lsh(t),
    kind,
  });

  const vehicle = (o: BuildOptions): RawTransaction | undefined => {
    const ywlx = rng.weighted(profile.vehicleYwlx);
    const hpzl = ywlx === 'O' ? '22' : rng.weighted(HPZL_MIX);
    const wait = rng.int(1, 15) * MINUTE_MS + rng.int(0, 59_000);
    const handle = rng.int(3, 13) * MINUTE_MS + rng.int(0, 59_000);
    const iv = interval(wait + handle, o);
    if (!iv) return undefined;
    const [s, e] = iv;
    const owner = person(e);
    const agent = o.agent ?? (profile.agents && rng.chance(profile.agentRate) ? person(e, 22, 60) : undefined);
    return {
      ...base('vehicle', terminal('W', rng.int(1, 6)), staffOf('clerk', e), e),
      ywlx,
      subject: owner,
      ...(agent ? { agent } : {}),
      vehicle: vehicleOf(e, hpzl, owner, ywlx === 'A' || ywlx === 'O'),
      occurredAt: e,
      appliedAt: s,
      startedAt: s + wait,
      endedAt: e,
      completedAt: e,
      outcome: 'done',
    };
  };

  const licence = (o: BuildOptions): RawTransaction | undefined => {
    const ywlx = rng.weighted(profile.licenceYwlx);
    const wait = rng.int(1, 15) * MINUTE_MS + rng.int(0, 59_000);
    const handle = rng.int(3, 12) * MINUTE_MS + rng.int(0, 59_000);
    const iv = interval(wait + handle, o);
    if (!iv) return undefined;
    const [s, e] = iv;
    const holder = person(e);
    const agent = o.agent ?? (profile.agents && rng.chance(profile.agentRate * 0.6) ? person(e, 22, 60) : undefined);
    return {
      ...base('licence', terminal('W', rng.int(1, 6)), staffOf('clerk', e), e),
      ywlx,
      subject: holder,
      ...(agent ? { agent } : {}),
      licence: { number: licenceNumber(rng), zjcx: rng.weighted(ZJCX_MIX) },
      occurredAt: e,
      appliedAt: s,
      startedAt: s + wait,
      endedAt: e,
      completedAt: e,
      outcome: 'done',
    };
  };

  const violation = (o: BuildOptions): RawTransaction | undefined => {
    const handle = rng.int(2, 8) * MINUTE_MS + rng.int(0, 59_000);
    const iv = interval(handle, o);
    if (!iv) return undefined;
    const [s, e] = iv;
    const holder = o.violation?.holder ?? person(e);
    // Normal: the driver owns the vehicle. Points-for-sale: someone else does.
    const owner = o.violation ? person(e) : holder;
    const points = rng.weighted([[1, 20], [3, 45], [6, 20], [9, 8], [12, 7]] as const);
    return {
      ...base('violation', terminal('W', rng.int(1, 6)), staffOf('clerk', e), e),
      subLsh: `4512${rng.chars('0123456789', 12)}`,
      subject: holder,
      licence: { number: o.violation?.licence ?? licenceNumber(rng), zjcx: o.violation?.zjcx ?? rng.weighted(ZJCX_MIX) },
      vehicle: vehicleOf(e, rng.weighted(HPZL_MIX.filter(([h]) => h !== '15')), owner),
      occurredAt: e,
      startedAt: s,
      endedAt: e,
      completedAt: e,
      outcome: 'done',
      measurements: { points, fine: points * rng.pick([50, 100, 200]) },
    };
  };

  const check = (o: BuildOptions): RawTransaction | undefined => {
    const hpzl = o.shortCheck ? rng.pick(['02', '52']) : rng.weighted(HPZL_MIX);
    const duration = (o.shortCheck ? rng.int(60, 170) : rng.int(240, 900)) * 1000;
    const iv = interval(duration, o);
    if (!iv) return undefined;
    const [s, e] = iv;
    const inspector = o.staffOverride ? o.staffOverride(e) : staffOf('inspector', e);
    if (!inspector) return undefined;
    const owner = person(e);
    const photos = rng.int(2, 4);
    return {
      ...base('check', terminal('C', rng.int(1, 3)), inspector, e),
      ywlx: rng.weighted([['A', 40], ['B', 35], ['D', 10], ['K', 15]] as const),
      subject: owner,
      vehicle: vehicleOf(e, hpzl, owner),
      occurredAt: e,
      startedAt: s,
      endedAt: e,
      outcome: rng.chance(0.96) ? 'pass' : 'fail',
      evidence: Array.from({ length: photos }, () => photoHash(rng)),
    };
  };

  const inspection = (o: BuildOptions): RawTransaction | undefined => {
    const duration = rng.int(900, 2400) * 1000;
    const iv = interval(duration, o);
    if (!iv) return undefined;
    const [s, e] = iv;
    const inspector = o.staffOverride ? o.staffOverride(e) : staffOf('inspector', e);
    if (!inspector) return undefined;
    const owner = person(e);
    const lane = rng.int(1, 3);
    const r1 = (lo: number, hi: number): number => Math.round((lo + rng.next() * (hi - lo)) * 10) / 10;
    const pass = rng.chance(0.92);
    return {
      ...base('inspection', { ...terminal('L', lane), deviceId: `${institutionId}-L${lane}-D0${rng.int(1, 4)}` }, inspector, e),
      ywlx: 'P',
      subject: owner,
      vehicle: vehicleOf(e, rng.weighted(HPZL_MIX), owner),
      occurredAt: e,
      startedAt: s,
      endedAt: e,
      outcome: pass ? 'pass' : 'fail',
      measurements: {
        brakeFrontPct: r1(pass ? 62 : 45, 85),
        brakeRearPct: r1(pass ? 55 : 38, 80),
        parkingBrakePct: r1(pass ? 21 : 12, 35),
        headlampLeftCd: Math.round(r1(15000, 32000)),
        headlampRightCd: Math.round(r1(15000, 32000)),
        sideSlipMPerKm: r1(-4.5, 4.5),
        coPct: r1(0.05, 0.6),
        hcPpm: Math.round(r1(20, 110)),
      },
      evidence: Array.from({ length: rng.int(3, 6) }, () => photoHash(rng)),
    };
  };

  const exam = (): RawTransaction | undefined => {
    const subject = rng.weighted([[1, 30], [2, 28], [3, 25], [4, 17]] as const);
    const minutes = subject === 1 ? rng.int(20, 45) : subject === 4 ? rng.int(15, 30) : rng.int(10, 30);
    const iv = interval(minutes * MINUTE_MS + rng.int(0, 59_000), {});
    if (!iv) return undefined;
    const [s, e] = iv;
    const score = subject === 1 || subject === 4 ? rng.int(70, 100) : rng.weighted([[100, 50], [90, 20], [80, 15], [70, 10], [0, 5]] as const);
    const passMark = subject === 1 || subject === 4 ? 90 : 80;
    return {
      ...base('exam', terminal('R', rng.int(1, 4)), staffOf('examiner', e), e),
      ywlx: String(subject),
      subject: person(e, 18, 55),
      occurredAt: e,
      startedAt: s,
      endedAt: e,
      outcome: score >= passMark ? 'pass' : 'fail',
      measurements: { subject, score },
    };
  };

  const medical = (): RawTransaction | undefined => {
    const iv = interval(rng.int(5, 20) * MINUTE_MS, {});
    if (!iv) return undefined;
    const [s, e] = iv;
    const pass = rng.chance(0.96);
    return {
      ...base('medical', terminal('M', rng.int(1, 3)), staffOf('doctor', e), e),
      ywlx: rng.weighted([['A', 40], ['K', 35], ['C', 25]] as const),
      subject: person(e, 18, 75),
      occurredAt: e,
      startedAt: s,
      endedAt: e,
      outcome: pass ? 'pass' : 'fail',
      measurements: {
        visionLeft: Math.round((pass ? 4.9 + rng.next() * 0.4 : 4.3 + rng.next() * 0.4) * 10) / 10,
        visionRight: Math.round((4.8 + rng.next() * 0.5) * 10) / 10,
        heightCm: rng.int(150, 188),
        hearing: pass ? 1 : rng.int(0, 1),
      },
    };
  };

  const build = (m: Maker, o: BuildOptions = {}): RawTransaction | undefined => {
    switch (m) {
      case 'vehicle':
        return vehicle(o);
      case 'licence':
        return licence(o);
      case 'violation':
        return violation(o);
      case 'check':
        return check(o);
      case 'inspection':
        return inspection(o);
      case 'exam':
        return exam();
      case 'medical':
        return medical();
    }
  };

  const normal = (): RawTransaction => {
    for (let i = 0; i < 8; i++) {
      const r = build(rng.weighted(makers));
      if (r) return r;
    }
    throw new CollectorError('SOURCE_INVALID', `cannot build a record for ${institutionId}`);
  };

  // ---- injection ----------------------------------------------------------------------------

  const fromPlan = (p: Plan): SourceRecord => {
    p.remaining -= 1;
    const last = p.remaining === 0;
    if (last) plan = undefined;
    const endAt = p.anchor + (p.total - p.remaining - 1) * MINUTE_MS;
    let raw: RawTransaction | undefined;
    if (p.type === 'agent') {
      raw = build(rng.weighted(makersOf(['vehicle', 'licence'])), { agent: p.agent, endAt });
    } else {
      raw = violation({ violation: { holder: p.holder, licence: p.licence, zjcx: p.zjcx }, endAt });
    }
    if (!raw) throw new CollectorError('SOURCE_INVALID', `cannot build a ${p.type} plan record for ${institutionId}`);
    if (!last) return { raw };
    return p.type === 'agent'
      ? { raw, injected: { ruleId: 'agent.frequent', detail: 'same agent on 6 consecutive transactions (this is the 6th)' } }
      : { raw, injected: { ruleId: 'points.licence_multi_vehicle', detail: '3rd vehicle not owned by the licence holder' } };
  };

  const inject = (rule: InjectableRuleId): SourceRecord | undefined => {
    switch (rule) {
      case 'counter.off_hours': {
        const raw = build(rng.weighted(makersOf(['vehicle', 'licence', 'violation', 'check'])), { offHours: true });
        return raw && { raw, injected: { ruleId: rule, detail: `occurredAt ${hhmm(raw.occurredAt)} local` } };
      }
      case 'agent.frequent':
        plan = { type: 'agent', agent: person(clock.businessNow(now()), 25, 60), total: 6, remaining: 6, anchor: planAnchor(6) };
        return fromPlan(plan);
      case 'check.short_duration': {
        const raw = check({ shortCheck: true });
        return (
          raw && {
            raw,
            injected: { ruleId: rule, detail: `check of hpzl ${raw.vehicle?.hpzl} took ${Math.round((raw.endedAt! - raw.startedAt!) / 1000)} s` },
          }
        );
      }
      case 'check.inspector_unfiled': {
        let used = '';
        const staffOverride = (at: number): string => {
          const expired = DEMO_STAFF.find((s) => s.id === `${institutionId}-I90`);
          used = expired && !isFiledAt(expired, 'inspector', at) && rng.chance(0.5) ? expired.id : `${institutionId}-X99`;
          return used;
        };
        const raw = build(rng.weighted(makersOf(['check', 'inspection'])), { staffOverride });
        return raw && { raw, injected: { ruleId: rule, detail: `staffId ${used} is not a filed inspector` } };
      }
      case 'points.licence_multi_vehicle': {
        const t = clock.businessNow(now());
        plan = { type: 'licence', holder: person(t), licence: licenceNumber(rng), zjcx: rng.weighted(ZJCX_MIX), total: 3, remaining: 3, anchor: planAnchor(3) };
        return fromPlan(plan);
      }
    }
  };

  const malformed = (): SourceRecord => {
    const raw = normal() as unknown as Record<string, unknown>;
    const variants = ['missing_institution', 'occurred_at_string', 'unknown_kind'];
    const v = raw.vehicle as { vin?: string } | undefined;
    if (v?.vin) variants.push('vin_length');
    const variant = rng.pick(variants);
    switch (variant) {
      case 'missing_institution':
        delete raw.institutionId;
        break;
      case 'occurred_at_string':
        raw.occurredAt = new Date(raw.occurredAt as number).toISOString();
        break;
      case 'unknown_kind':
        raw.kind = 'teleport';
        break;
      case 'vin_length':
        v!.vin = v!.vin!.slice(0, 16);
        break;
    }
    return { raw: raw as unknown as RawTransaction, injected: { ruleId: MALFORMED_RULE_ID, detail: variant } };
  };

  return {
    institutionId,
    institutionType: type,
    injectable,
    next(): SourceRecord {
      if (plan) return fromPlan(plan);
      if (malformedRate > 0 && rng.chance(malformedRate)) return malformed();
      if (injectable.length > 0 && anomalyRate > 0 && rng.chance(anomalyRate)) {
        const rec = inject(rng.pick(injectable));
        if (rec) return rec;
      }
      return { raw: normal() };
    },
  };
}
