#!/usr/bin/env node
// Backtest speed: runBacktest (hub/src/backtest/runner.ts) over the transactions stored in an
// embedded store, the whole pack as both the live and the candidate rule set (the candidate with
// one threshold changed), reported in records/s. Use a store filled by `npm run bench:scale`:
//
//   npm run bench:scale -- --rows 1000000 --dir .data/bench-scale      # once
//   node hub/bench/backtest.bench.mjs --dir .data/bench-scale [--page 2000] [--days 365] [--hub-dist dir] [--json]
//
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const args = process.argv.slice(2);
const argOf = (name, dflt) => {
  const i = args.indexOf(name);
  return i >= 0 && args[i + 1] !== undefined ? args[i + 1] : dflt;
};
const DIR = path.resolve(root, argOf('--dir', '.data/bench-scale'));
const PAGE = Number(argOf('--page', 2000));
const JSON_OUT = args.includes('--json');
// --days N: only the last N days of the stored year (≈ 1 million records of a 10-million store
// with --days 37). --hub-dist: another build of the hub (A/B against an older commit).
const DAYS = Number(argOf('--days', 365));
const HUB_DIST = path.resolve(argOf('--hub-dist', path.join(root, 'hub/dist')));

const hub = (p) => import(path.join(HUB_DIST, p));
const { loadConfig } = await hub('config.js');
const { openStore } = await hub('store/store.js');
const { runBacktest } = await hub('backtest/runner.js');
const { createEngine, createRegistryView, createWorkCalendar } = await import(path.join(root, 'rules/dist/index.js'));

const store = await openStore(loadConfig({}, { dataDir: DIR }));
const view = createRegistryView([], []);
const registry = { at: () => view };
const live = createEngine();
const draft = createEngine(undefined, { params: { 'agent.frequent': { threshold: 4 } } });
const END = Date.parse('2026-11-30T16:00:00Z');
const range = { from: END - DAYS * 86_400_000, to: END };

const load0 = os.loadavg().map((x) => x.toFixed(2)).join(' ');
const c0 = process.cpuUsage();
const t0 = performance.now();
let firstPageMs;
const result = await runBacktest({ store, registry, calendar: createWorkCalendar(), pageSize: PAGE, examples: 3 }, live, draft, range, async (done) => {
  if (firstPageMs === undefined && done > 0) firstPageMs = performance.now() - t0;
  // One line per 50,000 records on stderr: a slow build can be judged before it finishes.
  if (done > 0 && done % 50_000 < PAGE) process.stderr.write(`  ${done} records after ${((performance.now() - t0) / 1000).toFixed(1)} s\n`);
});
const ms = performance.now() - t0;
const cpu = process.cpuUsage(c0);
const load1 = os.loadavg().map((x) => x.toFixed(2)).join(' ');
const out = {
  records: result.transactions,
  seconds: ms / 1000,
  recordsPerSecond: (result.transactions / ms) * 1000,
  cpuSeconds: (cpu.user + cpu.system) / 1e6,
  firstPageMs,
  page: PAGE,
  live: result.liveTotal,
  draft: result.draftTotal,
  added: result.added,
  removed: result.removed,
  load: { before: load0, after: load1 },
};
if (JSON_OUT) console.log(JSON.stringify(out, null, 2));
else
  console.log(
    `backtest: ${out.records.toLocaleString('en-US')} records in ${out.seconds.toFixed(1)} s = ${Math.round(out.recordsPerSecond).toLocaleString('en-US')} records/s ` +
      `(CPU ${out.cpuSeconds.toFixed(1)} s, page ${PAGE}, warnings live ${out.live} / candidate ${out.draft}, load ${load0} → ${load1})`,
  );
await store.close();
