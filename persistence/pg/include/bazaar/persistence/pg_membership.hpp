#pragma once

/// The cluster membership table on PostgreSQL (migration 0007): a node registers under its id
/// with a new incarnation, heartbeats, declares others dead once their heartbeat is older
/// than the failure timeout, reads who is alive, and leaves. Time is the database's (now()),
/// so that nodes' clocks need not agree. One connection, used by one thread (the node's
/// membership thread); every call throws on a database error and reconnects on the next.

#include "bazaar/persistence/pg.hpp"

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace bazaar::persistence {

/// One row of the membership table.
struct member_row {
  std::string node_id;
  std::int64_t incarnation = 0;
  std::string host;
  int http_port = 0;
  int cluster_port = 0;
  std::string status;             ///< alive, left or dead
  std::int64_t started_at_ms = 0; ///< Unix ms
  std::int64_t heartbeat_at_ms = 0;
  std::int64_t heartbeat_age_ms = 0; ///< by the database's clock
  std::int64_t activations = 0;      ///< as of its last heartbeat
};

class pg_membership {
 public:
  explicit pg_membership(pg_settings settings);
  ~pg_membership();

  pg_membership(const pg_membership&) = delete;
  pg_membership& operator=(const pg_membership&) = delete;

  /// Registers (or re-registers) `node_id` as joining; returns its new incarnation, which
  /// fences off whatever an earlier incarnation of the same id still tries to commit.
  std::int64_t join(const std::string& node_id, const std::string& host, int http_port,
                    int cluster_port);

  /// Records a heartbeat (with how many grains are active on the node); false when the row
  /// is no longer alive with this incarnation (the node was declared dead or replaced): it
  /// must drop its grains and join again.
  bool heartbeat(const std::string& node_id, std::int64_t incarnation, std::int64_t activations);

  /// Makes a joining member alive (it owns grains from now on); false when this incarnation
  /// no longer holds the row.
  bool activate(const std::string& node_id, std::int64_t incarnation);

  /// Declares dead every joining or alive member whose heartbeat is older than `timeout`; returns
  /// their ids. Waits at most `lock_wait` for a member's in-flight commit to finish (the fence
  /// holds its row), else leaves it for the next round.
  std::vector<std::string> declare_dead(std::chrono::milliseconds timeout,
                                        std::chrono::milliseconds lock_wait);

  /// Every row, alive or not, by node id.
  std::vector<member_row> members();

  /// Marks the member as having left (graceful shutdown), if this incarnation still holds it.
  void leave(const std::string& node_id, std::int64_t incarnation);

 private:
  pqxx::connection& conn();

  pg_settings settings_;
  std::unique_ptr<pqxx::connection> conn_;
};

} // namespace bazaar::persistence
