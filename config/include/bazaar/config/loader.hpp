#pragma once

/// Reads node_options from, lowest precedence first: built-in defaults, an INI-style config
/// file (`[section]` then `key = value`), environment variables (`BAZAAR_<SECTION>_<KEY>`
/// plus the short aliases listed in describe_keys()), and `--set section.key=value`
/// overrides. Every value is validated; the first bad one is reported with its key.

#include "bazaar/config/options.hpp"

#include <map>
#include <optional>
#include <string>
#include <variant>
#include <vector>

namespace bazaar::config {

/// A rejected setting: which key (e.g. "http.port") and why, as a human sentence.
struct config_error {
  std::string key;
  std::string message;
};

/// The inputs of one load.
struct load_request {
  /// Path of a config file, if any.
  std::optional<std::string> file;
  /// Environment variables to consult (name -> value); pass environment() for the real one.
  std::map<std::string, std::string> env;
  /// `section.key=value` overrides, applied last in order.
  std::vector<std::string> overrides;
};

/// The process environment as a map.
std::map<std::string, std::string> environment();

/// Loads and validates; returns the options or the first error.
std::variant<node_options, config_error> load(const load_request& request);

/// What a node that serves checks on top of load(): the development secret is public (the
/// README prints it), so a node whose http.host is beyond loopback (127.0.0.0/8, ::1,
/// localhost) needs a secret of its own; the error names auth.jwt_secret.
std::optional<config_error> check_exposure(const node_options& options);

/// One line per key: name, environment variable(s), default, meaning. For `--help`.
std::string describe_keys();

/// Event type (e.g. "order-created") -> topic, from kafka.topics.
std::map<std::string, std::string> topic_map(const kafka_options& kafka);

/// One topic the Kafka bridge consumes, from the kafka.routes of the event types on it.
struct topic_route {
  std::string topic;
  std::string grain_type;
  /// Empty: the record key is the grain key; otherwise this field of the envelope's data.
  std::string key_field;
  /// The event types whose routes name this topic, sorted (their keys, for messages).
  std::vector<std::string> events;
};

/// The bridge's routes, one per topic, sorted by topic; empty when nothing is routed. The
/// options are valid (load() checked that event types sharing a topic route it alike).
std::vector<topic_route> topic_routes(const kafka_options& kafka);

/// With saga.transport = grains the checkout saga's steps are grain calls and nothing it would
/// consume comes over Kafka: the routes to the checkout grain type are turned off (the node
/// applies this to the options it runs with).
void apply_saga_transport(node_options& options);

/// Every configured topic and the dead-letter topic (`<topic>.dlq`) of each, sorted.
std::vector<std::string> topics_with_dead_letters(const kafka_options& kafka);

} // namespace bazaar::config
