-- One row per grain: its newest state and version. A write of version v replaces the row
-- only where the stored version is the one the writer read (the version fence).
CREATE TABLE IF NOT EXISTS snapshots (
  grain_type  text        NOT NULL,
  grain_key   text        NOT NULL,
  version     bigint      NOT NULL CHECK (version > 0),
  state       jsonb       NOT NULL,
  -- Events the grain has journaled so far: the per-aggregate sequence continues from here.
  event_seq   bigint      NOT NULL DEFAULT 0,
  updated_at  timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (grain_type, grain_key)
);
