#pragma once

/// The snapshot store on PostgreSQL (synchronous, one connection). The grains' hot path goes
/// through the persister and loader instead; this serves the contract tests and tools.

#include "bazaar/persistence/pg.hpp"
#include "bazaar/persistence/snapshot_store.hpp"

#include <mutex>

namespace bazaar::persistence {

class pg_snapshot_store final : public snapshot_store {
 public:
  explicit pg_snapshot_store(pg_settings settings);

  load_result load(const std::string& type, const std::string& key) override;
  save_status save(const snapshot& s, std::uint64_t expected_version) override;

 private:
  pqxx::connection& conn();

  pg_settings settings_;
  std::mutex mtx_;
  std::unique_ptr<pqxx::connection> conn_;
};

} // namespace bazaar::persistence
