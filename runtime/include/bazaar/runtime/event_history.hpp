#pragma once

/// The event history of aggregates, as the admin API reads it: the journal of one aggregate,
/// oldest first. What reads history goes through this service, never through storage itself.

#include "bazaar/persistence/journal.hpp"

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace bazaar::runtime {

class event_history {
 public:
  explicit event_history(std::shared_ptr<persistence::journal> journal)
      : journal_(std::move(journal)) {}

  /// The event envelopes (JSON text) of one aggregate, oldest first; `done` runs exactly once,
  /// on a storage thread or at once, with nullopt when storage is unavailable.
  void read(const std::string& aggregate_type, const std::string& aggregate_id,
            std::function<void(std::optional<std::vector<std::string>>)> done) const {
    journal_->history(aggregate_type, aggregate_id, std::move(done));
  }

 private:
  std::shared_ptr<persistence::journal> journal_;
};

} // namespace bazaar::runtime
