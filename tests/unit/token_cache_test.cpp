// Unit tests of auth::token_cache: verified tokens remembered until their exp, never past it,
// within a bounded size, from several threads. Time comes from a clock the test moves.

#include "bazaar/gateway/token_cache.hpp"

#include <catch2/catch.hpp>

#include <atomic>
#include <stdexcept>
#include <string>
#include <thread>
#include <variant>
#include <vector>

namespace auth = bazaar::auth;

namespace {

constexpr const char* secret = "token-cache-secret";
constexpr std::int64_t start = 1'700'000'000;

/// A clock the test sets; read by the cache from any thread.
struct test_clock {
  std::atomic<std::int64_t> now{start};
  auth::token_cache::clock fn() {
    return [this] { return now.load(); };
  }
};

std::string token_for(const std::string& subject, std::int64_t expires_at,
                      auth::role r = auth::role::customer, const char* key = secret) {
  auth::claims c;
  c.subject = subject;
  c.user_role = r;
  c.expires_at = expires_at;
  return auth::sign(c, key);
}

/// The claims the cache gives, failing the test if it refused the token.
auth::claims accepted(auth::token_cache& cache, const std::string& token) {
  auto result = cache.verify(token);
  INFO("token " << token);
  REQUIRE(std::holds_alternative<auth::claims>(result));
  return std::get<auth::claims>(result);
}

/// Why the cache refused a token, failing the test if it accepted it.
auth::verify_error refused(auth::token_cache& cache, const std::string& token) {
  auto result = cache.verify(token);
  INFO("token " << token);
  REQUIRE(std::holds_alternative<auth::verify_error>(result));
  return std::get<auth::verify_error>(result);
}

} // namespace

TEST_CASE("a verified token is answered from the cache on its next use, with the same claims") {
  test_clock clock;
  auth::token_cache cache{secret, 64, clock.fn()};
  auto token = token_for("alice", start + 3600, auth::role::admin);

  auto first = accepted(cache, token);
  CHECK(cache.hits() == 0);
  CHECK(cache.size() == 1);
  clock.now = start + 3599;
  auto second = accepted(cache, token);
  CHECK(cache.hits() == 1);
  CHECK(second.subject == "alice");
  CHECK(second.user_role == auth::role::admin);
  CHECK(second.expires_at == start + 3600);
  CHECK(first.subject == second.subject);
}

TEST_CASE("a cached token is refused as expired from the second of its exp on") {
  test_clock clock;
  auth::token_cache cache{secret, 64, clock.fn()};
  auto token = token_for("alice", start + 10);
  accepted(cache, token);
  accepted(cache, token);
  REQUIRE(cache.hits() == 1);

  clock.now = start + 10;
  CHECK(refused(cache, token) == auth::verify_error::expired);
  clock.now = start + 100000;
  CHECK(refused(cache, token) == auth::verify_error::expired);
  CHECK(cache.hits() == 1);
}

TEST_CASE("tokens that do not verify are not remembered") {
  test_clock clock;
  auth::token_cache cache{secret, 64, clock.fn()};
  CHECK(refused(cache, token_for("alice", start)) == auth::verify_error::expired);
  CHECK(refused(cache, token_for("alice", start + 60, auth::role::customer, "another-secret")) ==
        auth::verify_error::bad_signature);
  CHECK(refused(cache, "not.a.token") == auth::verify_error::malformed);
  CHECK(cache.size() == 0);
}

TEST_CASE("a token differing from a cached one in any character is verified on its own") {
  test_clock clock;
  auth::token_cache cache{secret, 64, clock.fn()};
  auto token = token_for("alice", start + 60);
  accepted(cache, token);
  for (auto at : {token.size() - 1, token.find('.') + 1, std::size_t{0}}) {
    auto altered = token;
    altered[at] = altered[at] == 'A' ? 'B' : 'A';
    INFO("altered at " << at);
    CHECK(std::holds_alternative<auth::verify_error>(cache.verify(altered)));
  }
  CHECK(refused(cache, token + "x") != auth::verify_error::expired);
  CHECK(cache.hits() == 0);
  CHECK(cache.size() == 1);
}

TEST_CASE("the cache never holds more tokens than its capacity, dropping the oldest") {
  test_clock clock;
  // One shard: the order of arrival decides what is dropped.
  auth::token_cache cache{secret, 8, clock.fn(), 1};
  REQUIRE(cache.capacity() == 8);
  std::vector<std::string> tokens;
  for (int i = 0; i < 20; ++i) {
    tokens.push_back(token_for("user-" + std::to_string(i), start + 3600));
    accepted(cache, tokens.back());
    CHECK(cache.size() <= 8);
  }
  CHECK(cache.size() == 8);
  // The last eight are answered from the cache ...
  for (int i = 12; i < 20; ++i)
    accepted(cache, tokens[static_cast<std::size_t>(i)]);
  CHECK(cache.hits() == 8);
  // ... the first ones are verified again (and still accepted), pushing others out.
  for (int i = 0; i < 4; ++i)
    CHECK(accepted(cache, tokens[static_cast<std::size_t>(i)]).subject ==
          "user-" + std::to_string(i));
  CHECK(cache.hits() == 8);
  CHECK(cache.size() == 8);
}

TEST_CASE("a sharded cache stays within its capacity") {
  test_clock clock;
  auth::token_cache cache{secret, 64, clock.fn(), 16};
  REQUIRE(cache.capacity() == 64);
  for (int i = 0; i < 1000; ++i)
    accepted(cache, token_for("user-" + std::to_string(i), start + 3600));
  CHECK(cache.size() <= 64);
  CHECK(cache.size() > 0);
}

TEST_CASE("threads sharing a cache all get the claims of their own tokens") {
  test_clock clock;
  auth::token_cache cache{secret, 32, clock.fn(), 4};
  std::vector<std::string> tokens;
  for (int i = 0; i < 48; ++i) // more than fit: entries come and go while threads read
    tokens.push_back(token_for("user-" + std::to_string(i), start + 3600));
  std::atomic<int> wrong{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      for (int n = 0; n < 5000; ++n) {
        auto i = static_cast<std::size_t>((n * 7 + t * 13) % 48);
        auto result = cache.verify(tokens[i]);
        auto* c = std::get_if<auth::claims>(&result);
        if (c == nullptr || c->subject != "user-" + std::to_string(i))
          ++wrong;
      }
    });
  }
  for (auto& th : threads)
    th.join();
  CHECK(wrong.load() == 0);
  CHECK(cache.size() <= 32);
  CHECK(cache.hits() > 0);
}

TEST_CASE("a token cache needs a capacity, shards and a clock") {
  test_clock clock;
  CHECK_THROWS_AS(auth::token_cache(secret, 0, clock.fn()), std::invalid_argument);
  CHECK_THROWS_AS(auth::token_cache(secret, 8, clock.fn(), 0), std::invalid_argument);
  CHECK_THROWS_AS(auth::token_cache(secret, 8, auth::token_cache::clock{}), std::invalid_argument);
}
