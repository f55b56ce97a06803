#pragma once

/// Where a grain lives in a cluster. Rendezvous (highest random weight) hashing: each live node
/// scores every grain id, the highest score owns it. Any node computes the same owner from the
/// same set of live nodes, with no table to share, and a node joining or leaving moves only the
/// grains it wins or held (about 1/n of them).
///
/// The catalog asks a `grain_placement` (the cluster, when there is one) whether a grain it does
/// not hold lives elsewhere, and its remote stubs (grain_stub.hpp) ask it where to send.

#include "bazaar/runtime/grain_id.hpp"

#include <caf/actor.hpp>
#include <caf/error.hpp>

#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace bazaar::runtime {

/// FNV-1a over bytes: the same on every node and build (std::hash is not promised to be).
inline std::uint64_t stable_hash(std::string_view bytes,
                                 std::uint64_t seed = 1469598103934665603ULL) {
  std::uint64_t h = seed;
  for (unsigned char c : bytes) {
    h ^= c;
    h *= 1099511628211ULL;
  }
  return h;
}

/// A 64-bit finalizer (MurmurHash3's fmix64): spreads the bits of a combined hash.
inline std::uint64_t mix64(std::uint64_t k) {
  k ^= k >> 33;
  k *= 0xff51afd7ed558ccdULL;
  k ^= k >> 33;
  k *= 0xc4ceb3fe1a85ec53ULL;
  k ^= k >> 33;
  return k;
}

/// The score of node `node_hash` (stable_hash of its id) for a grain (stable_hash of its id).
inline std::uint64_t rendezvous_score(std::uint64_t node_hash, std::uint64_t grain_hash) {
  return mix64(node_hash ^ mix64(grain_hash));
}

/// stable_hash of "type/key".
inline std::uint64_t grain_hash(const grain_id& id) {
  return stable_hash(id.key, stable_hash("/", stable_hash(id.type)));
}

/// The index of the node (by the stable hashes of their ids) that owns the grain; ties (which
/// need equal 64-bit scores) go to the lower index. `nodes` must not be empty.
inline std::size_t rendezvous_owner(const std::vector<std::uint64_t>& node_hashes,
                                    std::uint64_t grain) {
  std::size_t best = 0;
  std::uint64_t best_score = rendezvous_score(node_hashes[0], grain);
  for (std::size_t i = 1; i < node_hashes.size(); ++i) {
    auto s = rendezvous_score(node_hashes[i], grain);
    if (s > best_score) {
      best = i;
      best_score = s;
    }
  }
  return best;
}

/// What the catalog and the remote stubs need of a cluster.
class grain_placement {
 public:
  virtual ~grain_placement() = default;

  /// The id of the node that owns `id` now, or empty when this node does.
  virtual std::string owner_elsewhere(const grain_id& id) const = 0;

  /// Where to send a routed call for a grain owned by `node` (empty: this node): that node's
  /// router, or an invalid handle while it is not reachable.
  virtual caf::actor router_of(const std::string& node) const = 0;

  /// The ids of the nodes grains are placed on now (this node's view).
  virtual std::vector<std::string> live_nodes() const = 0;

  /// Changes whenever the view (who owns what, who is reachable) may have changed.
  virtual std::uint64_t epoch() const = 0;

  /// How long a stub keeps re-sending a call that found no owner to take it (the owner is
  /// unreachable, or it answered that it no longer owns the grain) before it fails the call.
  virtual std::chrono::milliseconds retry_budget() const = 0;
};

/// The error a router answers when the grain is not its to serve (another node owns it, or
/// this node is leaving): nothing happened, the caller may send again elsewhere.
inline constexpr caf::atom_value routing_category = caf::atom("bzroute");
inline caf::error not_owner_error() {
  return caf::error{1, routing_category};
}
inline bool is_not_owner(const caf::error& e) {
  return e.category() == routing_category && e.code() == 1;
}

} // namespace bazaar::runtime
