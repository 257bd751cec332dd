-- Effective time of registry changes (hub/src/registry/changes.ts). A request may say from when
-- its versions are valid (`effective_from`, past allowed; NULL = the moment of approval), so a
-- detachment going live files years of history, and a correction of the past becomes a new
-- version valid from the time it corrects. Import rows carry their own filing dates inside
-- `items`. Versions are never rewritten for this: where a back-dated version overlaps older
-- ones, the later approval (higher `version`) answers.
ALTER TABLE registry_requests ADD COLUMN IF NOT EXISTS effective_from Nullable(DateTime64(3, 'UTC'));
