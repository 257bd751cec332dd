#!/usr/bin/env node
// What the hub's rule state keeps per record: the whole pack over the memory rule state
// (JG_RULE_STATE=local), fed the simulator's records as the hub gets them — JSON text parsed and
// validated (parseTransactionFast), batches of 200 from 32 collectors in turn, as the pipeline
// bench's load generator sends them — and the heap measured after full collections before and
// after. Every byte printed here is copied by the young generation's collector once or twice and
// marked again by every full collection for as long as the state keeps it (docs/benchmarks.md).
//
//   node --expose-gc hub/bench/rule-state-memory.bench.mjs [--records 100000] [--json]
import { performance } from 'node:perf_hooks';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

if (typeof globalThis.gc !== 'function') {
  console.error('run with node --expose-gc (the heap is measured after full collections)');
  process.exit(2);
}
const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const args = process.argv.slice(2);
const argOf = (name, dflt) => {
  const i = args.indexOf(name);
  return i >= 0 && args[i + 1] !== undefined ? Number(args[i + 1]) : dflt;
};
const N = argOf('--records', 100_000);
const JSON_OUT = args.includes('--json');
const BATCH = 200;
const COLLECTORS = 32;

const rules = await import(path.join(root, 'rules/dist/index.js'));
const collector = await import(path.join(root, 'collector/dist/index.js'));
const { DEMO_INSTITUTIONS, DEMO_STAFF, createEngine, createMemoryRuleState, createRegistryView, createWorkCalendar, parseTransactionFast, ruleStateSize } = rules;

const registry = createRegistryView(DEMO_INSTITUTIONS, DEMO_STAFF);
const calendar = createWorkCalendar();
const engine = createEngine();
const state = createMemoryRuleState();
const ctx = { registry, calendar, ...state };
const pseudonymizer = collector.createPseudonymizer('k'.repeat(64));
const institutions = DEMO_INSTITUTIONS.map((i) => i.id);
const sims = Array.from({ length: COLLECTORS }, (_, i) =>
  collector.createSimulator({ institutionId: institutions[i % institutions.length], anomalyRate: 0.02, malformedRate: 0, seed: 1 + i, streamKey: `c${i}:1` }),
);
const seqs = new Array(COLLECTORS).fill(0);

/** One batch of collector `c`'s records, as the hub reads it: parsed from JSON text and validated. */
function batchOf(c) {
  let text = '';
  for (let j = 0; j < BATCH; j++) {
    seqs[c] += 1;
    const t = collector.toTransaction(sims[c].next().raw, { collectorId: `c${c}`, seq: seqs[c], capturedAt: Date.now() }, pseudonymizer);
    text += (j ? ',' : '') + JSON.stringify({ ...t, id: `c${c}:${seqs[c]}` });
  }
  return JSON.parse(`[${text}]`).map((r) => {
    const t = parseTransactionFast(r);
    if (t === undefined) throw new Error(`simulator record not valid: ${JSON.stringify(r).slice(0, 200)}`);
    return t;
  });
}

const heap = () => {
  globalThis.gc();
  globalThis.gc();
  return process.memoryUsage().heapUsed;
};
const h0 = heap();
let hits = 0;
let evalMs = 0;
for (let b = 0; b * BATCH < N; b++) {
  const batch = batchOf(b % COLLECTORS);
  const t0 = performance.now();
  const results = await engine.evaluateBatch(batch, () => ctx);
  evalMs += performance.now() - t0;
  for (const r of results) hits += r.length;
}
const records = Math.ceil(N / BATCH) * BATCH;
const retained = heap() - h0;
const size = ruleStateSize(state);
const result = { records, warnings: hits, keys: size.keys, entries: size.entries, retainedMB: retained / 1e6, retainedBytesPerRecord: retained / records, evaluateUsPerRecord: (evalMs * 1000) / records };
if (JSON_OUT) console.log(JSON.stringify(result, null, 2));
else {
  console.log(`rule state after ${records.toLocaleString('en-US')} records (whole pack, memory state, ${COLLECTORS} collectors × batches of ${BATCH})`);
  console.log('| warnings | keys | entries | heap retained | per record | evaluation |');
  console.log('|---|---|---|---|---|---|');
  console.log(`| ${hits.toLocaleString('en-US')} | ${size.keys.toLocaleString('en-US')} | ${size.entries.toLocaleString('en-US')} | ${result.retainedMB.toFixed(1)} MB | ${result.retainedBytesPerRecord.toFixed(0)} bytes | ${result.evaluateUsPerRecord.toFixed(2)} µs |`);
}
