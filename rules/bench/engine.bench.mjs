#!/usr/bin/env node
// Rule-engine throughput on one core, memory state: transactions/s through the whole pack, and
// separately through its stateless rules (calendar, duration, registry, field_predicate) and its
// stateful rules (window counts, overlaps, fingerprints, sequences). Run after `npm run build`:
//
//   node rules/bench/engine.bench.mjs [--n 100000] [--json]
//
// The traffic is synthetic but shaped like the collector's simulator (the same kinds, fields and
// proportions; fresh people, vehicles, photos and measurement vectors), plus records from the
// feeds some rules are restricted to (18c, check_av, queue, veh_flow, medical) and some 12123
// traffic, spread over ~3 weeks of business on 30 institutions so per-key state stays realistic.
// Peer-deviation rules are scheduled, never evaluated per transaction, so they are not measured.
//
// Then a reference comparison with json-rules-engine (npm, devDependency): 10 stateless rules of
// the pack written as json-rules-engine rules, both engines in this process on the same
// transactions (the traffic above plus injected anomalies so every rule fires), txn/s for each
// and the number of transactions on which both fire exactly the same rules.
// `--only-compare` skips the pack rows.
import fs from 'node:fs';
import { performance } from 'node:perf_hooks';
import { Engine as JsonRulesEngine } from 'json-rules-engine';
import {
  DEFAULT_PACK,
  DEMO_INSTITUTIONS,
  DEMO_STAFF,
  createEngine,
  applyStateOps,
  createMemoryRuleState,
  createRegistryView,
  createWorkCalendar,
} from '../dist/index.js';

const args = process.argv.slice(2);
const argOf = (name, dflt) => {
  const i = args.indexOf(name);
  return i >= 0 && args[i + 1] !== undefined ? Number(args[i + 1]) : dflt;
};
const N = argOf('--n', 100_000);
const JSON_OUT = args.includes('--json');

// ---- deterministic synthetic traffic ------------------------------------------------------------
function prng(seed) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
const rnd = prng(42);
const int = (lo, hi) => lo + Math.floor(rnd() * (hi - lo + 1));
const pick = (xs) => xs[Math.floor(rnd() * xs.length)];
const hex = (n) => {
  let s = '';
  for (let i = 0; i < n; i++) s += '0123456789abcdef'[Math.floor(rnd() * 16)];
  return s;
};
const ALNUM = 'ABCDEFGHJKLMNPRSTUVWXYZ0123456789';
const vin = () => {
  let s = 'LSV';
  for (let i = 0; i < 14; i++) s += ALNUM[Math.floor(rnd() * ALNUM.length)];
  return s;
};
const person = () => ({ idHash: hex(64), masked: `4512**********${int(1000, 9999)}`, birthYear: int(1950, 2005) });
const MIN = 60_000;
const calendar = createWorkCalendar();
const staffOf = (inst, role) => DEMO_STAFF.filter((s) => s.institutionId === inst && s.role === role && s.validTo > Date.parse('2026-01-01'));
const byType = (t) => DEMO_INSTITUTIONS.filter((i) => i.type === t).map((i) => i.id);
const offices = [...byType('vehicle_office'), ...byType('vehicle_office_branch')];
const stations = byType('inspection_station');
const schools = byType('driving_school');
const hospitals = byType('hospital');

/** Instants spread evenly over the working hours of 15 working days from Monday 2026-11-02. */
const DAY = 86_400_000;
const WORK_DAYS = [];
for (let d = Date.parse('2026-11-02T08:00:00+08:00'); WORK_DAYS.length < 15; d += DAY) if (calendar.isWorkingDay(d)) WORK_DAYS.push(d);
const WORK_MS = 10 * 60 * MIN; // 08:00–18:00
function businessTime(i) {
  const p = (i / N) * WORK_DAYS.length * WORK_MS;
  return WORK_DAYS[Math.floor(p / WORK_MS)] + Math.floor(p % WORK_MS);
}

// Clean by construction: a clerk stays at one terminal, an inspector on one lane, a test starts
// on a line only when the previous one ended, platform business follows a queue ticket.
const seat = (staffId, n) => 1 + (Number(staffId.slice(-2)) % n);
const lineFree = new Map();
const tickets = [];

function makeTxn(i) {
  const at = businessTime(i);
  while (tickets.length > 0 && tickets[0].at < at - 60 * MIN) tickets.shift();
  const r = rnd();
  const base = { id: `bench:${i}`, collectorId: 'bench', seq: i, capturedAt: at + 300, occurredAt: at, lsh: `1261102${String(i).padStart(7, '0')}` };
  const owner = person();
  if (r < 0.3) {
    const ticket = tickets.shift();
    const inst = ticket?.inst ?? pick(offices);
    const ywlx = pick(['A', 'A', 'B', 'B', 'D', 'E', 'G', 'K', 'K', 'L', 'O']);
    return {
      ...base, ...(ticket ? { lsh: ticket.lsh, source: 'veh_flow' } : { source: 'simulator' }), channel: 'counter', institutionId: inst, staffId: pick(staffOf(inst, 'clerk')).id,
      counter: `W0${int(1, 6)}`, deviceId: `${inst}-T0${int(1, 6)}`, ip: `10.45.1.${int(11, 16)}`, mac: '3C:97:0E:01:01:08', kind: 'vehicle', ywlx,
      subject: owner, ...(rnd() < 0.25 ? { agent: person() } : {}), phoneHash: hex(64),
      vehicle: { hpzl: pick(['02', '02', '52', '01', '07']), hphm: `桂M${int(10000, 99999)}`, vin: vin(), ownerIdHash: owner.idHash },
      appliedAt: at - 20 * MIN, startedAt: at - 10 * MIN, endedAt: at, completedAt: at, outcome: rnd() < 0.03 ? 'refused' : 'done',
    };
  }
  if (r < 0.45) {
    const ticket = tickets.shift();
    const inst = ticket?.inst ?? pick(offices);
    return {
      ...base, ...(ticket ? { lsh: ticket.lsh, source: 'drv_flow' } : { source: 'simulator' }), channel: 'counter', institutionId: inst, staffId: pick(staffOf(inst, 'clerk')).id, counter: 'W02',
      deviceId: `${inst}-T02`, ip: '10.45.1.12', kind: 'licence', ywlx: pick(['A', 'B', 'C', 'F', 'K', 'S']), subject: owner,
      licence: { numberHash: hex(64), zjcx: 'C1' }, appliedAt: at - 15 * MIN, startedAt: at - 8 * MIN, endedAt: at, completedAt: at, outcome: 'done',
    };
  }
  if (r < 0.53) {
    const inst = pick(offices);
    const holder = person();
    const internet = rnd() < 0.2;
    return {
      ...base, source: 'simulator', channel: internet ? 'internet' : 'counter', institutionId: inst, staffId: pick(staffOf(inst, 'clerk')).id,
      ip: internet ? `203.0.${int(0, 255)}.${int(1, 254)}` : '10.45.1.13', kind: 'violation', subject: holder, licence: { numberHash: hex(64) },
      vehicle: { hpzl: '02', hphm: `桂M${int(10000, 99999)}`, vin: vin(), ownerIdHash: holder.idHash }, startedAt: at - 5 * MIN, endedAt: at, completedAt: at,
      outcome: 'done', measurements: { points: pick([1, 3, 6]), fine: 200 },
    };
  }
  if (r < 0.63) {
    const inst = pick([...stations, ...offices]);
    const inspector = pick(staffOf(inst, 'inspector')).id;
    return {
      ...base, source: 'check_av', channel: 'institution', institutionId: inst, staffId: inspector,
      counter: `C0${seat(inspector, 9)}`, ip: '10.45.5.11', kind: 'check', ywlx: 'A', subject: owner, vehicle: { hpzl: '02', hphm: `桂M${int(10000, 99999)}`, vin: vin() },
      startedAt: at - int(4, 15) * MIN, endedAt: at, outcome: 'pass', evidence: [hex(64), hex(64), hex(64)],
    };
  }
  if (r < 0.78) {
    const inst = pick(stations);
    const lane = int(1, 9);
    const started = at - int(15, 40) * MIN;
    const free = lineFree.get(`${inst}:${lane}`) ?? 0;
    if (started >= free) lineFree.set(`${inst}:${lane}`, at);
    return {
      ...base, source: started >= free ? '18c' : 'simulator', channel: 'institution', institutionId: inst, staffId: pick(staffOf(inst, 'inspector')).id,
      counter: `L${lane}`, deviceId: `${inst}-L${lane}-D01`, ip: '10.45.5.21', kind: 'inspection', ywlx: 'P', subject: owner,
      vehicle: { hpzl: '02', hphm: `桂M${int(10000, 99999)}`, vin: vin() }, startedAt: started, endedAt: at, outcome: rnd() < 0.92 ? 'pass' : 'fail',
      measurements: { brakeFrontPct: int(600, 850) / 10, brakeRearPct: int(550, 800) / 10, parkingBrakePct: int(210, 350) / 10, headlampLeftCd: int(15000, 32000), headlampRightCd: int(15000, 32000), coPct: int(5, 60) / 100 },
      evidence: [hex(64), hex(64), hex(64), hex(64)],
    };
  }
  if (r < 0.86) {
    const inst = pick(schools);
    return {
      ...base, source: 'exam', channel: 'institution', institutionId: inst, staffId: pick(staffOf(inst, 'examiner')).id, counter: `R${int(1, 4)}`,
      ip: '10.45.8.11', kind: 'exam', ywlx: String(int(1, 4)), subject: owner, startedAt: at - int(10, 40) * MIN, endedAt: at, outcome: rnd() < 0.8 ? 'pass' : 'fail',
      measurements: { subject: 2, score: 90, faceMatchScore: int(75, 99) },
    };
  }
  if (r < 0.91) {
    const inst = pick(hospitals);
    return {
      ...base, source: 'medical', channel: 'institution', institutionId: inst, staffId: `${inst}-D0${int(1, 3)}`, counter: 'M1', ip: '10.45.15.11',
      kind: 'medical', ywlx: 'A', subject: owner, startedAt: at - 10 * MIN, endedAt: at, outcome: 'pass',
    };
  }
  if (r < 0.97) {
    const inst = pick(offices);
    const clerk = pick(staffOf(inst, 'clerk')).id;
    tickets.push({ inst, lsh: base.lsh, at });
    return {
      ...base, source: 'queue', channel: 'counter', institutionId: inst, staffId: clerk, counter: `W0${seat(clerk, 6)}`,
      deviceId: `${inst}-T0${seat(clerk, 6)}`, ip: '10.45.1.14', kind: 'queue', appliedAt: at - 20 * MIN, startedAt: at - 30_000, completedAt: at, occurredAt: at,
      outcome: rnd() < 0.05 ? 'pending' : 'done',
    };
  }
  return { ...base, source: '12123', channel: 'internet', institutionId: pick(offices), kind: 'online', deviceId: hex(16), ip: `203.0.${int(0, 255)}.${int(1, 254)}`, subject: owner };
}

// ---- measure ----------------------------------------------------------------------------------
const registry = createRegistryView(DEMO_INSTITUTIONS, DEMO_STAFF);
const full = createEngine();
const stateOf = new Map(full.rules.map((r) => [r.id, r.state]));
const subset = (pred) => DEFAULT_PACK.filter((d) => pred(stateOf.get(d.id)));
const packs = [
  { name: 'whole pack (real-time rules)', defs: subset((s) => s !== 'scheduled') },
  { name: 'stateless rules', defs: subset((s) => s === 'none') },
  { name: 'stateful rules (all four states)', defs: subset((s) => s !== 'none' && s !== 'scheduled') },
  { name: '  window (counts)', defs: subset((s) => s === 'window') },
  { name: '  interval (overlap)', defs: subset((s) => s === 'interval') },
  { name: '  fingerprint', defs: subset((s) => s === 'fingerprint') },
  { name: '  sequence', defs: subset((s) => s === 'sequence') },
];

// Through JSON, as the hub receives records (BullMQ job data, socket payloads): the generator's
// strings are built with `+=` (ropes), and an engine fed ropes spends its time flattening them
// inside Map lookups and joins, which never happens on parsed input.
const txns = JSON.parse(JSON.stringify(Array.from({ length: N }, (_, i) => makeTxn(i))));

// `--alloc-profile <file>`: sample every allocation of the timed loop (garbage included, which
// --heap-prof leaves out) into a .heapprofile for Chrome DevTools or a script — what GC time is
// made of. One pack only (use with --pack-only).
const ALLOC_PROFILE = args.includes('--alloc-profile') ? args[args.indexOf('--alloc-profile') + 1] : undefined;
// `--cpu-profile <file>`: a .cpuprofile of the timed loop alone (node --cpu-prof also records
// the traffic generation and the warm-up, which dwarf it).
const CPU_PROFILE = args.includes('--cpu-profile') ? args[args.indexOf('--cpu-profile') + 1] : undefined;
async function startCpuProfile() {
  const { Session } = await import('node:inspector/promises');
  const session = new Session();
  session.connect();
  await session.post('Profiler.enable');
  await session.post('Profiler.setSamplingInterval', { interval: 100 });
  await session.post('Profiler.start');
  return {
    async stop(file) {
      const { profile } = await session.post('Profiler.stop');
      fs.writeFileSync(file, JSON.stringify(profile));
      session.disconnect();
    },
  };
}
async function startAllocationSampling() {
  const { Session } = await import('node:inspector/promises');
  const session = new Session();
  session.connect();
  await session.post('HeapProfiler.enable');
  await session.post('HeapProfiler.startSampling', { samplingInterval: 4096, includeObjectsCollectedByMajorGC: true, includeObjectsCollectedByMinorGC: true });
  return {
    async stop(file) {
      const { profile } = await session.post('HeapProfiler.stopSampling');
      fs.writeFileSync(file, JSON.stringify(profile));
      session.disconnect();
    },
  };
}

async function measure(defs) {
  const engine = createEngine(defs);
  // Warm-up on separate state (JIT), then a fresh state for the timed run.
  const warm = { registry, calendar, ...createMemoryRuleState() };
  for (let i = 0; i < Math.min(20_000, N); i++) await engine.evaluate(txns[i], warm);
  const ctx = { registry, calendar, ...createMemoryRuleState() };
  return timed(engine, async () => {
    let hits = 0;
    for (const t of txns) hits += (await engine.evaluate(t, ctx)).length;
    return hits;
  });
}

/** Times `loop` (which returns the hits), with the profiles asked for on the command line. */
async function timed(engine, loop) {
  const alloc = ALLOC_PROFILE ? await startAllocationSampling() : undefined;
  const prof = CPU_PROFILE ? await startCpuProfile() : undefined;
  const c0 = process.cpuUsage();
  const t0 = performance.now();
  const hits = await loop();
  const ms = performance.now() - t0;
  const cpu = process.cpuUsage(c0);
  // CPU time of the process over the loop (GC helper threads included): on a shared machine
  // the wall clock also counts time spent waiting for a core, CPU time does not.
  const cpuMs = (cpu.user + cpu.system) / 1000;
  if (alloc) await alloc.stop(ALLOC_PROFILE);
  if (prof) await prof.stop(CPU_PROFILE);
  return { rules: engine.rules.length, ms, perSec: (N / ms) * 1000, usPerTxn: (ms * 1000) / N, perCpuSec: (N / cpuMs) * 1000, cpuUsPerTxn: (cpuMs * 1000) / N, hits };
}

/**
 * The four memory states behind one StateBatcher, as the hub holds them (hub/src/jobs/local-state.ts
 * statesOver, without its log): RuleEngine.evaluateBatch collects a batch's state calls and sends
 * them in one run(), whose answer is a promise.
 */
function batchedStates(mem) {
  const batcher = { run: async (ops) => applyStateOps(mem, ops) };
  const one = async (op) => (await batcher.run([op]))[0];
  return {
    state: { batcher, observe: (key, member, at, windowMs) => one({ op: 'observe', key, member, at, windowMs }) },
    intervals: { batcher, overlap: (key, id, member, start, end, retainMs) => one({ op: 'overlap', key, id, member, start, end, retainMs }) },
    fingerprints: {
      batcher,
      claim: async (key, fingerprint, owner, id, at, windowMs, retainMs) => (await one({ op: 'claim', key, fingerprints: [fingerprint], owner, id, at, windowMs, retainMs }))[0],
      claimMany: (key, fingerprints, owner, id, at, windowMs, retainMs) => one({ op: 'claim', key, fingerprints, owner, id, at, windowMs, retainMs }),
    },
    sequences: {
      batcher,
      record: (key, event, id, at, retainMs) => one({ op: 'record', key, event, id, at, retainMs }),
      latest: (key, event, id, at, windowMs, retainMs) => one({ op: 'latest', key, event, id, at, windowMs, retainMs }),
    },
  };
}

/** The whole pack through evaluateBatch, `BATCH` records at a time, states behind a batcher. */
const BATCH = argOf('--batch', 200);
async function measureBatched(defs) {
  const engine = createEngine(defs);
  const slices = [];
  for (let i = 0; i < txns.length; i += BATCH) slices.push(txns.slice(i, i + BATCH));
  const warm = { registry, calendar, ...batchedStates(createMemoryRuleState()) };
  for (let i = 0; i < Math.min(100, slices.length); i++) await engine.evaluateBatch(slices[i], warm);
  const ctx = { registry, calendar, ...batchedStates(createMemoryRuleState()) };
  return timed(engine, async () => {
    let hits = 0;
    for (const s of slices) for (const h of await engine.evaluateBatch(s, ctx)) hits += h.length;
    return hits;
  });
}

const rows = [];
/** One measured row, as a line (or as JSON with --json). */
const printRow = (r) =>
  console.log(JSON_OUT ? JSON.stringify(r) : `${r.name}: ${Math.round(r.perSec).toLocaleString('en-US')} txn/s, ${r.usPerTxn.toFixed(2)} µs/txn wall; ${Math.round(r.perCpuSec).toLocaleString('en-US')} txn per CPU-second, ${r.cpuUsPerTxn.toFixed(2)} µs CPU/txn; ${r.hits} hits`);
// `--batched`: the whole pack through evaluateBatch over batching states (the hub's path) alone.
// `--rounds k`: k timed runs on fresh states, the one with the least CPU reported (a shared
// machine only ever adds time).
if (args.includes('--batched')) {
  const runs = [];
  for (let k = 0; k < argOf('--rounds', 1); k++) runs.push(await measureBatched(packs[0].defs));
  const best = runs.reduce((a, b) => (b.cpuUsPerTxn < a.cpuUsPerTxn ? b : a));
  const r = { name: `whole pack, batches of ${BATCH} (evaluateBatch, states behind a batcher)${runs.length > 1 ? `, least CPU of ${runs.length} runs` : ''}`, ...best };
  printRow(r);
  process.exit(0);
}
// `--pack-only`: the whole-pack row alone (for CPU profiles of the real-time path).
const PACK_ONLY = args.includes('--pack-only');
if (!args.includes('--only-compare')) for (const p of PACK_ONLY ? packs.slice(0, 1) : packs) rows.push({ name: p.name, ...(await measure(p.defs)) });
if (PACK_ONLY) {
  for (const r of rows) printRow(r);
  process.exit(0);
}

// ---- reference: json-rules-engine on 10 stateless rules ----------------------------------------
const COMPARED = [
  'counter.long_wait',
  'counter.long_handling',
  'counter.refusal',
  'counter.self_dealing',
  'counter.sensitive_business',
  'vehicle.approval_revoked',
  'check.short_duration',
  'inspection.short_test',
  'exam.identity_mismatch',
  'exam.short_duration',
];
// The same traffic with anomalies injected (separate PRNG) so that each compared rule fires.
const rndA = prng(7);
const cmpTxns = txns.map((t0) => {
  if (rndA() >= 0.08) return t0;
  const t = structuredClone(t0);
  const k = rndA();
  switch (t.kind) {
    case 'vehicle':
    case 'licence':
      if (k < 0.2) t.appliedAt = t.startedAt - 2 * 3_600_000;
      else if (k < 0.4) t.startedAt = t.completedAt - 1_000_000;
      else if (k < 0.55) t.staffIdHash = t.subject.idHash;
      else if (k < 0.7 && t.agent) t.staffIdHash = t.agent.idHash;
      else if (k < 0.85 && t.kind === 'vehicle') t.ywlx = 'M';
      else if (t.kind === 'vehicle') {
        t.ywlx = 'A';
        t.vehicle.approvalRevoked = true;
      } else t.staffIdHash = hex(64);
      break;
    case 'queue':
      if (k < 0.5) t.appliedAt = t.startedAt - 2 * 3_600_000;
      else t.outcome = 'refused';
      break;
    case 'check':
      if (k < 0.7) t.startedAt = t.endedAt - 100_000;
      else t.vehicle.hpzl = '01';
      break;
    case 'inspection':
      t.startedAt = t.endedAt - 200_000;
      if (k < 0.3) t.measurements = { ...t.measurements, filedMinSeconds: 60 };
      break;
    case 'exam':
      if (k < 0.3) t.measurements = { ...t.measurements, faceMatchScore: 50 };
      else if (k < 0.7) {
        t.ywlx = '2';
        t.startedAt = t.endedAt - 200_000;
      } else {
        t.startedAt = t.endedAt - 200_000;
        t.measurements = { ...t.measurements, routeMinSeconds: 600 };
      }
      break;
    default:
      break;
  }
  return t;
});

// The json-rules-engine rules: one fact `txn` (the transaction) read by path, a dynamic fact
// `seconds` (to − from in seconds; null when a time is missing or to < from, like our duration
// kind) and two operators for our `present` / `absent` (undefined, null and '' are absent).
const f = (p) => ({ fact: 'txn', path: `$.${p}` });
const isIn = (p, values) => ({ ...f(p), operator: 'in', value: values });
const dur = (from, to, operator, value) => ({ fact: 'seconds', params: { from, to }, operator, value });
const JRE_RULES = [
  { name: 'counter.long_wait', conditions: { all: [isIn('kind', ['queue', 'vehicle', 'licence']), isIn('channel', ['counter']), dur('appliedAt', 'startedAt', 'greaterThanInclusive', 3600)] } },
  { name: 'counter.long_handling', conditions: { all: [isIn('kind', ['queue', 'vehicle', 'licence']), isIn('channel', ['counter']), dur('startedAt', 'completedAt', 'greaterThanInclusive', 900)] } },
  { name: 'counter.refusal', conditions: { all: [isIn('kind', ['vehicle', 'licence', 'queue']), isIn('outcome', ['refused'])] } },
  {
    name: 'counter.self_dealing',
    conditions: {
      all: [
        isIn('kind', ['vehicle', 'licence', 'violation']),
        {
          any: [
            { all: [{ ...f('staffIdHash'), operator: 'present', value: true }, { ...f('staffIdHash'), operator: 'equal', value: f('subject.idHash') }] },
            { all: [{ ...f('staffIdHash'), operator: 'present', value: true }, { ...f('staffIdHash'), operator: 'equal', value: f('agent.idHash') }] },
          ],
        },
      ],
    },
  },
  { name: 'counter.sensitive_business', conditions: { all: [isIn('kind', ['vehicle']), isIn('source', ['veh_flow']), isIn('ywlx', ['M', 'S', 'T', 'U', 'W', 'X'])] } },
  { name: 'vehicle.approval_revoked', conditions: { all: [isIn('kind', ['vehicle']), isIn('ywlx', ['A']), isIn('vehicle.approvalRevoked', [true])] } },
  { name: 'check.short_duration', conditions: { all: [isIn('kind', ['check']), isIn('vehicle.hpzl', ['02', '52']), dur('startedAt', 'endedAt', 'lessThan', 180)] } },
  { name: 'inspection.short_test', conditions: { all: [isIn('kind', ['inspection']), { ...f('measurements.filedMinSeconds'), operator: 'absent', value: true }, dur('startedAt', 'endedAt', 'lessThan', 300)] } },
  { name: 'exam.identity_mismatch', conditions: { all: [isIn('kind', ['exam']), { ...f('measurements.faceMatchScore'), operator: 'lessThan', value: 70 }] } },
  {
    name: 'exam.short_duration',
    conditions: { all: [isIn('kind', ['exam']), isIn('ywlx', ['2', '3']), { ...f('measurements.routeMinSeconds'), operator: 'absent', value: true }, dur('startedAt', 'endedAt', 'lessThan', 300)] },
  },
].map((r) => ({ ...r, event: { type: r.name } }));

const presentValue = (v) => v !== undefined && v !== null && v !== '';
function makeJre(pathResolver) {
  const e = new JsonRulesEngine([], { allowUndefinedFacts: true, ...(pathResolver ? { pathResolver } : {}) });
  e.addOperator('present', (a) => presentValue(a));
  e.addOperator('absent', (a) => !presentValue(a));
  e.addFact('seconds', (params, almanac) =>
    almanac.factValue('txn').then((t) => {
      const a = t[params.from];
      const b = t[params.to];
      return typeof a === 'number' && typeof b === 'number' && b >= a ? (b - a) / 1000 : null;
    }),
  );
  for (const r of JRE_RULES) e.addRule(r);
  return e;
}
// A plain dotted-path resolver ($.a.b) instead of the default JSONPath (jsonpath-plus).
const dotted = (obj, p) => {
  let v = obj;
  for (const k of p.slice(2).split('.')) {
    if (v === undefined || v === null) return undefined;
    v = v[k];
  }
  return v;
};

const oursDefs = DEFAULT_PACK.filter((d) => COMPARED.includes(d.id));
if (oursDefs.length !== COMPARED.length || oursDefs.some((d) => stateOf.get(d.id) !== 'none')) throw new Error('compared rules missing or not stateless');
const oursEngine = createEngine(oursDefs);
async function timeIt(name, rules, fireOf) {
  for (let i = 0; i < Math.min(20_000, N); i++) await fireOf(cmpTxns[i]);
  const fired = new Array(N);
  const t0 = performance.now();
  for (let i = 0; i < N; i++) fired[i] = await fireOf(cmpTxns[i]);
  const ms = performance.now() - t0;
  return { name, rules, ms, perSec: (N / ms) * 1000, usPerTxn: (ms * 1000) / N, hits: fired.reduce((s, x) => s + x.length, 0), fired };
}
const ctxCmp = { registry, calendar, ...createMemoryRuleState() };
const jreDefault = makeJre();
const jreDotted = makeJre(dotted);
const cmpRows = [
  await timeIt('ours (@jianguan/rules)', oursEngine.rules.length, async (t) => (await oursEngine.evaluate(t, ctxCmp)).map((h) => h.rule.id).sort()),
  await timeIt('json-rules-engine (default JSONPath)', JRE_RULES.length, async (t) => (await jreDefault.run({ txn: t })).events.map((e) => e.type).sort()),
  await timeIt('json-rules-engine (dotted pathResolver)', JRE_RULES.length, async (t) => (await jreDotted.run({ txn: t })).events.map((e) => e.type).sort()),
];
const same = (a, b) => a.length === b.length && a.every((x, i) => x === b[i]);
const agree = (j) => cmpRows[0].fired.reduce((s, x, i) => s + (same(x, cmpRows[j].fired[i]) ? 1 : 0), 0);
const firedOn = (j) => cmpRows[j].fired.filter((x) => x.length > 0).length;
const perRule = Object.fromEntries(COMPARED.map((id) => [id, cmpRows.map((r) => r.fired.filter((x) => x.includes(id)).length)]));
const disagreements = [];
for (let i = 0; i < N && disagreements.length < 5; i++) if (!same(cmpRows[0].fired[i], cmpRows[1].fired[i])) disagreements.push({ id: cmpTxns[i].id, ours: cmpRows[0].fired[i], jre: cmpRows[1].fired[i] });
const comparison = {
  jsonRulesEngine: JSON.parse(fs.readFileSync(new URL('../../node_modules/json-rules-engine/package.json', import.meta.url), 'utf8')).version,
  rules: COMPARED,
  rows: cmpRows.map(({ fired, ...r }, j) => ({ ...r, txnsWithHits: firedOn(j), agreeWithOurs: agree(j) })),
  perRule,
  disagreements,
};

if (JSON_OUT) {
  console.log(JSON.stringify({ n: N, node: process.version, rows, comparison }, null, 2));
} else {
  const fmt = (x, d = 0) => x.toLocaleString('en-US', { maximumFractionDigits: d, minimumFractionDigits: d });
  console.log(`\n@jianguan/rules engine bench — ${fmt(N)} synthetic transactions, one core, memory state, ${process.version}\n`);
  const head = ['rules evaluated', 'rules', 'txn/s', 'µs/txn', 'hits'];
  const data = rows.map((r) => [r.name, String(r.rules), fmt(r.perSec), fmt(r.usPerTxn, 2), fmt(r.hits)]);
  const widths = head.map((h, i) => Math.max(h.length, ...data.map((d) => d[i].length)));
  const line = (cells) => cells.map((c, i) => (i === 0 ? c.padEnd(widths[i]) : c.padStart(widths[i]))).join('  ');
  console.log(line(head));
  console.log(widths.map((w) => '-'.repeat(w)).join('  '));
  for (const d of data) console.log(line(d));
  console.log('\n(hits: warnings raised; the synthetic traffic is normal except ~3 % refusals (counter.refusal) and chance bursts of medicals (medical.doctor_hourly))');

  console.log(`\nReference: json-rules-engine ${comparison.jsonRulesEngine} on the same 10 stateless rules, same ${fmt(N)} transactions (8 % with injected anomalies), same process\n`);
  const h2 = ['engine', 'rules', 'txn/s', 'µs/txn', 'hits', 'txns with hits', 'agree with ours'];
  const d2 = comparison.rows.map((r) => [r.name, String(r.rules), fmt(r.perSec), fmt(r.usPerTxn, 2), fmt(r.hits), fmt(r.txnsWithHits), `${fmt(r.agreeWithOurs)} / ${fmt(N)}`]);
  const w2 = h2.map((h, i) => Math.max(h.length, ...d2.map((d) => d[i].length)));
  const l2 = (cells) => cells.map((c, i) => (i === 0 ? c.padEnd(w2[i]) : c.padStart(w2[i]))).join('  ');
  console.log(l2(h2));
  console.log(w2.map((w) => '-'.repeat(w)).join('  '));
  for (const d of d2) console.log(l2(d));
  console.log(`\nper rule (ours / json-rules-engine default / dotted): ${Object.entries(comparison.perRule).map(([id, c]) => `${id} ${c.join('/')}`).join(', ')}`);
  if (comparison.disagreements.length > 0) console.log(`first disagreements: ${JSON.stringify(comparison.disagreements)}`);
}
