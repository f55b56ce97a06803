-- The read side (CQRS): projections the Kafka projector keeps from the events, and the event
-- ids each projection has applied. A batch of events is applied in one transaction together
-- with its rows in projection_applied; an event whose (projection, event_id) is there already
-- is skipped, so redeliveries change nothing. Times are milliseconds since the epoch (the
-- events' occurred_at). Rows of projection_applied are kept (an event may be redelivered
-- long after, e.g. when a consumer group is reset).
CREATE TABLE IF NOT EXISTS projection_applied (
  projection  text        NOT NULL,
  event_id    text        NOT NULL,
  applied_at  timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (projection, event_id)
);

-- catalog: one row per sku. Events of a product come on several topics (product-events,
-- stock-updated, product-deactivated), so they may arrive out of order: each field (stock with
-- reserved) remembers the version (the envelope's) that set it, and an older event does not
-- overwrite it; a deactivation is final. A row made by stock-updated before product-created has created = false and is not
-- listed until product-created arrives.
CREATE TABLE IF NOT EXISTS read_products (
  sku                  text    PRIMARY KEY,
  name                 text    NOT NULL DEFAULT '',
  description          text    NOT NULL DEFAULT '',
  category             text    NOT NULL DEFAULT '',
  price_cents          bigint  NOT NULL DEFAULT 0,
  currency             text    NOT NULL DEFAULT 'USD',
  active               boolean NOT NULL DEFAULT true,
  stock                bigint  NOT NULL DEFAULT 0,
  reserved             bigint  NOT NULL DEFAULT 0,
  low_stock_threshold  bigint  NOT NULL DEFAULT 0,
  created              boolean NOT NULL DEFAULT false,
  version              bigint  NOT NULL DEFAULT 0, -- the newest event applied
  name_v               bigint  NOT NULL DEFAULT 0, -- the version that set name, ...
  description_v        bigint  NOT NULL DEFAULT 0,
  category_v           bigint  NOT NULL DEFAULT 0,
  price_v              bigint  NOT NULL DEFAULT 0,
  stock_version        bigint  NOT NULL DEFAULT 0  -- ... and stock with reserved
);
CREATE INDEX IF NOT EXISTS read_products_listed ON read_products (name, sku)
  WHERE created AND active;

-- orders: the customer's order list. The status moves only with a newer version.
CREATE TABLE IF NOT EXISTS read_orders (
  order_id       text    PRIMARY KEY,
  customer_id    text    NOT NULL,
  status         text    NOT NULL,
  total_cents    bigint  NOT NULL,
  currency       text    NOT NULL,
  item_count     bigint  NOT NULL,
  created_at_ms  bigint  NOT NULL,
  updated_at_ms  bigint  NOT NULL,
  version        bigint  NOT NULL
);
CREATE INDEX IF NOT EXISTS read_orders_by_customer
  ON read_orders (customer_id, created_at_ms DESC, order_id DESC);

-- notifications: one per order entering confirmed/shipped/delivered/cancelled, per declined
-- payment, per low-stock event. notification_id is derived from the event id.
CREATE TABLE IF NOT EXISTS read_notifications (
  seq              bigserial,
  notification_id  text   PRIMARY KEY,
  customer_id      text   NOT NULL,
  channel          text   NOT NULL,
  template         text   NOT NULL,
  order_id         text   NOT NULL DEFAULT '',
  created_at_ms    bigint NOT NULL
);
CREATE INDEX IF NOT EXISTS read_notifications_newest ON read_notifications (created_at_ms DESC, seq DESC);
CREATE INDEX IF NOT EXISTS read_notifications_by_customer
  ON read_notifications (customer_id, created_at_ms DESC, seq DESC);

-- sales: orders that were confirmed or cancelled, with when, and the lines of confirmed ones.
CREATE TABLE IF NOT EXISTS read_sales_orders (
  order_id         text   PRIMARY KEY,
  total_cents      bigint NOT NULL,
  currency         text   NOT NULL,
  confirmed_at_ms  bigint,
  cancelled_at_ms  bigint,
  report_at_ms     bigint GENERATED ALWAYS AS (COALESCE(confirmed_at_ms, cancelled_at_ms)) STORED
);
CREATE INDEX IF NOT EXISTS read_sales_orders_at ON read_sales_orders (report_at_ms);
CREATE TABLE IF NOT EXISTS read_sales_lines (
  order_id       text   NOT NULL,
  line           int    NOT NULL,
  sku            text   NOT NULL,
  quantity       bigint NOT NULL,
  revenue_cents  bigint NOT NULL,
  PRIMARY KEY (order_id, line)
);
