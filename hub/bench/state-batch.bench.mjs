#!/usr/bin/env node
// Rule state per batch against Redis: the whole pack over the hub's Redis states, batches of
// --batch records, evaluated (A) record by record as the evaluate job used to, one state call per
// stateful rule, and (B) with engine.evaluateBatch, every state call of a batch in one script.
// Same records, fresh key prefixes; the runs alternate (A, B, A, B …) so machine load hits both.
//
//   node hub/bench/state-batch.bench.mjs [--records 20000] [--batch 100] [--rounds 3] [--json]
//
// Redis: JG_REDIS_URL (default redis://127.0.0.1:6399). Reports records/s and, for this
// connection only, commands sent per batch (round trips: ioredis writes each command as it is
// issued) and Redis time per record from the slowlog-free source INFO commandstats (shared
// Redis: other clients' scripts land there too, so that column is indicative).
import crypto from 'node:crypto';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const args = process.argv.slice(2);
const argOf = (name, dflt) => {
  const i = args.indexOf(name);
  return i >= 0 && args[i + 1] !== undefined ? Number(args[i + 1]) : dflt;
};
const N = argOf('--records', 20_000);
const BATCH = argOf('--batch', 100);
const ROUNDS = argOf('--rounds', 3);
const JSON_OUT = args.includes('--json');

const { Redis } = await import(path.join(root, 'node_modules/ioredis/built/index.js'));
const { createEngine, createRegistryView, createWorkCalendar, DEMO_INSTITUTIONS, DEMO_STAFF } = await import(path.join(root, 'rules/dist/index.js'));
const { createRedisRuleStates } = await import(path.join(root, 'hub/dist/jobs/rule-state.js'));
const { createRedisWindowState } = await import(path.join(root, 'hub/dist/jobs/window-state.js'));

const redis = new Redis(process.env.JG_REDIS_URL ?? 'redis://127.0.0.1:6399');
const engine = createEngine();
const registry = createRegistryView(DEMO_INSTITUTIONS, DEMO_STAFF);
const calendar = createWorkCalendar();

// Deterministic traffic over a working day: vehicle counter business, check-station records
// (source check_av: overlap, photo fingerprints, repeated checks) and licence business.
let seed = 7;
const rnd = () => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31);
const int = (lo, hi) => lo + Math.floor(rnd() * (hi - lo + 1));
const hex = (n) => crypto.createHash('sha256').update(String(rnd())).digest('hex').slice(0, n);
const T0 = Date.parse('2026-11-24T08:00:00+08:00');
const MIN = 60_000;
const staff = (inst, role) => DEMO_STAFF.filter((s) => s.institutionId === inst && s.role === role);
const offices = DEMO_INSTITUTIONS.filter((i) => i.type === 'vehicle_office').map((i) => i.id);
const stations = DEMO_INSTITUTIONS.filter((i) => i.type === 'inspection_station').map((i) => i.id);
const records = Array.from({ length: N }, (_, i) => {
  const at = T0 + Math.floor((i / N) * 600) * MIN + int(0, 59_999);
  const owner = { idHash: hex(64), masked: `4512**********${int(1000, 9999)}` };
  const base = { id: `sb-${i}`, collectorId: 'c1', seq: i + 1, occurredAt: at, capturedAt: at + 500 };
  if (rnd() < 0.5) {
    const inst = offices[int(0, offices.length - 1)];
    const clerk = staff(inst, 'clerk')[0];
    return { ...base, source: 'simulator', channel: 'counter', institutionId: inst, staffId: clerk?.id, counter: `W0${int(1, 6)}`, ip: '10.45.1.12', kind: 'vehicle', ywlx: 'A',
      subject: owner, vehicle: { hpzl: '02', hphm: `桂M${int(10000, 10400)}`, vin: `LSV${hex(14).toUpperCase()}`, ownerIdHash: owner.idHash },
      appliedAt: at - 20 * MIN, startedAt: at - 10 * MIN, endedAt: at, completedAt: at, outcome: 'done' };
  }
  const inst = stations[int(0, stations.length - 1)];
  const insp = staff(inst, 'inspector');
  return { ...base, source: 'check_av', channel: 'institution', institutionId: inst, staffId: insp[int(0, Math.max(0, insp.length - 1))]?.id, counter: `C0${int(1, 4)}`,
    ip: '10.45.5.11', kind: 'check', ywlx: 'A', lsh: `2611240${int(10000, 13000)}`, subject: owner, vehicle: { hpzl: '02', hphm: `桂M${int(10000, 10400)}`, vin: `LSV${hex(14).toUpperCase()}` },
    startedAt: at - int(4, 15) * MIN, endedAt: at, outcome: 'pass', evidence: [hex(64), hex(64), rnd() < 0.02 ? 'shared-photo' : hex(64)] };
});

async function scriptUsec() {
  const info = await redis.info('commandstats');
  let usec = 0;
  for (const m of info.matchAll(/cmdstat_(?:evalsha|eval):calls=\d+,usec=(\d+)/g)) usec += Number(m[1]);
  return usec;
}

async function run(mode) {
  const prefix = `jg-sbb-${crypto.randomBytes(4).toString('hex')}`;
  const ctx = { registry, calendar, state: createRedisWindowState(redis, prefix), ...createRedisRuleStates(redis, prefix) };
  let sent = 0;
  const send = redis.sendCommand.bind(redis);
  redis.sendCommand = (cmd, ...rest) => {
    sent++;
    return send(cmd, ...rest);
  };
  const u0 = await scriptUsec();
  const t0 = performance.now();
  let hits = 0;
  for (let i = 0; i < N; i += BATCH) {
    const batch = records.slice(i, i + BATCH);
    if (mode === 'per record') for (const t of batch) hits += (await engine.evaluate(t, ctx)).length;
    else for (const h of await engine.evaluateBatch(batch, ctx)) hits += h.length;
  }
  const ms = performance.now() - t0;
  redis.sendCommand = send;
  const u1 = await scriptUsec();
  // Clean up this run's keys.
  let cursor = '0';
  do {
    const [next, keys] = await redis.scan(cursor, 'MATCH', `${prefix}:*`, 'COUNT', 1000);
    cursor = next;
    if (keys.length) await redis.del(...keys);
  } while (cursor !== '0');
  return { mode, ms, perSec: (N / ms) * 1000, commandsPerBatch: sent / Math.ceil(N / BATCH), redisUsPerRecord: (u1 - u0) / N, hits };
}

const load0 = os.loadavg().map((x) => x.toFixed(2)).join(' ');
const rows = [];
for (let r = 0; r < ROUNDS; r++) for (const mode of ['per record', 'batched']) rows.push(await run(mode));
const load1 = os.loadavg().map((x) => x.toFixed(2)).join(' ');
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const summary = ['per record', 'batched'].map((mode) => {
  const rs = rows.filter((r) => r.mode === mode);
  return { mode, perSec: median(rs.map((r) => r.perSec)), runs: rs.map((r) => Math.round(r.perSec)), commandsPerBatch: median(rs.map((r) => r.commandsPerBatch)), redisUsPerRecord: median(rs.map((r) => r.redisUsPerRecord)), hits: rs[0].hits };
});
if (JSON_OUT) console.log(JSON.stringify({ records: N, batch: BATCH, rounds: ROUNDS, summary, load: { before: load0, after: load1 } }, null, 2));
else {
  console.log(`${N.toLocaleString('en-US')} records, batches of ${BATCH}, ${ROUNDS} rounds alternating; load ${load0} → ${load1}`);
  for (const s of summary)
    console.log(`  ${s.mode.padEnd(11)} median ${Math.round(s.perSec).toLocaleString('en-US')} records/s (runs ${s.runs.join(', ')}), ${s.commandsPerBatch.toFixed(1)} Redis commands per batch, ${s.redisUsPerRecord.toFixed(1)} µs Redis script time per record, ${s.hits} hits`);
}
await redis.quit();
