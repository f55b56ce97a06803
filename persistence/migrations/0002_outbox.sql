-- The outbox and journal: every event a grain produced, written in the same transaction as
-- its snapshot. The Kafka relay publishes rows and sets published_at; rows are kept for
-- replay and audit. (aggregate, sequence) identifies an event; event_id (a random UUID) is
-- what consumers deduplicate on, and gets no index of its own: a random key would cost a
-- scattered index insert per event. The envelope is stored as written (json, not jsonb):
-- it is only ever read back whole.
CREATE TABLE IF NOT EXISTS outbox (
  id              bigserial   PRIMARY KEY,
  event_id        uuid        NOT NULL,
  event_type      text        NOT NULL,
  aggregate_type  text        NOT NULL,
  aggregate_id    text        NOT NULL,
  sequence        bigint      NOT NULL,
  envelope        json        NOT NULL,
  created_at      timestamptz NOT NULL DEFAULT now(),
  published_at    timestamptz,
  UNIQUE (aggregate_type, aggregate_id, sequence)
);
CREATE INDEX IF NOT EXISTS outbox_unpublished ON outbox (id) WHERE published_at IS NULL;
