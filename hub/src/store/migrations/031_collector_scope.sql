-- Which institutions a collector may report business for besides its own (a collector reading
-- the platform's sync database at the vehicle office, say). Empty = its own institution only.
-- Owned by hub/src/collectors/.
ALTER TABLE collectors ADD COLUMN IF NOT EXISTS reports_for Array(String) DEFAULT [];
