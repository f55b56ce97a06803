-- Idempotency keys (docs/API.md): the first answer to a mutating request, stored by the grain
-- that had the effect in the same transaction as the effect, per customer scope and grain,
-- until expires_at. Grains load their keys on activation.
CREATE TABLE IF NOT EXISTS idempotency_keys (
  scope        text        NOT NULL,
  key          text        NOT NULL,
  grain_type   text        NOT NULL,
  grain_key    text        NOT NULL,
  fingerprint  bigint      NOT NULL,
  status       integer     NOT NULL,
  body         text        NOT NULL,
  created_at   timestamptz NOT NULL DEFAULT now(),
  expires_at   timestamptz NOT NULL,
  PRIMARY KEY (grain_type, grain_key, scope, key)
);
CREATE INDEX IF NOT EXISTS idempotency_keys_expiry ON idempotency_keys (expires_at);
