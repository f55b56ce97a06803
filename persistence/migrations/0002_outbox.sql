-- The outbox and journal: every event a grain produced, written in the same transaction as
-- its snapshot. The Kafka relay publishes rows and sets published_at; rows are kept for
-- replay and audit.
CREATE TABLE IF NOT EXISTS outbox (
  id              bigserial   PRIMARY KEY,
  event_id        uuid        NOT NULL UNIQUE,
  event_type      text        NOT NULL,
  aggregate_type  text        NOT NULL,
  aggregate_id    text        NOT NULL,
  sequence        bigint      NOT NULL,
  envelope        jsonb       NOT NULL,
  created_at      timestamptz NOT NULL DEFAULT now(),
  published_at    timestamptz,
  UNIQUE (aggregate_type, aggregate_id, sequence)
);
CREATE INDEX IF NOT EXISTS outbox_unpublished ON outbox (id) WHERE published_at IS NULL;
