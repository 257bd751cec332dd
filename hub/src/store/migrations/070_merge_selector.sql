-- Fewer merges of the tables the pipeline writes all day. Their parts arrive small (a store
-- writer group: tens to a few thousand rows, several inserts a second), and with the default
-- merge_selector_base (5) the engine merges a run of similar parts as soon as a handful exist, so
-- each row is rewritten once per level on its way to a large part: at 14,000 records/s the merge
-- threads took 0.010 ms of CPU per record, a tenth of the hub's budget. A larger base waits for
-- more parts of a size before merging them, fewer levels, each row rewritten fewer times (0.0055
-- ms at 12, docs/benchmarks.md), at the price of a few dozen more parts per partition.
-- merge_selector_base is a MergeTree setting of current ClickHouse releases (chDB 3.4 embeds
-- ClickHouse 26.7); a server too old to know it refuses this migration: use a current LTS.
ALTER TABLE transactions MODIFY SETTING merge_selector_base = 12;
ALTER TABLE warnings MODIFY SETTING merge_selector_base = 12;
ALTER TABLE collector_batches MODIFY SETTING merge_selector_base = 12;
ALTER TABLE warning_events MODIFY SETTING merge_selector_base = 12;
