-- Collector security: device filing (事前备案), signed and chained batches, held batches.
-- Owned by hub/src/collectors/. Times are DateTime64(3, 'UTC') written as epoch milliseconds.

-- The collectors table (002) gains the device's identity and its enrolment state. Each change is
-- still a whole new row; the newest `version` per collector_id wins. status: pending | approved |
-- revoked ('active', written before this migration, reads as approved). origin: static (token
-- from JG_COLLECTORS_FILE / config) | enrolled (asked to enrol with its key, no token).
ALTER TABLE collectors ADD COLUMN IF NOT EXISTS public_key String DEFAULT '';
ALTER TABLE collectors ADD COLUMN IF NOT EXISTS key_fingerprint String DEFAULT '';
ALTER TABLE collectors ADD COLUMN IF NOT EXISTS counter String DEFAULT '';
ALTER TABLE collectors ADD COLUMN IF NOT EXISTS origin LowCardinality(String) DEFAULT 'static';
ALTER TABLE collectors ADD COLUMN IF NOT EXISTS enrolled_at Nullable(DateTime64(3, 'UTC'));
ALTER TABLE collectors ADD COLUMN IF NOT EXISTS approved_at Nullable(DateTime64(3, 'UTC'));
ALTER TABLE collectors ADD COLUMN IF NOT EXISTS approved_by String DEFAULT '';
ALTER TABLE collectors ADD COLUMN IF NOT EXISTS revoked_at Nullable(DateTime64(3, 'UTC'));
ALTER TABLE collectors ADD COLUMN IF NOT EXISTS revoke_reason String DEFAULT '';

-- The accepted chain: one row per batch sequence number per collector key, written after the
-- batch is durable (stored, dead-lettered or held) and before the ack. The newest row per
-- (collector, key) is the chain tip the next batch must link to.
CREATE TABLE IF NOT EXISTS collector_batches
(
    collector_id LowCardinality(String),
    key_fingerprint String,
    batch_seq UInt64,
    batch_id String,
    hash String,
    prev_hash String,
    first_seq UInt64,
    last_seq UInt64,
    records UInt32,
    held UInt8,
    received_at DateTime64(3, 'UTC')
)
ENGINE = ReplacingMergeTree(received_at)
ORDER BY (collector_id, key_fingerprint, batch_seq);

-- Batches of a collector that is still pending approval: stored whole (the envelope as
-- received, JSON), acknowledged to the collector as durable, evaluated in first_seq order on
-- approval. Release writes the row again with released_at set.
CREATE TABLE IF NOT EXISTS held_batches
(
    collector_id LowCardinality(String),
    batch_id String,
    batch_seq UInt64,
    first_seq UInt64,
    last_seq UInt64,
    records UInt32,
    payload String,
    received_at DateTime64(3, 'UTC'),
    released_at Nullable(DateTime64(3, 'UTC')),
    version DateTime64(3, 'UTC')
)
ENGINE = ReplacingMergeTree(version)
ORDER BY (collector_id, first_seq, batch_id);

-- When each collector was last seen (connected, or a batch received); saved periodically, so the
-- silence check (collector.silent) survives a hub restart.
CREATE TABLE IF NOT EXISTS collector_seen
(
    collector_id String,
    last_seen_at DateTime64(3, 'UTC')
)
ENGINE = ReplacingMergeTree(last_seen_at)
ORDER BY collector_id;
