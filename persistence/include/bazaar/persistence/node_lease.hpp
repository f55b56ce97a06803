#pragma once

/// Which cluster member a node's grain writes belong to: its node id and incarnation. The
/// PostgreSQL persister commits a batch only while that member's row is `alive` with that
/// incarnation (and holds the row against a concurrent "declared dead" meanwhile), so that a
/// node the others declared dead cannot commit, however late its writes arrive. An empty
/// lease (no node id) fences nothing: a store outside any cluster.

#include <cstdint>
#include <mutex>
#include <string>
#include <utility>

namespace bazaar::persistence {

class node_lease {
 public:
  /// Takes the lease of a (re)registered member.
  void hold(std::string node_id, std::int64_t incarnation) {
    std::lock_guard<std::mutex> guard{mtx_};
    node_id_ = std::move(node_id);
    incarnation_ = incarnation;
  }

  /// The node id (empty: no lease) and incarnation.
  std::pair<std::string, std::int64_t> get() const {
    std::lock_guard<std::mutex> guard{mtx_};
    return {node_id_, incarnation_};
  }

 private:
  mutable std::mutex mtx_;
  std::string node_id_;
  std::int64_t incarnation_ = 0;
};

} // namespace bazaar::persistence
