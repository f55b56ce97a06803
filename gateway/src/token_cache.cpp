#include "bazaar/gateway/token_cache.hpp"

#include <algorithm>
#include <mutex>
#include <stdexcept>
#include <unordered_map>

namespace bazaar::auth {

/// One lock's worth of tokens: a map for finding them and a ring, in the order they came, for
/// dropping the oldest when the shard is full.
struct token_cache::shard {
  std::mutex mtx;
  std::unordered_map<std::string, claims> tokens;
  /// The keys of `tokens` (pointing into the map's nodes, which never move), oldest at `next`
  /// once the ring is full.
  std::vector<const std::string*> ring;
  std::size_t next = 0;
  std::uint64_t hits = 0;
};

token_cache::token_cache(std::string secret, std::size_t capacity, clock now, std::size_t shards)
    : secret_(std::move(secret)), now_(std::move(now)) {
  if (capacity == 0 || shards == 0 || !now_)
    throw std::invalid_argument(
        "token_cache: capacity and shards must be positive, and a clock given");
  per_shard_ = std::max<std::size_t>(1, capacity / shards);
  shards_.reserve(shards);
  for (std::size_t i = 0; i < shards; ++i) {
    shards_.push_back(std::make_unique<shard>());
    shards_.back()->ring.reserve(per_shard_);
  }
}

token_cache::~token_cache() = default;

token_cache::shard& token_cache::shard_of(std::string_view token) {
  return *shards_[std::hash<std::string_view>{}(token) % shards_.size()];
}

std::variant<claims, verify_error> token_cache::verify(std::string_view token) {
  const auto now = now_();
  auto& s = shard_of(token);
  {
    // The key to look up, in a buffer of the calling thread: no allocation per lookup.
    thread_local std::string key;
    key.assign(token.data(), token.size());
    std::lock_guard<std::mutex> guard{s.mtx};
    auto i = s.tokens.find(key);
    if (i != s.tokens.end() && now < i->second.expires_at) {
      ++s.hits;
      return i->second;
    }
  }
  auto verified = auth::verify(token, secret_, now);
  if (auto* c = std::get_if<claims>(&verified)) {
    std::lock_guard<std::mutex> guard{s.mtx};
    auto [i, added] = s.tokens.try_emplace(std::string(token), *c);
    if (added) {
      if (s.ring.size() < per_shard_) {
        s.ring.push_back(&i->first);
      } else {
        s.tokens.erase(s.tokens.find(*s.ring[s.next]));
        s.ring[s.next] = &i->first;
        s.next = (s.next + 1) % per_shard_;
      }
    }
  }
  return verified;
}

std::size_t token_cache::size() const {
  std::size_t n = 0;
  for (const auto& s : shards_) {
    std::lock_guard<std::mutex> guard{s->mtx};
    n += s->tokens.size();
  }
  return n;
}

std::size_t token_cache::capacity() const {
  return per_shard_ * shards_.size();
}

std::uint64_t token_cache::hits() const {
  std::uint64_t n = 0;
  for (const auto& s : shards_) {
    std::lock_guard<std::mutex> guard{s->mtx};
    n += s->hits;
  }
  return n;
}

} // namespace bazaar::auth
