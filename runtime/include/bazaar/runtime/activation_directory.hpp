#pragma once

/// Grain id -> activation, for one shard of the catalog: open addressing with linear probing
/// over a flat array of (hash, activation) slots, so that a lookup touches one slot line and
/// the activation itself. The caller hashes the id once (the same hash picks the shard) and
/// holds the shard's lock around every call.

#include "bazaar/runtime/grain_id.hpp"

#include <cstddef>
#include <functional>
#include <memory>
#include <vector>

namespace bazaar::runtime {

class activation;

class activation_directory {
 public:
  /// The activation of `id` (whose hash is `hash`), or nullptr.
  activation* find(const grain_id& id, std::size_t hash) const;

  /// Adds an activation; `id` must not be present.
  void insert(std::size_t hash, std::shared_ptr<activation> a);

  /// Removes the slot holding `a`, if any; true when removed.
  bool erase(std::size_t hash, const activation* a);

  /// Calls `fn` for every activation.
  void for_each(const std::function<void(activation&)>& fn) const;

  std::size_t size() const { return size_; }

 private:
  struct slot {
    std::size_t hash = 0;
    std::shared_ptr<activation> a; ///< empty: a free slot
  };

  std::size_t index_of(std::size_t hash) const { return (hash >> 6) & (slots_.size() - 1); }
  void grow();

  std::vector<slot> slots_;
  std::size_t size_ = 0;
};

} // namespace bazaar::runtime
