-- The work calendar as the detachment keeps it (hub/src/calendar/calendar.ts): the working hours
-- (kind 'hours', year 0) and, per year, the public holidays and adjusted workdays (kind 'year').
-- Rows are only added: the newest per (kind, year) is in force, the older ones say who changed
-- what and when. `data` is the entry as JSON, validated again when read.
CREATE TABLE IF NOT EXISTS work_calendar
(
    kind LowCardinality(String),
    year UInt16,
    data String,
    note String,
    updated_by String,
    updated_at DateTime64(3, 'UTC')
)
ENGINE = MergeTree
ORDER BY (kind, year, updated_at);
