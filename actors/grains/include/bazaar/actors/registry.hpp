#pragma once

/// One place that tells CAF about every message type and the runtime about every grain type.

#include "bazaar/config/options.hpp"
#include "bazaar/persistence/grain_storage.hpp"
#include "bazaar/runtime/catalog.hpp"

#include <caf/actor_system_config.hpp>

#include <memory>

namespace bazaar::actors {

/// What grain shells need besides their context.
struct grain_services {
  std::shared_ptr<persistence::grain_storage> storage;
  /// Timeout of a call from one grain to another.
  caf::timespan call_timeout = std::chrono::seconds{5};
  /// A basket untouched this long is cleared by its expiry reminder.
  std::chrono::milliseconds basket_ttl{30LL * 24 * 60 * 60 * 1000};
  /// How long idempotency answers are remembered (API.md: at least 24 h).
  std::chrono::milliseconds idempotency_ttl{24LL * 60 * 60 * 1000};
  /// The `source` of event metadata, e.g. "bazaar/node-1".
  std::string source = "bazaar";
};

/// Registers the message types and the error category. Call before the actor_system exists.
void register_types(caf::actor_system_config& cfg);

/// Registers the basket and product grain types with their idle timeouts.
void register_grains(runtime::catalog& grains, const config::grains_options& opts,
                     grain_services services);

} // namespace bazaar::actors
