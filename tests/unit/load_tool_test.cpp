// bazaar-load's own parts, without a node: the latency histogram's accuracy, the HTTP answer
// parser over any split of its bytes, the consistency model's verdicts, the chart's axes and
// the report's order figures.

#include "basket_model.hpp"
#include "histogram.hpp"
#include "http_wire.hpp"
#include "report.hpp"
#include "runner.hpp"

#include <boost/json.hpp>
#include <catch2/catch.hpp>

#include <algorithm>
#include <cmath>
#include <random>
#include <regex>
#include <sstream>
#include <string>
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

TEST_CASE("chart ticks are steps of 1, 2 or 5 times a power of ten, each labelled with exactly "
          "its value") {
  // Run lengths from 0.3 s to an hour (time axis: at most 8 steps), and rate maxima (at most 5).
  std::vector<std::pair<double, int>> axes;
  for (double t = 0.3; t <= 3600; t *= 1.013)
    axes.emplace_back(t, 8);
  for (double t : {0.3, 1.0, 1.5, 2.5, 7.5, 12.0, 12.5, 37.5, 60.0, 90.0, 600.0, 1800.0, 3600.0})
    axes.emplace_back(t, 8);
  for (double v = 1.05; v <= 2e6; v *= 1.07)
    axes.emplace_back(v, 5);
  for (const auto& [max, at_most] : axes) {
    auto ticks = axis_ticks(max, at_most);
    INFO("max " << max << ", at most " << at_most << " steps");
    REQUIRE(ticks.size() >= 2);
    CHECK(static_cast<int>(ticks.size()) - 1 <= at_most);
    CHECK(ticks.front() == 0);
    CHECK(ticks.back() >= max * (1 - 1e-9)); // the axis ends on a whole number of steps
    double step = ticks[1];
    double mantissa = step / std::pow(10.0, std::floor(std::log10(step) + 1e-9));
    CHECK((std::abs(mantissa - 1) < 1e-9 || std::abs(mantissa - 2) < 1e-9 ||
           std::abs(mantissa - 5) < 1e-9));
    for (std::size_t i = 0; i < ticks.size(); ++i) {
      auto label = tick_label(ticks[i], step);
      INFO("tick " << i << " of step " << step << ": " << label);
      CHECK(std::stod(label) == ticks[i]);
      CHECK(std::abs(ticks[i] - static_cast<double>(i) * step) <= 1e-9 * step);
    }
  }
  // The decimals come from the step: 0.5 s steps read 1.0, 1.5, not 2, 2.
  CHECK(tick_label(1.5, 0.5) == "1.5");
  CHECK(tick_label(1.0, 0.5) == "1.0");
  CHECK(tick_label(0.05, 0.05) == "0.05");
  CHECK(tick_label(400, 100) == "400");
}

namespace {

/// A run of `seconds` (a point per second, the last one shorter when fractional) with
/// throughput varying from point to point, from 20 to `peak` requests per second.
run_result run_of(double seconds, int peak) {
  run_result run;
  for (int i = 1; static_cast<double>(i - 1) < seconds; ++i) {
    interval_point p;
    p.end_s = std::min(static_cast<double>(i), seconds);
    p.seconds = p.end_s - static_cast<double>(i - 1);
    p.requests = static_cast<std::uint64_t>(p.seconds * (20 + (peak - 20) * (i % 7) / 6));
    p.errors = i % 3 == 0 ? 2 : 0;
    p.p50 = 1000000;
    p.p90 = 2000000;
    p.p99 = 5000000;
    p.max = 8000000;
    run.timeline.push_back(p);
  }
  run.seconds = seconds;
  return run;
}

} // namespace

TEST_CASE("the chart's tick labels sit where the data of their value is drawn") {
  // (Before ticks of whole steps: labels "0 2 3 4 6 …" every 1.5 s over 12 s, and rate ticks
  // every 37.5 labelled "38", "112" over 37.5 s.)
  for (auto [seconds, peak] : {std::pair{12.0, 190}, std::pair{37.5, 120}}) {
    INFO("a run of " << seconds << " s, up to " << peak << " requests/s");
    load_options o;
    o.urls = {"http://127.0.0.1:8080"};
    auto run = run_of(seconds, peak);
    basket_check baskets;
    std::optional<checkout_check> checkouts;
    std::ostringstream chart;
    write_chart(chart, load_report{o, run, baskets, checkouts});
    auto svg = chart.str();

    // The first line is the upper panel's 2xx/s, a point for each point of the run: where
    // t = 0 and a second are on the canvas, and a rate's height.
    std::smatch line;
    REQUIRE(std::regex_search(svg, line, std::regex{"points='([^']*)'"}));
    std::vector<std::pair<double, double>> drawn;
    std::istringstream points{line[1].str()};
    for (double x, y; points >> x && points.ignore(1) && points >> y;)
      drawn.emplace_back(x, y);
    REQUIRE(drawn.size() == run.timeline.size());
    const auto& first = run.timeline.front();
    const auto& last = run.timeline.back();
    double per_second = (drawn.back().first - drawn.front().first) / (last.end_s - first.end_s);
    double x0 = drawn.front().first - per_second * first.end_s;
    auto rate = [&](std::size_t i) {
      const auto& p = run.timeline[i];
      return static_cast<double>(p.requests - p.errors) / p.seconds;
    };
    // The lowest rate is drawn lowest (largest y), the highest highest.
    auto [lo, hi] =
        std::minmax_element(drawn.begin(), drawn.end(),
                            [](const auto& a, const auto& b) { return a.second > b.second; });
    double rate_lo = rate(static_cast<std::size_t>(lo - drawn.begin()));
    double rate_hi = rate(static_cast<std::size_t>(hi - drawn.begin()));
    double per_unit = (lo->second - hi->second) / (rate_hi - rate_lo);
    double y0 = lo->second + per_unit * rate_lo;

    // Every time label, on both panels, at the x of its second.
    std::regex time_label{
        "<text x='([-0-9.e]+)' y='[-0-9.e]+' text-anchor='middle'>([0-9.]+) s</text>"};
    int time_labels = 0;
    double last_label = 0, last_x = 0;
    for (std::sregex_iterator it{svg.begin(), svg.end(), time_label}, end; it != end; ++it) {
      double x = std::stod((*it)[1].str());
      double t = std::stod((*it)[2].str());
      INFO("label '" << (*it)[2].str() << " s' at x = " << x << ", its second at "
                     << x0 + per_second * t);
      CHECK(std::abs(x - (x0 + per_second * t)) <= 0.5);
      ++time_labels;
      last_label = t;
      last_x = x;
    }
    CHECK(time_labels >= 8); // both panels, at least 4 ticks each
    // The axis ends on its last tick, at or after the run's end, at the panel's right edge.
    CHECK(last_label >= seconds);
    std::smatch frame;
    REQUIRE(std::regex_search(svg, frame,
                              std::regex{"<rect x='([0-9.]+)' y='[0-9.]+' width='([0-9.]+)'"}));
    CHECK(std::abs(last_x - (std::stod(frame[1].str()) + std::stod(frame[2].str()))) <= 0.5);

    // Every rate label of the upper panel at the height of its rate (4 px above the text's
    // baseline).
    std::regex rate_label{"<text x='[-0-9.e]+' y='([-0-9.e]+)' text-anchor='end'>([0-9.]+)</text>"};
    int rate_labels = 0;
    for (std::sregex_iterator it{svg.begin(), svg.end(), rate_label}, end; it != end; ++it) {
      double y = std::stod((*it)[1].str()) - 4;
      double v = std::stod((*it)[2].str());
      INFO("label '" << (*it)[2].str() << "' at y = " << y << ", its rate at "
                     << y0 - per_unit * v);
      CHECK(std::abs(y - (y0 - per_unit * v)) <= 0.5);
      ++rate_labels;
    }
    CHECK(rate_labels >= 3);
  }
}

TEST_CASE("an order's created-to-final time comes from its own timeline") {
  // An order as GET /api/v1/orders/{id} answers it, with these (status, at) steps.
  auto final_ms = [](std::vector<std::pair<const char*, const char*>> steps) {
    boost::json::array timeline;
    for (const auto& [status, at] : steps)
      timeline.push_back(boost::json::object{{"status", status}, {"at", at}});
    return order_created_to_final_ms(boost::json::object{
        {"order_id", "o-1"}, {"status", "confirmed"}, {"timeline", std::move(timeline)}});
  };
  CHECK(final_ms({{"pending", "2026-11-21T09:04:08.123Z"},
                  {"stock_reserved", "2026-11-21T09:04:08.200Z"},
                  {"paid", "2026-11-21T09:04:08.350Z"},
                  {"confirmed", "2026-11-21T09:04:09.001Z"},
                  {"shipped", "2026-11-21T09:05:00.000Z"}}) == 878);
  // Cancelled is final too, and any offset is understood.
  CHECK(final_ms({{"pending", "2026-11-21T09:04:08.123Z"},
                  {"cancelled", "2026-11-21T10:04:18.124+01:00"}}) == 10001);
  // Nothing final yet, a time that does not parse, a final before its creation, no steps.
  CHECK_FALSE(
      final_ms({{"pending", "2026-11-21T09:04:08.123Z"}, {"paid", "2026-11-21T09:04:08.350Z"}}));
  CHECK_FALSE(final_ms({{"pending", "yesterday"}, {"confirmed", "2026-11-21T09:04:09.001Z"}}));
  CHECK_FALSE(final_ms(
      {{"pending", "2026-11-21T09:04:08.123Z"}, {"confirmed", "2026-11-21T09:04:08.001Z"}}));
  CHECK_FALSE(final_ms({}));
  // No timeline at all, or no order.
  CHECK_FALSE(order_created_to_final_ms(boost::json::parse(R"({"status":"confirmed"})")));
  CHECK_FALSE(order_created_to_final_ms(boost::json::value{}));
}

TEST_CASE("the report says how often orders were read and gives their own time beside") {
  load_options o;
  o.scenario = scenario::checkout;
  o.urls = {"http://127.0.0.1:8080"};
  o.poll = std::chrono::milliseconds{250};
  o.check = false;
  run_result run;
  run.seconds = 1;
  run.totals.order_time.record(300000000);      // seen final 300 ms after the 202
  run.totals.order_node_time.record(120000000); // final 120 ms after created, by its timeline
  basket_check baskets;
  std::optional<checkout_check> checkouts;
  load_report r{o, run, baskets, checkouts};

  std::ostringstream text;
  print_report(text, r);
  auto report = text.str();
  INFO(report);
  CHECK(report.find("read every 250 ms: late by up to 250 ms") != std::string::npos);
  auto to_final = report.find("to final");
  auto on_node = report.find("on node");
  REQUIRE(to_final != std::string::npos);
  REQUIRE(on_node != std::string::npos);
  CHECK(on_node > to_final);
  CHECK(report.find("120 ms", on_node) != std::string::npos);

  auto j = report_json(r);
  CHECK(j.at("order_poll_ms").to_number<int>() == 250);
  CHECK(j.at("order_to_final").at("count").to_number<int>() == 1);
  CHECK(j.at("order_to_final_on_node").at("count").to_number<int>() == 1);
  CHECK(std::abs(j.at("order_to_final_on_node").at("max_ms").to_number<double>() - 120) < 1e-6);
}
