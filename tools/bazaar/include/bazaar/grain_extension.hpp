#pragma once

/// Grain types a node hosts beyond the shop's (a test's, say): registered like the shop's,
/// routable from Kafka when they handle runtime::kafka_record, and served over HTTP by their
/// own routes. Production nodes have none; a test executable passes its own to
/// bazaar::run_cli, or a test to its test_node: one line, `grain_extension_of(...)`.

#include "bazaar/gateway/router.hpp"
#include "bazaar/runtime/grain_client.hpp"
#include "bazaar/runtime/grain_interface.hpp"
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
  /// Adds the types' HTTP routes (none when empty).
  std::function<void(gateway::router&, runtime::grain_client&)> add_routes;
};

/// The extension of one durable grain type, with its routes: registers its messages and the
/// type (idle after `idle`), and adds the routes.
template <class G>
grain_extension
grain_extension_of(G definition,
                   std::function<void(gateway::router&, runtime::grain_client&)> add_routes = {},
                   std::chrono::milliseconds idle = std::chrono::minutes{10}) {
  grain_extension e;
  e.register_types = [](caf::actor_system_config& cfg) {
    runtime::register_interface<typename G::interface>(cfg);
  };
  e.register_grains = [definition, idle](runtime::catalog& grains,
                                         const runtime::grain_services& services) {
    runtime::register_durable_grain(grains, definition, services, idle);
  };
  e.types = {{G::type, handles_kafka_records<G>}};
  e.add_routes = std::move(add_routes);
  return e;
}

} // namespace bazaar
