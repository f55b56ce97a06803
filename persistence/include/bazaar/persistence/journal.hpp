#pragma once

/// The journal as readers see it: the events an aggregate produced, in order. (Events are
/// written with their grain's snapshot through grain_store; the outbox relay publishes them.)

#include <functional>
#include <optional>
#include <string>
#include <vector>

namespace bazaar::persistence {

class journal {
 public:
  virtual ~journal() = default;

  /// The journal of one aggregate (event envelopes as JSON text, oldest first); `done` runs
  /// exactly once, with nullopt when the store is unavailable.
  virtual void history(const std::string& aggregate_type, const std::string& aggregate_id,
                       std::function<void(std::optional<std::vector<std::string>>)> done) = 0;
};

} // namespace bazaar::persistence
