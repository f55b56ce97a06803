// Confirmed checkouts per second on one node, and the delay from checkout's 202 to the order
// being `confirmed`, beside a raw baseline measured in the same run.
//
//   bench_checkout [--seconds 10] [--clients 32] [--products 500] [--latency-seconds 10]
//                  [--rate R] [--http-threads 2] [--transport grains|kafka]
//
// One in-process bazaar::node (tests/support/test_node: 127.0.0.1, its own PostgreSQL schema,
// dropped at the end; the embedded Kafka with the default shop routes), its saga in
// saga.transport --transport (grains: steps are grain calls; kafka: every step crosses the
// command topics). --products products
// with ample stock. Each checkout: a customer adds one unit of a product (spread over all
// products) and checks out with an Idempotency-Key (tok_ok card). The order is followed
// through the order grain's observation (grain_client::observe) until it is `confirmed`.
//   (a) full load: --clients closed-loop HTTP clients for --seconds: orders confirmed/s
//   (b) latency: open loop at --rate checkouts/s (default half of (a)) for --latency-seconds:
//       p50/p99 of 202 -> confirmed
// Baseline: the snapshot rows the node wrote per confirmed order in (a) (PostgreSQL table
// statistics, after the persister coalesced versions), done as raw
// batched fenced upserts (2 threads, batches of 500 ~300-byte JSON rows, one transaction per
// batch, as bench_durable's raw scenario) against the same PostgreSQL: the orders/s that
// storage alone would allow if an order cost only its writes; and the confirmed orders/s per
// raw row/s (issue 20's goal: >= 0.03).
// Goals (issue 20): grains p50 <= 25 ms, p99 <= 100 ms; kafka p50 <= 60 ms, p99 <= 200 ms.

#include "bazaar/actors/order_grain.hpp"
#include "bazaar/config/loader.hpp"
#include "bazaar/persistence/pg.hpp"
#include "bazaar/runtime/host.hpp"
#include "bazaar/runtime/logging.hpp"

#include "support/http_client.hpp"
#include "support/test_node.hpp"

#include "bench_result.hpp"

#include <CLI/CLI.hpp>
#include <boost/json.hpp>
#include <pqxx/pqxx>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <atomic>
#include <cmath>
#include <cstdio>
#include <map>
#include <mutex>
#include <thread>
#include <unistd.h>

using namespace bazaar;
using namespace std::chrono;
using clk = steady_clock;
namespace json = boost::json;

namespace {

double since(clk::time_point t) {
  return duration<double>(clk::now() - t).count();
}

std::string percentiles(std::vector<double> ms) {
  if (ms.empty())
    return "no samples";
  std::sort(ms.begin(), ms.end());
  auto at = [&](double q) { return bench::quantile(ms, q); };
  char buf[128];
  std::snprintf(buf, sizeof buf, "p50 %.1f ms, p99 %.1f ms, max %.1f ms (%zu orders)", at(0.5),
                at(0.99), ms.back(), ms.size());
  return buf;
}

/// The cumulative buckets (upper bound -> count) of a histogram in a /metrics page.
std::map<double, double> histogram(const std::string& page, const std::string& name) {
  std::map<double, double> out;
  const std::string head = name + "_bucket{le=\"";
  for (std::size_t at = page.find(head); at != std::string::npos; at = page.find(head, at + 1)) {
    auto le_end = page.find('"', at + head.size());
    auto value = page.find("} ", le_end);
    if (le_end == std::string::npos || value == std::string::npos)
      break;
    auto le = page.substr(at + head.size(), le_end - at - head.size());
    out[le == "+Inf" ? INFINITY : std::stod(le)] = std::stod(page.substr(value + 2));
  }
  return out;
}

/// The q-quantile, in ms, of what a histogram counted between two scrapes, by linear
/// interpolation within the bucket it falls in (as Prometheus' histogram_quantile); "-" when
/// nothing was counted.
std::string quantile_ms(const std::map<double, double>& before,
                        const std::map<double, double>& after, double q) {
  if (after.empty() || after.rbegin()->second - (before.empty() ? 0 : before.rbegin()->second) <= 0)
    return "-";
  auto count = [&](double le) {
    auto b = before.find(le);
    return after.at(le) - (b == before.end() ? 0 : b->second);
  };
  const double total = count(after.rbegin()->first), rank = q * total;
  double lower = 0, below = 0;
  for (const auto& [le, _] : after) {
    auto n = count(le);
    if (n >= rank) {
      char buf[32];
      if (std::isinf(le))
        std::snprintf(buf, sizeof buf, "> %.0f", lower * 1e3);
      else
        std::snprintf(buf, sizeof buf, "%.1f",
                      (lower + (le - lower) * (n > below ? (rank - below) / (n - below) : 1)) *
                          1e3);
      return buf;
    }
    lower = le;
    below = n;
  }
  return "-";
}

/// Orders followed until confirmed (or another final status).
struct tracker {
  bazaar::node* node;
  std::atomic<long> confirmed{0}, other{0}, lost{0};
  std::mutex mtx;
  std::vector<double> delays_ms; ///< 202 -> confirmed, when recording
  std::atomic<bool> recording{false};

  void follow(const std::string& id, clk::time_point accepted) {
    bool record = recording.load();
    auto done = std::make_shared<std::atomic<bool>>(false);
    auto obs = node->grains().client().observe<actors::order_grain>(
        id,
        [this, accepted, record, done](const domain::order& o) {
          if (o.status == domain::order_status::confirmed) {
            if (!done->exchange(true)) {
              ++confirmed;
              if (record) {
                std::lock_guard<std::mutex> guard{mtx};
                delays_ms.push_back(duration<double, std::milli>(clk::now() - accepted).count());
              }
            }
            return false;
          }
          if (o.status == domain::order_status::cancelled) {
            if (!done->exchange(true))
              ++other;
            return false;
          }
          return true;
        },
        [this, done](const caf::error&) {
          if (!done->exchange(true))
            ++lost;
        });
    if (!obs && !done->exchange(true))
      ++lost;
  }
};

/// One checkout over `c`: add an item, check out; the order id, or empty on failure.
std::string checkout(test::http_connection& c, const std::string& token, const std::string& sku,
                     long n) {
  auto h = test::bearer(token);
  auto add = c.request("POST", "/api/v1/basket/items",
                       json::serialize(json::object{{"sku", sku}, {"quantity", 1}}), h);
  if (add.status != 200)
    return {};
  h.emplace_back("Idempotency-Key", "bench-" + std::to_string(n));
  auto r =
      c.request("POST", "/api/v1/basket/checkout", R"({"payment":{"card_token":"tok_ok"}})", h);
  if (r.status != 202)
    return {};
  return std::string(json::parse(r.body).at("order_id").as_string());
}

/// Raw batched fenced upserts: rows/s over `seconds` with 2 threads.
double raw_upserts(const persistence::pg_settings& pg, double seconds) {
  {
    auto conn = persistence::connect(pg);
    pqxx::nontransaction n{*conn};
    n.exec("CREATE TABLE IF NOT EXISTS raw_rows (id text PRIMARY KEY, version bigint NOT NULL, "
           "state jsonb NOT NULL)");
  }
  std::atomic<long> rows{0};
  auto until = clk::now() + duration_cast<clk::duration>(duration<double>(seconds));
  std::vector<std::thread> threads;
  for (int t = 0; t < 2; ++t)
    threads.emplace_back([&, t] {
      auto conn = persistence::connect(pg);
      std::string state = R"({"lines":[{"sku":"sku-1","quantity":1,"price_cents":500}],)"
                          R"("status":"confirmed","payment":"p-0123456789abcdef",)"
                          R"("customer":"customer-0001","timeline":[],"pad":")" +
                          std::string(120, 'x') + "\"}";
      long version = 0;
      while (clk::now() < until) {
        ++version;
        std::string ids = "{", versions = "{";
        for (int i = 0; i < 500; ++i) {
          ids += (i ? "," : "") + ("r" + std::to_string(t) + "-" + std::to_string(i));
          versions += (i ? "," : "") + std::to_string(version);
        }
        ids += "}";
        versions += "}";
        pqxx::work tx{*conn};
        tx.exec_params("INSERT INTO raw_rows (id, version, state) SELECT id, v, $3::jsonb FROM "
                       "unnest($1::text[], $2::bigint[]) AS u(id, v) ON CONFLICT (id) DO UPDATE "
                       "SET version = EXCLUDED.version, state = EXCLUDED.state WHERE "
                       "raw_rows.version = EXCLUDED.version - 1 RETURNING id",
                       ids, versions, state);
        tx.commit();
        rows += 500;
      }
    });
  for (auto& t : threads)
    t.join();
  return static_cast<double>(rows.load()) / seconds;
}

} // namespace

int main(int argc, char** argv) {
  double seconds = 10, latency_seconds = 10, rate = 0, goal_per_row = 0.03;
  int clients = 32, products = 500, http_threads = 2;
  std::string log_level = "warn", transport = "grains";
  CLI::App app{"Confirmed checkouts per second and 202 -> confirmed delay on one node"};
  app.add_option("--seconds", seconds, "Seconds of full load");
  app.add_option("--clients", clients, "Closed-loop HTTP clients at full load");
  app.add_option("--products", products, "Products (inventory grains)");
  app.add_option("--latency-seconds", latency_seconds, "Seconds of the open-loop phase");
  app.add_option("--rate", rate, "Checkouts/s of the open-loop phase (0: half of full load)");
  app.add_option("--http-threads", http_threads, "The node's Pistache threads");
  app.add_option("--goal-per-row", goal_per_row,
                 "Confirmed orders/s per raw batched row/s to reach");
  app.add_option("--transport", transport, "saga.transport")
      ->capture_default_str()
      ->check(CLI::IsMember({"grains", "kafka"}));
  app.add_option("--log-level", log_level,
                 "The node's log level: at info each checkout step is a JSON line on stderr "
                 "(about a dozen per checkout; redirect stderr to a file)")
      ->capture_default_str()
      ->check(CLI::IsMember({"warn", "info", "debug"}));
  CLI11_PARSE(app, argc, argv);

  auto opts = test::test_node_options();
  opts.saga.transport = transport;
  opts.http.threads = http_threads;
  opts.runtime.max_threads = 0;
  opts.http.request_timeout_ms = 30000;
  config::log_options log;
  log.level = log_level;
  log.format = "json";
  runtime::setup_logging(log);
  test::test_node node{opts};
  auto admin = node.admin_token();
  auto c = node.connect();
  // The bridge owns every partition of the routed topics before anything is measured.
  for (int i = 0; i < 600; ++i) {
    auto r = c.request("GET", "/admin/kafka", "", test::bearer(admin));
    auto b = json::parse(r.body).at("bridge").as_object();
    if (b.contains("partitions") &&
        b.at("partitions").as_array().size() ==
            config::topic_routes(node.node().options().kafka).size() *
                static_cast<std::size_t>(node.node().options().kafka.partitions))
      break;
    std::this_thread::sleep_for(milliseconds{100});
  }
  std::vector<std::string> skus;
  for (int p = 0; p < products; ++p) {
    skus.push_back("sku-" + std::to_string(p));
    json::object body{{"sku", skus.back()},  {"name", "Product"},       {"description", "d"},
                      {"category", "tools"}, {"price_cents", 500},      {"currency", "USD"},
                      {"stock", 100000000},  {"low_stock_threshold", 2}};
    auto r = c.request("POST", "/api/v1/products", json::serialize(body), test::bearer(admin));
    if (r.status != 201) {
      std::fprintf(stderr, "bench_checkout: creating a product: %d %s\n", r.status, r.body.c_str());
      return 2;
    }
  }
  tracker track;
  track.node = &node.node();
  std::atomic<long> next{0}, refused{0};
  auto one = [&](test::http_connection& conn, const std::string& token) {
    auto n = next++;
    auto id = checkout(conn, token, skus[static_cast<std::size_t>(n) % skus.size()], n);
    if (id.empty()) {
      ++refused;
      return;
    }
    track.follow(id, clk::now());
  };
  std::printf("bench_checkout: one node, saga.transport %s, %d products, %d clients, nproc %u\n",
              transport.c_str(), products, clients, std::thread::hardware_concurrency());

  // (a) full load, closed loop; a second of warm-up first.
  auto pgo = node.node().options().postgres;
  persistence::pg_settings pg{pgo.url, pgo.schema, 2000, 30000};
  auto stats_conn = persistence::connect(pg);
  // Snapshot rows written (inserted or updated, after the persister's coalescing), from
  // PostgreSQL's table statistics (they lag by up to half a second).
  auto snapshot_rows = [&] {
    pqxx::nontransaction n{*stats_conn};
    n.exec("SELECT pg_stat_clear_snapshot()");
    return n
        .exec_params("SELECT coalesce(sum(n_tup_ins + n_tup_upd), 0) FROM pg_stat_user_tables "
                     "WHERE schemaname = $1 AND relname = 'snapshots'",
                     pgo.schema)[0][0]
        .as<long>();
  };
  double full_rate = 0, writes_per_order = 0;
  {
    std::atomic<bool> stop{false};
    std::vector<std::thread> threads;
    for (int t = 0; t < clients; ++t)
      threads.emplace_back([&, t] {
        auto conn = node.connect();
        auto token = node.customer_token("customer-" + std::to_string(t));
        while (!stop)
          one(conn, token);
      });
    std::this_thread::sleep_for(milliseconds{1500});
    auto c0 = track.confirmed.load();
    auto w0 = snapshot_rows();
    auto start = clk::now();
    std::this_thread::sleep_for(duration<double>(seconds));
    auto c1 = track.confirmed.load();
    std::this_thread::sleep_for(milliseconds{600}); // the statistics' lag, both ends alike
    auto w1 = snapshot_rows();
    full_rate = static_cast<double>(c1 - c0) / since(start);
    writes_per_order = static_cast<double>(w1 - w0) / std::max<double>(1, c1 - c0);
    stop = true;
    for (auto& t : threads)
      t.join();
  }
  // Let what is in flight settle.
  for (int i = 0; i < 100 && track.confirmed + track.other + track.lost + refused < next; ++i)
    std::this_thread::sleep_for(milliseconds{100});
  std::printf(
      "(a) full load: %.0f orders confirmed/s (%.1f snapshot rows written per order; so far %ld "
      "confirmed, %ld other final status, %ld lost, %ld checkouts refused)\n",
      full_rate, writes_per_order, track.confirmed.load(), track.other.load(), track.lost.load(),
      refused.load());
  std::fflush(stdout);

  // (b) open loop at half that rate.
  if (rate <= 0)
    rate = std::max(1.0, full_rate / 2);
  auto scrape = [&] { return c.request("GET", "/metrics", "", test::bearer(admin)).body; };
  const auto metrics_before = scrape();
  {
    track.recording = true;
    auto total = static_cast<long>(rate * latency_seconds);
    int workers = std::max(clients, static_cast<int>(rate / 20));
    std::atomic<long> ticket{0};
    auto start = clk::now();
    std::vector<std::thread> threads;
    for (int t = 0; t < workers; ++t)
      threads.emplace_back([&, t] {
        auto conn = node.connect();
        auto token = node.customer_token("open-" + std::to_string(t));
        for (;;) {
          auto i = ticket++;
          if (i >= total)
            return;
          std::this_thread::sleep_until(start + duration_cast<clk::duration>(duration<double>(
                                                    static_cast<double>(i) / rate)));
          one(conn, token);
        }
      });
    for (auto& t : threads)
      t.join();
    auto offered = static_cast<double>(total) / since(start);
    for (int i = 0; i < 100 && track.confirmed + track.other + track.lost + refused < next; ++i)
      std::this_thread::sleep_for(milliseconds{100});
    std::lock_guard<std::mutex> guard{track.mtx};
    const bool grains = transport == "grains";
    const double p50_goal = grains ? 25 : 60, p99_goal = grains ? 100 : 200;
    const std::string prefix = grains ? "checkout." : "checkout.kafka.";
    std::printf("(b) open loop at %.0f checkouts/s (offered %.0f/s over %.0f s): 202 -> "
                "confirmed %s (goal p50 <= %.0f ms, p99 <= %.0f ms)\n",
                rate, offered, latency_seconds, percentiles(track.delays_ms).c_str(), p50_goal,
                p99_goal);
    if (!track.delays_ms.empty()) {
      bench::print_result({prefix + "confirm_delay_p50", bench::quantile(track.delays_ms, 0.5),
                           "ms", std::nullopt, "", bench::figure_at_most(p50_goal)});
      bench::print_result({prefix + "confirm_delay_p99", bench::quantile(track.delays_ms, 0.99),
                           "ms", std::nullopt, "", bench::figure_at_most(p99_goal)});
    }
  }

  {
    // Where a record's hops spent the open-loop phase (the node's histograms between two
    // scrapes): kafka mode crosses five per checkout, grains mode only publishes the facts.
    const auto metrics_after = scrape();
    std::printf("(b) per hop, p50 / p99 ms:");
    for (const auto& [name, what] :
         {std::pair<const char*, const char*>{"bazaar_outbox_publish_delay_seconds",
                                              "commit -> Kafka confirmed"},
          {"bazaar_kafka_record_delay_seconds", "produced -> consumed by the bridge"},
          {"bazaar_kafka_bridge_handle_seconds", "bridge -> grain answered"},
          {"bazaar_persister_commit_seconds", "a persister transaction"}}) {
      auto b = histogram(metrics_before, name), a = histogram(metrics_after, name);
      std::printf(" %s %s / %s;", what, quantile_ms(b, a, 0.5).c_str(),
                  quantile_ms(b, a, 0.99).c_str());
    }
    std::printf("\n");
  }

  auto raw = raw_upserts(pg, 3);
  const double per_row = full_rate / std::max(1.0, raw);
  const double goal_rate = goal_per_row * raw;
  std::printf("baseline: raw batched fenced upserts %.0f rows/s = %.0f orders/s at %.1f rows "
              "per order; ratio %.2f. %.4f confirmed orders/s per raw row/s (goal %.2f = %.0f "
              "orders/s): %s\n",
              raw, raw / std::max(1.0, writes_per_order), writes_per_order,
              full_rate / (raw / std::max(1.0, writes_per_order)), per_row, goal_per_row, goal_rate,
              full_rate >= goal_rate ? "met" : "NOT met");
  bench::print_result(
      {transport == "grains" ? "checkout.confirmed_orders" : "checkout.kafka.confirmed_orders",
       full_rate, "orders/s", raw, "rows/s (raw batched upserts)",
       bench::ratio_at_least(goal_per_row)});
  std::printf("final: %ld confirmed, %ld other, %ld lost, %ld refused of %ld checkouts\n",
              track.confirmed.load(), track.other.load(), track.lost.load(), refused.load(),
              next.load());
  return full_rate >= goal_rate ? 0 : 3;
}
