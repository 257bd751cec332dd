-- The rest of the wall's statistics round filters by capture time too — the day by business type
-- (live/wall-stats.ts businessTypes: kind, ywlx, warning_count) and the pipeline lag
-- (store/repo.ts pipelineLagP95: stored_at) — but read columns the by_capture projection of
-- migration 040 did not hold, so they read the main table, sorted by (institution_id, id), through
-- its whole monthly partition: at 100 million transactions the day by type took 249 / 297 ms
-- (p50 / p95) and the lag with the collector figures 131 / 196 ms, every round
-- (npm run bench:scale, docs/benchmarks.md). The projection now holds those columns as well: one
-- projection, made again; MATERIALIZE rebuilds it for stored parts in the background, as in 040.
ALTER TABLE transactions DROP PROJECTION IF EXISTS by_capture;
ALTER TABLE transactions ADD PROJECTION IF NOT EXISTS by_capture (SELECT captured_at, institution_id, county, id, kind, ywlx, warning_count, stored_at ORDER BY captured_at);
ALTER TABLE transactions MATERIALIZE PROJECTION by_capture;
