#pragma once

/// Bearer tokens verified once and then remembered until their `exp`, so that a client sending
/// the same token with every request does not cost an HMAC and a JSON parse each time.

#include "bazaar/gateway/jwt.hpp"

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

namespace bazaar::auth {

/// verify() with a memory: bound to one secret, holding at most `capacity` tokens (the oldest
/// of a shard is dropped for a new one), each only while `now < exp` by its clock. A token is
/// found by its whole text, signature included, so only the exact string that verified is
/// taken from the cache. Safe to use from any number of threads: tokens are spread over
/// shards, each with its own lock.
class token_cache {
 public:
  /// Seconds since the Unix epoch.
  using clock = std::function<std::int64_t()>;

  /// Throws std::invalid_argument when `capacity` or `shards` is 0 or `now` is empty. Each
  /// shard holds capacity / shards tokens, at least one.
  token_cache(std::string secret, std::size_t capacity, clock now, std::size_t shards = 16);
  ~token_cache();

  token_cache(const token_cache&) = delete;
  token_cache& operator=(const token_cache&) = delete;

  /// The claims of `token`: from the cache while its `exp` has not come, otherwise from
  /// auth::verify() at the clock's time (a token that verifies is then remembered).
  std::variant<claims, verify_error> verify(std::string_view token);

  /// Tokens held now, expired or not (at most capacity()).
  std::size_t size() const;

  /// The most tokens held at once.
  std::size_t capacity() const;

  /// How many verify() calls were answered from the cache.
  std::uint64_t hits() const;

 private:
  struct shard;
  shard& shard_of(std::string_view token);

  std::string secret_;
  clock now_;
  std::size_t per_shard_;
  std::vector<std::unique_ptr<shard>> shards_;
};

} // namespace bazaar::auth
