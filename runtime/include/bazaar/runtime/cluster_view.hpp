#pragma once

/// One node's view of the cluster: the members alive in the membership table when it last
/// looked, and which of them owns a grain (rendezvous hashing, placement.hpp). Immutable: the
/// cluster swaps in a new view (with the next epoch) when the membership changes.

#include "bazaar/runtime/placement.hpp"

#include <cstdint>
#include <string>
#include <vector>

namespace bazaar::runtime {

struct cluster_member {
  std::string id;
  std::int64_t incarnation = 0;
  std::string host;
  int http_port = 0;
  int cluster_port = 0;

  friend bool operator==(const cluster_member& a, const cluster_member& b) {
    return a.id == b.id && a.incarnation == b.incarnation && a.host == b.host &&
           a.http_port == b.http_port && a.cluster_port == b.cluster_port;
  }
};

class cluster_view {
 public:
  cluster_view() = default;

  /// `alive` sorted by id; `self` is this node's id.
  cluster_view(std::string self, std::vector<cluster_member> alive, std::uint64_t epoch)
      : self_(std::move(self)), members_(std::move(alive)), epoch_(epoch) {
    hashes_.reserve(members_.size());
    for (const auto& m : members_)
      hashes_.push_back(stable_hash(m.id));
  }

  /// The id of the member that owns `id`; empty when nobody is alive.
  const std::string& owner_of(const grain_id& id) const {
    static const std::string none;
    if (members_.empty())
      return none;
    return members_[rendezvous_owner(hashes_, grain_hash(id))].id;
  }

  /// The member `id`, or null.
  const cluster_member* find(const std::string& id) const {
    for (const auto& m : members_)
      if (m.id == id)
        return &m;
    return nullptr;
  }

  const std::string& self() const { return self_; }
  const std::vector<cluster_member>& members() const { return members_; }
  std::uint64_t epoch() const { return epoch_; }

 private:
  std::string self_;
  std::vector<cluster_member> members_;
  std::vector<std::uint64_t> hashes_;
  std::uint64_t epoch_ = 0;
};

} // namespace bazaar::runtime
