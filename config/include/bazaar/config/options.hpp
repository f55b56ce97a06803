#pragma once

/// Typed options of every subsystem, with their defaults. A node reads them once at start
/// (see loader.hpp) and hands each subsystem its own struct.

#include <cstddef>
#include <cstdint>
#include <string>

namespace bazaar::config {

/// The HTTP gateway (Pistache).
struct http_options {
  std::string host = "0.0.0.0";
  std::uint16_t port = 8080;
  /// Pistache I/O threads.
  int threads = 2;
  /// Largest accepted request body; larger ones get 413 and the connection is closed.
  std::size_t max_body_bytes = 1 << 20;
  /// How long a request waits for its grain before it is answered 504.
  int request_timeout_ms = 5000;
  /// A request whose headers or body do not arrive in this time gets 400 and is closed.
  int header_timeout_ms = 4000;
};

/// Bearer-token authentication.
struct auth_options {
  /// HS256 secret; the default is for development only and is logged as such.
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

/// Grain lifecycle per grain type.
struct grains_options {
  int basket_idle_timeout_ms = 10 * 60 * 1000;
  int product_idle_timeout_ms = 30 * 60 * 1000;
  int order_idle_timeout_ms = 10 * 60 * 1000;
};

/// Logging (spdlog).
struct log_options {
  /// trace, debug, info, warn, error, off.
  std::string level = "info";
  /// "json" (one object per line) or "text".
  std::string format = "json";
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
  int reminder_poll_ms = 1000;
};

/// Basket rules that are configuration.
struct basket_options {
  /// A basket untouched for this long is cleared by its expiry reminder (30 days).
  std::int64_t ttl_s = 30LL * 24 * 60 * 60;
};

/// Kafka (used from the Kafka-bridge issue on).
struct kafka_options {
  /// Comma-separated brokers; empty means "start the embedded mock cluster".
  std::string bootstrap_servers;
};

/// Cluster membership (used from the cluster issue on).
struct cluster_options {
  /// Node identity; empty means derived from host name and HTTP port.
  std::string node_id;
  std::uint16_t port = 4242;
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
  kafka_options kafka;
  cluster_options cluster;
};

} // namespace bazaar::config
