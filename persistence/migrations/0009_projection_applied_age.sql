-- The read side remembers an applied event id for postgres.applied_events_retention_s; the
-- node's monitor deletes older rows (pg_monitor.hpp), by age.
CREATE INDEX IF NOT EXISTS projection_applied_applied_at ON projection_applied (applied_at);
