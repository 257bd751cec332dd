#!/usr/bin/env node
// The wall's day queries (repo.dayStats: transactions and warnings per institution by capture
// time) with and without the by_capture projections of migration 040, alternating in one
// process so machine load hits both alike. On a store filled by `npm run bench:scale`:
//
//   node hub/bench/projection-ab.mjs .data/bench-scale-10m

const hub = (p) => import(new URL('../dist/', import.meta.url).pathname + p);
const { loadConfig } = await hub('config.js');
const { openStore } = await hub('store/store.js');
const { sql, param, UNSAFE_RAW_SQL } = await hub('store/sql.js');
const store = await openStore(loadConfig({}, { dataDir: process.argv[2] }));
const day0 = Date.parse('2026-11-20T16:00:00Z');
const q = (day, off) => sql`SELECT institution_id, any(county) AS county, uniqExact(id) AS n FROM transactions WHERE captured_at >= ${param.DateTime64(day)} AND captured_at < ${param.DateTime64(day + 86400000)} GROUP BY institution_id SETTINGS optimize_use_projections = ${UNSAFE_RAW_SQL(off ? '0' : '1')}`;
const w = (day, off) => sql`SELECT institution_id, any(county) AS county, uniqExact(id) AS n, uniqExactIf(id, action = 'hold') AS holds FROM warnings WHERE captured_at >= ${param.DateTime64(day)} AND captured_at < ${param.DateTime64(day + 86400000)} GROUP BY institution_id SETTINGS optimize_use_projections = ${UNSAFE_RAW_SQL(off ? '0' : '1')}`;
const t = { on: [], off: [] };
for (let i = 0; i < 12; i++) for (const off of [false, true]) {
  const day = day0 - (i % 5) * 86400000;
  const s = performance.now();
  const a = await store.query(q(day, off)); await store.query(w(day, off));
  t[off ? 'off' : 'on'].push(performance.now() - s);
}
const med = (x) => [...x].sort((a, b) => a - b)[Math.floor(x.length / 2)];
const p95 = (x) => [...x].sort((a, b) => a - b)[Math.min(x.length - 1, Math.floor(x.length * 0.95))];
console.log(JSON.stringify({ withProjection: { p50: med(t.on), p95: p95(t.on) }, without: { p50: med(t.off), p95: p95(t.off) } }));
await store.close();
