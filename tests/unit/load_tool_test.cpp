// bazaar-load's own parts, without a node: the latency histogram's accuracy, the HTTP answer
// parser over any split of its bytes, and the consistency model's verdicts.

#include "basket_model.hpp"
#include "histogram.hpp"
#include "http_wire.hpp"

#include <catch2/catch.hpp>

#include <algorithm>
#include <cmath>
#include <random>
#include <vector>

using namespace bazaar::load;

TEST_CASE("the latency histogram reports every percentile within 1 % of the exact value") {
  std::mt19937_64 rng{42};
  // Log-uniform from 1 µs to 100 s: every magnitude the histogram covers in practice.
  std::uniform_real_distribution<double> exponent{3, 11};
  std::vector<std::uint64_t> values;
  latency_histogram h;
  for (int i = 0; i < 200000; ++i) {
    auto v = static_cast<std::uint64_t>(std::pow(10.0, exponent(rng)));
    values.push_back(v);
    h.record(v);
  }
  std::sort(values.begin(), values.end());
  for (double p : {1.0, 10.0, 50.0, 90.0, 99.0, 99.9, 99.99, 100.0}) {
    auto rank = static_cast<std::size_t>(std::ceil(p / 100.0 * static_cast<double>(values.size())));
    auto exact = static_cast<double>(values[std::max<std::size_t>(rank, 1) - 1]);
    auto reported = static_cast<double>(h.percentile(p));
    INFO("p" << p << ": exact " << exact << " ns, reported " << reported << " ns");
    CHECK(std::abs(reported - exact) <= 0.01 * exact);
  }
  CHECK(h.count() == values.size());
  CHECK(h.min() == values.front());
  CHECK(h.max() == values.back());
}

TEST_CASE("every value falls in a bucket whose bounds are within 1 % of it") {
  for (std::uint64_t v : {0ULL, 1ULL, 255ULL, 256ULL, 257ULL, 1000ULL, 123456789ULL,
                          999999999999ULL, (1ULL << 46) - 1}) {
    auto i = latency_histogram::index_of(v);
    INFO("value " << v << " in bucket " << i);
    REQUIRE(i < latency_histogram::bucket_count);
    CHECK(latency_histogram::lowest_of(i) <= v);
    CHECK(latency_histogram::highest_of(i) >= v);
    CHECK(static_cast<double>(latency_histogram::highest_of(i) - latency_histogram::lowest_of(i)) <=
          0.01 * static_cast<double>(std::max<std::uint64_t>(v, 1)) + 1e-9);
  }
}

TEST_CASE("histograms merged give the percentiles of all their values") {
  latency_histogram fast, slow, both;
  for (int i = 1; i <= 900; ++i) {
    fast.record(1000000); // 1 ms
    both.record(1000000);
  }
  for (int i = 1; i <= 100; ++i) {
    slow.record(500000000); // 500 ms
    both.record(500000000);
  }
  fast.merge(slow);
  CHECK(fast.count() == 1000);
  CHECK(fast.percentile(90) == both.percentile(90));
  CHECK(fast.percentile(91) == both.percentile(91));
  CHECK(std::abs(static_cast<double>(fast.percentile(91)) - 5e8) <= 5e6);
  CHECK(std::abs(static_cast<double>(fast.percentile(50)) - 1e6) <= 1e4);
  latency_histogram empty;
  CHECK(empty.percentile(99) == 0);
  CHECK(empty.max() == 0);
}

TEST_CASE("an HTTP answer parses the same whatever pieces its bytes arrive in") {
  const std::string two =
      "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 11\r\n\r\n"
      "{\"a\":\"bcd\"}"
      "HTTP/1.1 503 Service Unavailable\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n"
      "4\r\n{\"x\"\r\n3\r\n:1}\r\n0\r\n\r\n";
  for (std::size_t piece : {1UL, 2UL, 7UL, 64UL, 4096UL}) {
    INFO("pieces of " << piece << " bytes");
    response_parser p;
    std::vector<http_response> answers;
    for (std::size_t at = 0; at < two.size(); at += piece) {
      auto state = p.feed(two.data() + at, std::min(piece, two.size() - at));
      REQUIRE(state != response_parser::state::error);
      while (p.current() == response_parser::state::done) {
        answers.push_back(p.take());
        p.reset();
      }
    }
    REQUIRE(answers.size() == 2);
    CHECK(answers[0].status == 200);
    CHECK(answers[0].body == "{\"a\":\"bcd\"}");
    CHECK_FALSE(answers[0].close);
    CHECK(answers[1].status == 503);
    CHECK(answers[1].body == "{\"x\":1}");
    CHECK(answers[1].close);
  }
}

TEST_CASE("an answer the parser cannot delimit is an error, not a guess") {
  response_parser p;
  std::string no_length = "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n\r\nhello";
  CHECK(p.feed(no_length.data(), no_length.size()) == response_parser::state::error);
  response_parser q;
  std::string garbage = "SSH-2.0-OpenSSH_9.2\r\n\r\n";
  CHECK(q.feed(garbage.data(), garbage.size()) == response_parser::state::error);
}

TEST_CASE("a request is encoded with its token, key and body") {
  http_request r{"POST", "/api/v1/basket/checkout", "tok", "{}", "key-1"};
  auto bytes = encode(r, "127.0.0.1:8080", "/shop", true);
  CHECK(bytes.rfind("POST /shop/api/v1/basket/checkout HTTP/1.1\r\n", 0) == 0);
  CHECK(bytes.find("Authorization: Bearer tok\r\n") != std::string::npos);
  CHECK(bytes.find("Idempotency-Key: key-1\r\n") != std::string::npos);
  CHECK(bytes.find("Content-Length: 2\r\n\r\n{}") != std::string::npos);
  CHECK(bytes.find("Connection: close") == std::string::npos);
  CHECK(encode(r, "h", "", false).find("Connection: close\r\n") != std::string::npos);
}

namespace {

basket_view view(std::map<int, int> lines, std::int64_t version) {
  return basket_view{std::move(lines), {}, version};
}

} // namespace

TEST_CASE("answers that follow the acknowledged operations pass the consistency model") {
  basket_model m{2};
  REQUIRE(m.try_acquire(0));
  CHECK_FALSE(m.try_acquire(0));
  auto add = basket_op{basket_op::kind::add, 3, 2};
  CHECK(m.acknowledged(0, add, nullptr) == true);
  auto v1 = view({{3, 2}}, 1);
  CHECK(m.acknowledged(0, basket_op{basket_op::kind::get, -1, 0}, &v1));
  auto v2 = view({{3, 5}}, 2);
  CHECK(m.acknowledged(0, basket_op{basket_op::kind::add, 3, 3}, &v2));
  auto v3 = view({}, 3);
  CHECK(m.acknowledged(0, basket_op{basket_op::kind::clear, -1, 0}, &v3));
  CHECK(m.check_final(0, view({}, 3)));
  m.release(0);
  CHECK(m.try_acquire(0));
  auto c = m.counts();
  CHECK(c.passed());
  CHECK(c.answers_checked == 3);
  CHECK_FALSE(m.touched(1));
}

TEST_CASE("a basket that lacks an acknowledged write is a lost write, one it never had a "
          "phantom") {
  basket_model m{1};
  auto v = view({{1, 2}}, 1);
  REQUIRE(m.acknowledged(0, basket_op{basket_op::kind::add, 1, 2}, &v));
  // The node shows the line without the acknowledged add, and a line never written.
  CHECK_FALSE(m.check_final(0, view({{1, 0}, {7, 4}}, 1)));
  auto c = m.counts();
  CHECK(c.lost_writes == 1);
  CHECK(c.phantom_writes == 1);
  CHECK_FALSE(c.passed());
  CHECK(m.anomalies().size() == 2);
}

TEST_CASE("an operation without an answer may or may not have happened, and nothing else") {
  basket_model m{1};
  auto v = view({{1, 2}}, 1);
  REQUIRE(m.acknowledged(0, basket_op{basket_op::kind::add, 1, 2}, &v));
  m.unknown(0, basket_op{basket_op::kind::add, 1, 1});
  SECTION("it happened") {
    CHECK(m.check_final(0, view({{1, 3}}, 2)));
  }
  SECTION("it did not") {
    CHECK(m.check_final(0, view({{1, 2}}, 1)));
  }
  SECTION("something else happened") {
    CHECK_FALSE(m.check_final(0, view({{1, 4}}, 2)));
    CHECK(m.counts().lost_writes == 1);
  }
  CHECK(m.counts().unknown_outcomes == 1);
}

TEST_CASE("a basket version below one already acknowledged is a regression") {
  basket_model m{1};
  auto v5 = view({{1, 1}}, 5);
  REQUIRE(m.acknowledged(0, basket_op{basket_op::kind::add, 1, 1}, &v5));
  CHECK_FALSE(m.check_final(0, view({{1, 1}}, 4)));
  CHECK(m.counts().version_regressions == 1);
}

TEST_CASE("an injected lost write makes the final check fail") {
  basket_model m{1};
  auto v = view({{0, 1}}, 1);
  REQUIRE(m.acknowledged(0, basket_op{basket_op::kind::add, 0, 1}, &v));
  m.inject_lost_write(0, 0, 1);
  CHECK_FALSE(m.check_final(0, view({{0, 1}}, 1)));
  CHECK(m.counts().lost_writes == 1);
}
