-- Registry (事前备案). Each change is a new row; the newest `version` per id wins.

CREATE TABLE IF NOT EXISTS institutions
(
    id String,
    name String,
    type LowCardinality(String),
    county LowCardinality(String),
    lon Float64,
    lat Float64,
    status LowCardinality(String),
    version DateTime64(3, 'UTC') DEFAULT now64(3)
)
ENGINE = ReplacingMergeTree(version)
ORDER BY id;

CREATE TABLE IF NOT EXISTS staff
(
    id String,
    institution_id String,
    role LowCardinality(String),
    name String,
    filed UInt8,
    valid_from DateTime64(3, 'UTC'),
    valid_to Nullable(DateTime64(3, 'UTC')),
    version DateTime64(3, 'UTC') DEFAULT now64(3)
)
ENGINE = ReplacingMergeTree(version)
ORDER BY id;

-- Collectors and their token hashes (SHA-256 hex); the token itself is never stored.
CREATE TABLE IF NOT EXISTS collectors
(
    collector_id String,
    institution_id String,
    token_sha256 String,
    status LowCardinality(String),
    version DateTime64(3, 'UTC') DEFAULT now64(3)
)
ENGINE = ReplacingMergeTree(version)
ORDER BY collector_id;
