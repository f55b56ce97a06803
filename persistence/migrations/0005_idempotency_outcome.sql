-- Idempotency answers are stored as outcomes, not HTTP answers: `outcome` is 0 for a reply
-- and an error code otherwise, and `body` the reply or the error in the runtime's binary form.
-- Which HTTP status an outcome has is the gateway's business alone. Answers stored in the old
-- form (an HTTP status and a rendered body) cannot be read back as outcomes and are dropped:
-- a retry of such a request after the upgrade runs again.
DELETE FROM idempotency_keys;
ALTER TABLE idempotency_keys RENAME COLUMN status TO outcome;
ALTER TABLE idempotency_keys ALTER COLUMN body TYPE bytea USING convert_to(body, 'UTF8');
