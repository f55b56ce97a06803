#pragma once

/// The storage role of cluster membership (runtime::cluster uses it): a node registers under
/// its id with a new incarnation, heartbeats, declares others dead once their heartbeat is
/// older than the failure timeout, reads who is alive, and leaves. Time is the store's, so
/// that nodes' clocks need not agree. Used by one thread (the node's membership thread); every
/// call throws std::exception on a storage error, and the next call tries again.
/// PostgreSQL's: persistence/pg_membership.hpp.

#include <chrono>
#include <cstdint>
#include <string>
#include <vector>

namespace bazaar::persistence {

/// One member as the store holds it.
struct member_row {
  std::string node_id;
  std::int64_t incarnation = 0;
  std::string host;
  int http_port = 0;
  int cluster_port = 0;
  std::string status;             ///< alive, left or dead
  std::int64_t started_at_ms = 0; ///< Unix ms
  std::int64_t heartbeat_at_ms = 0;
  std::int64_t heartbeat_age_ms = 0; ///< by the store's clock
  std::int64_t activations = 0;      ///< as of its last heartbeat
};

class membership_store {
 public:
  virtual ~membership_store() = default;

  /// Registers (or re-registers) `node_id` as joining; returns its new incarnation, which
  /// fences off whatever an earlier incarnation of the same id still tries to commit.
  virtual std::int64_t join(const std::string& node_id, const std::string& host, int http_port,
                            int cluster_port) = 0;

  /// Records a heartbeat (with how many grains are active on the node); false when the row
  /// is no longer alive with this incarnation (the node was declared dead or replaced): it
  /// must drop its grains and join again.
  virtual bool heartbeat(const std::string& node_id, std::int64_t incarnation,
                         std::int64_t activations) = 0;

  /// Makes a joining member alive (it owns grains from now on); false when this incarnation
  /// no longer holds the row.
  virtual bool activate(const std::string& node_id, std::int64_t incarnation) = 0;

  /// Declares dead every joining or alive member whose heartbeat is older than `timeout`;
  /// returns their ids. Waits at most `lock_wait` for a member's in-flight commit to finish
  /// (the fence holds its row), else leaves it for the next round.
  virtual std::vector<std::string> declare_dead(std::chrono::milliseconds timeout,
                                                std::chrono::milliseconds lock_wait) = 0;

  /// Every row, alive or not, by node id.
  virtual std::vector<member_row> members() = 0;

  /// Marks the member as having left (graceful shutdown), if this incarnation still holds it.
  virtual void leave(const std::string& node_id, std::int64_t incarnation) = 0;
};

} // namespace bazaar::persistence
