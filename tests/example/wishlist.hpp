#pragma once

// The README's "Adding a grain type" example, compiled and served by the suite
// (tests/e2e/wishlist_example_test.cpp). File 1 of 3: the rules. In the shop it would be
// actors/domain/include/bazaar/domain/wishlist.hpp (and a .cpp); no CAF, SQL or HTTP.

#include "bazaar/domain/described.hpp"
#include "bazaar/domain/failure.hpp"

#include <algorithm>
#include <cstdint>
#include <string>
#include <vector>

namespace bazaar::domain {

/// A customer's wishlist: the skus they want, in the order they added them.
struct wishlist {
  static constexpr std::size_t max_skus = 100;

  std::string customer_id;
  std::vector<std::string> skus;
  /// Incremented by every accepted change.
  std::uint64_t version = 0;
  timestamp_ms updated_at = 0;

  std::int64_t size() const { return static_cast<std::int64_t>(skus.size()); }

  /// Adds a sku; adding one it holds changes nothing. Refused for a malformed sku or beyond
  /// max_skus.
  maybe_failure add(const std::string& sku, timestamp_ms now) {
    if (!is_identifier(sku))
      return validation_failed("sku", "sku must be 1..64 characters of [A-Za-z0-9._:-]");
    if (std::find(skus.begin(), skus.end(), sku) != skus.end())
      return std::nullopt;
    if (skus.size() >= max_skus)
      return conflict("a wishlist holds at most 100 skus");
    skus.push_back(sku);
    touch(now);
    return std::nullopt;
  }

  /// Removes a sku; true when it was there.
  bool remove(const std::string& sku, timestamp_ms now) {
    auto it = std::find(skus.begin(), skus.end(), sku);
    if (it == skus.end())
      return false;
    skus.erase(it);
    touch(now);
    return true;
  }

 private:
  void touch(timestamp_ms now) {
    ++version;
    updated_at = now;
  }
};
BAZAAR_DESCRIBE(wishlist, (customer_id, skus, version, updated_at, size))

} // namespace bazaar::domain
