-- Reminders: durable timers that reactivate their grain when due, on whichever node owns
-- it then. A firing leases the row (due_at moves forward) until the grain has handled it.
CREATE TABLE IF NOT EXISTS reminders (
  grain_type  text        NOT NULL,
  grain_key   text        NOT NULL,
  name        text        NOT NULL,
  due_at      timestamptz NOT NULL,
  attempts    integer     NOT NULL DEFAULT 0,
  PRIMARY KEY (grain_type, grain_key, name)
);
CREATE INDEX IF NOT EXISTS reminders_due ON reminders (due_at);
