#!/usr/bin/env node
// The warning lists, the transaction behind a warning, the workflow sweep's two reads and the
// wall's workflow figures of two builds of the hub (workflow/repo.js, live/wall-stats.js,
// store/repo.js), alternating in one process on one store so that machine load hits both alike.
// On a store filled by `npm run bench:scale`, the calls of hub/bench/warning-calls.mjs (its
// `warning:`, `list:`, `sweep:` and `wall: workflow` rows):
//
//   node hub/bench/warning-lists-ab.mjs .data/bench-scale-100m <dist A> [dist B] [rounds]
//
// dist A / B: a hub dist directory kept under hub/ (e.g. hub/.data/ab/before/dist, built from the
// earlier sources) so its imports resolve; B defaults to hub/dist. Prints p50 / p95 ms per call.
// CALLS='wall: workflow;list: open, city' runs only those (names separated by semicolons).
import path from 'node:path';
import { warningCalls } from './warning-calls.mjs';

const [storeDir, distA, distB = new URL('../dist', import.meta.url).pathname, roundsArg] = process.argv.slice(2);
if (!storeDir || !distA) {
  console.error('usage: node hub/bench/warning-lists-ab.mjs <bench:scale store> <dist A> [dist B] [rounds]');
  process.exit(2);
}
const ROUNDS = Number(roundsArg ?? 10);
const from = (dist, p) => import(path.join(path.resolve(dist), p));
const { loadConfig } = await from(distB, 'config.js');
const { openStore } = await from(distB, 'store/store.js');
const { sql, UNSAFE_RAW_SQL } = await from(distB, 'store/sql.js');
const build = async (dist) => ({ ...(await from(dist, 'store/repo.js')), ...(await from(dist, 'live/wall-stats.js')), ...(await from(dist, 'workflow/repo.js')) });
const builds = { A: await build(distA), B: await build(distB) };
const store = await openStore(loadConfig({}, { dataDir: path.resolve(storeDir) }));
const raw = (text) => sql`${UNSAFE_RAW_SQL(text)}`;

const counties = (await store.query(raw(`SELECT county, count() AS n FROM warning_state GROUP BY county ORDER BY n DESC LIMIT 20`))).map((r) => r.county);
const institutions = (await store.query(raw(`SELECT institution_id AS i FROM warnings GROUP BY i ORDER BY count() DESC LIMIT 40`))).map((r) => r.i);
// Warnings from anywhere in the store, not only the newest (whose parts stay in the caches).
const behind = await store.query(raw(`SELECT transaction_id, institution_id, toUnixTimestamp64Milli(captured_at) AS cap FROM warnings ORDER BY cityHash64(id) LIMIT 50`));
// bench:scale's data: the 12 local months 2025-12 … 2026-11 (UTC+8).
const END = Date.UTC(2026, 10, 30, 16);
const month = (i) => ({ from: Date.UTC(2025, 11 + (i % 12), 1) - 8 * 3_600_000, to: Date.UTC(2025, 12 + (i % 12), 1) - 8 * 3_600_000 });
const calls = warningCalls(store, {
  countyOf: (i) => counties[i % counties.length],
  institutionOf: (i) => ({ id: institutions[i % institutions.length], ...month(i) }),
  behind,
  end: END,
  recentDay: (i) => ({ from: END - ((i % 5) + 1) * 86_400_000, to: END - (i % 5) * 86_400_000 }),
});
const only = process.env.CALLS?.split(';').map((s) => s.trim());
const at = (sorted, q) => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))];
console.log(`${ROUNDS} rounds each, alternating (A: ${distA}, B: ${distB})`);
console.log(`${'call'.padEnd(26)}${'A p50 / p95 ms'.padStart(18)}${'B p50 / p95 ms'.padStart(18)}`);
for (const [name, { call }] of Object.entries(calls)) {
  if (only && !only.includes(name)) continue;
  const t = { A: [], B: [] };
  for (let i = 0; i < ROUNDS; i++)
    for (const b of i % 2 ? ['B', 'A'] : ['A', 'B']) {
      const s = performance.now();
      await call(builds[b], i);
      t[b].push(performance.now() - s);
    }
  const cell = (x) => {
    x.sort((a, b) => a - b);
    return `${at(x, 0.5).toFixed(0)} / ${at(x, 0.95).toFixed(0)}`.padStart(18);
  };
  console.log(`${name.padEnd(26)}${cell(t.A)}${cell(t.B)}`);
}
await store.close();
process.exit(0);
