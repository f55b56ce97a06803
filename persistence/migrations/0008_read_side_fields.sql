-- What the read side lacked (issue 19): an order summary's cancel reason, the product a
-- notification is about, a product put on sale again, and listing every customer's orders.
--
-- catalog: activation and deactivation come on different topics (product-events and
-- product-deactivated), so `active` moves only with an event newer than the one that set it,
-- like the other fields. Rows written before this migration have active_v = 0: any later
-- event wins.
ALTER TABLE read_products ADD COLUMN IF NOT EXISTS active_v bigint NOT NULL DEFAULT 0;

-- orders: the reason of a cancelled order ('' otherwise; orders cancelled before this
-- migration keep '').
ALTER TABLE read_orders ADD COLUMN IF NOT EXISTS cancel_reason text NOT NULL DEFAULT '';
-- An admin's search over every customer, newest first.
CREATE INDEX IF NOT EXISTS read_orders_newest ON read_orders (created_at_ms DESC, order_id DESC);
CREATE INDEX IF NOT EXISTS read_orders_by_status
  ON read_orders (status, created_at_ms DESC, order_id DESC);

-- notifications: the sku of a low-stock notification ('' for notifications about orders).
ALTER TABLE read_notifications ADD COLUMN IF NOT EXISTS sku text NOT NULL DEFAULT '';
