#pragma once

/// Typed options of every subsystem, with their defaults. A node reads them once at start
/// (see loader.hpp) and hands each subsystem its own struct.

#include <cstddef>
#include <cstdint>
#include <map>
#include <string>

namespace bazaar::config {

/// The HTTP gateway (Pistache).
struct http_options {
  /// Loopback by default: a node reachable from other machines needs a secret of its own
  /// (loader.hpp refuses the development secret beyond loopback).
  std::string host = "127.0.0.1";
  std::uint16_t port = 8080;
  /// Pistache I/O threads.
  int threads = 2;
  /// Largest accepted request body; larger ones get 413 and the connection is closed.
  std::size_t max_body_bytes = 1 << 20;
  /// How long a request waits for its grain before it is answered 504.
  int request_timeout_ms = 5000;
  /// A request whose headers or body do not arrive in this time gets 400 and is closed.
  int header_timeout_ms = 4000;
  /// A kept-alive connection with no request for this long is closed.
  int keepalive_timeout_ms = 300000;
  /// An event stream quiet for this long gets a keep-alive comment.
  int sse_keepalive_ms = 15000;
};

/// Bearer-token authentication.
struct auth_options {
  /// HS256 secret; the default is public (it is in the README), for development only: it is
  /// logged as such, and refused when http.host is beyond loopback.
  std::string jwt_secret = "bazaar-dev-secret-change-me";
};

/// The actor runtime that hosts grains.
struct runtime_options {
  /// CAF worker threads; 0 means one per core.
  int max_threads = 0;
  /// CAF scheduler policy: "stealing" or "sharing".
  std::string scheduler_policy = "stealing";
  /// Actors that issue grain requests for non-actor callers (the gateway); 0 means max_threads.
  int dispatchers = 0;
  /// Requests in flight per node; past it callers get 503 at once.
  int max_inflight = 20000;
  /// How often the idle-grain collector sweeps.
  int collection_interval_ms = 1000;
  /// Timeout of a grain-to-grain request.
  int call_timeout_ms = 5000;
};

/// Settings of one grain type (`grains.<type>.<setting>`); 0 means "not set".
struct grain_type_options {
  /// Idle time after which an activation of the type is deactivated.
  int idle_timeout_ms = 0;
};

/// Grain lifecycle: defaults for every grain type, and per-type overrides.
struct grains_options {
  /// Idle time after which an activation is deactivated, for types that set none.
  int idle_timeout_ms = 10 * 60 * 1000;
  /// Per-type settings by grain type name (e.g. "basket"); every type named here must exist.
  std::map<std::string, grain_type_options> types;

  /// The idle timeout of `type`: its own setting, else `type_default_ms` when positive (the
  /// grain type's own default), else idle_timeout_ms.
  int idle_timeout_of(const std::string& type, int type_default_ms = 0) const {
    auto i = types.find(type);
    if (i != types.end() && i->second.idle_timeout_ms > 0)
      return i->second.idle_timeout_ms;
    return type_default_ms > 0 ? type_default_ms : idle_timeout_ms;
  }
};

/// Logging (spdlog).
struct log_options {
  /// trace, debug, info, warn, error, off.
  std::string level = "info";
  /// "json" (one object per line) or "text".
  std::string format = "json";
  /// Lines the asynchronous log holds for its writer thread; when they are all taken, a new
  /// line is dropped and counted (the last eighth is kept for warn and above). 0: each line
  /// is written to stderr by the thread that logs it.
  int queue_lines = 8192;
};

/// PostgreSQL: where snapshots, the outbox/journal, idempotency keys and reminders live.
struct postgres_options {
  /// libpq connection URL; empty means "not configured" (the node then never becomes ready).
  /// The default is the local server that scripts/run.sh and scripts/test.sh start.
  std::string url = "postgresql://bazaar:bazaar@127.0.0.1:5432/bazaar";
  /// Schema the tables live in (search_path); lets several nodes or tests share a database.
  std::string schema = "public";
  /// Writer threads (one connection each); a grain's writes always go to the same one.
  int writers = 2;
  /// Group commit: a transaction takes up to this many grain writes ...
  int batch_max_rows = 500;
  /// ... or what arrived within this many milliseconds after the first, whichever first.
  int batch_linger_ms = 1;
  /// How long connecting may take before the store counts as unavailable.
  int connect_timeout_ms = 2000;
  /// How often due reminders are looked for.
  int reminder_poll_ms = 200;
  /// How long the read side remembers the id of an event it applied (7 days): an event
  /// redelivered later than that would be applied again.
  std::int64_t applied_events_retention_s = 7LL * 24 * 60 * 60;
};

/// Basket rules that are configuration.
struct basket_options {
  /// A basket untouched for this long is cleared by its expiry reminder (30 days).
  std::int64_t ttl_s = 30LL * 24 * 60 * 60;
};

struct inventory_options {
  /// A product forgets an order's reservation this long after it ended (rejected, sold,
  /// released or given back), so that its state does not grow with its sales (7 days). A
  /// cancel after that still returns sold units: the saga says what it sold.
  std::int64_t reservation_retention_s = 7LL * 24 * 60 * 60;
};

/// The topic of each event type (docs/API.md "Events"); an event type not listed here is
/// journaled but not published.
struct kafka_topics {
  std::string order_created = "order-created";
  std::string product_reservation = "product-reservation";
  std::string product_reserved = "product-reserved";
  std::string payment_pending = "payment-pending";
  std::string payment_processed = "payment-processed";
  std::string order_status_changed = "order-status-changed";
  std::string product_deactivated = "product-deactivated";
  std::string product_low_stock = "product-low-stock";
  std::string stock_updated = "stock-updated";
  std::string basket_checked_out = "basket-checked-out";
  std::string product_created = "product-events";
  std::string product_updated = "product-events";
  std::string product_activated = "product-events";
  std::string basket_item_added = "basket-events";
  std::string basket_item_updated = "basket-events";
  std::string basket_item_removed = "basket-events";
  std::string basket_cleared = "basket-events";
  std::string basket_expired = "basket-events";
};

/// Where the Kafka bridge sends the records of one event type's topic
/// (`kafka.routes.<event>.grain_type` and `.key_field`).
struct kafka_route_options {
  /// The grain type that handles the records; empty means "not routed".
  std::string grain_type;
  /// The field of the envelope's data that is the grain key; empty means the record key.
  std::string key_field;
};

/// Kafka: the bus between modules. The outbox relay publishes events; the bridge consumes.
struct kafka_options {
  /// Comma-separated brokers; empty means "start the embedded mock cluster".
  std::string bootstrap_servers;
  /// The one consumer group of the cluster's bridges.
  std::string group_id = "bazaar";
  /// Brokers of the embedded mock cluster.
  int mock_brokers = 3;
  /// With the embedded Kafka (which starts empty), a node that starts leading the outbox
  /// relay publishes again what was published this long before (1 day): what the last run
  /// published and nobody consumed yet is not lost. Consumers skip what they handled.
  std::int64_t republish_window_s = 24 * 60 * 60;
  /// Partitions of each topic the node creates (embedded cluster).
  int partitions = 6;
  /// Records being handled by grains per node; partitions are paused past it.
  int max_in_flight = 1000;
  /// Attempts at handling a record before it goes to `<topic>.dlq`.
  int max_attempts = 5;
  /// Pause between attempts (doubling each time).
  int retry_backoff_ms = 100;
  /// Longest wait of a fetch for new records (low: a tailing consumer stays fast).
  int fetch_wait_max_ms = 10;
  /// Consumer group session timeout.
  int session_timeout_ms = 6000;
  /// How long the producer retries a record before giving up (the relay then tries again).
  int message_timeout_ms = 30000;
  /// How often the outbox relay sweeps for rows left unpublished (restart, outage).
  int relay_sweep_ms = 1000;
  kafka_topics topics;
  /// Routes of the bridge by event type (e.g. "order-created"); the topic is the event's
  /// kafka.topics entry. By default the shop's consuming grains: the checkout saga, the
  /// inventory and the payment grains. A route with an empty grain type is off.
  std::map<std::string, kafka_route_options> routes = {
      {"order-created", {"checkout", "order_id"}},
      {"product-reservation", {"inventory", "sku"}},
      {"product-reserved", {"checkout", "order_id"}},
      {"payment-pending", {"payment", "payment_id"}},
      {"payment-processed", {"checkout", "order_id"}},
  };
};

/// The checkout saga: how its steps travel, and its waits.
struct saga_options {
  /// "grains": the saga calls the inventory and payment grains directly (any node of the
  /// cluster) and Kafka carries the facts for others; "kafka": every step travels as a
  /// record through the command topics (product-reservation, payment-pending) and back, so a
  /// participant can live in another service.
  std::string transport = "grains";
  /// With the grains transport: how long after an order's creation its order grain starts the
  /// saga again (idempotently) if the order is not confirmed or cancelled by then, and how
  /// often after that (a node that died mid-checkout loses nothing).
  int resume_after_ms = 5000;
  /// How long the saga waits for every line's reservation before it compensates.
  int reservation_timeout_ms = 10000;
  /// How long it waits for the payment's answer before it compensates (payment_timeout).
  int payment_timeout_ms = 30000;
};

/// The simulated payment gateway.
struct payment_options {
  /// Fraction (0..1) of payments declined at random, on top of what card tokens decide.
  double decline_rate = 0;
  /// Seed of the random declines (with the payment id: one payment is always decided alike).
  std::int64_t seed = 42;
};

/// Cluster membership and the cluster port.
struct cluster_options {
  /// Node identity; empty means derived from host name and HTTP port.
  std::string node_id;
  /// Address the other nodes reach this one at (written into the membership table).
  std::string host = "127.0.0.1";
  /// Interface the cluster port listens on.
  std::string bind = "127.0.0.1";
  /// Cluster port; 0 picks a free one (the membership table tells the others).
  std::uint16_t port = 0;
  int heartbeat_ms = 250;
  /// A member without a heartbeat for this long is declared dead and its grains move.
  int failure_timeout_ms = 2000;
  /// TLS of the cluster port (caf-openssl), on when a certificate is set: PEM files of this
  /// node's certificate and key, and of the CA that signs every member's certificate.
  std::string tls_certificate;
  std::string tls_key;
  std::string tls_ca_file;
  std::string tls_passphrase;
};

/// Everything a node reads at start.
struct node_options {
  http_options http;
  auth_options auth;
  runtime_options runtime;
  grains_options grains;
  log_options log;
  postgres_options postgres;
  basket_options basket;
  inventory_options inventory;
  kafka_options kafka;
  saga_options saga;
  payment_options payment;
  cluster_options cluster;
};

} // namespace bazaar::config
