#pragma once

/// A snapshot store in process memory: the same contract as the PostgreSQL store, nothing
/// survives the process. For unit tests, and for the in-memory node of the foundation stage.

#include "bazaar/persistence/snapshot_store.hpp"

#include <map>
#include <mutex>
#include <utility>

namespace bazaar::persistence {

class memory_snapshot_store final : public snapshot_store {
 public:
  load_result load(const std::string& type, const std::string& key) override;
  save_status save(const snapshot& s, std::uint64_t expected_version) override;

  std::size_t size() const;

 private:
  mutable std::mutex mtx_;
  std::map<std::pair<std::string, std::string>, snapshot> rows_;
};

} // namespace bazaar::persistence
