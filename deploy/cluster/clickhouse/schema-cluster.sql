-- Cluster schema for Jianguan: run once with clickhouse-client against any node, before the hubs start.
-- Fact tables: sharded ReplicatedReplacingMergeTree `<name>_local` + Distributed `<name>` (sharded by id,
-- so re-sent copies of one record meet on one shard and merge). Registry tables: one full replica
-- per node (same Keeper path on every shard), read locally.
-- Mirrors hub/src/store/migrations/001_core.sql and 002_registry.sql; keep them in step.

CREATE DATABASE IF NOT EXISTS jianguan ON CLUSTER jianguan;

CREATE TABLE IF NOT EXISTS jianguan.transactions_local ON CLUSTER jianguan
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
ENGINE = ReplicatedReplacingMergeTree('/clickhouse/tables/{shard}/jianguan/transactions', '{replica}', stored_at)
PARTITION BY toYYYYMM(captured_at)
ORDER BY (institution_id, id);

CREATE TABLE IF NOT EXISTS jianguan.transactions ON CLUSTER jianguan AS jianguan.transactions_local
ENGINE = Distributed(jianguan, jianguan, transactions_local, cityHash64(id));

CREATE TABLE IF NOT EXISTS jianguan.warnings_local ON CLUSTER jianguan
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
ENGINE = ReplicatedReplacingMergeTree('/clickhouse/tables/{shard}/jianguan/warnings', '{replica}', raised_at)
PARTITION BY toYYYYMM(captured_at)
ORDER BY (institution_id, id);

CREATE TABLE IF NOT EXISTS jianguan.warnings ON CLUSTER jianguan AS jianguan.warnings_local
ENGINE = Distributed(jianguan, jianguan, warnings_local, cityHash64(id));

CREATE TABLE IF NOT EXISTS jianguan.dead_letters_local ON CLUSTER jianguan
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
ENGINE = ReplicatedReplacingMergeTree('/clickhouse/tables/{shard}/jianguan/dead_letters', '{replica}', received_at)
ORDER BY (collector_id, record_key);

CREATE TABLE IF NOT EXISTS jianguan.dead_letters ON CLUSTER jianguan AS jianguan.dead_letters_local
ENGINE = Distributed(jianguan, jianguan, dead_letters_local, cityHash64(record_key));

CREATE TABLE IF NOT EXISTS jianguan.institutions ON CLUSTER jianguan
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
ENGINE = ReplicatedReplacingMergeTree('/clickhouse/tables/all/jianguan/institutions', '{replica}', version)
ORDER BY id;

CREATE TABLE IF NOT EXISTS jianguan.staff ON CLUSTER jianguan
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
ENGINE = ReplicatedReplacingMergeTree('/clickhouse/tables/all/jianguan/staff', '{replica}', version)
ORDER BY id;

CREATE TABLE IF NOT EXISTS jianguan.collectors ON CLUSTER jianguan
(
    collector_id String,
    institution_id String,
    token_sha256 String,
    status LowCardinality(String),
    version DateTime64(3, 'UTC') DEFAULT now64(3)
)
ENGINE = ReplicatedReplacingMergeTree('/clickhouse/tables/all/jianguan/collectors', '{replica}', version)
ORDER BY collector_id;

CREATE TABLE IF NOT EXISTS jianguan.schema_migrations ON CLUSTER jianguan
(version UInt32, name String, applied_at DateTime64(3, 'UTC') DEFAULT now64(3))
ENGINE = ReplicatedReplacingMergeTree('/clickhouse/tables/all/jianguan/schema_migrations', '{replica}')
ORDER BY version;

-- Tell the hub these migrations are in place (run on one node; the table is replicated).
INSERT INTO jianguan.schema_migrations (version, name) VALUES (1, '001_core'), (2, '002_registry');
