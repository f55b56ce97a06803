// The JSON written directly (snapshots, event envelopes) is byte for byte what Boost.JSON
// writes for the same value: each case below builds the value the old way, serializes it, and
// compares.

#include "bazaar/core/json_text.hpp"
#include "bazaar/core/time.hpp"
#include "bazaar/domain/json_codec.hpp"
#include "bazaar/runtime/events.hpp"
#include "bazaar/runtime/snapshot_text.hpp"

#include <boost/json.hpp>
#include <catch2/catch.hpp>

#include <cstdio>
#include <ctime>
#include <random>
#include <set>

using namespace bazaar;
namespace json = boost::json;

namespace {

/// Strings that stress escaping: quotes, backslashes, every control character, DEL, braces,
/// commas, tabs, UTF-8 of 2, 3 and 4 bytes, and long values.
std::vector<std::string> odd_strings() {
  std::vector<std::string> v{"",
                             "plain",
                             "\"",
                             "\\",
                             "\\\"",
                             "a\"b\\c",
                             "{}[],:",
                             "{\"a\",\"b\"}",
                             "tab\there",
                             "line\nbreak\r\n",
                             "\b\f",
                             "\x7f",
                             "/slash/",
                             "caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x9b\x92",
                             "\xe6\x97\xa5\xe6\x9c\xac\xe8\xaa\x9e",
                             std::string(100000, 'x'),
                             std::string(5000, '"') + std::string(5000, '\\')};
  std::string controls;
  for (int c = 1; c < 0x20; ++c)
    controls += static_cast<char>(c);
  v.push_back(controls);
  std::string all_bytes;
  for (int c = 1; c < 256; ++c)
    all_bytes += static_cast<char>(c);
  v.push_back(all_bytes);
  v.push_back(std::string("nul\0inside", 10));
  return v;
}

/// Whether `s` is well-formed UTF-8 (only such text reads back: Boost.JSON's parser, like
/// PostgreSQL, rejects anything else, while its serializer copies bytes as they are).
bool valid_utf8(const std::string& s) {
  boost::system::error_code ec;
  json::parse(json::serialize(json::string_view{s}), ec);
  return !ec;
}

/// format_rfc3339 as it was written before (gmtime_r and printf): the reference.
std::string reference_rfc3339(core::timestamp_ms at) {
  std::time_t secs = static_cast<std::time_t>(at / 1000);
  int millis = static_cast<int>(at % 1000);
  if (millis < 0) {
    millis += 1000;
    secs -= 1;
  }
  std::tm parts{};
  gmtime_r(&secs, &parts);
  char buf[64];
  std::snprintf(buf, sizeof buf, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", parts.tm_year + 1900,
                parts.tm_mon + 1, parts.tm_mday, parts.tm_hour, parts.tm_min, parts.tm_sec, millis);
  return buf;
}

/// The envelope as make_event built it before: a JSON object, serialized.
std::string reference_envelope(const persistence::event_record& e, std::uint64_t version,
                               core::timestamp_ms at, const json::object& data,
                               const runtime::command_meta& meta, const std::string& source) {
  json::object metadata{{"correlation_id", meta.correlation_id},
                        {"causation_id", meta.correlation_id},
                        {"user_id", meta.user_id},
                        {"source", source}};
  json::object envelope{{"event_id", e.event_id},
                        {"event_type", e.event_type},
                        {"aggregate_type", e.aggregate_type},
                        {"aggregate_id", e.aggregate_id},
                        {"version", version},
                        {"sequence", e.sequence},
                        {"occurred_at", core::format_rfc3339(at)},
                        {"data", data},
                        {"metadata", std::move(metadata)}};
  return json::serialize(envelope);
}

} // namespace

TEST_CASE("JSON strings are escaped exactly as Boost.JSON escapes them") {
  for (const auto& s : odd_strings()) {
    std::string out = "prefix";
    core::json_text::append_string(out, s);
    CHECK(out == "prefix" + json::serialize(json::string_view{s}));
    // And the text reads back as the same string.
    if (valid_utf8(s))
      CHECK(json::parse(out.substr(6)).as_string() == json::string_view{s});
  }
}

TEST_CASE("integers are written as Boost.JSON writes them") {
  for (std::int64_t v :
       {std::int64_t{0}, std::int64_t{-1}, std::int64_t{42}, INT64_MIN, INT64_MAX}) {
    std::string out;
    core::json_text::append_int(out, v);
    CHECK(out == json::serialize(json::value(v)));
  }
  for (std::uint64_t v : {std::uint64_t{0}, std::uint64_t{7}, UINT64_MAX}) {
    std::string out;
    core::json_text::append_uint(out, v);
    CHECK(out == json::serialize(json::value(v)));
  }
}

TEST_CASE("RFC 3339 time stamps are the same as gmtime and printf write them") {
  std::vector<core::timestamp_ms> at{0,
                                     1,
                                     999,
                                     1000,
                                     -1,
                                     -999,
                                     -1000,
                                     -1001,
                                     86'399'999,
                                     951'782'400'000,     // 2000-02-29
                                     4'107'542'399'999,   // 2100-02-28T23:59:59.999
                                     4'107'542'400'000,   // 2100-03-01 (no leap day)
                                     253'402'300'799'999, // 9999-12-31T23:59:59.999
                                     253'402'300'800'000, // year 10000
                                     -62'167'219'200'000, // 0000-01-01
                                     -62'167'219'200'001, // before year 0
                                     1'795'000'000'123};
  std::mt19937_64 rng{7};
  std::uniform_int_distribution<core::timestamp_ms> any{-62'167'219'200'000, 253'402'300'799'999};
  for (int i = 0; i < 20000; ++i)
    at.push_back(any(rng));
  for (auto t : at) {
    INFO(t);
    CHECK(core::format_rfc3339(t) == reference_rfc3339(t));
  }
}

TEST_CASE("a snapshot written directly is the text of its JSON value") {
  domain::basket empty;
  CHECK(runtime::snapshot_text(empty) == json::serialize(domain::to_snapshot(empty)));
  for (const auto& s : odd_strings()) {
    domain::basket b;
    b.customer_id = s;
    b.currency = s;
    b.version = std::uint64_t{1} << 62;
    b.updated_at = 1'795'000'000'123;
    b.lines.push_back(domain::basket_line{s, s, 999, INT64_MAX / 1000});
    b.lines.push_back(domain::basket_line{"SKU-2", "Mug", 1, -5});
    std::string direct;
    domain::write_snapshot(b, direct);
    CHECK(direct == json::serialize(domain::to_snapshot(b)));
    CHECK(runtime::snapshot_text(b) == direct);
    if (valid_utf8(s)) {
      auto back = domain::from_snapshot<domain::basket>(json::parse(direct));
      REQUIRE(back);
      CHECK(back->customer_id == s);
      CHECK(back->lines.at(0).name == s);
    }

    domain::product p;
    p.exists = true;
    p.sku = s;
    p.name = s;
    p.description = s;
    p.category = s;
    p.currency = s;
    p.price_cents = 1250;
    p.active = false;
    p.stock = 7;
    p.reserved = 9;
    p.low_stock_threshold = -3;
    p.version = 12;
    p.updated_at = -1;
    direct.clear();
    domain::write_snapshot(p, direct);
    CHECK(direct == json::serialize(domain::to_snapshot(p)));
  }
}

TEST_CASE("an event envelope written directly is the text of its JSON value") {
  std::set<std::string> ids;
  for (const auto& s : odd_strings()) {
    json::object data{{"customer_id", s},
                      {"sku", "SKU-1"},
                      {"quantity", 7},
                      {"big", UINT64_MAX},
                      {"negative", -12},
                      {"price", 12.5},
                      {"tiny", 1e-300},
                      {"flag", true},
                      {"off", false},
                      {"none", nullptr},
                      {"lines", json::array{1, "two", json::object{{s, s}}, json::array{}}},
                      {"nested", json::object{{"a", json::object{}}, {s, 3.0}}}};
    runtime::command_meta meta{s, s + "-user"};
    auto e = runtime::make_event(runtime::grain_id{"basket", s}, 17, 23, 1'795'000'000'123,
                                 "basket-item-" + s, data, meta, "node-" + s);
    CHECK(e.envelope == reference_envelope(e, 23, 1'795'000'000'123, data, meta, "node-" + s));
    CHECK(e.aggregate_type == "basket");
    CHECK(e.aggregate_id == s);
    CHECK(e.sequence == 17);
    if (valid_utf8(s))
      CHECK(json::parse(e.envelope).at("data") == data);
    ids.insert(e.event_id);
  }
  CHECK(ids.size() == odd_strings().size()); // fresh ids
}

TEST_CASE("event ids are random version 4 UUIDs in their text form") {
  std::set<std::string> seen;
  for (int i = 0; i < 10000; ++i) {
    auto id = runtime::new_uuid();
    REQUIRE(id.size() == 36);
    for (std::size_t j = 0; j < id.size(); ++j) {
      if (j == 8 || j == 13 || j == 18 || j == 23)
        REQUIRE(id[j] == '-');
      else
        REQUIRE(std::isxdigit(static_cast<unsigned char>(id[j])));
    }
    REQUIRE(id[14] == '4');
    REQUIRE(std::string("89ab").find(id[19]) != std::string::npos);
    seen.insert(id);
  }
  CHECK(seen.size() == 10000);
}
