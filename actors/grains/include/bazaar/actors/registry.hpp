#pragma once

/// One place that tells CAF about every message type and the runtime about every grain type.

#include "bazaar/config/options.hpp"
#include "bazaar/persistence/snapshot_store.hpp"
#include "bazaar/runtime/catalog.hpp"

#include <caf/actor_system_config.hpp>

#include <memory>

namespace bazaar::actors {

/// What grain shells need besides their context.
struct grain_services {
  std::shared_ptr<persistence::snapshot_store> store;
  /// Timeout of a call from one grain to another.
  caf::timespan call_timeout = std::chrono::seconds{5};
};

/// Registers the message types and the error category. Call before the actor_system exists.
void register_types(caf::actor_system_config& cfg);

/// Registers the basket and product grain types with their idle timeouts.
void register_grains(runtime::catalog& grains, const config::grains_options& opts,
                     grain_services services);

} // namespace bazaar::actors
