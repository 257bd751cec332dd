-- Backtests of a rule set against stored transactions (hub/src/backtest/). One row per status
-- change (queued → running → done | failed); newest `updated_at` wins. `result` is JSON: totals,
-- per-rule and per-institution added/removed counts with examples.
CREATE TABLE IF NOT EXISTS backtests
(
    id String,
    version String,
    live_version String,
    range_from DateTime64(3, 'UTC'),
    range_to DateTime64(3, 'UTC'),
    status LowCardinality(String),
    progress UInt8,
    requested_by String,
    requested_at DateTime64(3, 'UTC'),
    finished_at Nullable(DateTime64(3, 'UTC')),
    transactions UInt64,
    live_total UInt64,
    draft_total UInt64,
    added UInt64,
    removed UInt64,
    result String,
    error String,
    updated_at DateTime64(3, 'UTC')
)
ENGINE = ReplacingMergeTree(updated_at)
ORDER BY id;

-- Runs of the scheduled peer-deviation job (hub/src/peer/): one row per run.
CREATE TABLE IF NOT EXISTS peer_runs
(
    id String,
    period_from DateTime64(3, 'UTC'),
    period_to DateTime64(3, 'UTC'),
    rule_set String,
    trigger LowCardinality(String),
    transactions UInt64,
    findings UInt32,
    raised UInt32,
    started_at DateTime64(3, 'UTC'),
    finished_at DateTime64(3, 'UTC'),
    detail String
)
ENGINE = MergeTree
ORDER BY (started_at, id);
