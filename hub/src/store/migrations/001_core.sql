-- Core tables. Times are DateTime64(3, 'UTC') written as epoch milliseconds.
-- Dedup: transactions and warnings are ReplacingMergeTree keyed by their stable ids, so a batch
-- re-sent after a lost acknowledgement leaves one logical row; reads use FINAL or uniqExact(id).

CREATE TABLE IF NOT EXISTS transactions
(
    id String,
    batch_id String,
    collector_id LowCardinality(String),
    seq UInt64,
    source LowCardinality(String),
    channel LowCardinality(String),
    institution_id LowCardinality(String),
    county LowCardinality(String),
    counter String,
    staff_id String,
    device_id String,
    ip String,
    mac String,
    lsh String,
    sub_lsh String,
    kind LowCardinality(String),
    ywlx LowCardinality(String),
    ywyy String,
    subject_hash String,
    subject_masked String,
    agent_hash String,
    agent_masked String,
    hpzl LowCardinality(String),
    hphm String,
    vin String,
    owner_hash String,
    licence_hash String,
    zjcx LowCardinality(String),
    occurred_at DateTime64(3, 'UTC'),
    applied_at Nullable(DateTime64(3, 'UTC')),
    started_at Nullable(DateTime64(3, 'UTC')),
    ended_at Nullable(DateTime64(3, 'UTC')),
    completed_at Nullable(DateTime64(3, 'UTC')),
    captured_at DateTime64(3, 'UTC'),
    stored_at DateTime64(3, 'UTC') DEFAULT now64(3),
    outcome LowCardinality(String),
    measurements Map(String, Float64),
    evidence Array(String),
    rule_set LowCardinality(String),
    warning_count UInt16
)
ENGINE = ReplacingMergeTree(stored_at)
PARTITION BY toYYYYMM(captured_at)
ORDER BY (institution_id, id);

CREATE TABLE IF NOT EXISTS warnings
(
    id String,
    rule_id LowCardinality(String),
    rule_name String,
    rule_version LowCardinality(String),
    family LowCardinality(String),
    severity LowCardinality(String),
    action LowCardinality(String),
    transaction_id String,
    batch_id String,
    collector_id LowCardinality(String),
    institution_id LowCardinality(String),
    county LowCardinality(String),
    occurred_at DateTime64(3, 'UTC'),
    captured_at DateTime64(3, 'UTC'),
    raised_at DateTime64(3, 'UTC'),
    explanation String,
    values_json String,
    subject_masked String
)
ENGINE = ReplacingMergeTree(raised_at)
PARTITION BY toYYYYMM(captured_at)
ORDER BY (institution_id, id);

-- Records that failed validation: kept whole with the reason, never dropped.
CREATE TABLE IF NOT EXISTS dead_letters
(
    record_key String,
    batch_id String,
    collector_id LowCardinality(String),
    record_index UInt32,
    record_id String,
    code LowCardinality(String),
    reason String,
    payload String,
    received_at DateTime64(3, 'UTC')
)
ENGINE = ReplacingMergeTree(received_at)
ORDER BY (collector_id, record_key);
