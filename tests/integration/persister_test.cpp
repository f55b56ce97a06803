// The group-commit persister and the migrations against a real PostgreSQL.

#include "bazaar/persistence/migrations.hpp"
#include "bazaar/persistence/persister.hpp"
#include "bazaar/persistence/pg_storage.hpp"

#include "support/pg_schema.hpp"

#include <catch2/catch.hpp>

#include <algorithm>
#include <future>
#include <thread>

using namespace bazaar;
using namespace std::chrono_literals;
using persistence::grain_write;
using persistence::save_status;

namespace {

struct migrated_schema {
  test::pg_schema schema;
  migrated_schema() {
    auto conn = persistence::connect(schema.settings());
    persistence::migrate(*conn, schema.name());
  }
};

/// A write of version `v` over `expected`, with one event, reporting into `out`.
grain_write make_write(std::string key, std::uint64_t expected, std::uint64_t v,
                       std::promise<save_status>* out) {
  grain_write w;
  w.type = "basket";
  w.key = std::move(key);
  w.expected_version = expected;
  w.version = v;
  w.state = "{\"v\":" + std::to_string(v) + "}";
  w.event_seq = v;
  persistence::event_record e;
  static std::atomic<int> n{0};
  char id[37];
  std::snprintf(id, sizeof id, "00000000-0000-4000-8000-%012d", n++);
  e.event_id = id;
  e.event_type = "test-event";
  e.aggregate_type = "basket";
  e.aggregate_id = w.key;
  e.sequence = v;
  e.envelope = "{\"v\":" + std::to_string(v) + "}";
  w.events.push_back(e);
  w.done = [out](save_status s) { out->set_value(s); };
  return w;
}

} // namespace

TEST_CASE("migrations apply once, in order, and again find nothing to do") {
  test::pg_schema schema;
  auto conn = persistence::connect(schema.settings());
  auto first = persistence::migrate(*conn, schema.name());
  CHECK(first.size() == persistence::migrations().size());
  CHECK(first.front() == "0001_snapshots.sql");
  CHECK(persistence::migrate(*conn, schema.name()).empty());
  CHECK(schema.scalar("SELECT count(*) FROM schema_migrations") ==
        std::to_string(persistence::migrations().size()));
}

TEST_CASE("nodes that start at once migrate safely under the advisory lock") {
  test::pg_schema schema;
  std::vector<std::future<std::size_t>> starts;
  for (int i = 0; i < 4; ++i)
    starts.push_back(std::async(std::launch::async, [&] {
      auto conn = persistence::connect(schema.settings());
      return persistence::migrate(*conn, schema.name()).size();
    }));
  std::size_t applied = 0;
  for (auto& s : starts)
    applied += s.get(); // none throws
  CHECK(applied == persistence::migrations().size());
}

TEST_CASE("the persister commits many grains' writes in few transactions") {
  migrated_schema db;
  persistence::persister p{db.schema.settings(), {2, 500, 5ms, {}}};
  constexpr int grains = 2000;
  std::vector<std::promise<save_status>> outcomes(grains);
  for (int i = 0; i < grains; ++i)
    p.write(make_write("g" + std::to_string(i), 0, 1, &outcomes[i]));
  for (auto& o : outcomes)
    REQUIRE(o.get_future().get() == save_status::saved);
  CHECK(p.statistics().transactions < grains / 4);
  CHECK(db.schema.scalar("SELECT count(*) FROM snapshots") == std::to_string(grains));
  CHECK(db.schema.scalar("SELECT count(*) FROM outbox") == std::to_string(grains));
}

TEST_CASE("several versions of one grain queued together are coalesced into the newest") {
  migrated_schema db;
  // A long linger holds the batch open so that all versions land in it.
  persistence::persister p{db.schema.settings(), {1, 500, 200ms, {}}};
  std::vector<std::promise<save_status>> outcomes(5);
  for (std::uint64_t v = 1; v <= 5; ++v)
    p.write(make_write("hot", v - 1, v, &outcomes[v - 1]));
  for (auto& o : outcomes)
    CHECK(o.get_future().get() == save_status::saved);
  CHECK(p.statistics().rows == 1);
  CHECK(db.schema.scalar("SELECT version FROM snapshots WHERE grain_key = 'hot'") == "5");
  CHECK(db.schema.scalar("SELECT count(*) FROM outbox WHERE aggregate_id = 'hot'") == "5");
}

TEST_CASE("a write fenced off by a newer version fails and writes none of its events") {
  migrated_schema db;
  persistence::persister p{db.schema.settings(), {1, 500, 0ms, {}}};
  std::promise<save_status> v1, stale, dup;
  p.write(make_write("g", 0, 1, &v1));
  REQUIRE(v1.get_future().get() == save_status::saved);
  // Another activation moved the grain on behind this one's back.
  db.schema.exec("UPDATE snapshots SET version = 7 WHERE grain_key = 'g'");
  p.write(make_write("g", 1, 2, &stale));
  CHECK(stale.get_future().get() == save_status::conflict);
  p.write(make_write("g", 0, 1, &dup)); // a second "first" write
  CHECK(dup.get_future().get() == save_status::conflict);
  CHECK(db.schema.scalar("SELECT version FROM snapshots WHERE grain_key = 'g'") == "7");
  CHECK(db.schema.scalar("SELECT count(*) FROM outbox WHERE aggregate_id = 'g'") == "1");
  CHECK(p.statistics().conflicts == 2);
}

TEST_CASE("in one batch a fenced write fails alone and the others commit") {
  migrated_schema db;
  persistence::persister p{db.schema.settings(), {1, 500, 0ms, {}}};
  std::promise<save_status> seed;
  p.write(make_write("fenced", 0, 1, &seed));
  REQUIRE(seed.get_future().get() == save_status::saved);
  persistence::persister batched{db.schema.settings(), {1, 500, 200ms, {}}};
  std::promise<save_status> a, b, c;
  batched.write(make_write("ok-1", 0, 1, &a));
  batched.write(make_write("fenced", 5, 6, &b));
  batched.write(make_write("ok-2", 0, 1, &c));
  CHECK(a.get_future().get() == save_status::saved);
  CHECK(b.get_future().get() == save_status::conflict);
  CHECK(c.get_future().get() == save_status::saved);
  CHECK(db.schema.scalar("SELECT count(*) FROM outbox") == "3");
}

TEST_CASE("a persister without a reachable server answers unavailable") {
  persistence::persister p{
      persistence::pg_settings{"postgresql://bazaar:bazaar@127.0.0.1:1/none", "public", 500, 1000},
      {1, 10, 0ms, {}}};
  std::promise<save_status> out;
  p.write(make_write("g", 0, 1, &out));
  CHECK(out.get_future().get() == save_status::unavailable);
  CHECK_FALSE(p.healthy());
}

TEST_CASE("pg storage loads many grains in batches, with their idempotency answers") {
  migrated_schema db;
  persistence::pg_storage storage{db.schema.settings(), {}};
  REQUIRE(storage.wait_ready(5s));
  for (int i = 0; i < 300; ++i)
    db.schema.exec("INSERT INTO snapshots (grain_type, grain_key, version, state) VALUES "
                   "('basket', 'k" +
                   std::to_string(i) + "', 3, '{\"i\":" + std::to_string(i) + "}')");
  db.schema.exec("INSERT INTO idempotency_keys (scope, key, grain_type, grain_key, fingerprint, "
                 "outcome, body, expires_at) VALUES ('alice', 'key-1', 'basket', 'k7', 42, 0, "
                 "'\\x00ff41', now() + interval '1 hour'), ('alice', 'old', 'basket', 'k7', 1, "
                 "0, '', now() - interval '1 hour')");
  std::vector<std::promise<persistence::load_result>> results(301);
  for (int i = 0; i <= 300; ++i)
    storage.load("basket", "k" + std::to_string(i),
                 [&results, i](persistence::load_result r) { results[i].set_value(std::move(r)); });
  for (int i = 0; i < 300; ++i) {
    auto r = results[i].get_future().get();
    REQUIRE(r.ok);
    REQUIRE(r.found);
    CHECK(r.found->version == 3);
    if (i == 7) {
      REQUIRE(r.keys.size() == 1); // the expired one is not loaded
      CHECK(r.keys[0].fingerprint == 42);
      CHECK(r.keys[0].outcome == 0);
      CHECK(r.keys[0].body == std::string("\0\xff"
                                          "A",
                                          3));
    }
  }
  auto missing = results[300].get_future().get();
  CHECK(missing.ok);
  CHECK_FALSE(missing.found);
  CHECK(storage.loads() == 301);
}

TEST_CASE("remembered answers of any bytes come back as they were written") {
  migrated_schema db;
  persistence::pg_storage storage{db.schema.settings(), {}};
  REQUIRE(storage.wait_ready(5s));
  std::string every_byte;
  for (int c = 0; c < 256; ++c)
    every_byte += static_cast<char>(c);
  std::promise<save_status> saved;
  auto w = make_write("b1", 0, 1, &saved);
  w.keys.push_back(
      persistence::idempotency_record{"alice", "k-1", 7, 0, every_byte, 4'000'000'000'000});
  w.keys.push_back(persistence::idempotency_record{"alice", "k-2", 8, 2, "", 4'000'000'000'000});
  storage.write(std::move(w));
  REQUIRE(saved.get_future().get() == save_status::saved);
  std::promise<persistence::load_result> loaded;
  storage.load("basket", "b1", [&](persistence::load_result r) { loaded.set_value(std::move(r)); });
  auto r = loaded.get_future().get();
  REQUIRE(r.keys.size() == 2);
  std::sort(r.keys.begin(), r.keys.end(), [](auto& a, auto& b) { return a.key < b.key; });
  CHECK(r.keys[0].body == every_byte);
  CHECK(r.keys[0].outcome == 0);
  CHECK(r.keys[1].body.empty());
  CHECK(r.keys[1].outcome == 2);
}
