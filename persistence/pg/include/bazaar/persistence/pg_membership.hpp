#pragma once

/// The cluster membership table on PostgreSQL (migration 0007), the membership_store role.
/// Time is the database's (now()). One connection, used by one thread (the node's membership
/// thread); every call throws on a database error and reconnects on the next.

#include "bazaar/persistence/membership_store.hpp"
#include "bazaar/persistence/pg.hpp"

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace bazaar::persistence {

class pg_membership final : public membership_store {
 public:
  explicit pg_membership(pg_settings settings);
  ~pg_membership() override;

  pg_membership(const pg_membership&) = delete;
  pg_membership& operator=(const pg_membership&) = delete;

  std::int64_t join(const std::string& node_id, const std::string& host, int http_port,
                    int cluster_port) override;
  bool heartbeat(const std::string& node_id, std::int64_t incarnation,
                 std::int64_t activations) override;
  bool activate(const std::string& node_id, std::int64_t incarnation) override;
  std::vector<std::string> declare_dead(std::chrono::milliseconds timeout,
                                        std::chrono::milliseconds lock_wait) override;
  std::vector<member_row> members() override;
  void leave(const std::string& node_id, std::int64_t incarnation) override;

 private:
  pqxx::connection& conn();

  pg_settings settings_;
  std::unique_ptr<pqxx::connection> conn_;
};

} // namespace bazaar::persistence
