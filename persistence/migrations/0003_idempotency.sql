-- Idempotency keys (API.md): the first answer to a mutating request, stored in the same
-- transaction as its effect, per customer scope, until expires_at.
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
  PRIMARY KEY (scope, key)
);
CREATE INDEX IF NOT EXISTS idempotency_keys_grain ON idempotency_keys (grain_type, grain_key);
CREATE INDEX IF NOT EXISTS idempotency_keys_expiry ON idempotency_keys (expires_at);
