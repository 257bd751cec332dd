#!/usr/bin/env node
// The wall's day statements with and without the capture-time projections (migrations 040 and
// 080), alternating in one process so machine load hits both alike. The hub's own functions run
// — the day's counts and business by type (repo.dayStats) and the pipeline lag
// (repo.pipelineLagP95) — through a store that appends
// `SETTINGS optimize_use_projections = 1 | 0` to each statement. On a store filled by
// `npm run bench:scale`:
//
//   node hub/bench/projection-ab.mjs .data/bench-scale-10m [rounds]

const hub = (p) => import(new URL('../dist/', import.meta.url).pathname + p);
const { loadConfig } = await hub('config.js');
const { openStore } = await hub('store/store.js');
const { sql, UNSAFE_RAW_SQL } = await hub('store/sql.js');
const { dayStats, pipelineLagP95 } = await hub('store/repo.js');
const store = await openStore(loadConfig({}, { dataDir: process.argv[2] }));
const ROUNDS = Number(process.argv[3] ?? 12);
const day0 = Date.parse('2026-11-20T16:00:00Z');
const DAY = 86_400_000;
/** The store with projections allowed (`on`) or not for every statement sent through it. */
const storeWith = (on) =>
  new Proxy(store, {
    get: (target, key, receiver) =>
      key === 'query' ? (q) => target.query(sql`${q} SETTINGS optimize_use_projections = ${UNSAFE_RAW_SQL(on ? '1' : '0')}`) : Reflect.get(target, key, receiver),
  });
const calls = {
  'day counts': (s, day) => dayStats(s, day, day + DAY),
  'pipeline lag': (s, day) => pipelineLagP95(s, day + DAY / 2, 300_000),
};
const med = (x) => [...x].sort((a, b) => a - b)[Math.floor(x.length / 2)];
const p95 = (x) => [...x].sort((a, b) => a - b)[Math.min(x.length - 1, Math.floor(x.length * 0.95))];
const out = {};
for (const [name, call] of Object.entries(calls)) {
  const t = { on: [], off: [] };
  for (let i = 0; i < ROUNDS; i++)
    for (const on of [true, false]) {
      const day = day0 - (i % 5) * DAY;
      const s = performance.now();
      await call(storeWith(on), day);
      t[on ? 'on' : 'off'].push(performance.now() - s);
    }
  out[name] = { withProjection: { p50: Math.round(med(t.on)), p95: Math.round(p95(t.on)) }, without: { p50: Math.round(med(t.off)), p95: Math.round(p95(t.off)) } };
}
console.log(JSON.stringify(out, null, 1));
await store.close();
