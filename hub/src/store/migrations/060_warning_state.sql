-- The current workflow state of each warning, kept as warning events are appended, so that the
-- questions asked every few seconds — which warnings are open, escalated, in whose queue — read
-- the open warnings instead of folding every event ever written (warning_current folds them all:
-- at a year of a province's warnings, tens of millions of events per call).
--
-- One row per warning that has events, sorted by (is_open, warning_id): the open ones are one
-- range of the sorting key, whatever the years of closed ones behind them. Each appended event
-- writes, through the materialized view below, the row of its new state (version = its seq) and a
-- cancel row for the row of the state before it (same key as that row — is_open of from_state —
-- and version seq - 1); VersionedCollapsingMergeTree removes such pairs when it merges, and FINAL
-- does on reading. A warning's first event has no row to cancel (a raised warning without events
-- has no row here; queries find those in `warnings`). Readers take `FINAL … AND sign = 1`.
-- warning_events stays the record; this table is derived from it and rebuilt from it below.
CREATE TABLE IF NOT EXISTS warning_state
(
    is_open UInt8,
    warning_id String,
    seq UInt32,
    sign Int8,
    state LowCardinality(String),
    assignee String,
    conclusion LowCardinality(String),
    escalated UInt8,
    institution_id LowCardinality(String),
    county LowCardinality(String),
    updated_at DateTime64(3, 'UTC')
)
ENGINE = VersionedCollapsingMergeTree(sign, seq)
ORDER BY (is_open, warning_id);

CREATE MATERIALIZED VIEW IF NOT EXISTS warning_state_mv TO warning_state AS
SELECT
    toUInt8(if(row_sign = 1, ev_to, ev_from) IN ('raised', 'assigned', 'acknowledged', 'verifying')) AS is_open,
    ev_warning AS warning_id,
    toUInt32(if(row_sign = 1, ev_seq, ev_seq - 1)) AS seq,
    row_sign AS sign,
    ev_to AS state,
    ev_assignee AS assignee,
    ev_conclusion AS conclusion,
    ev_escalated AS escalated,
    ev_institution AS institution_id,
    ev_county AS county,
    ev_at AS updated_at
FROM
(
    SELECT warning_id AS ev_warning, seq AS ev_seq, from_state AS ev_from, to_state AS ev_to, assignee AS ev_assignee,
        conclusion AS ev_conclusion, escalated AS ev_escalated, institution_id AS ev_institution, county AS ev_county, at AS ev_at, row_sign
    FROM warning_events
    ARRAY JOIN [toInt8(-1), toInt8(1)] AS row_sign
    WHERE row_sign = 1 OR seq > 1
);

-- The state of the warnings that had events before this table existed (skips any already here,
-- so running it again adds nothing).
INSERT INTO warning_state (is_open, warning_id, seq, sign, state, assignee, conclusion, escalated, institution_id, county, updated_at)
SELECT
    toUInt8(cur_state IN ('raised', 'assigned', 'acknowledged', 'verifying')) AS is_open,
    warning_id,
    last_seq AS seq,
    toInt8(1) AS sign,
    cur_state AS state,
    cur_assignee AS assignee,
    cur_conclusion AS conclusion,
    cur_escalated AS escalated,
    cur_institution AS institution_id,
    cur_county AS county,
    last_at AS updated_at
FROM
(
    SELECT
        warning_id,
        max(seq) AS last_seq,
        argMax(to_state, seq) AS cur_state,
        argMax(assignee, seq) AS cur_assignee,
        argMax(conclusion, seq) AS cur_conclusion,
        greatest(max(escalated), max(type = 'escalated')) AS cur_escalated,
        argMax(institution_id, seq) AS cur_institution,
        argMax(county, seq) AS cur_county,
        max(at) AS last_at
    FROM warning_events
    GROUP BY warning_id
)
WHERE warning_id GLOBAL NOT IN (SELECT warning_id FROM warning_state);
