/**
 * Golden fixtures for every real-time rule of the pack, table-driven. Each scenario evaluates its
 * records in order on a fresh context (every state in memory) and checks the LAST record: the
 * exact set of rules it raises (the rule under test, plus any rule that legitimately co-fires),
 * and the explanation text. Every rule has a scenario at its threshold edge that fires and one a
 * step below that does not; stateful rules also one exactly at the window edge (expired) and one
 * a millisecond inside. Earlier records of a scenario must not raise the rule under test.
 */
import { describe, expect, it } from 'vitest';
import {
  DEFAULT_PACK,
  DEMO_INSTITUTIONS,
  DEMO_STAFF,
  createEngine,
  createMemoryRuleState,
  createRegistryView,
  createWorkCalendar,
  isSamplingRule,
  type CompiledRuleEngine,
  type Device,
  type Listing,
  type RegistryView,
  type Transaction,
} from '../src/index.js';
import { DAY, SECOND, batchedMemoryStates, cst, hashOf, person, txn } from './helpers.js';

const MIN = 60 * SECOND;
const HOUR = 60 * MIN;
const AT = cst('2026-11-26T10:00'); // a Thursday, working time; +90 d, +365 d are weekdays too
const MON = cst('2026-11-02T10:00'); // a Monday; +30 d is a Wednesday
const TUE = cst('2026-11-24T10:00'); // a Tuesday; +730 d is a Thursday
const EIGHT = cst('2026-11-26T08:00');
const vin = (n: number) => `LSVAU2180N2${String(n).padStart(6, '0')}`;
const owner = person('owner', '4512**********0011');
type T = Partial<Transaction>;

// ---- clean base records (raise nothing on their own) ----------------------------------------
const veh = (o: T = {}): T => ({
  kind: 'vehicle', channel: 'counter', institutionId: 'JCJ-CGS', staffId: 'JCJ-CGS-C01', ip: '10.45.1.11', counter: 'W03',
  ywlx: 'A', subject: owner, vehicle: { hpzl: '02', hphm: '桂M12345', vin: vin(1), ownerIdHash: owner.idHash }, occurredAt: AT, ...o,
});
const queue = (o: T = {}): T => ({
  kind: 'queue', channel: 'counter', institutionId: 'JCJ-CGS', staffId: 'JCJ-CGS-C01', counter: 'W03', deviceId: 'JCJ-CGS-T03',
  ip: '10.45.1.13', occurredAt: AT, outcome: 'done', ...o,
});
const chk = (o: T = {}): T => ({
  kind: 'check', channel: 'institution', institutionId: 'JCJ-JYZ', staffId: 'JCJ-JYZ-I01', counter: 'C01', ip: '10.45.5.11',
  vehicle: { hpzl: '02', hphm: '桂M12345', vin: vin(1) }, startedAt: AT - 10 * MIN, endedAt: AT, occurredAt: AT, outcome: 'pass', ...o,
});
const MEAS = { brakeFrontPct: 70.1, brakeRearPct: 61.2, parkingBrakePct: 25.3, headlampLeftCd: 21000, headlampRightCd: 22000 };
/** One axle's left and right brake force: the whole vector some results carry. */
const AXLE = { brakeLeftAxle1: 312.5, brakeRightAxle1: 308.1 } as never as Record<string, number>;
const insp = (o: T = {}): T => ({
  kind: 'inspection', channel: 'institution', institutionId: 'JCJ-JYZ', staffId: 'JCJ-JYZ-I01', counter: 'L1', deviceId: 'JCJ-JYZ-L1-D01',
  ip: '10.45.5.21', ywlx: 'P', vehicle: { hpzl: '02', hphm: '桂M12345', vin: vin(1) }, startedAt: AT - 20 * MIN, endedAt: AT, occurredAt: AT,
  outcome: 'pass', measurements: { ...MEAS }, ...o,
});
const exam = (o: T = {}): T => ({
  kind: 'exam', channel: 'institution', institutionId: 'HJ-JX', staffId: 'HJ-JX-E01', counter: 'R1', ip: '10.45.8.11', ywlx: '2',
  subject: person('candidate', '4512**********0022'), startedAt: AT - 15 * MIN, endedAt: AT, occurredAt: AT, outcome: 'pass', ...o,
});
const viol = (o: T = {}): T => ({
  kind: 'violation', channel: 'counter', institutionId: 'JCJ-CGS', staffId: 'JCJ-CGS-C01', ip: '10.45.1.12', subject: owner,
  licence: { numberHash: hashOf('lic-1') }, vehicle: { hpzl: '02', hphm: '桂M12345', vin: vin(1), ownerIdHash: owner.idHash }, occurredAt: AT, ...o,
});
const lic = (o: T = {}): T => ({
  kind: 'licence', channel: 'counter', institutionId: 'JCJ-CGS', staffId: 'JCJ-CGS-C01', ip: '10.45.1.11', ywlx: 'C', subject: owner,
  licence: { numberHash: hashOf('lic-1'), zjcx: 'C1' }, occurredAt: AT, ...o,
});
const med = (o: T = {}): T => ({
  kind: 'medical', channel: 'institution', institutionId: 'FS-YY', staffId: 'FS-YY-D01', counter: 'M1', ip: '10.45.15.11', ywlx: 'A',
  subject: person('patient'), startedAt: AT - 10 * MIN, endedAt: AT, occurredAt: AT, outcome: 'pass', ...o,
});
/** The demonstration register with one institution under closer checks (加强抽查). */
const closer = (id: string) => createRegistryView(DEMO_INSTITUTIONS.map((i) => (i.id === id ? { ...i, closerChecks: true } : i)), DEMO_STAFF);
const ALL = { 'counter.spot_check': { samplePercent: 100 } };
/** The demonstration register with one institution suspended (暂停). */
const suspend = (id: string) => createRegistryView(DEMO_INSTITUTIONS.map((i) => (i.id === id ? { ...i, status: 'suspended' as const } : i)), DEMO_STAFF);
const online = (o: T = {}): T => ({
  kind: 'online', channel: 'internet', institutionId: 'JCJ-CGS', deviceId: 'dev-1', ip: '203.0.113.5', subject: person('acc-0'), occurredAt: AT, ...o,
});

/** n copies of a record, one step apart. */
const times = (n: number, make: (i: number) => T): T[] => Array.from({ length: n }, (_, i) => make(i));

/** The demo registry with one staff member's filed identity hash. */
function withStaffHash(staffId: string, idHash: string): RegistryView {
  return createRegistryView(DEMO_INSTITUTIONS, DEMO_STAFF.map((s) => (s.id === staffId ? { ...s, idHash } : s)));
}

/** The demo registry with devices filed for two stations. */
function withDevices(o: Partial<Device> = {}): RegistryView {
  const devices: Device[] = [
    { id: 'JCJ-JYZ-L1-D01', institutionId: 'JCJ-JYZ', kind: 'inspection_instrument', name: '制动台', lineId: 'L1', filed: true, validFrom: 0, validTo: null, ...o },
    { id: 'YZ-JYZ-L1-D01', institutionId: 'YZ-JYZ', kind: 'inspection_instrument', name: '制动台', lineId: 'L1', filed: true, validFrom: 0, validTo: null },
  ];
  return createRegistryView(DEMO_INSTITUTIONS, DEMO_STAFF, [], devices);
}

interface Scenario {
  name: string;
  records: T[];
  /** Rules the last record raises (empty: none). */
  fires: string[];
  /** Exact explanation of the rule under test on the last record. */
  text?: string;
  registry?: RegistryView;
  params?: Record<string, Record<string, unknown>>;
}
interface Golden {
  rule: string;
  scenarios: Scenario[];
}

const listings = (...ls: Partial<Listing>[]): RegistryView =>
  createRegistryView(DEMO_INSTITUTIONS, DEMO_STAFF, ls.map((l) => ({ scope: 'any', note: '', ...l }) as Listing));

const GOLDEN: Golden[] = [
  // ---------------------------------------------------------------- counter
  {
    rule: 'counter.off_hours',
    scenarios: [
      { name: 'period end 18:00 is outside', records: [veh({ occurredAt: cst('2026-11-26T18:00') })], fires: ['counter.off_hours'], text: '业务办理时间2026-11-26 18:00（星期四），不在工作时间08:00–18:00内' },
      { name: '17:59:59.999 is inside', records: [veh({ occurredAt: cst('2026-11-26T18:00') - 1 })], fires: [] },
    ],
  },
  {
    rule: 'counter.long_wait',
    scenarios: [
      { name: '3600 s wait', records: [queue({ appliedAt: AT - 3600 * SECOND, startedAt: AT })], fires: ['counter.long_wait'], text: '窗口W03取号至叫号等候3600秒，达到阈值3600秒' },
      { name: '3599 s wait', records: [queue({ appliedAt: AT - 3599 * SECOND, startedAt: AT })], fires: [] },
      { name: 'platform business carrying queue times', records: [veh({ appliedAt: AT - 3700 * SECOND, startedAt: AT - 100 * SECOND, completedAt: AT })], fires: ['counter.long_wait'] },
    ],
  },
  {
    rule: 'counter.long_handling',
    scenarios: [
      { name: '900 s handling', records: [queue({ startedAt: AT - 900 * SECOND, completedAt: AT })], fires: ['counter.long_handling'], text: '窗口W03叫号至办结用时900秒，达到阈值900秒' },
      { name: '899 s handling', records: [queue({ startedAt: AT - 899 * SECOND, completedAt: AT })], fires: [] },
    ],
  },
  {
    rule: 'counter.refusal',
    scenarios: [
      { name: 'refused', records: [veh({ outcome: 'refused', lsh: '1261126000001' })], fires: ['counter.refusal'], text: '业务员谭丽娟（JCJ-CGS-C01）在窗口W03退办业务（流水号1261126000001），须核查退办理由' },
      { name: 'done', records: [veh({ outcome: 'done' })], fires: [] },
    ],
  },
  {
    rule: 'counter.refusals_daily',
    scenarios: [
      { name: '11th refusal of the day', records: times(11, (i) => queue({ outcome: 'refused', occurredAt: AT + i * MIN })), fires: ['counter.refusal', 'counter.refusals_daily'], text: '业务员谭丽娟（JCJ-CGS-C01）当日第11笔退办，阈值10笔' },
      { name: '10th refusal', records: times(10, (i) => queue({ outcome: 'refused', occurredAt: AT + i * MIN })), fires: ['counter.refusal'] },
      { name: '10 at 00:00 and the 11th at 23:59:59.999 the same day', records: [...times(10, () => queue({ outcome: 'refused', occurredAt: cst('2026-11-26T00:00') })), queue({ outcome: 'refused', occurredAt: cst('2026-11-27T00:00') - 1 })], fires: ['counter.refusal', 'counter.refusals_daily'] },
      { name: '11th at 00:00 the next day starts a new day', records: [...times(10, () => queue({ outcome: 'refused', occurredAt: cst('2026-11-26T23:59') })), queue({ outcome: 'refused', occurredAt: cst('2026-11-27T00:00') })], fires: ['counter.refusal'] },
    ],
  },
  {
    rule: 'counter.no_show_daily',
    scenarios: [
      { name: '9th no-show', records: times(9, (i) => queue({ outcome: 'pending', occurredAt: AT + i * MIN })), fires: ['counter.no_show_daily'], text: '业务员谭丽娟（JCJ-CGS-C01）当日第9个过号，阈值8个' },
      { name: '8th no-show', records: times(8, (i) => queue({ outcome: 'pending', occurredAt: AT + i * MIN })), fires: [] },
    ],
  },
  {
    rule: 'counter.no_queue_record',
    scenarios: [
      { name: 'platform business without a ticket', records: [veh({ source: 'veh_flow', lsh: 'L-1' })], fires: ['counter.no_queue_record'], text: '业务流水号L-1在近1天内无对应排队叫号记录，疑似窗口外办理' },
      { name: 'with a ticket', records: [queue({ lsh: 'L-1', occurredAt: AT - HOUR }), veh({ source: 'veh_flow', lsh: 'L-1' })], fires: [] },
      { name: 'ticket exactly 1 day before is out of the window', records: [queue({ lsh: 'L-1', occurredAt: AT - DAY }), veh({ source: 'veh_flow', lsh: 'L-1' })], fires: ['counter.no_queue_record'] },
      { name: 'ticket 1 day − 1 ms before', records: [queue({ lsh: 'L-1', occurredAt: AT - DAY + 1 }), veh({ source: 'veh_flow', lsh: 'L-1' })], fires: [] },
      { name: 'simulator records are not platform records', records: [veh({ source: 'simulator', lsh: 'L-1' })], fires: [] },
    ],
  },
  {
    rule: 'counter.ip_not_whitelisted',
    scenarios: [
      { name: 'public IP', records: [veh({ ip: '202.96.128.86' })], fires: ['counter.ip_not_whitelisted'], text: '业务终端IP 202.96.128.86 不在白名单网段（10.0.0.0/8、172.16.0.0/12、192.168.0.0/16）内' },
      { name: 'last address of 172.16/12', records: [veh({ ip: '172.31.255.255' })], fires: [] },
      { name: 'first address after 172.16/12', records: [veh({ ip: '172.32.0.0' })], fires: ['counter.ip_not_whitelisted'] },
      { name: 'IPv6 is not judged', records: [veh({ ip: '2001:db8::1' })], fires: [] },
      { name: 'configured whitelist', records: [veh({ ip: '10.45.1.11' })], fires: ['counter.ip_not_whitelisted'], params: { 'counter.ip_not_whitelisted': { allowedCidrs: ['10.45.2.0/24'] } } },
    ],
  },
  {
    rule: 'counter.mac_not_whitelisted',
    scenarios: [
      { name: 'empty list: not checked', records: [veh({ mac: 'AA:BB:CC:00:00:01' })], fires: [] },
      { name: 'off the list', records: [veh({ mac: '3C:97:0F:01:02:03' })], fires: ['counter.mac_not_whitelisted'], params: { 'counter.mac_not_whitelisted': { allowedMacs: ['3C:97:0E'] } }, text: '业务终端MAC 3C:97:0F:01:02:03 不在备案白名单内' },
      { name: 'prefix match, any case', records: [veh({ mac: '3c:97:0e:01:02:03' })], fires: [], params: { 'counter.mac_not_whitelisted': { allowedMacs: ['3C:97:0E'] } } },
    ],
  },
  {
    rule: 'counter.concurrent_terminals',
    scenarios: [
      {
        name: '60 s overlap on two terminals',
        records: [queue({ startedAt: AT, completedAt: AT + 10 * MIN }), queue({ deviceId: 'JCJ-CGS-T04', counter: 'W04', startedAt: AT + 9 * MIN, completedAt: AT + 20 * MIN, occurredAt: AT + 20 * MIN })],
        fires: ['counter.concurrent_terminals'],
        text: '账号谭丽娟（JCJ-CGS-C01）在JCJ-CGS-T04办理期间同时在JCJ-CGS-T03办理（10:00–10:10），重叠60秒，阈值60秒',
      },
      { name: '59.999 s overlap', records: [queue({ startedAt: AT, completedAt: AT + 10 * MIN }), queue({ deviceId: 'JCJ-CGS-T04', startedAt: AT + 9 * MIN + 1, completedAt: AT + 20 * MIN })], fires: [] },
      { name: 'same terminal', records: [queue({ startedAt: AT, completedAt: AT + 10 * MIN }), queue({ startedAt: AT + 5 * MIN, completedAt: AT + 14 * MIN })], fires: [] },
    ],
  },
  {
    rule: 'counter.self_dealing',
    scenarios: [
      { name: 'clerk is the applicant', records: [veh({ staffIdHash: owner.idHash })], fires: ['counter.self_dealing'], text: '经办人谭丽娟（JCJ-CGS-C01）为本笔业务的申请人4512**********0011' },
      { name: 'clerk is the agent', records: [veh({ staffIdHash: hashOf('a'), agent: person('a', '4512**********0099') })], fires: ['counter.self_dealing'], text: '经办人谭丽娟（JCJ-CGS-C01）为本笔业务的代办人4512**********0099' },
      { name: 'someone else', records: [veh({ staffIdHash: hashOf('clerk') })], fires: [] },
      // VEH_FLOW names the clerk by user code (JBR) only: the registry knows the person.
      { name: 'user code only, the filed clerk is the applicant', records: [veh()], registry: withStaffHash('JCJ-CGS-C01', owner.idHash), fires: ['counter.self_dealing'], text: '经办人谭丽娟（JCJ-CGS-C01）为本笔业务的申请人4512**********0011' },
      { name: 'user code only, the filed clerk is the agent', records: [lic({ agent: person('a', '4512**********0099') })], registry: withStaffHash('JCJ-CGS-C01', hashOf('a')), fires: ['counter.self_dealing'], text: '经办人谭丽娟（JCJ-CGS-C01）为本笔业务的代办人4512**********0099' },
      { name: 'user code only, the filed clerk is someone else', records: [veh({ agent: person('a') })], registry: withStaffHash('JCJ-CGS-C01', hashOf('clerk')), fires: [] },
      { name: 'an inspector inspecting their own vehicle', records: [insp({ subject: owner })], registry: withStaffHash('JCJ-JYZ-I01', owner.idHash), fires: ['counter.self_dealing'], text: '经办人农永刚（JCJ-JYZ-I01）为本笔业务的申请人4512**********0011' },
    ],
  },
  {
    rule: 'counter.sensitive_business',
    scenarios: [
      { name: 'M on the platform', records: [veh({ source: 'veh_flow', channel: 'institution', ywlx: 'M' })], fires: ['counter.sensitive_business'], text: '机动车业务类型M属敏感业务（M、S、T、U、W、X），须强制事后核查' },
      { name: 'B on the platform', records: [veh({ source: 'veh_flow', channel: 'institution', ywlx: 'B' })], fires: [] },
      { name: 'at a counter without a ticket it is also off-counter business', records: [veh({ source: 'veh_flow', ywlx: 'X', lsh: 'L-9' })], fires: ['counter.no_queue_record', 'counter.sensitive_business'] },
    ],
  },
  {
    rule: 'counter.institution_suspended',
    scenarios: [
      { name: 'a suspended dealer registering a vehicle', records: [veh({ institutionId: 'JCJ-4S', channel: 'institution' })], registry: suspend('JCJ-4S'), fires: ['counter.institution_suspended'], text: '机构金城江区汽车销售服务有限公司（JCJ-4S）已暂停联网业务，仍在办理业务' },
      { name: 'a suspended hospital uploading a medical', records: [med()], registry: suspend('FS-YY'), fires: ['counter.institution_suspended'] },
      { name: 'an unfiled institution', records: [veh({ institutionId: 'XX-4S', channel: 'institution' })], fires: ['counter.institution_suspended'], text: '机构XX-4S未备案，仍在办理业务' },
      { name: 'an active dealer', records: [veh({ institutionId: 'JCJ-4S', channel: 'institution' })], fires: [] },
      { name: "the vehicle office's own counter is not an institution acting for it", records: [veh()], registry: suspend('JCJ-CGS'), fires: [] },
      { name: 'inspection business has its own rule', records: [insp()], registry: suspend('JCJ-JYZ'), fires: ['inspection.station_suspended'] },
    ],
  },
  {
    rule: 'counter.spot_check',
    scenarios: [
      { name: 'a dealer under closer checks, every record drawn', records: [veh({ institutionId: 'JCJ-4S', channel: 'institution' })], registry: closer('JCJ-4S'), params: ALL, fires: ['counter.spot_check'], text: '机构金城江区汽车销售服务有限公司处于加强抽查期，本笔业务按100%的比例被抽中核查' },
      { name: 'an inspection of a station under closer checks', records: [insp()], registry: closer('JCJ-JYZ'), params: ALL, fires: ['counter.spot_check'] },
      { name: 'none drawn at 0 %', records: [veh({ institutionId: 'JCJ-4S', channel: 'institution' })], registry: closer('JCJ-4S'), params: { 'counter.spot_check': { samplePercent: 0 } }, fires: [] },
      { name: 'an institution not under closer checks', records: [veh({ institutionId: 'JCJ-4S', channel: 'institution' })], params: ALL, fires: [] },
      { name: 'a queue ticket is not business', records: [queue()], registry: closer('JCJ-CGS'), params: ALL, fires: [] },
    ],
  },
  // ---------------------------------------------------------------- agent
  {
    rule: 'agent.frequent',
    scenarios: [
      { name: '6th in 30 days', records: times(6, (i) => veh({ agent: person('ag', '4512**********0033'), vehicle: { hpzl: '02', vin: vin(10 + i) }, occurredAt: AT + i * DAY })), fires: ['agent.frequent'], text: '代办人4512**********0033近30天第6次代办，阈值5次' },
      { name: '5th', records: times(5, (i) => veh({ agent: person('ag'), vehicle: { hpzl: '02', vin: vin(10 + i) }, occurredAt: AT + i * DAY })), fires: [] },
      { name: 'first one exactly 30 days old', records: [veh({ agent: person('ag'), vehicle: { hpzl: '02', vin: vin(9) }, occurredAt: MON }), ...times(4, (i) => veh({ agent: person('ag'), vehicle: { hpzl: '02', vin: vin(10 + i) }, occurredAt: MON + (i + 1) * HOUR })), veh({ agent: person('ag'), vehicle: { hpzl: '02', vin: vin(20) }, occurredAt: MON + 30 * DAY })], fires: [] },
      { name: 'first one 30 days − 1 ms old', records: [...times(5, (i) => veh({ agent: person('ag'), vehicle: { hpzl: '02', vin: vin(10 + i) }, occurredAt: MON + i * HOUR })), veh({ agent: person('ag'), vehicle: { hpzl: '02', vin: vin(20) }, occurredAt: MON + 30 * DAY - 1 })], fires: ['agent.frequent'] },
    ],
  },
  {
    rule: 'agent.elderly_applicant',
    scenarios: [
      { name: '80 in 2026', records: [veh({ subject: { ...owner, birthYear: 1946 } })], fires: ['agent.elderly_applicant'], text: '申请人4512**********0011办理A类业务时80岁，达到阈值80岁，疑似挂名车主' },
      { name: '79 in 2026', records: [veh({ subject: { ...owner, birthYear: 1947 } })], fires: [] },
      { name: 'change registration', records: [veh({ ywlx: 'D', subject: { ...owner, birthYear: 1930 } })], fires: [] },
      { name: 'no birth year', records: [veh()], fires: [] },
    ],
  },
  {
    rule: 'agent.blacklisted',
    scenarios: [
      { name: 'agent listed', records: [veh({ agent: person('bad', '4512**********0044') })], registry: listings({ list: 'person_black', key: hashOf('bad'), note: '伪造材料' }), fires: ['agent.blacklisted'], text: '代办人4512**********0044在黑名单中（伪造材料）' },
      { name: 'applicant listed, validTo = occurredAt (inclusive)', records: [veh()], registry: listings({ list: 'person_black', key: owner.idHash, validTo: AT }), fires: ['agent.blacklisted'], text: '申请人4512**********0011在黑名单中（未注明）' },
      { name: 'listing expired 1 ms before', records: [veh()], registry: listings({ list: 'person_black', key: owner.idHash, validTo: AT - 1 }), fires: [] },
      { name: 'not listed', records: [veh({ agent: person('good') })], registry: listings({ list: 'person_black', key: hashOf('bad') }), fires: [] },
      { name: 'registry without lists', records: [veh()], registry: { institution: () => undefined, staff: (id) => DEMO_STAFF.find((s) => s.id === id) }, fires: [] },
    ],
  },
  {
    rule: 'agent.red_list_outside_org',
    scenarios: [
      { name: 'own-org agent at another institution', records: [veh({ agent: person('red', '4512**********0055') })], registry: listings({ list: 'agent_red', key: hashOf('red'), organisationId: 'JCJ-4S', scope: 'own_org' }), fires: ['agent.red_list_outside_org'], text: '红名单代办人4512**********0055限在金城江区汽车销售服务有限公司（JCJ-4S）代办，却在河池市车辆管理所（JCJ-CGS）代办业务' },
      { name: 'at its own organisation', records: [veh({ institutionId: 'JCJ-4S', channel: 'institution', agent: person('red') })], registry: listings({ list: 'agent_red', key: hashOf('red'), organisationId: 'JCJ-4S', scope: 'own_org' }), fires: [] },
      { name: 'scope any', records: [veh({ agent: person('red') })], registry: listings({ list: 'agent_red', key: hashOf('red'), organisationId: 'JCJ-4S', scope: 'any' }), fires: [] },
    ],
  },
  {
    rule: 'agent.phone_shared',
    scenarios: [
      { name: '5th applicant on one phone', records: times(5, (i) => veh({ phoneHash: hashOf('phone'), subject: person(`p${i}`), vehicle: { hpzl: '02', vin: vin(30 + i) }, occurredAt: AT + i * DAY })), fires: ['agent.phone_shared'], text: '同一联系电话近30天关联5名申请人，阈值5名' },
      { name: '4 applicants, one of them twice', records: times(5, (i) => veh({ phoneHash: hashOf('phone'), subject: person(`p${Math.min(i, 3)}`), vehicle: { hpzl: '02', vin: vin(30 + i) }, occurredAt: AT + i * DAY })), fires: [] },
      { name: 'first exactly 30 days old', records: [veh({ phoneHash: hashOf('phone'), subject: person('p0'), vehicle: { hpzl: '02', vin: vin(30) }, occurredAt: MON }), ...times(3, (i) => veh({ phoneHash: hashOf('phone'), subject: person(`p${i + 1}`), vehicle: { hpzl: '02', vin: vin(31 + i) }, occurredAt: MON + HOUR })), veh({ phoneHash: hashOf('phone'), subject: person('p9'), vehicle: { hpzl: '02', vin: vin(39) }, occurredAt: MON + 30 * DAY })], fires: [] },
      { name: 'first 30 days − 1 ms old', records: [...times(4, (i) => veh({ phoneHash: hashOf('phone'), subject: person(`p${i}`), vehicle: { hpzl: '02', vin: vin(30 + i) }, occurredAt: MON })), veh({ phoneHash: hashOf('phone'), subject: person('p9'), vehicle: { hpzl: '02', vin: vin(39) }, occurredAt: MON + 30 * DAY - 1 })], fires: ['agent.phone_shared'] },
    ],
  },
  // ---------------------------------------------------------------- vehicle
  {
    rule: 'vehicle.frequent_transfer',
    scenarios: [
      { name: '3rd transfer', records: times(3, (i) => veh({ ywlx: 'B', occurredAt: AT + i * 28 * DAY })), fires: ['vehicle.frequent_transfer'], text: '同一车辆近365天第3次转移登记，阈值3次' },
      { name: '2nd transfer', records: times(2, (i) => veh({ ywlx: 'B', occurredAt: AT + i * 28 * DAY })), fires: [] },
      { name: 'first exactly 365 days old', records: [veh({ ywlx: 'B' }), veh({ ywlx: 'B', occurredAt: AT + DAY }), veh({ ywlx: 'B', occurredAt: AT + 365 * DAY })], fires: [] },
      { name: 'first 365 days − 1 ms old', records: [veh({ ywlx: 'B' }), veh({ ywlx: 'B', occurredAt: AT + DAY }), veh({ ywlx: 'B', occurredAt: AT + 365 * DAY - 1 })], fires: ['vehicle.frequent_transfer'] },
    ],
  },
  {
    rule: 'vehicle.transfer_after_registration',
    scenarios: [
      { name: 'transfer 90 days − 1 ms after registration', records: [veh({ ywlx: 'A' }), veh({ ywlx: 'B', occurredAt: AT + 90 * DAY - 1 })], fires: ['vehicle.transfer_after_registration'], text: '车辆于2026-11-26注册登记，89.9天后即办理转移登记，阈值90天' },
      { name: 'transfer exactly 90 days after', records: [veh({ ywlx: 'A' }), veh({ ywlx: 'B', occurredAt: AT + 90 * DAY })], fires: [] },
      { name: 'another vehicle', records: [veh({ ywlx: 'A' }), veh({ ywlx: 'B', vehicle: { hpzl: '02', vin: vin(2) }, occurredAt: AT + DAY })], fires: [] },
    ],
  },
  {
    rule: 'vehicle.frequent_replacement',
    scenarios: [
      { name: '2nd replacement', records: [veh({ ywlx: 'K' }), veh({ ywlx: 'L', occurredAt: AT + 98 * DAY })], fires: ['vehicle.frequent_replacement'], text: '同一车辆近365天第2次补换牌证，阈值2次' },
      { name: '1st', records: [veh({ ywlx: 'K' })], fires: [] },
      { name: '365 days apart', records: [veh({ ywlx: 'K' }), veh({ ywlx: 'K', occurredAt: AT + 365 * DAY })], fires: [] },
      { name: '365 days − 1 ms apart', records: [veh({ ywlx: 'K' }), veh({ ywlx: 'K', occurredAt: AT + 365 * DAY - 1 })], fires: ['vehicle.frequent_replacement'] },
    ],
  },
  {
    rule: 'vehicle.approval_revoked',
    scenarios: [
      { name: 'revoked', records: [veh({ vehicle: { hpzl: '02', vin: vin(1), approvalRevoked: true } })], fires: ['vehicle.approval_revoked'], text: '车辆产品公告已撤销，不得办理注册登记' },
      { name: 'valid', records: [veh({ vehicle: { hpzl: '02', vin: vin(1), approvalRevoked: false } })], fires: [] },
    ],
  },
  {
    rule: 'vehicle.dereg_restored',
    scenarios: [
      { name: 'restored 730 days − 1 ms after deregistration', records: [veh({ ywlx: 'G', occurredAt: TUE }), veh({ ywlx: 'U', occurredAt: TUE + 730 * DAY - 1 })], fires: ['vehicle.dereg_restored'] },
      { name: 'restored exactly 730 days after', records: [veh({ ywlx: 'G', occurredAt: TUE }), veh({ ywlx: 'U', occurredAt: TUE + 730 * DAY })], fires: [] },
      { name: 'restored the next day', records: [veh({ ywlx: 'G' }), veh({ ywlx: 'U', occurredAt: AT + DAY })], fires: ['vehicle.dereg_restored'], text: '车辆于2026-11-26注销登记，1天后办理注销恢复，须核查' },
      { name: 'U without G', records: [veh({ ywlx: 'U' })], fires: [] },
    ],
  },
  {
    rule: 'vehicle.good_plate_repeat',
    scenarios: [
      { name: '2nd good number', records: [veh({ vehicle: { hpzl: '02', hphm: '桂MA1888', vin: vin(1) } }), veh({ vehicle: { hpzl: '02', hphm: '桂M56666', vin: vin(2) }, occurredAt: AT + DAY })], fires: ['vehicle.good_plate_repeat'], text: '申请人4512**********0011近365天第2次选得靓号，阈值2次' },
      { name: '2nd plate is ordinary (…388)', records: [veh({ vehicle: { hpzl: '02', hphm: '桂MA1888', vin: vin(1) } }), veh({ vehicle: { hpzl: '02', hphm: '桂M12388', vin: vin(2) }, occurredAt: AT + DAY })], fires: [] },
      { name: '365 days apart', records: [veh({ vehicle: { hpzl: '02', hphm: '桂MA1888', vin: vin(1) } }), veh({ vehicle: { hpzl: '02', hphm: '桂M12999', vin: vin(2) }, occurredAt: AT + 365 * DAY })], fires: [] },
    ],
  },
  {
    rule: 'vehicle.temp_plate_repeat',
    scenarios: [
      { name: '3rd temporary plate', records: times(3, (i) => veh({ ywlx: 'O', vehicle: { hpzl: '22', vin: vin(1) }, occurredAt: AT + i * 14 * DAY })), fires: ['vehicle.temp_plate_repeat'], text: '同一车辆近365天第3次申领临时号牌，阈值3次' },
      { name: '2nd', records: times(2, (i) => veh({ ywlx: 'O', vehicle: { hpzl: '22', vin: vin(1) }, occurredAt: AT + i * 14 * DAY })), fires: [] },
    ],
  },
  {
    rule: 'vehicle.temp_plate_registered',
    scenarios: [
      { name: 'registered, then a temporary plate', records: [veh({ ywlx: 'A' }), veh({ ywlx: 'O', vehicle: { hpzl: '22', vin: vin(1) }, occurredAt: AT + 200 * DAY })], fires: ['vehicle.temp_plate_registered'], text: '车辆已于2026-11-26注册登记，仍申领临时号牌' },
      { name: 'temporary plate first (new car)', records: [veh({ ywlx: 'O', vehicle: { hpzl: '22', vin: vin(1) } }), veh({ ywlx: 'A', occurredAt: AT + 12 * DAY })], fires: [] },
    ],
  },
  {
    rule: 'vehicle.frequent_changes',
    scenarios: [
      { name: '3rd change', records: times(3, (i) => veh({ ywlx: 'D', occurredAt: AT + i * 60 * DAY })), fires: ['vehicle.frequent_changes'], text: '同一车辆近365天第3次变更登记，阈值3次' },
      { name: '2nd', records: times(2, (i) => veh({ ywlx: 'D', occurredAt: AT + i * 60 * DAY })), fires: [] },
    ],
  },
  // ---------------------------------------------------------------- check
  {
    rule: 'check.short_duration',
    scenarios: [
      { name: '179 s', records: [chk({ startedAt: AT - 179 * SECOND })], fires: ['check.short_duration'], text: '查验用时179秒，少于阈值180秒' },
      { name: '180 s', records: [chk({ startedAt: AT - 180 * SECOND })], fires: [] },
    ],
  },
  {
    rule: 'check.inspector_unfiled',
    scenarios: [
      { name: 'expired inspector', records: [chk({ staffId: 'JCJ-JYZ-I90' })], fires: ['check.inspector_unfiled'], text: '查验员莫桂芳（JCJ-JYZ-I90）备案已于2025-06-30过期' },
      { name: 'filed inspector', records: [chk()], fires: [] },
    ],
  },
  {
    rule: 'check.inspector_two_lanes',
    scenarios: [
      {
        name: '60 s overlap on two lanes',
        records: [chk({ source: 'check_av', startedAt: AT, endedAt: AT + 10 * MIN, occurredAt: AT + 10 * MIN }), chk({ source: 'check_av', counter: 'C02', vehicle: { hpzl: '02', vin: vin(2) }, startedAt: AT + 9 * MIN, endedAt: AT + 15 * MIN, occurredAt: AT + 15 * MIN })],
        fires: ['check.inspector_two_lanes'],
        text: '查验员农永刚（JCJ-JYZ-I01）在通道C02查验期间，同时在通道C01查验（10:00–10:10），重叠60秒，阈值60秒',
      },
      { name: '59 s overlap', records: [chk({ source: 'check_av', startedAt: AT, endedAt: AT + 10 * MIN }), chk({ source: 'check_av', counter: 'C02', startedAt: AT + 9 * MIN + SECOND, endedAt: AT + 15 * MIN })], fires: [] },
      { name: 'back to back', records: [chk({ source: 'check_av', startedAt: AT, endedAt: AT + 10 * MIN }), chk({ source: 'check_av', counter: 'C02', startedAt: AT + 10 * MIN, endedAt: AT + 15 * MIN })], fires: [] },
      { name: 'not from the A/V feed', records: [chk({ startedAt: AT, endedAt: AT + 10 * MIN }), chk({ counter: 'C02', startedAt: AT + 5 * MIN, endedAt: AT + 15 * MIN })], fires: [] },
    ],
  },
  {
    rule: 'check.photo_reuse',
    scenarios: [
      { name: 'a photo of vehicle 1 reused for vehicle 2', records: [chk({ evidence: ['h1', 'h2'] }), chk({ vehicle: { hpzl: '02', vin: vin(2) }, evidence: ['h3', 'h1'], occurredAt: AT + DAY, endedAt: AT + DAY, startedAt: AT + DAY - 10 * MIN })], fires: ['check.photo_reuse'], text: '1张查验照片与另一车辆2026-11-26的查验照片相同，疑似套用照片' },
      { name: 'different photos', records: [chk({ evidence: ['h1'] }), chk({ vehicle: { hpzl: '02', vin: vin(2) }, evidence: ['h3'] })], fires: [] },
      { name: 'same vehicle re-checked with the same photo', records: [chk({ evidence: ['h1'] }), chk({ evidence: ['h1'] })], fires: [] },
      { name: '365 days apart', records: [chk({ evidence: ['h1'] }), chk({ vehicle: { hpzl: '02', vin: vin(2) }, evidence: ['h1'], occurredAt: AT + 365 * DAY })], fires: [] },
      { name: '365 days − 1 ms apart', records: [chk({ evidence: ['h1'] }), chk({ vehicle: { hpzl: '02', vin: vin(2) }, evidence: ['h1'], occurredAt: AT + 365 * DAY - 1 })], fires: ['check.photo_reuse'] },
    ],
  },
  {
    rule: 'check.repeated_checks',
    scenarios: [
      { name: '3rd check of one business', records: times(3, (i) => chk({ lsh: 'L-7', occurredAt: AT + i * HOUR })), fires: ['check.repeated_checks'], text: '业务流水号L-7近30天第3次查验，阈值3次' },
      { name: '2nd', records: times(2, (i) => chk({ lsh: 'L-7', occurredAt: AT + i * HOUR })), fires: [] },
    ],
  },
  {
    rule: 'check.vin_blacklisted',
    scenarios: [
      { name: 'listed VIN', records: [chk()], registry: listings({ list: 'vin_check_black', key: vin(1), note: '套牌嫌疑' }), fires: ['check.vin_blacklisted'], text: `车辆识别代号${vin(1)}在查验黑名单中（套牌嫌疑）` },
      { name: 'listed on another list', records: [chk()], registry: listings({ list: 'person_black', key: vin(1) }), fires: [] },
    ],
  },
  // ---------------------------------------------------------------- inspection
  {
    rule: 'inspection.short_test',
    scenarios: [
      { name: '299 s', records: [insp({ startedAt: AT - 299 * SECOND })], fires: ['inspection.short_test'], text: '检验用时299秒，少于阈值300秒' },
      { name: '300 s', records: [insp({ startedAt: AT - 300 * SECOND })], fires: [] },
      { name: 'item records are judged by their filed minimum instead', records: [insp({ startedAt: AT - 60 * SECOND, measurements: { filedMinSeconds: 30 } })], fires: [] },
    ],
  },
  {
    rule: 'inspection.item_below_minimum',
    scenarios: [
      { name: '119 s against 120 s', records: [insp({ startedAt: AT - 119 * SECOND, measurements: { filedMinSeconds: 120 } })], fires: ['inspection.item_below_minimum'], text: '检测线L1检验项目用时119秒，少于备案最短用时120秒' },
      { name: '120 s', records: [insp({ startedAt: AT - 120 * SECOND, measurements: { filedMinSeconds: 120 } })], fires: [] },
    ],
  },
  {
    rule: 'inspection.line_overlap',
    scenarios: [
      {
        name: '120 s overlap on one line',
        records: [insp({ source: '18c', startedAt: AT, endedAt: AT + 20 * MIN, occurredAt: AT + 20 * MIN }), insp({ source: '18c', vehicle: { hpzl: '02', vin: vin(2) }, measurements: { ...MEAS, brakeFrontPct: 66 }, startedAt: AT + 18 * MIN, endedAt: AT + 40 * MIN, occurredAt: AT + 40 * MIN })],
        fires: ['inspection.line_overlap'],
        text: '检测线L1本次检验与另一次检验（10:00–10:20）重叠120秒，阈值120秒',
      },
      { name: '119 s', records: [insp({ source: '18c', startedAt: AT, endedAt: AT + 20 * MIN }), insp({ source: '18c', vehicle: { hpzl: '02', vin: vin(2) }, measurements: { ...MEAS, brakeFrontPct: 66 }, startedAt: AT + 18 * MIN + SECOND, endedAt: AT + 40 * MIN })], fires: [] },
      { name: 'different lines', records: [insp({ source: '18c', startedAt: AT, endedAt: AT + 20 * MIN }), insp({ source: '18c', counter: 'L2', vehicle: { hpzl: '02', vin: vin(2) }, measurements: { ...MEAS, brakeFrontPct: 66 }, startedAt: AT + 5 * MIN, endedAt: AT + 40 * MIN })], fires: [] },
    ],
  },
  {
    rule: 'inspection.over_capacity',
    scenarios: [
      { name: '121st test of the day', records: times(121, (i) => insp({ source: '18c', vehicle: { hpzl: '02', vin: vin(100 + i) }, measurements: { ...MEAS, brakeFrontPct: 60 + i / 10 }, startedAt: EIGHT + i * 5 * MIN, endedAt: EIGHT + (i + 1) * 5 * MIN, occurredAt: EIGHT + (i + 1) * 5 * MIN })), fires: ['inspection.over_capacity'], text: '检测线L1当日第121次检验，超过备案能力120次' },
      { name: '120th', records: times(120, (i) => insp({ source: '18c', vehicle: { hpzl: '02', vin: vin(100 + i) }, measurements: { ...MEAS, brakeFrontPct: 60 + i / 10 }, startedAt: EIGHT + i * 5 * MIN, endedAt: EIGHT + (i + 1) * 5 * MIN, occurredAt: EIGHT + (i + 1) * 5 * MIN })), fires: [] },
    ],
  },
  {
    rule: 'inspection.calibration_expired',
    scenarios: [
      { name: 'expired 1 ms before', records: [insp({ measurements: { ...MEAS, calibrationValidTo: AT - 1 } })], fires: ['inspection.calibration_expired'], text: '检测设备JCJ-JYZ-L1-D01检定有效期至2026-11-26，检验时已过期' },
      { name: 'valid to the test time', records: [insp({ measurements: { ...MEAS, calibrationValidTo: AT } })], fires: [] },
    ],
  },
  {
    rule: 'inspection.identical_measurements',
    scenarios: [
      { name: 'same values for two vehicles 24 h − 1 ms apart', records: [insp(), insp({ vehicle: { hpzl: '02', vin: vin(2) }, occurredAt: AT + DAY - 1, startedAt: AT + DAY - 20 * MIN, endedAt: AT + DAY - 1 })], fires: ['inspection.identical_measurements'], text: '检验数据与同类车辆2026-11-26 10:00的检验数据完全相同' },
      { name: '24 h apart', records: [insp(), insp({ vehicle: { hpzl: '02', vin: vin(2) }, occurredAt: AT + DAY, startedAt: AT + DAY - 20 * MIN, endedAt: AT + DAY })], fires: [] },
      { name: 'metadata does not count: same results, different photo times', records: [insp({ measurements: { ...MEAS, photoTakenAt: AT - MIN } }), insp({ vehicle: { hpzl: '02', vin: vin(2) }, measurements: { ...MEAS, photoTakenAt: AT - 2 * MIN } })], fires: ['inspection.identical_measurements'] },
      { name: 'two values: one axle, left and right brake force', records: [insp({ measurements: AXLE }), insp({ vehicle: { hpzl: '02', vin: vin(2) }, measurements: { ...AXLE } })], fires: ['inspection.identical_measurements'] },
      { name: 'two motorcycles, two values', records: [insp({ vehicle: { hpzl: '07', hphm: '桂MA1234' }, measurements: AXLE }), insp({ vehicle: { hpzl: '07', hphm: '桂MA1235' }, measurements: { ...AXLE } })], fires: ['inspection.identical_measurements'] },
      { name: 'one value only', records: [insp({ measurements: { brakeFrontPct: 70.1 } }), insp({ vehicle: { hpzl: '02', vin: vin(2) }, measurements: { brakeFrontPct: 70.1 } })], fires: [] },
      { name: 'a car and a motorcycle are different categories', records: [insp({ measurements: AXLE }), insp({ vehicle: { hpzl: '07', hphm: '桂MA1234' }, measurements: { ...AXLE } })], fires: [] },
      { name: 'another station', records: [insp({ measurements: AXLE }), insp({ institutionId: 'YZ-JYZ', vehicle: { hpzl: '02', vin: vin(2) }, measurements: { ...AXLE } })], fires: [] },
      { name: 'one value differs', records: [insp(), insp({ vehicle: { hpzl: '02', vin: vin(2) }, measurements: { ...MEAS, brakeRearPct: 61.3 } })], fires: [] },
    ],
  },
  {
    rule: 'inspection.identical_measurements_large',
    scenarios: [
      { name: 'two lorries, four values', records: [insp({ vehicle: { hpzl: '01', vin: vin(1) }, measurements: { ...MEAS } }), insp({ vehicle: { hpzl: '01', vin: vin(2) }, measurements: { ...MEAS } })], fires: ['inspection.identical_measurements_large'], text: '检验数据与同类车辆2026-11-26 10:00的检验数据完全相同' },
      { name: 'two lorries, one axle only', records: [insp({ vehicle: { hpzl: '01', vin: vin(1) }, measurements: AXLE }), insp({ vehicle: { hpzl: '01', vin: vin(2) }, measurements: { ...AXLE } })], fires: [] },
    ],
  },
  {
    rule: 'inspection.device_unfiled',
    scenarios: [
      { name: 'device not filed at a station that files devices', records: [insp({ deviceId: 'JCJ-JYZ-L1-D99', measurements: { filedMinSeconds: 30 } })], registry: withDevices(), fires: ['inspection.device_unfiled'], text: '检测设备JCJ-JYZ-L1-D99未备案' },
      { name: 'device filed for another station', records: [insp({ deviceId: 'YZ-JYZ-L1-D01', measurements: { filedMinSeconds: 30 } })], registry: withDevices(), fires: ['inspection.device_unfiled'], text: '检测设备制动台（YZ-JYZ-L1-D01）备案于其他机构宜州区机动车检测站（YZ-JYZ）' },
      { name: 'calibration expired the day before', records: [insp({ measurements: { filedMinSeconds: 30 } })], registry: withDevices({ calibrationValidTo: AT - DAY }), fires: ['inspection.device_unfiled'], text: '检测设备制动台（JCJ-JYZ-L1-D01）备案的检定有效期至2026-11-25，检验时已过期' },
      { name: 'filed, valid, calibrated', records: [insp({ measurements: { filedMinSeconds: 30 } })], registry: withDevices({ calibrationValidTo: AT + DAY }), fires: [] },
      { name: 'a station with no device filed is not judged', records: [insp({ deviceId: 'JCJ-JYZ-L1-D99', measurements: { filedMinSeconds: 30 } })], fires: [] },
    ],
  },
  {
    rule: 'inspection.photo_reuse',
    scenarios: [
      { name: 'reused photo', records: [insp({ evidence: ['p1'] }), insp({ vehicle: { hpzl: '02', vin: vin(2) }, measurements: { ...MEAS, brakeFrontPct: 80 }, evidence: ['p1', 'p2'] })], fires: ['inspection.photo_reuse'], text: '1张检验照片与另一车辆2026-11-26的检验照片相同，疑似套用照片' },
      { name: 'fresh photos', records: [insp({ evidence: ['p1'] }), insp({ vehicle: { hpzl: '02', vin: vin(2) }, measurements: { ...MEAS, brakeFrontPct: 80 }, evidence: ['p2'] })], fires: [] },
    ],
  },
  {
    rule: 'inspection.night_test',
    scenarios: [
      { name: '22:00', records: [insp({ occurredAt: cst('2026-11-26T22:00'), startedAt: cst('2026-11-26T21:40'), endedAt: cst('2026-11-26T22:00') })], fires: ['inspection.night_test'], text: '检验时间2026-11-26 22:00（星期四）处于夜间时段22:00–06:00' },
      { name: '21:59', records: [insp({ occurredAt: cst('2026-11-26T21:59'), startedAt: cst('2026-11-26T21:39'), endedAt: cst('2026-11-26T21:59') })], fires: [] },
      { name: '05:59 on a Saturday', records: [insp({ occurredAt: cst('2026-11-28T05:59'), startedAt: cst('2026-11-28T05:39'), endedAt: cst('2026-11-28T05:59') })], fires: ['inspection.night_test'] },
      { name: '06:00', records: [insp({ occurredAt: cst('2026-11-28T06:00'), startedAt: cst('2026-11-28T05:40'), endedAt: cst('2026-11-28T06:00') })], fires: [] },
    ],
  },
  {
    rule: 'inspection.photo_outside_window',
    scenarios: [
      { name: '1 ms before the start', records: [insp({ measurements: { ...MEAS, photoTakenAt: AT - 20 * MIN - 1 } })], fires: ['inspection.photo_outside_window'], text: '照片拍摄于09:39，早于检验开始09:40' },
      { name: 'at the start', records: [insp({ measurements: { ...MEAS, photoTakenAt: AT - 20 * MIN } })], fires: [] },
      { name: 'at the end', records: [insp({ measurements: { ...MEAS, photoTakenAt: AT } })], fires: [] },
      { name: '1 ms after the end', records: [insp({ measurements: { ...MEAS, photoTakenAt: AT + 1 } })], fires: ['inspection.photo_outside_window'], text: '照片拍摄于10:00，晚于检验结束10:00' },
    ],
  },
  {
    rule: 'inspection.insurance_missing',
    scenarios: [
      { name: 'no policy found', records: [insp({ measurements: { ...MEAS, insuranceValidTo: 0 } })], fires: ['inspection.insurance_missing'], text: '未查询到有效交强险保单，不得核发检验合格标志' },
      { name: 'expired 1 ms before', records: [insp({ measurements: { ...MEAS, insuranceValidTo: AT - 1 } })], fires: ['inspection.insurance_missing'], text: '交强险已于2026-11-26到期，不得核发检验合格标志' },
      { name: 'valid at the test time', records: [insp({ measurements: { ...MEAS, insuranceValidTo: AT } })], fires: [] },
    ],
  },
  {
    rule: 'inspection.station_suspended',
    scenarios: [
      { name: 'suspended station', records: [insp()], registry: suspend('JCJ-JYZ'), fires: ['inspection.station_suspended'], text: '机构金城江区机动车检测站（JCJ-JYZ）已暂停业务，仍在上传检验/查验数据' },
      { name: 'unknown station', records: [chk({ institutionId: 'XX-JYZ' })], fires: ['inspection.station_suspended'], text: '机构XX-JYZ未备案，仍在上传检验/查验数据' },
      { name: 'active station', records: [insp()], fires: [] },
    ],
  },
  // ---------------------------------------------------------------- exam
  {
    rule: 'exam.examiner_unfiled',
    scenarios: [
      { name: 'a clerk examining', records: [exam({ staffId: 'HJ-JX-C01' })], fires: ['exam.examiner_unfiled'], text: '蓝家豪（HJ-JX-C01）备案身份为业务员，未备案为考试员' },
      { name: 'no examiner (a booking)', records: [exam({ staffId: undefined })], fires: [] },
      {
        name: 'class not permitted',
        records: [exam({ licence: { numberHash: hashOf('l'), zjcx: 'A1' } })],
        registry: createRegistryView(DEMO_INSTITUTIONS, DEMO_STAFF.map((s) => (s.id === 'HJ-JX-E01' ? { ...s, classes: ['C1', 'C2'] } : s))),
        fires: ['exam.examiner_unfiled'],
        text: '考试员梁思远（HJ-JX-E01）准考车型为C1、C2，不含本次考试车型A1',
      },
      { name: 'class permitted', records: [exam({ licence: { numberHash: hashOf('l'), zjcx: 'C2' } })], registry: createRegistryView(DEMO_INSTITUTIONS, DEMO_STAFF.map((s) => (s.id === 'HJ-JX-E01' ? { ...s, classes: ['C1', 'C2'] } : s))), fires: [] },
      { name: 'classes not recorded', records: [exam({ licence: { numberHash: hashOf('l'), zjcx: 'A1' } })], fires: [] },
    ],
  },
  {
    rule: 'exam.identity_mismatch',
    scenarios: [
      { name: 'score 69.9', records: [exam({ measurements: { faceMatchScore: 69.9 } })], fires: ['exam.identity_mismatch'], text: '考生4512**********0022签到人脸比对相似度69.9，低于阈值70，疑似替考' },
      { name: 'score 70', records: [exam({ measurements: { faceMatchScore: 70 } })], fires: [] },
    ],
  },
  {
    rule: 'exam.short_duration',
    scenarios: [
      { name: 'subject 2 in 299 s', records: [exam({ startedAt: AT - 299 * SECOND })], fires: ['exam.short_duration'], text: '科目2考试用时299秒，少于阈值300秒' },
      { name: 'subject 2 in 300 s', records: [exam({ startedAt: AT - 300 * SECOND })], fires: [] },
      { name: 'subject 1 is not judged', records: [exam({ ywlx: '1', startedAt: AT - 100 * SECOND })], fires: [] },
    ],
  },
  {
    rule: 'exam.below_route_minimum',
    scenarios: [
      { name: '599 s on a 600 s route', records: [exam({ startedAt: AT - 599 * SECOND, measurements: { routeMinSeconds: 600 } })], fires: ['exam.below_route_minimum'], text: '考试线路R1用时599秒，少于路线最短用时600秒' },
      { name: '600 s', records: [exam({ startedAt: AT - 600 * SECOND, measurements: { routeMinSeconds: 600 } })], fires: [] },
    ],
  },
  {
    rule: 'exam.manual_scoring',
    scenarios: [
      { name: '5th manual judgement of the day', records: times(5, (i) => exam({ measurements: { manualJudgement: 1 }, occurredAt: AT + i * HOUR, startedAt: AT + i * HOUR - 15 * MIN, endedAt: AT + i * HOUR })), fires: ['exam.manual_scoring'], text: '考试员梁思远（HJ-JX-E01）当日第5次人工评判/误判复考，阈值5次' },
      { name: '4th', records: times(4, (i) => exam({ measurements: { manualJudgement: 1 }, occurredAt: AT + i * HOUR, startedAt: AT + i * HOUR - 15 * MIN, endedAt: AT + i * HOUR })), fires: [] },
      { name: 'automatic judgements do not count', records: times(5, (i) => exam({ measurements: { manualJudgement: i === 4 ? 1 : 0 }, occurredAt: AT + i * HOUR, startedAt: AT + i * HOUR - 15 * MIN, endedAt: AT + i * HOUR })), fires: [] },
    ],
  },
  {
    rule: 'exam.examiner_two_venues',
    scenarios: [
      { name: 'two venues, 60 s overlap', records: [exam({ startedAt: AT, endedAt: AT + 15 * MIN }), exam({ institutionId: 'JCJ-JX', startedAt: AT + 14 * MIN, endedAt: AT + 30 * MIN, occurredAt: AT + 30 * MIN })], fires: ['exam.examiner_two_venues'], text: '考试员梁思远（HJ-JX-E01）在金城江区驾驶培训学校（JCJ-JX）考试期间同时在环江县驾驶培训学校（HJ-JX）考试（10:00–10:15），重叠60秒，阈值60秒' },
      { name: '59 s overlap', records: [exam({ startedAt: AT, endedAt: AT + 15 * MIN }), exam({ institutionId: 'JCJ-JX', startedAt: AT + 14 * MIN + SECOND, endedAt: AT + 30 * MIN })], fires: [] },
      { name: 'two routes of one venue', records: [exam({ startedAt: AT, endedAt: AT + 15 * MIN }), exam({ counter: 'R2', startedAt: AT + 5 * MIN, endedAt: AT + 30 * MIN })], fires: [] },
      // An exam centre runs several venues (考场) under one institution.
      { name: 'two venues of one exam centre', records: [exam({ venue: 'KC01', startedAt: AT, endedAt: AT + 15 * MIN }), exam({ venue: 'KC02', startedAt: AT + 5 * MIN, endedAt: AT + 30 * MIN, occurredAt: AT + 30 * MIN })], fires: ['exam.examiner_two_venues'], text: '考试员梁思远（HJ-JX-E01）在环江县驾驶培训学校（HJ-JX:KC02）考试期间同时在环江县驾驶培训学校（HJ-JX:KC01）考试（10:00–10:15），重叠600秒，阈值60秒' },
      { name: 'two routes of one venue of an exam centre', records: [exam({ venue: 'KC01', startedAt: AT, endedAt: AT + 15 * MIN }), exam({ venue: 'KC01', counter: 'R2', startedAt: AT + 5 * MIN, endedAt: AT + 30 * MIN })], fires: [] },
    ],
  },
  {
    rule: 'exam.insufficient_training',
    scenarios: [
      { name: '15.9 of 16 hours', records: [exam({ staffId: undefined, measurements: { trainingHours: 15.9, requiredHours: 16 } })], fires: ['exam.insufficient_training'], text: '考生4512**********0022已完成培训15.9学时，少于规定的16学时' },
      { name: '16 of 16', records: [exam({ staffId: undefined, measurements: { trainingHours: 16, requiredHours: 16 } })], fires: [] },
    ],
  },
  // ---------------------------------------------------------------- points
  {
    rule: 'points.licence_multi_vehicle',
    scenarios: [
      { name: '3rd vehicle not owned', records: times(3, (i) => viol({ vehicle: { hpzl: '02', vin: vin(50 + i), ownerIdHash: hashOf(`o${i}`) }, occurredAt: AT + i * HOUR })), fires: ['points.licence_multi_vehicle'], text: '驾驶证近365天为3辆非本人车辆处理违法记分，阈值3辆' },
      { name: '2nd', records: times(2, (i) => viol({ vehicle: { hpzl: '02', vin: vin(50 + i), ownerIdHash: hashOf(`o${i}`) }, occurredAt: AT + i * HOUR })), fires: [] },
    ],
  },
  {
    rule: 'points.repeat_full_score',
    scenarios: [
      { name: '2nd full-points study', records: [lic({ ywlx: 'F' }), lic({ ywlx: 'F', occurredAt: AT + 200 * DAY })], fires: ['points.repeat_full_score'], text: '同一驾驶证近365天第2次满分学习，阈值2次' },
      { name: '1st', records: [lic({ ywlx: 'F' })], fires: [] },
      { name: '365 days apart', records: [lic({ ywlx: 'F' }), lic({ ywlx: 'F', occurredAt: AT + 365 * DAY })], fires: [] },
    ],
  },
  {
    rule: 'points.agent_many_licences',
    scenarios: [
      { name: '5th licence through one agent', records: times(5, (i) => viol({ agent: person('broker', '4512**********0066'), licence: { numberHash: hashOf(`lic-${i}`) }, occurredAt: AT + i * HOUR })), fires: ['points.agent_many_licences'], text: '代办人4512**********0066近30天为5本驾驶证处理违法，阈值5本' },
      { name: '4th', records: times(4, (i) => viol({ agent: person('broker'), licence: { numberHash: hashOf(`lic-${i}`) }, occurredAt: AT + i * HOUR })), fires: [] },
    ],
  },
  {
    rule: 'points.phone_many_licences',
    scenarios: [
      { name: '5th licence on one phone', records: times(5, (i) => viol({ phoneHash: hashOf('ph'), licence: { numberHash: hashOf(`lic-${i}`) }, occurredAt: AT + i * HOUR })), fires: ['points.phone_many_licences'], text: '同一联系电话近30天关联5本驾驶证的违法处理，阈值5本' },
      { name: '4th', records: times(4, (i) => viol({ phoneHash: hashOf('ph'), licence: { numberHash: hashOf(`lic-${i}`) }, occurredAt: AT + i * HOUR })), fires: [] },
    ],
  },
  {
    rule: 'points.ip_many_licences',
    scenarios: [
      { name: '5th licence from one internet IP', records: times(5, (i) => viol({ channel: 'internet', ip: '198.51.100.7', licence: { numberHash: hashOf(`lic-${i}`) }, occurredAt: AT + i * HOUR })), fires: ['points.ip_many_licences'], text: 'IP 198.51.100.7 近30天为5本驾驶证处理违法，阈值5本' },
      { name: 'counter terminals are not counted', records: times(5, (i) => viol({ licence: { numberHash: hashOf(`lic-${i}`) }, occurredAt: AT + i * HOUR })), fires: [] },
    ],
  },
  // ---------------------------------------------------------------- medical
  {
    rule: 'medical.doctor_hourly',
    scenarios: [
      { name: '21st in an hour', records: times(21, (i) => med({ source: 'medical', occurredAt: AT + i * 2 * MIN })), fires: ['medical.doctor_hourly'], text: '体检医生陆立新（FS-YY-D01）近1小时出具第21份体检证明，阈值20份' },
      { name: '20th', records: times(20, (i) => med({ source: 'medical', occurredAt: AT + i * 2 * MIN })), fires: [] },
      { name: 'the first exactly 1 h old', records: [...times(20, (i) => med({ source: 'medical', occurredAt: AT + i })), med({ source: 'medical', occurredAt: AT + HOUR })], fires: [] },
      { name: 'the first 1 h − 1 ms old', records: [...times(20, () => med({ source: 'medical', occurredAt: AT })), med({ source: 'medical', occurredAt: AT + HOUR - 1 })], fires: ['medical.doctor_hourly'] },
    ],
  },
  {
    rule: 'medical.off_hours',
    scenarios: [
      { name: 'Saturday', records: [med({ occurredAt: cst('2026-11-28T10:00') })], fires: ['medical.off_hours'], text: '体检证明出具时间2026-11-28 10:00（星期六）为休息日' },
      { name: 'Friday 17:59', records: [med({ occurredAt: cst('2026-11-27T17:59') })], fires: [] },
    ],
  },
  {
    rule: 'medical.doctor_unfiled',
    scenarios: [
      { name: 'unknown doctor', records: [med({ staffId: 'FS-YY-D99' })], fires: ['medical.doctor_unfiled'], text: '体检医生FS-YY-D99未备案' },
      { name: 'filed doctor', records: [med()], fires: [] },
    ],
  },
  // ---------------------------------------------------------------- online
  {
    rule: 'online.accounts_per_device',
    scenarios: [
      { name: '5th account on one device', records: times(5, (i) => online({ subject: person(`acc-${i}`), ip: `203.0.113.${10 + i}`, occurredAt: AT + i * MIN })), fires: ['online.accounts_per_device'], text: '设备dev-1当日第5个12123账号办理业务，阈值5个' },
      { name: '4 accounts', records: times(5, (i) => online({ subject: person(`acc-${Math.min(i, 3)}`), ip: `203.0.113.${10 + i}`, occurredAt: AT + i * MIN })), fires: [] },
      { name: 'the 5th on the next day', records: [...times(4, (i) => online({ subject: person(`acc-${i}`), ip: `203.0.113.${10 + i}`, occurredAt: cst('2026-11-26T23:00') })), online({ subject: person('acc-9'), ip: '203.0.113.99', occurredAt: cst('2026-11-27T00:00') })], fires: [] },
    ],
  },
  {
    rule: 'online.accounts_per_ip',
    scenarios: [
      { name: '5th account from one IP', records: times(5, (i) => online({ subject: person(`acc-${i}`), deviceId: `dev-${i}`, occurredAt: AT + i * MIN })), fires: ['online.accounts_per_ip'], text: 'IP 203.0.113.5 当日第5个12123账号办理业务，阈值5个' },
      { name: '4th', records: times(4, (i) => online({ subject: person(`acc-${i}`), deviceId: `dev-${i}`, occurredAt: AT + i * MIN })), fires: [] },
    ],
  },
];

const engines = new Map<string, CompiledRuleEngine>();
const engineFor = (params?: Record<string, Record<string, unknown>>) => {
  const k = JSON.stringify(params ?? {});
  let e = engines.get(k);
  if (!e) engines.set(k, (e = createEngine(undefined, { params: params ?? {} })));
  return e;
};
const defaultRegistry = createRegistryView(DEMO_INSTITUTIONS, DEMO_STAFF);
const calendar = createWorkCalendar();

async function run(rule: string, s: Scenario) {
  const engine = engineFor(s.params);
  const ctx = { registry: s.registry ?? defaultRegistry, calendar, ...createMemoryRuleState() };
  const records = s.records.map((r) => txn({ capturedAt: (r.occurredAt ?? AT) + 500, ...r }));
  let last: Awaited<ReturnType<typeof engine.evaluate>> = [];
  for (const [i, r] of records.entries()) {
    last = await engine.evaluate(r, ctx);
    if (i < records.length - 1) expect(last.map((h) => h.rule.id), `record ${i + 1} of ${records.length}`).not.toContain(rule);
  }
  const again = await engine.evaluate(records.at(-1)!, ctx);

  // The same records as one batch, fresh state: per record, the same hits as one by one — over
  // memory states called directly, and through a batcher that gets every state call of the
  // batch in one list.
  const sequential: Awaited<ReturnType<typeof engine.evaluate>>[] = [];
  const seqCtx = { registry: s.registry ?? defaultRegistry, calendar, ...createMemoryRuleState() };
  for (const r of records) sequential.push(await engine.evaluate(r, seqCtx));
  const direct = await engine.evaluateBatch(records, { registry: s.registry ?? defaultRegistry, calendar, ...createMemoryRuleState() });
  const b = batchedMemoryStates();
  const viaBatcher = await engine.evaluateBatch(records, { registry: s.registry ?? defaultRegistry, calendar, ...b.states });
  return { last, again, sequential, direct, viaBatcher, batcherRuns: b.runs };
}

describe('golden fixtures per rule', () => {
  const realtime = createEngine().rules.filter((r) => r.state !== 'scheduled');

  it('cover every real-time rule of the pack, each with a firing and a quiet scenario', () => {
    expect(GOLDEN.map((g) => g.rule).sort()).toEqual(realtime.map((r) => r.id).sort());
    for (const g of GOLDEN) {
      expect(g.scenarios.some((s) => s.fires.includes(g.rule)), g.rule).toBe(true);
      expect(g.scenarios.some((s) => !s.fires.includes(g.rule)), g.rule).toBe(true);
    }
    expect(DEFAULT_PACK.length).toBe(realtime.length + createEngine().peerRules.length);
  });

  for (const g of GOLDEN) {
    describe(g.rule, () => {
      it.each(g.scenarios.map((s) => [s.name, s] as const))('%s', async (_name, s) => {
        const r = await run(g.rule, s);
        const { last, again } = r;
        expect(last.map((h) => h.rule.id).sort()).toEqual([...s.fires].sort());
        const hit = last.find((h) => h.rule.id === g.rule);
        if (s.text !== undefined) expect(hit?.explanation).toBe(s.text);
        if (hit) expect(hit.explanation).not.toMatch(/未知|规则触发/);
        // Re-delivering the last record changes nothing.
        expect(again).toEqual(last);
        expect(r.direct).toEqual(r.sequential);
        expect(r.viaBatcher).toEqual(r.sequential);
        // All state calls of the batch in at most one list.
        expect(r.batcherRuns.length).toBeLessThanOrEqual(1);
      });
    });
  }
});

describe('counter.spot_check draws its sample by the record', () => {
  it('draws about the configured share, the same records on every delivery', async () => {
    const engine = engineFor();
    const registry = closer('JCJ-4S');
    const records = Array.from({ length: 2_000 }, (_, i) => txn({ id: `c-1:${i}`, kind: 'vehicle', channel: 'institution', institutionId: 'JCJ-4S', occurredAt: AT + i * SECOND, capturedAt: AT + i * SECOND + 500 }));
    const drawn = async () => {
      const out: string[] = [];
      for (const r of records) {
        const hits = await engine.evaluate(r, { registry, calendar, ...createMemoryRuleState() });
        if (hits.some((h) => h.rule.id === 'counter.spot_check')) out.push(r.id);
      }
      return out;
    };
    const first = await drawn();
    // 10 % by default: 200 expected; a binomial spread of ±4σ is about ±54.
    expect(first.length).toBeGreaterThan(150);
    expect(first.length).toBeLessThan(250);
    expect(await drawn()).toEqual(first);
  });
});

describe('sampling rules', () => {
  it('are the closer-checks draw alone: every other rule of the pack raises a suspicion', () => {
    expect(DEFAULT_PACK.filter(isSamplingRule).map((r) => r.id)).toEqual(['counter.spot_check']);
    // The draw is the registry kind's spot_check target, whatever the rule is called.
    expect(isSamplingRule({ ...DEFAULT_PACK.find((r) => r.id === 'counter.spot_check')!, id: 'local.sample' } as never)).toBe(true);
    expect(isSamplingRule(DEFAULT_PACK.find((r) => r.id === 'counter.institution_suspended')!)).toBe(false);
  });
});
