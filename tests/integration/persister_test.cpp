// The group-commit persister and the migrations against a real PostgreSQL.

#include "bazaar/persistence/commit_listener.hpp"
#include "bazaar/persistence/migrations.hpp"
#include "bazaar/persistence/persister.hpp"
#include "bazaar/persistence/pg_binary_array.hpp"
#include "bazaar/persistence/pg_storage.hpp"

#include "support/eventually.hpp"
#include "support/pg_schema.hpp"

#include <boost/json/serialize.hpp>
#include <catch2/catch.hpp>
#include <pqxx/pqxx>

#include <algorithm>
#include <future>
#include <mutex>
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

/// `s` as a JSON string.
std::string boost_json_string(const std::string& s) {
  return boost::json::serialize(boost::json::string_view{s});
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
  persistence::persister p{db.schema.settings(), {2, 500, 5ms, {}, {}, {}, {}, {}}};
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
  persistence::persister p{db.schema.settings(), {1, 500, 200ms, {}, {}, {}, {}, {}}};
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
  persistence::persister p{db.schema.settings(), {1, 500, 0ms, {}, {}, {}, {}, {}}};
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
  persistence::persister p{db.schema.settings(), {1, 500, 0ms, {}, {}, {}, {}, {}}};
  std::promise<save_status> seed;
  p.write(make_write("fenced", 0, 1, &seed));
  REQUIRE(seed.get_future().get() == save_status::saved);
  persistence::persister batched{db.schema.settings(), {1, 500, 200ms, {}, {}, {}, {}, {}}};
  std::promise<save_status> a, b, c;
  batched.write(make_write("ok-1", 0, 1, &a));
  batched.write(make_write("fenced", 5, 6, &b));
  batched.write(make_write("ok-2", 0, 1, &c));
  CHECK(a.get_future().get() == save_status::saved);
  CHECK(b.get_future().get() == save_status::conflict);
  CHECK(c.get_future().get() == save_status::saved);
  CHECK(db.schema.scalar("SELECT count(*) FROM outbox") == "3");
}

TEST_CASE("a batch report names the writes that committed, never a fenced one, before any "
          "answer") {
  migrated_schema db;
  persistence::persister p{db.schema.settings(), {1, 500, 0ms, {}, {}, {}, {}, {}}};
  std::promise<save_status> seed;
  p.write(make_write("fenced", 0, 1, &seed));
  REQUIRE(seed.get_future().get() == save_status::saved);
  std::mutex mtx;
  std::vector<persistence::persister::batch_report> reports; // `saved` as keys, below
  std::vector<std::vector<std::string>> saved;
  std::atomic<int> answered{0};
  persistence::persister::options opts{1, 500, 200ms, {}, {}, {}, {}, {}};
  opts.on_batch = [&](const persistence::persister::batch_report& r) {
    std::lock_guard<std::mutex> guard{mtx};
    CHECK(answered.load() == 0); // reported before any of its writes is answered
    reports.push_back(persistence::persister::batch_report{r.writes, r.rows, r.took, {}});
    std::vector<std::string> keys;
    for (const auto* w : r.saved)
      keys.push_back(w->key + "@" + std::to_string(w->version) + "+" +
                     std::to_string(w->events.size()));
    saved.push_back(std::move(keys));
  };
  persistence::persister batched{db.schema.settings(), opts};
  std::vector<std::promise<save_status>> out(4);
  auto count = [&answered](std::promise<save_status>& pr) {
    return [&answered, &pr](save_status s) {
      ++answered;
      pr.set_value(s);
    };
  };
  auto w1 = make_write("ok", 0, 1, nullptr);
  w1.done = count(out[0]);
  auto w2 = make_write("ok", 1, 2, nullptr); // coalesced with w1
  w2.done = count(out[1]);
  auto w3 = make_write("fenced", 5, 6, nullptr);
  w3.done = count(out[2]);
  auto w4 = make_write("other", 0, 1, nullptr);
  w4.done = count(out[3]);
  for (auto* w : {&w1, &w2, &w3, &w4})
    batched.write(std::move(*w));
  CHECK(out[0].get_future().get() == save_status::saved);
  CHECK(out[1].get_future().get() == save_status::saved);
  CHECK(out[2].get_future().get() == save_status::conflict);
  CHECK(out[3].get_future().get() == save_status::saved);
  std::lock_guard<std::mutex> guard{mtx};
  REQUIRE(reports.size() == 1);
  CHECK(reports[0].writes == 4);
  CHECK(reports[0].rows == 3);
  CHECK(reports[0].took.count() > 0);
  std::sort(saved[0].begin(), saved[0].end());
  CHECK(saved[0] == std::vector<std::string>{"ok@2+2", "other@1+1"});
}

TEST_CASE("a commit with events is announced on the commit channel after its writes are "
          "answered, and not while notify_wanted says no") {
  migrated_schema db;
  const auto channel = persistence::commit_channel(db.schema.name());
  persistence::commit_listener listener{db.schema.settings(), channel, [](const std::string&) {}};
  listener.start();
  // Listening once a NOTIFY of our own is heard.
  auto conn = persistence::connect(db.schema.settings());
  REQUIRE(test::eventually([&] {
    pqxx::nontransaction{*conn}.exec_params("SELECT pg_notify($1, 'test')", channel);
    return listener.heard() > 0;
  }));
  REQUIRE(test::eventually([&] {
    auto before = listener.heard();
    std::this_thread::sleep_for(100ms);
    return listener.heard() == before;
  }));
  const auto heard = listener.heard();
  std::atomic<bool> wanted{false};
  std::atomic<std::uint64_t> heard_when_answered{0};
  persistence::persister::options opts{1, 500, 0ms, {}, {}, {}, channel, {}};
  opts.notify_wanted = [&wanted] { return wanted.load(); };
  persistence::persister p{db.schema.settings(), opts};
  std::promise<save_status> quiet;
  p.write(make_write("announced", 0, 1, &quiet)); // the node's own relay leads: no NOTIFY
  REQUIRE(quiet.get_future().get() == save_status::saved);
  wanted = true;
  std::promise<save_status> loud;
  auto w = make_write("announced", 1, 2, nullptr);
  w.done = [&](save_status s) {
    heard_when_answered = listener.heard();
    loud.set_value(s);
  };
  p.write(std::move(w));
  REQUIRE(loud.get_future().get() == save_status::saved);
  CHECK(heard_when_answered.load() == heard); // answered before it is announced
  // Notifications arrive in commit order: had the first write announced itself, it would be
  // heard by the time the second is.
  REQUIRE(test::eventually([&] { return listener.heard() > heard; }));
  std::this_thread::sleep_for(200ms);
  CHECK(listener.heard() == heard + 1);
  listener.stop();
}

TEST_CASE("a persister without a reachable server answers unavailable") {
  persistence::persister p{
      persistence::pg_settings{"postgresql://bazaar:bazaar@127.0.0.1:1/none", "public", 500, 1000},
      {1, 10, 0ms, {}, {}, {}, {}, {}}};
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

namespace {

/// Values that would need quoting or escaping in an array literal or SQL text, and long ones.
std::vector<std::string> awkward_texts() {
  return {"",
          "plain",
          "\"",
          "\\",
          "\\\"\\\\",
          "{}",
          "{a,b}",
          "a,b",
          "NULL",
          "null",
          " leading and trailing ",
          "'single' quotes",
          "tab\tnew\nline\rreturn",
          "caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x9b\x92 \xe6\x97\xa5\xe6\x9c\xac",
          std::string(1 << 20, 'x'),
          std::string(3000, '"') + std::string(3000, '\\') + std::string(3000, ',')};
}

/// `SELECT <expr> FROM unnest($1::<type>[]) ... ORDER BY` its position, as text.
std::vector<std::string> round_trip(pqxx::connection& c, const std::string& type,
                                    const std::string& expr, persistence::pg_binary_array& array) {
  pqxx::work w{c};
  auto r = w.exec_params("SELECT " + expr + " FROM unnest($1::" + type +
                             "[]) WITH ORDINALITY AS u (x, n) ORDER BY n",
                         array.param());
  std::vector<std::string> out;
  for (const auto& row : r)
    out.push_back(row[0].as<std::string>());
  return out;
}

} // namespace

TEST_CASE("binary array parameters carry any text, number and byte string as it is") {
  test::pg_schema schema;
  auto c = persistence::connect(schema.settings());
  using array = persistence::pg_binary_array;

  array texts{array::text}, jsons{array::json}, jsonbs{array::jsonb};
  std::vector<std::string> json_texts;
  for (const auto& s : awkward_texts()) {
    texts.add_text(s);
    // The JSON string holding `s`, e.g. "a\"b" (quotes and backslashes escaped).
    std::string j = "{\"v\":\"";
    for (char ch : s) {
      if (ch == '"' || ch == '\\')
        j += '\\';
      if (ch == '\n' || ch == '\t' || ch == '\r') {
        j += ch == '\n' ? "\\n" : ch == '\t' ? "\\t" : "\\r";
        continue;
      }
      j += ch;
    }
    j += "\"}";
    json_texts.push_back(j);
    jsons.add_text(j);
    jsonbs.add_jsonb(j);
  }
  CHECK(round_trip(*c, "text", "x", texts) == awkward_texts());
  CHECK(round_trip(*c, "json", "x::text", jsons) == json_texts); // json keeps its text
  CHECK(round_trip(*c, "jsonb", "x ->> 'v'", jsonbs) == awkward_texts());

  array ints{array::int8}, small{array::int4};
  for (std::int64_t v : {std::int64_t{0}, std::int64_t{-1}, INT64_MIN, INT64_MAX, std::int64_t{42}})
    ints.add_int8(v);
  for (std::int32_t v : {0, -1, INT32_MIN, INT32_MAX})
    small.add_int4(v);
  CHECK(round_trip(*c, "bigint", "x", ints) ==
        std::vector<std::string>{"0", "-1", "-9223372036854775808", "9223372036854775807", "42"});
  CHECK(round_trip(*c, "integer", "x", small) ==
        std::vector<std::string>{"0", "-1", "-2147483648", "2147483647"});

  std::string every_byte;
  for (int b = 0; b < 256; ++b)
    every_byte += static_cast<char>(b);
  array bytes{array::bytea};
  bytes.add_text(every_byte);
  bytes.add_text("");
  std::string every_byte_hex;
  for (unsigned char ch : every_byte) {
    every_byte_hex += "0123456789abcdef"[ch >> 4];
    every_byte_hex += "0123456789abcdef"[ch & 15];
  }
  CHECK(round_trip(*c, "bytea", "encode(x, 'hex')", bytes) ==
        std::vector<std::string>{every_byte_hex, ""});

  array ids{array::uuid};
  for (const char* u :
       {"0f1e2d3c-4b5a-4978-8695-a4b3c2d1e0f0", "0F1E2D3C-4B5A-4978-8695-A4B3C2D1E0F0",
        "{0f1e2d3c4b5a49788695a4b3c2d1e0f0}", "0f1e-2d3c-4b5a-4978-8695-a4b3-c2d1-e0f0"})
    ids.add_uuid(u);
  CHECK(round_trip(*c, "uuid", "x", ids) ==
        std::vector<std::string>(4, "0f1e2d3c-4b5a-4978-8695-a4b3c2d1e0f0"));
  for (const char* bad :
       {"", "0f1e2d3c", "0f1e2d3c-4b5a-4978-8695-a4b3c2d1e0f0a",
        "0f1e2d3c-4b5a-4978-8695-a4b3c2d1e0fg", "-0f1e2d3c4b5a49788695a4b3c2d1e0f0",
        "0f1e2d3c4b5a49788695a4b3c2d1e0f0-", "0f1e2d3c--4b5a-4978-8695-a4b3c2d1e0f0",
        "0f1e2-d3c-4b5a-4978-8695-a4b3c2d1e0f0", "{0f1e2d3c4b5a49788695a4b3c2d1e0f0",
        "0f1e2d3c4b5a49788695a4b3c2d1e0f0}"})
    CHECK_THROWS_AS(ids.add_uuid(bad), std::invalid_argument);
  CHECK(ids.size() == 4); // refused ones added nothing

  // An empty array is an array too.
  array none{array::text};
  CHECK(round_trip(*c, "text", "x", none).empty());
}

TEST_CASE("text the server cannot store fails the statement with a clear error") {
  test::pg_schema schema;
  auto c = persistence::connect(schema.settings());
  using array = persistence::pg_binary_array;
  array nul{array::text};
  nul.add_text(std::string("before\0after", 12));
  CHECK_THROWS_AS(round_trip(*c, "text", "x", nul), pqxx::sql_error);
  array not_utf8{array::text};
  not_utf8.add_text("\xff\xfe");
  CHECK_THROWS_AS(round_trip(*c, "text", "x", not_utf8), pqxx::sql_error);
  array not_json{array::jsonb};
  not_json.add_jsonb("{\"a\":");
  CHECK_THROWS_AS(round_trip(*c, "jsonb", "x::text", not_json), pqxx::sql_error);
  array wrong_type{array::int8}; // declared bigint[], sent as integer[]
  wrong_type.add_int8(1);
  CHECK_THROWS_AS(round_trip(*c, "integer", "x", wrong_type), pqxx::sql_error);
}

TEST_CASE("a write of awkward keys, names and JSON reads back exactly as it was written") {
  migrated_schema db;
  persistence::pg_storage storage{db.schema.settings(), {}};
  REQUIRE(storage.wait_ready(5s));
  auto texts = awkward_texts();
  texts.erase(texts.begin()); // grain keys are not empty
  // Indexed columns (keys, names) hold at most a few kB; values may be long.
  auto indexed = [](const std::string& s) { return s.substr(0, 500); };
  std::vector<std::promise<save_status>> outcomes(texts.size());
  for (std::size_t i = 0; i < texts.size(); ++i) {
    const auto& s = texts[i];
    auto w = make_write(indexed(s), 0, 1, &outcomes[i]);
    w.state = "{\"note\":" + boost_json_string(s) + "}";
    w.events[0].event_type = s;
    w.events[0].envelope = "[" + boost_json_string(s) + "," + boost_json_string(s) + "]";
    w.keys.push_back(
        persistence::idempotency_record{indexed(s), indexed(s), 9, 0, s, 4'000'000'000'000});
    w.reminders.push_back(
        persistence::reminder_change{indexed(s), 4'000'000'000'000, false, {}, {}});
    storage.write(std::move(w));
  }
  for (auto& o : outcomes)
    REQUIRE(o.get_future().get() == save_status::saved);
  auto c = persistence::connect(db.schema.settings());
  for (const auto& s : texts) {
    auto key = indexed(s);
    pqxx::work w{*c};
    auto snap = w.exec_params("SELECT state ->> 'note' FROM snapshots WHERE grain_type = "
                              "'basket' AND grain_key = $1",
                              key);
    REQUIRE(snap.size() == 1);
    CHECK(snap[0][0].as<std::string>() == s);
    auto ev = w.exec_params("SELECT event_type, envelope::text FROM outbox WHERE "
                            "aggregate_type = 'basket' AND aggregate_id = $1",
                            key);
    REQUIRE(ev.size() == 1);
    CHECK(ev[0][0].as<std::string>() == s);
    CHECK(ev[0][1].as<std::string>() ==
          "[" + boost_json_string(s) + "," + boost_json_string(s) + "]");
    auto remembered = w.exec_params("SELECT scope, key, convert_from(body, 'UTF8') FROM "
                                    "idempotency_keys WHERE grain_key = $1",
                                    key);
    REQUIRE(remembered.size() == 1);
    CHECK(remembered[0][0].as<std::string>() == key);
    CHECK(remembered[0][1].as<std::string>() == key);
    CHECK(remembered[0][2].as<std::string>() == s);
    CHECK(w.exec_params("SELECT name FROM reminders WHERE grain_key = $1", key)[0][0]
              .as<std::string>() == key);
  }
}

TEST_CASE("a write the server refuses fails its batch, writes nothing, and the next one commits") {
  migrated_schema db;
  persistence::persister p{db.schema.settings(), {1, 500, 200ms, {}, {}, {}, {}, {}}};
  std::promise<save_status> bad_key, bad_uuid, bystander, next;
  p.write(make_write(std::string("nul\0key", 7), 0, 1, &bad_key));
  p.write(make_write("bystander", 0, 1, &bystander));
  CHECK(bad_key.get_future().get() == save_status::unavailable);
  CHECK(bystander.get_future().get() == save_status::unavailable); // one transaction
  auto w = make_write("bad-uuid", 0, 1, &bad_uuid);
  w.events[0].event_id = "not-a-uuid";
  p.write(std::move(w));
  CHECK(bad_uuid.get_future().get() == save_status::unavailable);
  CHECK_FALSE(p.healthy());
  CHECK(db.schema.scalar("SELECT count(*) FROM snapshots") == "0");
  CHECK(db.schema.scalar("SELECT count(*) FROM outbox") == "0");
  p.write(make_write("next", 0, 1, &next));
  CHECK(next.get_future().get() == save_status::saved);
  CHECK(p.healthy());
  CHECK(db.schema.scalar("SELECT count(*) FROM snapshots") == "1");
}
