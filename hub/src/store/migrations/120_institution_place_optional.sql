-- An institution may be filed without its place on the map (a register without coordinates
-- still goes live; the wall draws such an institution at its county seat). Existing rows keep
-- their coordinates.
ALTER TABLE institutions MODIFY COLUMN lon Nullable(Float64);
ALTER TABLE institutions MODIFY COLUMN lat Nullable(Float64);
