-- Institution evaluation (hub/src/evaluation/).
-- evaluation_ledger: append-only deduction ledger. A warning concluded 'confirmed' gets one
-- 'deduct' row (positive points); if its conclusion later changes (false alarm), a 'reverse' row
-- with the negative points cancels it — never an update or delete. Month = local month of the
-- business time (occurred_at) of the warning.
CREATE TABLE IF NOT EXISTS evaluation_ledger
(
    id String,
    month LowCardinality(String),
    institution_id LowCardinality(String),
    warning_id String,
    rule_id LowCardinality(String),
    severity LowCardinality(String),
    category LowCardinality(String),
    points Float64,
    kind LowCardinality(String),
    reverses String,
    at DateTime64(3, 'UTC'),
    reason String
)
ENGINE = MergeTree
ORDER BY (month, institution_id, warning_id, at);

-- Materialised monthly scores, rewritten by the refresh job (newest computed_at wins), so the
-- ranking, trend and drill-down read one small table.
CREATE TABLE IF NOT EXISTS evaluation_scores
(
    month LowCardinality(String),
    institution_id String,
    institution_type LowCardinality(String),
    county LowCardinality(String),
    transactions UInt64,
    warnings UInt64,
    confirmed UInt64,
    false_alarms UInt64,
    escalated UInt64,
    deduct_compliance Float64,
    deduct_quality Float64,
    deduct_integrity Float64,
    deduct_responsiveness Float64,
    score Float64,
    grade LowCardinality(String),
    veto UInt8,
    veto_rules Array(String),
    rank UInt32,
    rank_of UInt32,
    computed_at DateTime64(3, 'UTC')
)
ENGINE = ReplacingMergeTree(computed_at)
ORDER BY (month, institution_id);
