-- The open warnings' lists and the sweep's candidates from warning_state alone. The lists filter
-- by rule, severity and raise time and sort by raise time, columns only `warnings` had, so every
-- page read the warnings of every month to keep the open ones (at a province's 3 million
-- warnings, 220–530 ms a page). Each event now carries its warning's raise time, rule and
-- severity (the hub has them when it appends: it checks the warning's place first), and the
-- state row its event wrote carries them too.
--
-- warning_state is derived from warning_events (migration 060), so it is rebuilt here rather
-- than altered: the rows already in it get the new columns from `warnings` (the events written
-- before this migration do not carry them), and a table rebuilt whole has no half-filled rows.
-- warning_events stays the record; its new columns are empty on the events written before.
-- (The cluster's schema file is rerun whole at each upgrade, and this rebuild with it:
-- deploy/cluster/README.md.)

ALTER TABLE warning_events
    ADD COLUMN IF NOT EXISTS raised_at DateTime64(3, 'UTC') DEFAULT 0,
    ADD COLUMN IF NOT EXISTS rule_id LowCardinality(String) DEFAULT '',
    ADD COLUMN IF NOT EXISTS severity LowCardinality(String) DEFAULT '';

DROP VIEW IF EXISTS warning_state_mv;

DROP TABLE IF EXISTS warning_state;

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
    updated_at DateTime64(3, 'UTC'),
    raised_at DateTime64(3, 'UTC'),
    rule_id LowCardinality(String),
    severity LowCardinality(String)
)
ENGINE = VersionedCollapsingMergeTree(sign, seq)
ORDER BY (is_open, warning_id);

-- As in 060: each event writes the row of its new state and cancels the row of the state before.
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
    ev_at AS updated_at,
    ev_raised AS raised_at,
    ev_rule AS rule_id,
    ev_severity AS severity
FROM
(
    SELECT warning_id AS ev_warning, seq AS ev_seq, from_state AS ev_from, to_state AS ev_to, assignee AS ev_assignee,
        conclusion AS ev_conclusion, escalated AS ev_escalated, institution_id AS ev_institution, county AS ev_county, at AS ev_at,
        raised_at AS ev_raised, rule_id AS ev_rule, severity AS ev_severity, row_sign
    FROM warning_events
    ARRAY JOIN [toInt8(-1), toInt8(1)] AS row_sign
    WHERE row_sign = 1 OR seq > 1
);

-- The state of every warning with events, folded from its events as in 060, with the raise time,
-- rule and severity of its row in `warnings` (the latest, as FINAL would keep; an event whose
-- warning is not stored keeps what the events say, empty before this migration).
INSERT INTO warning_state (is_open, warning_id, seq, sign, state, assignee, conclusion, escalated, institution_id, county, updated_at, raised_at, rule_id, severity)
SELECT
    toUInt8(s.cur_state IN ('raised', 'assigned', 'acknowledged', 'verifying')) AS is_open,
    s.warning_id,
    s.last_seq AS seq,
    toInt8(1) AS sign,
    s.cur_state AS state,
    s.cur_assignee AS assignee,
    s.cur_conclusion AS conclusion,
    s.cur_escalated AS escalated,
    s.cur_institution AS institution_id,
    s.cur_county AS county,
    s.last_at AS updated_at,
    if(w.found = 1, w.w_raised, s.ev_raised) AS raised_at,
    if(w.found = 1, w.w_rule, s.ev_rule) AS rule_id,
    if(w.found = 1, w.w_severity, s.ev_severity) AS severity
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
        max(at) AS last_at,
        argMax(raised_at, seq) AS ev_raised,
        argMax(rule_id, seq) AS ev_rule,
        argMax(severity, seq) AS ev_severity
    FROM warning_events
    GROUP BY warning_id
) AS s
GLOBAL LEFT JOIN
(
    SELECT id, toUInt8(1) AS found, max(raised_at) AS w_raised, argMax(rule_id, raised_at) AS w_rule, argMax(severity, raised_at) AS w_severity
    FROM warnings
    GROUP BY id
) AS w ON w.id = s.warning_id
WHERE s.warning_id GLOBAL NOT IN (SELECT warning_id FROM warning_state);
