-- Users and the audit log (hub/src/auth/).
-- users: one row per change; the newest `updated_at` per id wins (read with FINAL).
-- scope '' = the whole city; otherwise one county adcode. Passwords: scrypt, parameters and salt
-- stored with the hash ("scrypt$N$r$p$salt$hash", base64url), never the password itself.

CREATE TABLE IF NOT EXISTS users
(
    id String,
    username String,
    display_name String,
    roles Array(LowCardinality(String)),
    scope LowCardinality(String),
    institutions Array(String),
    password_hash String,
    active UInt8,
    created_at DateTime64(3, 'UTC'),
    updated_at DateTime64(3, 'UTC')
)
ENGINE = ReplacingMergeTree(updated_at)
ORDER BY id;

-- Append-only: every mutating API request, every login and logout, with who, what, from where
-- and the result. Never updated or deleted by the hub.
CREATE TABLE IF NOT EXISTS audit_log
(
    id String,
    at DateTime64(3, 'UTC'),
    actor String,
    actor_roles Array(LowCardinality(String)),
    actor_scope LowCardinality(String),
    action LowCardinality(String),
    method LowCardinality(String),
    path String,
    target_type LowCardinality(String),
    target_id String,
    ip String,
    result LowCardinality(String),
    status UInt16,
    detail String
)
ENGINE = MergeTree
PARTITION BY toYYYYMM(at)
ORDER BY (at, id);
