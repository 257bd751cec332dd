-- Registry with maker-checker and versions (hub/src/registry/).
-- registry_requests: every create/change/retire is a request (pending → approved | rejected);
-- one row per status change, newest `updated_at` wins. An import is one request holding all rows.
-- registry_versions: what approval writes. Each (entity, key) has versions 1, 2, 3 … with
-- [valid_from, valid_to); approving a change closes the previous version (a replacement row with
-- valid_to set, newest `revision` wins) and opens the next. "As of T" = the version whose
-- interval contains T. The live tables `institutions` and `staff` stay the current projection
-- the rule engine reads.

CREATE TABLE IF NOT EXISTS registry_requests
(
    id String,
    kind LowCardinality(String),
    status LowCardinality(String),
    summary String,
    source String,
    items String,
    item_count UInt32,
    counties Array(String),
    requested_by String,
    requested_at DateTime64(3, 'UTC'),
    decided_by String,
    decided_at Nullable(DateTime64(3, 'UTC')),
    decision_comment String,
    updated_at DateTime64(3, 'UTC')
)
ENGINE = ReplacingMergeTree(updated_at)
ORDER BY id;

CREATE TABLE IF NOT EXISTS registry_versions
(
    entity LowCardinality(String),
    key String,
    version UInt32,
    valid_from DateTime64(3, 'UTC'),
    valid_to Nullable(DateTime64(3, 'UTC')),
    retired UInt8,
    data String,
    request_id String,
    approved_by String,
    revision DateTime64(3, 'UTC')
)
ENGINE = ReplacingMergeTree(revision)
ORDER BY (entity, key, version);
