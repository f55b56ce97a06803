// Answers written straight into the response buffer as text (gateway/json_writer for JSON
// values, domain::json_form for domain state) must be byte for byte what boost::json::serialize
// writes for the same value, so that clients see the same JSON whichever way it was rendered.

#include "bazaar/domain/json_codec.hpp"
#include "bazaar/gateway/json_writer.hpp"

#include <boost/json.hpp>
#include <catch2/catch.hpp>

#include <cstdint>
#include <limits>
#include <string>
#include <vector>

namespace json = boost::json;
using bazaar::domain::basket;
using bazaar::domain::basket_line;
using bazaar::domain::json_form::append_api;
using bazaar::gateway::append_json;

namespace {

/// Every byte value once, from 0x00 to 0xff.
std::string every_byte() {
  std::string out;
  for (int c = 0; c < 256; ++c)
    out += static_cast<char>(c);
  return out;
}

std::string written(const basket& b) {
  std::string out = "prefix:"; // appended, never overwritten
  append_api(out, b);
  REQUIRE(out.rfind("prefix:", 0) == 0);
  return out.substr(7);
}

} // namespace

TEST_CASE("a basket's API text is what boost::json::serialize writes for its value") {
  basket empty;
  empty.customer_id = "alice";

  basket full;
  full.customer_id = "customer-42";
  full.currency = "EUR";
  full.version = std::numeric_limits<std::uint64_t>::max();
  full.updated_at = 1'764'430'000'123;
  full.lines.push_back(basket_line{"SKU-1", "Product \"one\"\n", 3, 1999});
  full.lines.push_back(basket_line{"b.2", every_byte(), 999, 9'000'000'000'000});
  full.lines.push_back(basket_line{"c", "", 1, 0});

  basket negative; // not a valid basket, but the writer must not depend on that
  negative.customer_id = "x\\y";
  negative.version = 7;
  negative.updated_at = 1;
  // Negative numbers down to the smallest total that does not overflow (line totals are
  // computed in int64: INT64_MIN / 5 * -5 fits).
  negative.lines.push_back(basket_line{"d", "n", -5, std::numeric_limits<std::int64_t>::min() / 5});

  basket many;
  many.customer_id = "bob";
  many.version = 100;
  many.updated_at = 1'700'000'000'000;
  for (int i = 0; i < 100; ++i)
    many.lines.push_back(
        basket_line{"SKU-" + std::to_string(i), "Product " + std::to_string(i), i + 1, 100 + i});

  for (const auto* b : {&empty, &full, &negative, &many}) {
    INFO("basket of " << b->customer_id);
    CHECK(written(*b) == json::serialize(bazaar::domain::to_json(*b)));
  }
}

TEST_CASE("a basket's updated_at is written as core::format_rfc3339 writes it, at any time") {
  std::vector<std::int64_t> times{1,
                                  999,
                                  1000,
                                  86'399'999,
                                  86'400'000,
                                  68'169'600'000,  // 1972-02-29 (leap day)
                                  951'782'400'000, // 2000-02-29
                                  951'868'799'999,
                                  4'107'456'000'000, // 2100-02-28 (no leap day)
                                  4'107'542'400'000,
                                  1'764'430'000'123,
                                  253'402'300'799'999, // the last millisecond of 9999
                                  253'402'300'800'000, // 10000: beyond four digits
                                  -1,
                                  -1001,
                                  -86'400'000};
  std::uint64_t x = 88172645463325252ULL; // xorshift64: the same times every run
  for (int i = 0; i < 20000; ++i) {
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    times.push_back(static_cast<std::int64_t>(x % 253'402'300'800'000ULL));
  }
  basket b;
  b.customer_id = "clock";
  b.version = 1;
  int mismatches = 0;
  for (auto t : times) {
    b.updated_at = t;
    if (written(b) != json::serialize(bazaar::domain::to_json(b)) && ++mismatches <= 5)
      FAIL_CHECK("updated_at " << t << ": " << written(b) << " vs "
                               << json::serialize(bazaar::domain::to_json(b)));
  }
  CHECK(mismatches == 0);
}

TEST_CASE("a JSON value is appended exactly as boost::json::serialize writes it, at any size") {
  json::value small = {{"status", "ok"}};
  json::value nested = {{"a", json::array{1, -2, 3.5, true, nullptr, "x\"y"}},
                        {"b", {{"c", {{"d", std::numeric_limits<std::uint64_t>::max()}}}}},
                        {"e", 1e300},
                        {"f", json::object{}},
                        {"g", json::array{}}};
  json::array big_array;
  for (int i = 0; i < 20000; ++i)
    big_array.emplace_back(json::object{{"i", i}, {"text", every_byte()}});
  json::value big = {{"items", std::move(big_array)}, {"long", std::string(300000, 'z')}};

  for (const auto* v : {&small, &nested, &big}) {
    std::string out = "prefix:";
    append_json(out, *v);
    REQUIRE(out.rfind("prefix:", 0) == 0);
    CHECK(out.substr(7) == json::serialize(*v));
  }
  // A second value on the same thread (the serializer is reused) starts afresh.
  std::string again;
  append_json(again, small);
  CHECK(again == R"({"status":"ok"})");
}
