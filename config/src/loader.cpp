#include "bazaar/config/loader.hpp"

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <charconv>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <functional>
#include <limits>
#include <set>
#include <sstream>
#include <string_view>
#include <system_error>
#include <utility>

/// The process environment (POSIX).
extern char** environ;

namespace bazaar::config {
namespace {

/// Why a value was rejected, as a sentence without the key; empty optional means accepted.
using setter_result = std::optional<std::string>;

/// Parses and validates one textual value into its field of node_options.
using setter_fn = std::function<setter_result(node_options&, std::string_view)>;

/// Renders a field of node_options as the text that would set it back.
using getter_fn = std::function<std::string(const node_options&)>;

/// One known configuration key.
struct key_spec {
  /// `section.field`, exactly as in options.hpp.
  std::string name;
  /// Short environment aliases, consulted only when the regular name is not set.
  std::vector<std::string> aliases;
  /// Parses, validates and stores a value.
  setter_fn set;
  /// Reads the current value back (used to render defaults).
  getter_fn get;
  /// What the key is for, one line.
  std::string description;
};

/// Wraps text in double quotes for messages.
std::string in_quotes(std::string_view text) {
  std::string out;
  out.reserve(text.size() + 2);
  out += '"';
  out += text;
  out += '"';
  return out;
}

/// Parses a whole string as a decimal integer within lo..hi, or says why not.
std::variant<long long, std::string> parse_integer(std::string_view text, long long lo,
                                                   long long hi) {
  const std::string range = " is out of range " + std::to_string(lo) + ".." + std::to_string(hi);
  long long value = 0;
  const char* first = text.data();
  const char* last = text.data() + text.size();
  const auto [end, ec] = std::from_chars(first, last, value);
  if (ec == std::errc::result_out_of_range && end == last)
    return std::string(text) + range;
  if (ec != std::errc() || end != last || text.empty())
    return in_quotes(text) + " is not an integer";
  if (value < lo || value > hi)
    return std::to_string(value) + range;
  return value;
}

/// A key holding an integer field (int, uint16_t or size_t) limited to lo..hi.
template <class Section, class Field>
key_spec integer_key(std::string name, Section node_options::*section, Field Section::*field,
                     long long lo, long long hi, std::string description,
                     std::vector<std::string> aliases = {}) {
  key_spec spec;
  spec.name = std::move(name);
  spec.aliases = std::move(aliases);
  spec.set = [section, field, lo, hi](node_options& options,
                                      std::string_view text) -> setter_result {
    auto parsed = parse_integer(text, lo, hi);
    if (auto* why = std::get_if<std::string>(&parsed))
      return std::move(*why);
    (options.*section).*field = static_cast<Field>(std::get<long long>(parsed));
    return std::nullopt;
  };
  spec.get = [section, field](const node_options& options) {
    return std::to_string((options.*section).*field);
  };
  spec.description = std::move(description);
  return spec;
}

/// A key holding a floating-point field limited to lo..hi.
template <class Section>
key_spec fraction_key(std::string name, Section node_options::*section, double Section::*field,
                      double lo, double hi, std::string description) {
  key_spec spec;
  spec.name = std::move(name);
  spec.set = [section, field, lo, hi](node_options& options,
                                      std::string_view text) -> setter_result {
    double value = 0;
    const char* last = text.data() + text.size();
    auto [end, ec] = std::from_chars(text.data(), last, value);
    if (ec != std::errc() || end != last || text.empty())
      return in_quotes(text) + " is not a number";
    if (!(value >= lo && value <= hi))
      return std::string(text) + " is out of range " + std::to_string(lo) + ".." +
             std::to_string(hi);
    (options.*section).*field = value;
    return std::nullopt;
  };
  spec.get = [section, field](const node_options& options) {
    std::ostringstream out;
    out << (options.*section).*field;
    return out.str();
  };
  spec.description = std::move(description);
  return spec;
}

/// A key holding a string field, checked by an optional validator.
template <class Section>
key_spec string_key(std::string name, Section node_options::*section, std::string Section::*field,
                    std::string description, std::vector<std::string> aliases = {},
                    std::function<setter_result(std::string_view)> validate = {}) {
  key_spec spec;
  spec.name = std::move(name);
  spec.aliases = std::move(aliases);
  spec.set = [section, field, validate = std::move(validate)](
                 node_options& options, std::string_view text) -> setter_result {
    if (validate) {
      if (auto why = validate(text))
        return why;
    }
    (options.*section).*field = std::string(text);
    return std::nullopt;
  };
  spec.get = [section, field](const node_options& options) { return (options.*section).*field; };
  spec.description = std::move(description);
  return spec;
}

/// A key holding a string field restricted to a fixed set of words.
template <class Section>
key_spec choice_key(std::string name, Section node_options::*section, std::string Section::*field,
                    std::vector<std::string> choices, std::string description) {
  auto validate = [choices](std::string_view text) -> setter_result {
    if (std::find(choices.begin(), choices.end(), text) != choices.end())
      return std::nullopt;
    std::string list;
    for (const auto& choice : choices) {
      if (!list.empty())
        list += ", ";
      list += choice;
    }
    return in_quotes(text) + " is not one of " + list;
  };
  return string_key(std::move(name), section, field, std::move(description), {},
                    std::move(validate));
}

/// Rejects an empty value.
setter_result require_non_empty(std::string_view text) {
  if (text.empty())
    return std::string("must not be empty");
  return std::nullopt;
}

/// Accepts a PostgreSQL identifier: a letter or underscore, then letters, digits, underscores.
setter_result require_identifier(std::string_view text) {
  auto ok_first = [](char c) { return std::isalpha(static_cast<unsigned char>(c)) || c == '_'; };
  auto ok_rest = [](char c) { return std::isalnum(static_cast<unsigned char>(c)) || c == '_'; };
  if (text.empty() || text.size() > 63 || !ok_first(text[0]) ||
      !std::all_of(text.begin() + 1, text.end(), ok_rest))
    return in_quotes(text) + " is not a plain identifier ([A-Za-z_][A-Za-z0-9_]*, at most 63)";
  return std::nullopt;
}

/// Rejects a secret shorter than 8 characters (without echoing the secret).
setter_result require_secret(std::string_view text) {
  constexpr std::size_t min_length = 8;
  if (text.size() < min_length)
    return "must be at least " + std::to_string(min_length) + " characters long (got " +
           std::to_string(text.size()) + ")";
  return std::nullopt;
}

constexpr long long max_threads = 256;
constexpr long long max_port = 65535;
constexpr long long max_timeout_ms = 86'400'000;
constexpr long long min_body_bytes = 1024;
constexpr long long max_body_bytes = 1024LL * 1024 * 1024;
constexpr long long max_inflight = 10'000'000;

/// A topic name Kafka accepts: 1..249 characters of [A-Za-z0-9._-].
setter_result require_topic(std::string_view text) {
  auto ok = [](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) || c == '.' || c == '_' || c == '-';
  };
  if (text.empty() || text.size() > 249 || !std::all_of(text.begin(), text.end(), ok))
    return in_quotes(text) + " is not a Kafka topic name ([A-Za-z0-9._-], at most 249)";
  return std::nullopt;
}

/// Event types with a topic, and the field of kafka_topics that names it.
const std::vector<std::pair<const char*, std::string kafka_topics::*>>& topic_table() {
  static const std::vector<std::pair<const char*, std::string kafka_topics::*>> table = {
      {"order-created", &kafka_topics::order_created},
      {"product-reservation", &kafka_topics::product_reservation},
      {"product-reserved", &kafka_topics::product_reserved},
      {"payment-pending", &kafka_topics::payment_pending},
      {"payment-processed", &kafka_topics::payment_processed},
      {"order-status-changed", &kafka_topics::order_status_changed},
      {"product-deactivated", &kafka_topics::product_deactivated},
      {"product-low-stock", &kafka_topics::product_low_stock},
      {"stock-updated", &kafka_topics::stock_updated},
      {"basket-checked-out", &kafka_topics::basket_checked_out},
      {"product-created", &kafka_topics::product_created},
      {"product-updated", &kafka_topics::product_updated},
      {"product-activated", &kafka_topics::product_activated},
      {"basket-item-added", &kafka_topics::basket_item_added},
      {"basket-item-updated", &kafka_topics::basket_item_updated},
      {"basket-item-removed", &kafka_topics::basket_item_removed},
      {"basket-cleared", &kafka_topics::basket_cleared},
      {"basket-expired", &kafka_topics::basket_expired},
  };
  return table;
}

/// The key `kafka.topics.<event>`.
key_spec topic_key(const char* event, std::string kafka_topics::*member) {
  key_spec spec;
  spec.name = std::string("kafka.topics.") + event;
  spec.set = [member](node_options& options, std::string_view text) -> setter_result {
    if (auto why = require_topic(text))
      return why;
    options.kafka.topics.*member = std::string(text);
    return std::nullopt;
  };
  spec.get = [member](const node_options& options) { return options.kafka.topics.*member; };
  spec.description = std::string("Topic of ") + event + " events";
  return spec;
}

/// Every known key, in the order of options.hpp.
const std::vector<key_spec>& known_keys() {
  static const std::vector<key_spec> keys = [] {
    using N = node_options;
    std::vector<key_spec> k;
    k.push_back(string_key("http.host", &N::http, &http_options::host,
                           "Address the HTTP gateway listens on", {}, require_non_empty));
    k.push_back(integer_key("http.port", &N::http, &http_options::port, 0, max_port,
                            "HTTP port; 0 picks an ephemeral port"));
    k.push_back(integer_key("http.threads", &N::http, &http_options::threads, 1, max_threads,
                            "Pistache I/O threads"));
    k.push_back(integer_key("http.max_body_bytes", &N::http, &http_options::max_body_bytes,
                            min_body_bytes, max_body_bytes,
                            "Largest accepted request body in bytes; larger ones get 413"));
    k.push_back(integer_key("http.request_timeout_ms", &N::http, &http_options::request_timeout_ms,
                            1, max_timeout_ms,
                            "How long a request waits for its grain before 504"));
    k.push_back(integer_key("http.header_timeout_ms", &N::http, &http_options::header_timeout_ms, 1,
                            max_timeout_ms,
                            "Time allowed for a request's headers and body before 400"));
    k.push_back(integer_key("http.keepalive_timeout_ms", &N::http,
                            &http_options::keepalive_timeout_ms, 1, max_timeout_ms,
                            "Idle time after which a kept-alive connection is closed"));
    k.push_back(integer_key("http.sse_keepalive_ms", &N::http, &http_options::sse_keepalive_ms, 1,
                            max_timeout_ms,
                            "Quiet time after which an event stream gets a keep-alive comment"));
    k.push_back(string_key("auth.jwt_secret", &N::auth, &auth_options::jwt_secret,
                           "HS256 secret of bearer tokens, at least 8 characters",
                           {"BAZAAR_JWT_SECRET"}, require_secret));
    k.push_back(integer_key("runtime.max_threads", &N::runtime, &runtime_options::max_threads, 0,
                            max_threads, "CAF worker threads; 0 means one per core"));
    k.push_back(choice_key("runtime.scheduler_policy", &N::runtime,
                           &runtime_options::scheduler_policy, {"stealing", "sharing"},
                           "CAF scheduler policy: stealing or sharing"));
    k.push_back(integer_key("runtime.dispatchers", &N::runtime, &runtime_options::dispatchers, 0,
                            max_threads,
                            "Actors issuing grain requests for the gateway; 0 means max_threads"));
    k.push_back(integer_key("runtime.max_inflight", &N::runtime, &runtime_options::max_inflight, 1,
                            max_inflight, "Requests in flight per node before 503"));
    k.push_back(integer_key("runtime.collection_interval_ms", &N::runtime,
                            &runtime_options::collection_interval_ms, 1, max_timeout_ms,
                            "How often the idle-grain collector sweeps"));
    k.push_back(integer_key("runtime.call_timeout_ms", &N::runtime,
                            &runtime_options::call_timeout_ms, 1, max_timeout_ms,
                            "Timeout of a grain-to-grain request"));
    k.push_back(integer_key("grains.idle_timeout_ms", &N::grains, &grains_options::idle_timeout_ms,
                            1, max_timeout_ms,
                            "Idle time after which a grain is deactivated, unless its type "
                            "sets grains.<type>.idle_timeout_ms"));
    k.push_back(choice_key("log.level", &N::log, &log_options::level,
                           {"trace", "debug", "info", "warn", "error", "off"},
                           "Log level: trace, debug, info, warn, error or off"));
    k.push_back(choice_key("log.format", &N::log, &log_options::format, {"json", "text"},
                           "Log format: json (one object per line) or text"));
    k.push_back(integer_key("log.queue_lines", &N::log, &log_options::queue_lines, 0, 1'000'000,
                            "Lines the asynchronous log holds before it drops (and counts) "
                            "new ones; 0 writes each line synchronously"));
    k.push_back(string_key("postgres.url", &N::postgres, &postgres_options::url,
                           "libpq connection URL; empty means not configured"));
    k.push_back(string_key("postgres.schema", &N::postgres, &postgres_options::schema,
                           "Schema (search_path) of Bazaar's tables", {}, require_identifier));
    k.push_back(integer_key("postgres.writers", &N::postgres, &postgres_options::writers, 1, 16,
                            "Writer threads (one connection each) of the group-commit persister"));
    k.push_back(integer_key("postgres.batch_max_rows", &N::postgres,
                            &postgres_options::batch_max_rows, 1, 10'000,
                            "Group commit: most grain writes per transaction"));
    k.push_back(integer_key("postgres.batch_linger_ms", &N::postgres,
                            &postgres_options::batch_linger_ms, 0, 1000,
                            "Group commit: longest wait for more writes after the first"));
    k.push_back(integer_key("postgres.connect_timeout_ms", &N::postgres,
                            &postgres_options::connect_timeout_ms, 100, 60'000,
                            "Connection attempt timeout before the store counts as unavailable"));
    k.push_back(integer_key("postgres.reminder_poll_ms", &N::postgres,
                            &postgres_options::reminder_poll_ms, 10, max_timeout_ms,
                            "How often due reminders are looked for"));
    k.push_back(integer_key("postgres.applied_events_retention_s", &N::postgres,
                            &postgres_options::applied_events_retention_s, 1,
                            10LL * 365 * 24 * 60 * 60,
                            "Seconds the read side remembers an applied event id"));
    k.push_back(integer_key("basket.ttl_s", &N::basket, &basket_options::ttl_s, 1,
                            10LL * 365 * 24 * 60 * 60,
                            "Seconds after its last change when a basket is cleared"));
    k.push_back(integer_key("inventory.reservation_retention_s", &N::inventory,
                            &inventory_options::reservation_retention_s, 1,
                            10LL * 365 * 24 * 60 * 60,
                            "Seconds a product remembers an order's ended reservation"));
    k.push_back(string_key("kafka.bootstrap_servers", &N::kafka, &kafka_options::bootstrap_servers,
                           "Comma-separated Kafka brokers; empty starts the embedded mock",
                           {"BAZAAR_KAFKA_BOOTSTRAP"}));
    k.push_back(string_key("kafka.group_id", &N::kafka, &kafka_options::group_id,
                           "Consumer group of the cluster's Kafka bridges", {}, require_non_empty));
    k.push_back(integer_key("kafka.republish_window_s", &N::kafka,
                            &kafka_options::republish_window_s, 0, 30LL * 24 * 60 * 60,
                            "Embedded Kafka: seconds of outbox published again by a new leader"));
    k.push_back(integer_key("kafka.mock_brokers", &N::kafka, &kafka_options::mock_brokers, 1, 9,
                            "Brokers of the embedded mock cluster"));
    k.push_back(integer_key("kafka.partitions", &N::kafka, &kafka_options::partitions, 1, 256,
                            "Partitions of each topic created in the embedded cluster"));
    k.push_back(integer_key("kafka.max_in_flight", &N::kafka, &kafka_options::max_in_flight, 1,
                            1'000'000,
                            "Records handled at once per node; partitions pause past it"));
    k.push_back(integer_key("kafka.max_attempts", &N::kafka, &kafka_options::max_attempts, 1, 100,
                            "Attempts at handling a record before it goes to <topic>.dlq"));
    k.push_back(integer_key("kafka.retry_backoff_ms", &N::kafka, &kafka_options::retry_backoff_ms,
                            1, max_timeout_ms, "Pause before a record's next attempt (doubles)"));
    k.push_back(integer_key("kafka.fetch_wait_max_ms", &N::kafka, &kafka_options::fetch_wait_max_ms,
                            1, 10'000, "Longest wait of a fetch for new records"));
    k.push_back(integer_key("kafka.session_timeout_ms", &N::kafka,
                            &kafka_options::session_timeout_ms, 1000, 300'000,
                            "Consumer group session timeout"));
    k.push_back(integer_key("kafka.message_timeout_ms", &N::kafka,
                            &kafka_options::message_timeout_ms, 100, max_timeout_ms,
                            "How long the producer retries a record before giving up"));
    k.push_back(integer_key("kafka.relay_sweep_ms", &N::kafka, &kafka_options::relay_sweep_ms, 10,
                            max_timeout_ms,
                            "How often the outbox relay sweeps for unpublished rows"));
    for (const auto& [event, member] : topic_table())
      k.push_back(topic_key(event, member));
    k.push_back(choice_key("saga.transport", &N::saga, &saga_options::transport,
                           {"grains", "kafka"},
                           "How the checkout saga reaches inventory and payment: grain calls "
                           "or Kafka command topics"));
    k.push_back(integer_key("saga.resume_after_ms", &N::saga, &saga_options::resume_after_ms, 100,
                            max_timeout_ms,
                            "Grains transport: when an unfinished checkout is started again"));
    k.push_back(integer_key("saga.reservation_timeout_ms", &N::saga,
                            &saga_options::reservation_timeout_ms, 1, max_timeout_ms,
                            "How long a checkout waits for its reservations"));
    k.push_back(integer_key("saga.payment_timeout_ms", &N::saga, &saga_options::payment_timeout_ms,
                            1, max_timeout_ms,
                            "How long a checkout waits for the payment's answer"));
    k.push_back(fraction_key("payment.decline_rate", &N::payment, &payment_options::decline_rate,
                             0.0, 1.0, "Fraction of payments the simulated gateway declines"));
    k.push_back(integer_key("payment.seed", &N::payment, &payment_options::seed, 0,
                            std::numeric_limits<std::int64_t>::max(),
                            "Seed of the simulated gateway's random declines"));
    k.push_back(string_key("cluster.node_id", &N::cluster, &cluster_options::node_id,
                           "Node identity; empty derives it from host name and HTTP port",
                           {"BAZAAR_NODE_ID"}));
    k.push_back(string_key("cluster.host", &N::cluster, &cluster_options::host,
                           "Address the other nodes reach this node's cluster port at", {},
                           require_non_empty));
    k.push_back(string_key("cluster.bind", &N::cluster, &cluster_options::bind,
                           "Interface the cluster port listens on (loopback unless TLS is on)", {},
                           require_non_empty));
    k.push_back(integer_key("cluster.port", &N::cluster, &cluster_options::port, 0, max_port,
                            "Cluster port for grain calls between nodes; 0 picks a free one"));
    k.push_back(integer_key("cluster.heartbeat_ms", &N::cluster, &cluster_options::heartbeat_ms, 10,
                            60'000, "How often a node heartbeats and reads the membership"));
    k.push_back(integer_key("cluster.failure_timeout_ms", &N::cluster,
                            &cluster_options::failure_timeout_ms, 100, 600'000,
                            "A node without a heartbeat for this long is declared dead"));
    k.push_back(string_key("cluster.tls.certificate", &N::cluster,
                           &cluster_options::tls_certificate,
                           "PEM certificate of this node; set, the cluster port speaks TLS"));
    k.push_back(string_key("cluster.tls.key", &N::cluster, &cluster_options::tls_key,
                           "PEM private key of the certificate"));
    k.push_back(string_key("cluster.tls.ca_file", &N::cluster, &cluster_options::tls_ca_file,
                           "PEM file of the CA that signs the members' certificates"));
    k.push_back(string_key("cluster.tls.passphrase", &N::cluster, &cluster_options::tls_passphrase,
                           "Passphrase of the key"));
    return k;
  }();
  return keys;
}

/// A grain type name as per-type keys take it: a lower-case letter, then lower-case letters,
/// digits and underscores (at most 64).
bool is_grain_type_name(std::string_view text) {
  auto ok = [](char c) { return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_'; };
  return !text.empty() && text.size() <= 64 && text[0] >= 'a' && text[0] <= 'z' &&
         std::all_of(text.begin(), text.end(), ok);
}

/// The settings every grain type may have as `grains.<type>.<setting>`.
const std::vector<std::pair<const char*, int grain_type_options::*>>& grain_type_settings() {
  static const std::vector<std::pair<const char*, int grain_type_options::*>> settings = {
      {"idle_timeout_ms", &grain_type_options::idle_timeout_ms},
  };
  return settings;
}

/// The per-type key `grains.<type>.<setting>`.
key_spec grain_type_key(const std::string& type, const char* setting,
                        int grain_type_options::*field) {
  key_spec spec;
  spec.name = "grains." + type + "." + setting;
  spec.set = [type, field](node_options& options, std::string_view text) -> setter_result {
    auto parsed = parse_integer(text, 1, max_timeout_ms);
    if (auto* why = std::get_if<std::string>(&parsed))
      return std::move(*why);
    options.grains.types[type].*field = static_cast<int>(std::get<long long>(parsed));
    return std::nullopt;
  };
  spec.get = [type, field](const node_options& options) {
    auto i = options.grains.types.find(type);
    return std::to_string(i == options.grains.types.end() ? 0 : i->second.*field);
  };
  spec.description = std::string("Per grain type: ") + setting + " of grains of type <type>";
  return spec;
}

/// Whether `event` is an event type with a topic (kafka.topics.<event>).
bool is_event_type(std::string_view event) {
  for (const auto& [name, member] : topic_table())
    if (event == name)
      return true;
  return false;
}

/// The settings of a route as `kafka.routes.<event>.<setting>`.
const std::vector<std::pair<const char*, std::string kafka_route_options::*>>& route_settings() {
  static const std::vector<std::pair<const char*, std::string kafka_route_options::*>> settings = {
      {"grain_type", &kafka_route_options::grain_type},
      {"key_field", &kafka_route_options::key_field},
  };
  return settings;
}

/// The per-event key `kafka.routes.<event>.<setting>`: a grain type name, or a field name of
/// the envelope's data; empty unsets it.
key_spec route_key(const std::string& event, const char* setting,
                   std::string kafka_route_options::*field) {
  key_spec spec;
  spec.name = "kafka.routes." + event + "." + setting;
  const bool is_type = field == &kafka_route_options::grain_type;
  spec.set = [event, field, is_type](node_options& options,
                                     std::string_view text) -> setter_result {
    if (!text.empty()) {
      if (is_type && !is_grain_type_name(text))
        return in_quotes(text) + " is not a grain type name ([a-z][a-z0-9_]*, at most 64)";
      if (!is_type) {
        if (require_identifier(text))
          return in_quotes(text) + " is not a field name ([A-Za-z_][A-Za-z0-9_]*, at most 63)";
      }
    }
    options.kafka.routes[event].*field = std::string(text);
    return std::nullopt;
  };
  spec.get = [event, field](const node_options& options) {
    auto i = options.kafka.routes.find(event);
    return i == options.kafka.routes.end() ? std::string{} : i->second.*field;
  };
  spec.description =
      is_type ? std::string("Grain type the Kafka bridge hands records of <event>'s topic to")
              : std::string("Field of the envelope's data that is the grain key (empty: the "
                            "record key)");
  return spec;
}

/// The key named `name`: a known one, or a per-grain-type one; nullopt if neither.
std::optional<key_spec> find_key(std::string_view name) {
  for (const auto& spec : known_keys()) {
    if (spec.name == name)
      return spec;
  }
  constexpr std::string_view prefix = "grains.";
  if (name.substr(0, prefix.size()) == prefix) {
    auto rest = name.substr(prefix.size());
    auto dot = rest.find('.');
    if (dot != std::string_view::npos && is_grain_type_name(rest.substr(0, dot))) {
      for (const auto& [setting, field] : grain_type_settings())
        if (rest.substr(dot + 1) == setting)
          return grain_type_key(std::string(rest.substr(0, dot)), setting, field);
    }
  }
  constexpr std::string_view routes = "kafka.routes.";
  if (name.substr(0, routes.size()) == routes) {
    auto rest = name.substr(routes.size());
    auto dot = rest.rfind('.');
    if (dot != std::string_view::npos && is_event_type(rest.substr(0, dot))) {
      for (const auto& [setting, field] : route_settings())
        if (rest.substr(dot + 1) == setting)
          return route_key(std::string(rest.substr(0, dot)), setting, field);
    }
  }
  return std::nullopt;
}

/// Whether some known key lives in `section` (everything before a key's last dot, so
/// `kafka.topics.order-created` lives in [kafka.topics] and `grains.basket.idle_timeout_ms`
/// in [grains.basket]).
bool known_section(std::string_view section) {
  for (const auto& spec : known_keys()) {
    if (std::string_view(spec.name).substr(0, spec.name.rfind('.')) == section)
      return true;
  }
  constexpr std::string_view prefix = "grains.";
  constexpr std::string_view routes = "kafka.routes.";
  return (section.substr(0, prefix.size()) == prefix &&
          is_grain_type_name(section.substr(prefix.size()))) ||
         (section.substr(0, routes.size()) == routes &&
          is_event_type(section.substr(routes.size())));
}

/// The regular environment variable of a key: http.port -> BAZAAR_HTTP_PORT,
/// kafka.topics.order-created -> BAZAAR_KAFKA_TOPICS_ORDER_CREATED.
std::string env_name(std::string_view key) {
  std::string out = "BAZAAR_";
  for (char c : key)
    out +=
        c == '.' || c == '-' ? '_' : static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return out;
}

/// Strips leading and trailing blanks.
std::string_view trim(std::string_view text) {
  constexpr std::string_view blanks = " \t\r\n\v\f";
  const auto first = text.find_first_not_of(blanks);
  if (first == std::string_view::npos)
    return {};
  const auto last = text.find_last_not_of(blanks);
  return text.substr(first, last - first + 1);
}

/// Applies one value to a known key; an error names the key and, if given, where it came from.
std::optional<config_error> apply(node_options& options, const key_spec& spec,
                                  std::string_view value, const std::string& origin) {
  if (auto why = spec.set(options, value)) {
    if (!origin.empty())
      *why += " (" + origin + ")";
    return config_error{spec.name, std::move(*why)};
  }
  return std::nullopt;
}

/// Reads an INI file into `options`.
std::optional<config_error> apply_file(node_options& options, const std::string& path) {
  std::error_code ec;
  if (std::filesystem::is_directory(path, ec))
    return config_error{"--config", "cannot read " + in_quotes(path) + ": it is a directory"};
  std::ifstream in(path);
  if (!in)
    return config_error{"--config", "cannot read " + in_quotes(path) + ": " + std::strerror(errno)};

  std::string section;
  std::string raw;
  int line_number = 0;
  while (std::getline(in, raw)) {
    ++line_number;
    const std::string where = path + ":" + std::to_string(line_number);
    const std::string_view line = trim(raw);
    if (line.empty() || line.front() == '#' || line.front() == ';')
      continue;
    if (line.front() == '[') {
      if (line.back() != ']')
        return config_error{where, "expected a section header like [http]"};
      const std::string_view name = trim(line.substr(1, line.size() - 2));
      if (name.empty())
        return config_error{where, "expected a section header like [http]"};
      if (!known_section(name))
        return config_error{std::string(name),
                            "unknown section [" + std::string(name) + "] (at " + where + ")"};
      section = std::string(name);
      continue;
    }
    const auto equals = line.find('=');
    if (equals == std::string_view::npos || trim(line.substr(0, equals)).empty())
      return config_error{where, "expected \"key = value\", \"[section]\", a comment or a blank "
                                 "line"};
    const std::string field(trim(line.substr(0, equals)));
    std::string_view value = trim(line.substr(equals + 1));
    if (value.size() >= 2 && value.front() == '"' && value.back() == '"')
      value = value.substr(1, value.size() - 2);
    if (section.empty())
      return config_error{field, "key outside any [section] (at " + where + ")"};
    const std::string key = section + "." + field;
    const auto spec = find_key(key);
    if (!spec)
      return config_error{key, "unknown key (at " + where + ")"};
    if (auto error = apply(options, *spec, value, "at " + where))
      return error;
  }
  if (in.bad())
    return config_error{"--config", "cannot read " + in_quotes(path) + ": " + std::strerror(errno)};
  return std::nullopt;
}

/// Applies every known key found in `env`; the regular name wins over a short alias.
std::optional<config_error> apply_environment(node_options& options,
                                              const std::map<std::string, std::string>& env) {
  for (const auto& spec : known_keys()) {
    std::vector<std::string> names{env_name(spec.name)};
    names.insert(names.end(), spec.aliases.begin(), spec.aliases.end());
    for (const auto& name : names) {
      const auto found = env.find(name);
      if (found == env.end())
        continue;
      if (auto error = apply(options, spec, found->second, "from " + name))
        return error;
      break;
    }
  }
  // Per grain type: BAZAAR_GRAINS_<TYPE>_<SETTING>, e.g. BAZAAR_GRAINS_BASKET_IDLE_TIMEOUT_MS.
  constexpr std::string_view prefix = "BAZAAR_GRAINS_";
  for (const auto& [name, value] : env) {
    if (name.compare(0, prefix.size(), prefix) != 0)
      continue;
    for (const auto& [setting, field] : grain_type_settings()) {
      auto suffix = "_" + env_name(setting).substr(std::string_view("BAZAAR_").size());
      if (name.size() <= prefix.size() + suffix.size() ||
          name.compare(name.size() - suffix.size(), suffix.size(), suffix) != 0)
        continue;
      std::string type = name.substr(prefix.size(), name.size() - prefix.size() - suffix.size());
      for (auto& c : type)
        c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
      if (!is_grain_type_name(type))
        return config_error{name,
                            in_quotes(type) + " is not a grain type name (from " + name + ")"};
      if (auto error = apply(options, grain_type_key(type, setting, field), value, "from " + name))
        return error;
    }
  }
  // Per event type: BAZAAR_KAFKA_ROUTES_<EVENT>_<SETTING>, e.g.
  // BAZAAR_KAFKA_ROUTES_ORDER_CREATED_GRAIN_TYPE.
  for (const auto& [event, member] : topic_table()) {
    for (const auto& [setting, field] : route_settings()) {
      auto spec = route_key(event, setting, field);
      const auto name = env_name(spec.name);
      const auto found = env.find(name);
      if (found == env.end())
        continue;
      if (auto error = apply(options, spec, found->second, "from " + name))
        return error;
    }
  }
  return std::nullopt;
}

/// Checks the routes as a whole: a key field needs a grain type, and event types that share
/// a topic route it alike (the bridge routes topics).
std::optional<config_error> check_routes(const node_options& options) {
  const auto topics = topic_map(options.kafka);
  std::map<std::string, std::pair<std::string, kafka_route_options>> by_topic; // topic -> event
  for (const auto& [event, route] : options.kafka.routes) {
    const std::string key = "kafka.routes." + event;
    if (route.grain_type.empty()) {
      if (!route.key_field.empty())
        return config_error{key + ".key_field",
                            "is set but " + key +
                                ".grain_type is not (a route needs a grain type)"};
      continue;
    }
    const auto& topic = topics.at(event);
    auto [other, fresh] = by_topic.emplace(topic, std::make_pair(event, route));
    if (fresh)
      continue;
    const auto& [other_event, other_route] = other->second;
    if (other_route.grain_type != route.grain_type || other_route.key_field != route.key_field)
      return config_error{
          key + ".grain_type",
          "routes topic " + in_quotes(topic) + " unlike kafka.routes." + other_event + " (" +
              other_route.grain_type + " by " +
              (other_route.key_field.empty() ? "record key" : other_route.key_field) +
              "), which names the same topic; a topic has one route"};
  }
  return std::nullopt;
}

/// Applies `section.key=value` overrides in order.
std::optional<config_error> apply_overrides(node_options& options,
                                            const std::vector<std::string>& overrides) {
  for (const auto& item : overrides) {
    const auto equals = item.find('=');
    if (equals == std::string::npos)
      return config_error{item, "expected section.key=value"};
    const std::string key(trim(std::string_view(item).substr(0, equals)));
    const auto spec = find_key(key);
    if (!spec)
      return config_error{key, "unknown key"};
    if (auto error = apply(options, *spec, std::string_view(item).substr(equals + 1), ""))
      return error;
  }
  return std::nullopt;
}

} // namespace

std::map<std::string, std::string> environment() {
  std::map<std::string, std::string> out;
  for (char** entry = environ; entry != nullptr && *entry != nullptr; ++entry) {
    const std::string_view text(*entry);
    const auto equals = text.find('=');
    if (equals == std::string_view::npos)
      continue;
    out.emplace(std::string(text.substr(0, equals)), std::string(text.substr(equals + 1)));
  }
  return out;
}

std::variant<node_options, config_error> load(const load_request& request) {
  try {
    node_options options;
    if (request.file) {
      if (auto error = apply_file(options, *request.file))
        return *error;
    }
    if (auto error = apply_environment(options, request.env))
      return *error;
    if (auto error = apply_overrides(options, request.overrides))
      return *error;
    if (auto error = check_routes(options))
      return *error;
    return options;
  } catch (const std::exception& e) {
    return config_error{"--config", std::string("cannot load configuration: ") + e.what()};
  } catch (...) {
    return config_error{"--config", "cannot load configuration"};
  }
}

namespace {

/// Whether `host` names this machine only: 127.0.0.0/8, ::1 or localhost.
bool is_loopback(std::string_view host) {
  return host == "localhost" || host == "::1" || host == "[::1]" || host.compare(0, 4, "127.") == 0;
}

} // namespace

std::optional<config_error> check_exposure(const node_options& options) {
  if (options.auth.jwt_secret != auth_options{}.jwt_secret || is_loopback(options.http.host))
    return std::nullopt;
  return config_error{"auth.jwt_secret",
                      "is the public development secret, and http.host=" + options.http.host +
                          " listens beyond loopback: set a secret of your own "
                          "(BAZAAR_JWT_SECRET), or listen on 127.0.0.1"};
}

std::string describe_keys() {
  const node_options defaults;
  struct row {
    std::string key;
    std::string value;
    std::string meaning;
  };
  std::vector<row> rows;
  std::size_t key_width = 0;
  std::size_t value_width = 0;
  for (const auto& spec : known_keys()) {
    std::string value = spec.get(defaults);
    if (value.empty())
      value = "\"\"";
    std::string meaning = spec.description + " [env " + env_name(spec.name);
    for (const auto& alias : spec.aliases) {
      if (alias != env_name(spec.name))
        meaning += ", " + alias;
    }
    meaning += "]";
    key_width = std::max(key_width, spec.name.size());
    value_width = std::max(value_width, value.size());
    rows.push_back({spec.name, std::move(value), std::move(meaning)});
  }
  for (const auto& [setting, field] : grain_type_settings()) {
    auto spec = grain_type_key("<type>", setting, field);
    std::string meaning = spec.description + " (unset: the type's default, else grains." + setting +
                          ") [env BAZAAR_GRAINS_<TYPE>_" +
                          env_name(setting).substr(std::string_view("BAZAAR_").size()) + "]";
    key_width = std::max(key_width, spec.name.size());
    rows.push_back({spec.name, "\"\"", std::move(meaning)});
  }
  for (const auto& [setting, field] : route_settings()) {
    auto spec = route_key("<event>", setting, field);
    std::string meaning = spec.description +
                          "; topic: kafka.topics.<event> [env "
                          "BAZAAR_KAFKA_ROUTES_<EVENT>_" +
                          env_name(setting).substr(std::string_view("BAZAAR_").size()) + "]";
    key_width = std::max(key_width, spec.name.size());
    rows.push_back({spec.name, "\"\"", std::move(meaning)});
  }
  std::ostringstream out;
  for (const auto& r : rows) {
    out << "  " << r.key << std::string(key_width - r.key.size() + 2, ' ') << r.value
        << std::string(value_width - r.value.size() + 2, ' ') << r.meaning << '\n';
  }
  return out.str();
}

std::map<std::string, std::string> topic_map(const kafka_options& kafka) {
  std::map<std::string, std::string> out;
  for (const auto& [event, member] : topic_table())
    out.emplace(event, kafka.topics.*member);
  return out;
}

void apply_saga_transport(node_options& options) {
  if (options.saga.transport != "grains")
    return;
  for (auto& [event, route] : options.kafka.routes)
    if (route.grain_type == "checkout")
      route = kafka_route_options{};
}

std::vector<topic_route> topic_routes(const kafka_options& kafka) {
  const auto topics = topic_map(kafka);
  std::map<std::string, topic_route> by_topic;
  for (const auto& [event, route] : kafka.routes) {
    if (route.grain_type.empty())
      continue;
    auto t = topics.find(event);
    if (t == topics.end())
      continue; // load() accepts routes of event types with a topic only
    auto& r = by_topic[t->second];
    r.topic = t->second;
    r.grain_type = route.grain_type;
    r.key_field = route.key_field;
    r.events.push_back(event);
  }
  std::vector<topic_route> out;
  for (auto& [topic, r] : by_topic)
    out.push_back(std::move(r));
  return out;
}

std::vector<std::string> topics_with_dead_letters(const kafka_options& kafka) {
  std::set<std::string> topics;
  for (const auto& [event, topic] : topic_map(kafka)) {
    topics.insert(topic);
    topics.insert(topic + ".dlq");
  }
  return {topics.begin(), topics.end()};
}

} // namespace bazaar::config
