#pragma once

/// What every durable grain of a node shares: its storage, how long it waits for other
/// grains, how long idempotency answers are remembered, and the `source` of its events.

#include "bazaar/persistence/grain_store.hpp"

#include <caf/timespan.hpp>

#include <chrono>
#include <memory>
#include <string>

namespace bazaar::runtime {

struct grain_services {
  std::shared_ptr<persistence::grain_store> storage;
  /// Timeout of a call from one grain to another.
  std::chrono::milliseconds call_timeout{5000};
  /// How long idempotency answers are remembered (the API: at least 24 h).
  std::chrono::milliseconds idempotency_ttl{24LL * 60 * 60 * 1000};
  /// The `source` of event metadata, e.g. "bazaar/node-1".
  std::string source = "bazaar";
};

} // namespace bazaar::runtime
