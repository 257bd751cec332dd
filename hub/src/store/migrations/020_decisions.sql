-- Synchronous hold decisions (实时干预, hub/src/decisions/). One row per answered request, written
-- in small batches right after the answer. The transaction asked about is NOT business: it is
-- kept here for the record (pseudonymised as sent); the real record arrives later via ingest.
CREATE TABLE IF NOT EXISTS decisions
(
    request_id String,
    transaction_id String,
    collector_id LowCardinality(String),
    institution_id LowCardinality(String),
    county LowCardinality(String),
    channel LowCardinality(String),
    requested_by String,
    decision LowCardinality(String),
    reasons String,
    rule_ids Array(LowCardinality(String)),
    rule_set LowCardinality(String),
    ms Float64,
    kind LowCardinality(String),
    ywlx LowCardinality(String),
    staff_id String,
    lsh String,
    occurred_at DateTime64(3, 'UTC'),
    decided_at DateTime64(3, 'UTC'),
    transaction String
)
ENGINE = ReplacingMergeTree(decided_at)
PARTITION BY toYYYYMM(decided_at)
ORDER BY (request_id);
