-- A registry change for a period (hub/src/registry/changes.ts): a request may say until when its
-- versions are valid (`effective_to`; NULL = open-ended), so a suspension of 1–3 months after a
-- D grade is one request whose versions end by themselves, the earlier filing answering again
-- from then on.
ALTER TABLE registry_requests ADD COLUMN IF NOT EXISTS effective_to Nullable(DateTime64(3, 'UTC'));
