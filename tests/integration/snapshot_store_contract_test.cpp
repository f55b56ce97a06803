// The contract every snapshot store keeps, run against the in-memory store and PostgreSQL.

#include "bazaar/persistence/memory_snapshot_store.hpp"
#include "bazaar/persistence/migrations.hpp"
#include "bazaar/persistence/pg_snapshot_store.hpp"

#include "support/pg_schema.hpp"

#include <catch2/catch.hpp>

#include <atomic>
#include <thread>

using namespace bazaar;
using persistence::save_status;
using persistence::snapshot;

namespace {

/// A store under test plus a way to open a second, independent handle on the same data.
struct memory_fixture {
  std::shared_ptr<persistence::memory_snapshot_store> shared =
      std::make_shared<persistence::memory_snapshot_store>();
  std::shared_ptr<persistence::snapshot_store> open() { return shared; }
};

struct pg_fixture {
  test::pg_schema schema;
  pg_fixture() {
    auto conn = persistence::connect(schema.settings());
    persistence::migrate(*conn, schema.name());
  }
  std::shared_ptr<persistence::snapshot_store> open() {
    return std::make_shared<persistence::pg_snapshot_store>(schema.settings());
  }
};

} // namespace

TEMPLATE_TEST_CASE("a snapshot store keeps the version fence", "[store]", memory_fixture,
                   pg_fixture) {
  TestType f;
  auto store = f.open();

  SECTION("a grain that never saved has no snapshot") {
    auto r = store->load("basket", "nobody");
    CHECK(r.ok);
    CHECK_FALSE(r.found);
  }

  SECTION("version 1 is stored when nothing was, then version 2 over it") {
    REQUIRE(store->save(snapshot{"basket", "a", 1, R"({"n":1})", 1}, 0) == save_status::saved);
    auto r = store->load("basket", "a");
    REQUIRE(r.found);
    CHECK(r.found->version == 1);
    CHECK(r.found->event_seq == 1);
    REQUIRE(store->save(snapshot{"basket", "a", 2, R"({"n":2})", 3}, 1) == save_status::saved);
    r = store->load("basket", "a");
    CHECK(r.found->version == 2);
    CHECK(r.found->event_seq == 3);
    CHECK(r.found->state.find("2") != std::string::npos);
  }

  SECTION("a write over a stale version is refused and changes nothing") {
    REQUIRE(store->save(snapshot{"basket", "a", 1, R"({"n":1})", 0}, 0) == save_status::saved);
    REQUIRE(store->save(snapshot{"basket", "a", 2, R"({"n":2})", 0}, 1) == save_status::saved);
    CHECK(store->save(snapshot{"basket", "a", 2, R"({"n":9})", 0}, 1) == save_status::conflict);
    CHECK(store->save(snapshot{"basket", "a", 1, R"({"n":9})", 0}, 0) == save_status::conflict);
    auto r = store->load("basket", "a");
    CHECK(r.found->version == 2);
    CHECK(r.found->state.find("9") == std::string::npos);
  }

  SECTION("types and keys do not mix") {
    REQUIRE(store->save(snapshot{"basket", "x", 1, R"({"t":"basket"})", 0}, 0) ==
            save_status::saved);
    REQUIRE(store->save(snapshot{"product", "x", 1, R"({"t":"product"})", 0}, 0) ==
            save_status::saved);
    CHECK(store->load("basket", "x").found->state.find("basket") != std::string::npos);
    CHECK(store->load("product", "x").found->state.find("product") != std::string::npos);
  }

  SECTION("large and unicode state survives unchanged in meaning") {
    std::string big(1 << 20, 'x');
    std::string state = R"({"name":"Tasse „groß“ 🍵 — ünïcødé","blob":")" + big + R"("})";
    REQUIRE(store->save(snapshot{"product", "u", 1, state, 0}, 0) == save_status::saved);
    auto r = store->load("product", "u");
    REQUIRE(r.found);
    CHECK(r.found->state.find("Tasse „groß“ 🍵 — ünïcødé") != std::string::npos);
    CHECK(r.found->state.size() >= big.size());
  }

  SECTION("of two concurrent writers of the same version exactly one wins") {
    REQUIRE(store->save(snapshot{"basket", "race", 1, R"({"n":1})", 0}, 0) == save_status::saved);
    for (int round = 1; round <= 20; ++round) {
      std::atomic<int> won{0}, lost{0};
      std::vector<std::thread> writers;
      for (int w = 0; w < 4; ++w)
        writers.emplace_back([&, w] {
          auto mine = f.open(); // its own connection for PostgreSQL
          auto s = mine->save(snapshot{"basket", "race", static_cast<std::uint64_t>(round + 1),
                                       "{\"writer\":" + std::to_string(w) + "}", 0},
                              static_cast<std::uint64_t>(round));
          (s == save_status::saved ? won : lost)++;
        });
      for (auto& t : writers)
        t.join();
      REQUIRE(won == 1);
      REQUIRE(lost == 3);
    }
    CHECK(store->load("basket", "race").found->version == 21);
  }
}

TEST_CASE("an unreachable PostgreSQL makes the store answer unavailable, not throw", "[store]") {
  persistence::pg_snapshot_store store{
      persistence::pg_settings{"postgresql://bazaar:bazaar@127.0.0.1:1/none", "public", 500, 1000}};
  CHECK_FALSE(store.load("basket", "a").ok);
  CHECK(store.save(snapshot{"basket", "a", 1, "{}", 0}, 0) == save_status::unavailable);
}
