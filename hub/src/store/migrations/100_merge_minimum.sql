-- Fewer merges of small parts at a moderate load. At 1,000 records/s the pipeline writes about
-- 45 parts a second across seven tables (a store writer group each: tens of rows), and the
-- engine merged them a handful at a time — the merge threads took 0.11–0.17 ms of CPU per
-- record there, parts rather than rows. With at least ten parts to a merge they took 0.08–0.11
-- (eight latency phases each way, alternated; docs/benchmarks.md); at saturation, where the
-- parts are large, nothing changes. The price is a few more small parts alive between merges.
-- The three tables 070 left at the default merge selector (decisions, the audit log and the
-- workflow's state rows, each a few small inserts a second) get its base as well.
-- min_parts_to_merge_at_once, like merge_selector_base, is a MergeTree setting of current
-- ClickHouse releases: a server too old to know it refuses this migration (use a current LTS).
ALTER TABLE transactions MODIFY SETTING min_parts_to_merge_at_once = 10;
ALTER TABLE warnings MODIFY SETTING min_parts_to_merge_at_once = 10;
ALTER TABLE collector_batches MODIFY SETTING min_parts_to_merge_at_once = 10;
ALTER TABLE warning_events MODIFY SETTING min_parts_to_merge_at_once = 10;
ALTER TABLE decisions MODIFY SETTING merge_selector_base = 12;
ALTER TABLE decisions MODIFY SETTING min_parts_to_merge_at_once = 10;
ALTER TABLE audit_log MODIFY SETTING merge_selector_base = 12;
ALTER TABLE audit_log MODIFY SETTING min_parts_to_merge_at_once = 10;
ALTER TABLE warning_state MODIFY SETTING merge_selector_base = 12;
ALTER TABLE warning_state MODIFY SETTING min_parts_to_merge_at_once = 10;
