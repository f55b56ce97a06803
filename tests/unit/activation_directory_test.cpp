// The catalog's activation directory against a reference map: inserts, lookups and erases,
// with hashes chosen to collide, so that probe runs wrap and backward shifts happen.

#include "bazaar/runtime/activation_directory.hpp"
#include "bazaar/runtime/catalog.hpp"

#include <catch2/catch.hpp>

#include <map>
#include <random>

using namespace bazaar;
using runtime::activation;
using runtime::grain_id;

namespace {

std::shared_ptr<activation> make(const std::string& key) {
  return std::make_shared<activation>(grain_id{"t", key}, runtime::clock::steady_time{}, 0);
}

} // namespace

TEST_CASE("the activation directory finds what it holds and nothing it does not") {
  runtime::activation_directory dir;
  std::map<std::string, std::pair<std::size_t, activation*>> model;
  std::mt19937_64 rng{42};
  // Few distinct hashes (and slots) for many ids: long probe runs, wrap-around, equal hashes
  // with different ids.
  auto hash_of = [](std::size_t i) { return (i % 37) * 0x9e3779b97f4a7c15ULL; };
  for (int round = 0; round < 20; ++round) {
    for (int n = 0; n < 300; ++n) {
      auto i = static_cast<std::size_t>(rng() % 2000);
      auto key = "k" + std::to_string(i);
      if (model.count(key))
        continue;
      auto a = make(key);
      model[key] = {hash_of(i), a.get()};
      dir.insert(hash_of(i), std::move(a));
    }
    for (int n = 0; n < 200 && !model.empty(); ++n) {
      auto it = model.begin();
      std::advance(it, static_cast<long>(rng() % model.size()));
      CHECK(dir.erase(it->second.first, it->second.second));
      model.erase(it);
    }
    REQUIRE(dir.size() == model.size());
    for (std::size_t i = 0; i < 2000; ++i) {
      auto key = "k" + std::to_string(i);
      auto* found = dir.find(grain_id{"t", key}, hash_of(i));
      auto expected = model.find(key);
      if (expected == model.end())
        CHECK(found == nullptr);
      else
        CHECK(found == expected->second.second);
    }
  }
  std::size_t visited = 0;
  dir.for_each([&](activation&) { ++visited; });
  CHECK(visited == model.size());
}

TEST_CASE("erasing an activation the directory does not hold changes nothing") {
  runtime::activation_directory dir;
  auto a = make("a");
  auto* raw = a.get();
  dir.insert(7, std::move(a));
  auto other = make("a"); // the same id, another activation (a successor)
  CHECK_FALSE(dir.erase(7, other.get()));
  CHECK(dir.find(grain_id{"t", "a"}, 7) == raw);
  CHECK(dir.erase(7, raw));
  CHECK(dir.find(grain_id{"t", "a"}, 7) == nullptr);
  CHECK(dir.size() == 0);
}
