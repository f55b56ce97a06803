#pragma once

/// Grain types a node hosts beyond the shop's (a test's, say): registered like the shop's,
/// and routable from Kafka when they handle runtime::kafka_record. Production nodes have none;
/// a test executable passes its own to bazaar::run_cli.

#include "bazaar/runtime/grain_types.hpp"
#include "bazaar/runtime/kafka_record.hpp"

#include <caf/actor_system_config.hpp>
#include <caf/replies_to.hpp>

#include <functional>
#include <map>
#include <string>

namespace bazaar {

/// Whether grain definition G's interface answers a runtime::kafka_record with a bool, as the
/// Kafka bridge asks.
template <class G>
constexpr bool handles_kafka_records =
    caf::detail::tl_contains<typename G::interface::signatures,
                             caf::replies_to<runtime::kafka_record>::with<bool>>::value;

struct grain_extension {
  /// Registers the types' messages with CAF (before the actor system exists).
  std::function<void(caf::actor_system_config&)> register_types;
  /// Makes the types activatable.
  std::function<void(runtime::catalog&, const runtime::grain_services&)> register_grains;
  /// The types it adds, each with whether it handles Kafka records.
  std::map<std::string, bool> types;
};

} // namespace bazaar
