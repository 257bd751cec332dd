-- The life of a warning (hub/src/workflow/). Append-only: one row per event, seq 1, 2, 3 … per
-- warning with no gaps (the hub appends under a per-warning Redis lock after checking the
-- caller's expectedSeq). The current state is DERIVED: the row with the highest seq carries the
-- state after it (to_state) and the carried-forward fields (assignee, conclusion, escalated).
-- A warning with no event is in state 'raised' at seq 0.

CREATE TABLE IF NOT EXISTS warning_events
(
    id String,
    warning_id String,
    seq UInt32,
    type LowCardinality(String),
    from_state LowCardinality(String),
    to_state LowCardinality(String),
    actor String,
    role LowCardinality(String),
    at DateTime64(3, 'UTC'),
    assignee String,
    conclusion LowCardinality(String),
    escalated UInt8,
    institution_id LowCardinality(String),
    county LowCardinality(String),
    payload String
)
ENGINE = MergeTree
ORDER BY (warning_id, seq);

CREATE VIEW IF NOT EXISTS warning_current AS
SELECT
    warning_id,
    last_seq AS seq,
    cur_state AS state,
    cur_assignee AS assignee,
    cur_conclusion AS conclusion,
    any_escalated AS escalated,
    last_at AS updated_at,
    acked_at AS acknowledged_at,
    concl_at AS concluded_at,
    close_at AS closed_at
FROM
(
    SELECT
        warning_id,
        max(seq) AS last_seq,
        argMax(to_state, seq) AS cur_state,
        argMax(assignee, seq) AS cur_assignee,
        argMax(conclusion, seq) AS cur_conclusion,
        max(escalated) AS any_escalated,
        max(at) AS last_at,
        minIf(at, type = 'acknowledged') AS acked_at,
        maxIf(at, type = 'concluded') AS concl_at,
        maxIf(at, type = 'closed') AS close_at
    FROM warning_events
    GROUP BY warning_id
);

-- Evidence attachments: the file lives under dataDir/evidence/<sha256>; this row says which
-- warning it belongs to, its name and type. The attaching event records the same hash.
CREATE TABLE IF NOT EXISTS evidence_files
(
    sha256 String,
    warning_id String,
    name String,
    mime String,
    size UInt64,
    uploaded_by String,
    at DateTime64(3, 'UTC')
)
ENGINE = ReplacingMergeTree(at)
ORDER BY (warning_id, sha256);
