#!/usr/bin/env node
// The wall's day queries with and without the by_capture projection of transactions (migrations
// 040 and 080), alternating in one process so machine load hits both alike: the day's counts per
// institution (repo.dayStats, with the warnings' own projection), the day by business type
// (wall-stats.ts businessTypes) and the pipeline lag (repo.pipelineLagP95). On a store filled by
// `npm run bench:scale`:
//
//   node hub/bench/projection-ab.mjs .data/bench-scale-10m [rounds]

const hub = (p) => import(new URL('../dist/', import.meta.url).pathname + p);
const { loadConfig } = await hub('config.js');
const { openStore } = await hub('store/store.js');
const { sql, param, UNSAFE_RAW_SQL } = await hub('store/sql.js');
const store = await openStore(loadConfig({}, { dataDir: process.argv[2] }));
const ROUNDS = Number(process.argv[3] ?? 12);
const day0 = Date.parse('2026-11-20T16:00:00Z');
const DAY = 86_400_000;
const use = (off) => UNSAFE_RAW_SQL(off ? '0' : '1');
const range = (day) => sql`captured_at >= ${param.DateTime64(day)} AND captured_at < ${param.DateTime64(day + DAY)}`;
const queries = {
  'day counts': (day, off) => [
    sql`SELECT institution_id, any(county) AS county, uniqExact(id) AS n FROM transactions WHERE ${range(day)} GROUP BY institution_id SETTINGS optimize_use_projections = ${use(off)}`,
    sql`SELECT institution_id, any(county) AS county, uniqExact(id) AS n, uniqExactIf(id, action = 'hold') AS holds FROM warnings WHERE ${range(day)} GROUP BY institution_id SETTINGS optimize_use_projections = ${use(off)}`,
  ],
  'by business type': (day, off) => [
    sql`SELECT kind, ywlx, uniqExact(id) AS n, uniqExactIf(id, warning_count > 0) AS warned FROM transactions WHERE ${range(day)} GROUP BY kind, ywlx ORDER BY n DESC, kind, ywlx LIMIT 8 SETTINGS optimize_use_projections = ${use(off)}`,
  ],
  'pipeline lag': (day, off) => [
    sql`SELECT quantile(0.95)(toUnixTimestamp64Milli(stored_at) - toUnixTimestamp64Milli(captured_at)) AS p95, count() AS n FROM transactions WHERE captured_at >= ${param.DateTime64(day + DAY / 2 - 2 * DAY)} AND stored_at >= ${param.DateTime64(day + DAY / 2 - 300_000)} SETTINGS optimize_use_projections = ${use(off)}`,
  ],
};
const med = (x) => [...x].sort((a, b) => a - b)[Math.floor(x.length / 2)];
const p95 = (x) => [...x].sort((a, b) => a - b)[Math.min(x.length - 1, Math.floor(x.length * 0.95))];
const out = {};
for (const [name, make] of Object.entries(queries)) {
  const t = { on: [], off: [] };
  for (let i = 0; i < ROUNDS; i++)
    for (const off of [false, true]) {
      const day = day0 - (i % 5) * DAY;
      const s = performance.now();
      for (const q of make(day, off)) await store.query(q);
      t[off ? 'off' : 'on'].push(performance.now() - s);
    }
  out[name] = { withProjection: { p50: Math.round(med(t.on)), p95: Math.round(p95(t.on)) }, without: { p50: Math.round(med(t.off)), p95: Math.round(p95(t.off)) } };
}
console.log(JSON.stringify(out, null, 1));
await store.close();
