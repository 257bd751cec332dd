-- Versioned rule sets (hub/src/rulesets/). One row per status change; the newest `updated_at`
-- per version wins (read with FINAL). `definitions` is JSON {definitions: RuleDefinition[],
-- params: per-rule overrides}; `version` is the compiled engine's version (label + hash of the
-- effective definitions), which every warning and transaction records.
-- status: draft → approved (by a second person) → active (from effective_at) → retired,
-- a withdrawn draft is retired without ever being approved.
CREATE TABLE IF NOT EXISTS rule_sets
(
    version String,
    seq UInt32,
    status LowCardinality(String),
    definitions String,
    base_version String,
    note String,
    diff_summary String,
    created_by String,
    created_at DateTime64(3, 'UTC'),
    approved_by String,
    approved_at Nullable(DateTime64(3, 'UTC')),
    effective_at Nullable(DateTime64(3, 'UTC')),
    activated_at Nullable(DateTime64(3, 'UTC')),
    retired_at Nullable(DateTime64(3, 'UTC')),
    retired_by String,
    backtest_id String,
    override UInt8,
    override_reason String,
    updated_at DateTime64(3, 'UTC')
)
ENGINE = ReplacingMergeTree(updated_at)
ORDER BY version;

-- Every warning records the rule set that raised it ('' for warnings not raised by a rule set:
-- collector health, rows from before this migration).
ALTER TABLE warnings ADD COLUMN IF NOT EXISTS rule_set LowCardinality(String) DEFAULT '';

-- The whole normalised transaction as received (JSON), so backtests and scheduled jobs can
-- re-run rules on exactly what the live engine saw. '' for rows from before this migration.
ALTER TABLE transactions ADD COLUMN IF NOT EXISTS payload String DEFAULT '' CODEC(ZSTD(3));
