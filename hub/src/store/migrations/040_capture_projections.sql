-- The wall's "today" (repo.dayStats: transactions, warnings and holds per institution and county
-- by capture time) filtered whole monthly partitions, because both tables are sorted by
-- (institution_id, id): at 100 million transactions a day's statistics read a month of rows.
-- A projection sorted by capture time, holding only the columns those counts read, lets them
-- read the day alone. ReplacingMergeTree tables may carry projections only when merges say what
-- becomes of them; 'rebuild' recomputes a merged part's projection from the deduplicated rows,
-- so counts over the projection equal counts over the table.
-- MATERIALIZE builds them for parts stored before this migration (a background mutation).
ALTER TABLE transactions MODIFY SETTING deduplicate_merge_projection_mode = 'rebuild';
ALTER TABLE transactions ADD PROJECTION IF NOT EXISTS by_capture (SELECT captured_at, institution_id, county, id ORDER BY captured_at);
ALTER TABLE transactions MATERIALIZE PROJECTION by_capture;
ALTER TABLE warnings MODIFY SETTING deduplicate_merge_projection_mode = 'rebuild';
ALTER TABLE warnings ADD PROJECTION IF NOT EXISTS by_capture (SELECT captured_at, institution_id, county, id, action ORDER BY captured_at);
ALTER TABLE warnings MATERIALIZE PROJECTION by_capture;
