// Durable basket writes through the grain runtime and the group-commit persister, beside raw
// batched versioned upserts through libpqxx against the same PostgreSQL, in the same run.
//
//   bench_durable [--seconds 5] [--baskets 10000] [--window 2000] [--url URL]
//                 [--latency-rate WRITES_PER_S] [--profile]
//
// Prints, for each scenario, the figure, the raw baseline and the ratio:
//   1. raw: 2 threads (as many as persister writers), batches of 500 fenced upserts of
//      ~300-byte JSON with RETURNING, one transaction per batch
//   2. durable basket writes/s across many baskets (PUT-like set of a line's quantity),
//      every write acknowledged only after its transaction committed
//   3. p50/p99 latency at half of the throughput measured in 2 (open loop), or at
//      --latency-rate (to compare two builds at the same offered load)
//   4. one hot basket's durable writes/s (pipelining + coalescing)
//   5. activations from snapshot per second (every basket deactivated, then read)
// Each scenario also prints the CPU it took per row or write: the node's (this process), the
// local PostgreSQL's, and how busy other processes kept the machine meanwhile.
// --profile runs scenario 2 alone, for `valgrind --tool=callgrind`: callgrind's counters are
// zeroed before that scenario and dumped after it (client requests; no-ops otherwise), so the
// node's instructions per write are the dump's total over the writes it prints.
// Works in a private schema that is dropped at the end.

#include "bazaar/actors/basket_grain.hpp"
#include "bazaar/actors/registry.hpp"
#include "bazaar/persistence/migrations.hpp"
#include "bazaar/persistence/pg_storage.hpp"
#include "bazaar/runtime/host.hpp"

#include "bench_result.hpp"

#include <CLI/CLI.hpp>
#include <caf/actor_system.hpp>
#include <caf/actor_system_config.hpp>
#include <pqxx/pqxx>
#include <spdlog/spdlog.h>
#include <sys/resource.h>

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <cstdio>
#include <dirent.h>
#include <fstream>
#include <future>
#include <mutex>
#include <sstream>
#include <thread>
#include <unistd.h>
#include <valgrind/callgrind.h>

using namespace bazaar;
using namespace std::chrono;
using clk = std::chrono::steady_clock;

namespace {

struct settings {
  double seconds = 5;
  int baskets = 10000;
  int window = 2000;
  std::string url = "postgresql://bazaar:bazaar@127.0.0.1:5432/bazaar";
  std::string schema;
  bool profile = false;
  int connect_timeout_ms = 2000;
  double latency_rate = 0; // writes/s of scenario 3; 0: half of scenario 2's rate
};

double since(clk::time_point t) {
  return duration<double>(clk::now() - t).count();
}

/// CPU seconds used so far: by this process (the node), by the PostgreSQL processes on this
/// machine, and by the whole machine; the difference of two samples splits a scenario's CPU.
struct cpu_sample {
  double node = 0, postgres = 0, machine = 0;
  clk::time_point at = clk::now();

  static cpu_sample take() {
    cpu_sample c;
    rusage ru{};
    getrusage(RUSAGE_SELF, &ru);
    c.node =
        ru.ru_utime.tv_sec + ru.ru_stime.tv_sec + (ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6;
    double tick = static_cast<double>(sysconf(_SC_CLK_TCK));
    if (DIR* d = opendir("/proc")) {
      while (dirent* e = readdir(d)) {
        if (e->d_name[0] < '0' || e->d_name[0] > '9')
          continue;
        std::ifstream f{std::string{"/proc/"} + e->d_name + "/stat"};
        std::string line;
        if (!std::getline(f, line))
          continue;
        auto open = line.find('('), close = line.rfind(')');
        if (open == std::string::npos || close == std::string::npos ||
            line.compare(open + 1, close - open - 1, "postgres") != 0)
          continue;
        std::istringstream rest{line.substr(close + 2)};
        std::string field;
        double utime = 0, stime = 0;
        for (int i = 3; i <= 15 && rest >> field; ++i) {
          if (i == 14)
            utime = std::stod(field);
          if (i == 15)
            stime = std::stod(field);
        }
        c.postgres += (utime + stime) / tick;
      }
      closedir(d);
    }
    std::ifstream stat{"/proc/stat"};
    std::string cpu;
    double v = 0, busy = 0;
    stat >> cpu;
    for (int i = 0; i < 8 && stat >> v; ++i)
      if (i != 3 && i != 4) // idle, iowait
        busy += v;
    c.machine = busy / tick;
    return c;
  }
};

/// Prints how a scenario's CPU split between the node, PostgreSQL and everything else.
void print_cpu(const char* what, const cpu_sample& a, const cpu_sample& b, double units) {
  double secs = duration<double>(b.at - a.at).count();
  double node = b.node - a.node, pg = b.postgres - a.postgres;
  double others = std::max(0.0, (b.machine - a.machine) - node - pg);
  std::printf("  cpu (%s): node %.2f us, PostgreSQL %.2f us per %s; cores busy: node %.2f, "
              "PostgreSQL %.2f, others %.2f\n",
              what, units > 0 ? node / units * 1e6 : 0.0, units > 0 ? pg / units * 1e6 : 0.0, what,
              node / secs, pg / secs, others / secs);
}

/// Raw baseline: batched fenced upserts, one transaction per batch of 500. `cpu0` and `cpu1`
/// are sampled while the connections are open, so that their server processes are counted.
double raw_upserts(const settings& s, cpu_sample& cpu0, cpu_sample& cpu1) {
  constexpr int threads = 2, batch = 500;
  std::string state(300, 'x');
  std::atomic<long> rows{0};
  std::atomic<int> ready{0}, finished{0};
  std::atomic<bool> go{false}, stop{false}, release{false};
  std::vector<std::thread> workers;
  for (int t = 0; t < threads; ++t)
    workers.emplace_back([&, t] {
      auto conn = persistence::connect({s.url, s.schema, s.connect_timeout_ms, 30000});
      ++ready;
      while (!go)
        std::this_thread::sleep_for(milliseconds{1});
      std::vector<std::uint64_t> version(s.baskets / threads, 0);
      std::size_t next = 0;
      while (!stop) {
        pqxx::work w{*conn};
        std::string values;
        for (int i = 0; i < batch; ++i) {
          auto k = next++ % version.size();
          auto v = ++version[k];
          if (!values.empty())
            values += ",";
          values += "('raw','r" + std::to_string(t) + "-" + std::to_string(k) + "'," +
                    std::to_string(v - 1) + "::bigint," + std::to_string(v) +
                    "::bigint,'{\"s\":\"" + state + "\"}'::jsonb)";
        }
        auto r = w.exec(
            "WITH input (t, k, e, v, s) AS (VALUES " + values +
            "), upd AS (UPDATE snapshots AS s SET version = i.v, state = i.s FROM input i WHERE "
            "i.e > 0 AND s.grain_type = i.t AND s.grain_key = i.k AND s.version = i.e RETURNING "
            "1), ins AS (INSERT INTO snapshots (grain_type, grain_key, version, state) SELECT t, "
            "k, v, s FROM input WHERE e = 0 ON CONFLICT DO NOTHING RETURNING 1) "
            "SELECT (SELECT count(*) FROM upd) + (SELECT count(*) FROM ins)");
        w.commit();
        rows += batch;
      }
      ++finished;
      while (!release)
        std::this_thread::sleep_for(milliseconds{1});
    });
  while (ready < threads)
    std::this_thread::sleep_for(milliseconds{1});
  cpu0 = cpu_sample::take();
  go = true;
  std::this_thread::sleep_for(duration<double>(s.seconds));
  stop = true;
  while (finished < threads)
    std::this_thread::sleep_for(milliseconds{1});
  cpu1 = cpu_sample::take();
  release = true;
  for (auto& w : workers)
    w.join();
  return rows / duration<double>(cpu1.at - cpu0.at).count();
}

/// A bounded window of requests in flight from one thread.
class window {
 public:
  explicit window(int size) : free_(size) {}
  void acquire() {
    std::unique_lock<std::mutex> lock{mtx_};
    cv_.wait(lock, [&] { return free_ > 0; });
    --free_;
  }
  void release() {
    {
      std::lock_guard<std::mutex> guard{mtx_};
      ++free_;
    }
    cv_.notify_one();
  }
  void drain(int size) {
    std::unique_lock<std::mutex> lock{mtx_};
    cv_.wait(lock, [&] { return free_ == size; });
  }

 private:
  std::mutex mtx_;
  std::condition_variable cv_;
  int free_;
};

struct node_under_test {
  runtime::system_clock clock;
  caf::actor_system_config cfg;
  std::unique_ptr<caf::actor_system> sys;
  std::shared_ptr<persistence::pg_storage> storage;
  std::unique_ptr<runtime::host> host;

  explicit node_under_test(const settings& s) {
    config::runtime_options ro;
    ro.max_inflight = 1'000'000;
    actors::register_types(cfg);
    runtime::configure(cfg, ro);
    sys = std::make_unique<caf::actor_system>(cfg);
    persistence::pg_storage::options so;
    storage = std::make_shared<persistence::pg_storage>(
        persistence::pg_settings{s.url, s.schema, s.connect_timeout_ms, 30000}, so);
    storage->wait_ready(seconds{10});
    host = std::make_unique<runtime::host>(*sys, clock, ro, seconds{30});
    runtime::grain_services services;
    services.storage = storage;
    actors::register_grains(host->grains(), config::node_options{}, services);
    host->start();
  }
  ~node_under_test() {
    host->stop(seconds{5});
    host.reset();
    storage->stop();
    sys.reset();
  }

  /// Sends `n` set commands spread over baskets and waits for all; returns acks and errors.
  template <class Pick>
  std::pair<long, long> run(int in_flight, double secs, Pick pick,
                            std::vector<double>* latencies_us = nullptr, double rate = 0) {
    window w{in_flight};
    std::atomic<long> ok{0}, failed{0};
    std::mutex lat_mtx;
    auto start = clk::now();
    long sent = 0;
    while (since(start) < secs) {
      if (rate > 0) {
        auto due = start + duration_cast<clk::duration>(duration<double>(sent / rate));
        std::this_thread::sleep_until(due);
      }
      w.acquire();
      auto [key, qty] = pick(sent++);
      auto t0 = clk::now();
      bool admitted = host->client().ask<actors::basket_grain>(
          key, actors::basket_set{"SKU-1", qty, {}, {}}, [&, t0](caf::expected<domain::basket> r) {
            if (r)
              ++ok;
            else
              ++failed;
            if (latencies_us) {
              std::lock_guard<std::mutex> guard{lat_mtx};
              latencies_us->push_back(duration<double, std::micro>(clk::now() - t0).count());
            }
            w.release();
          });
      if (!admitted) {
        ++failed;
        w.release();
      }
    }
    w.drain(in_flight);
    return {ok.load(), failed.load()};
  }
};

double percentile(std::vector<double>& v, double p) {
  if (v.empty())
    return 0;
  std::sort(v.begin(), v.end());
  return v[std::min(v.size() - 1, static_cast<std::size_t>(p * v.size()))];
}

/// Scenarios 3 to 5, on the node of scenario 2 that measured `rate`.
void other_scenarios(node_under_test& node, const settings& s, double rate) {
  auto spread = [&](long n) {
    return std::make_pair("b" + std::to_string(n % s.baskets),
                          static_cast<std::int32_t>(1 + (n / s.baskets) % 998));
  };
  std::vector<double> lat;
  const auto& ps = node.storage->write_stats();
  auto tx0 = ps.transactions.load(), w0 = ps.writes.load(), us0 = ps.commit_us_total.load();
  auto c2 = cpu_sample::take();
  double offered = s.latency_rate > 0 ? s.latency_rate : rate / 2;
  auto [ok2, failed2] = node.run(s.window, s.seconds, spread, &lat, offered);
  auto c3 = cpu_sample::take();
  auto txs = ps.transactions.load() - tx0;
  auto p50 = percentile(lat, 0.50), p99 = percentile(lat, 0.99);
  auto worst = lat.empty() ? 0.0 : lat.back();
  std::printf("latency at %s (%.0f writes/s offered, %ld ok, %ld failed): p50 %.2f ms, "
              "p99 %.2f ms, max %.2f ms (goal p99 <= 20 ms)\n",
              s.latency_rate > 0 ? "a fixed rate" : "half load", offered, ok2, failed2, p50 / 1000,
              p99 / 1000, worst / 1000);
  bench::print_result({s.latency_rate > 0 ? "durable.p99_fixed_rate" : "durable.p99_half_load",
                       p99 / 1000, "ms", std::nullopt, "", bench::figure_at_most(20)});
  if (txs > 0)
    std::printf("  persister: %llu transactions of %.1f writes on average, %.2f ms each\n",
                static_cast<unsigned long long>(txs),
                static_cast<double>(ps.writes.load() - w0) / static_cast<double>(txs),
                static_cast<double>(ps.commit_us_total.load() - us0) / 1000.0 /
                    static_cast<double>(txs));
  print_cpu("write", c2, c3, static_cast<double>(ok2));

  auto hot = [](long n) {
    return std::make_pair(std::string{"b0"}, static_cast<std::int32_t>(1 + n % 998));
  };
  auto t0 = clk::now();
  auto [ok3, failed3] = node.run(256, s.seconds, hot);
  double hot_rate = ok3 / since(t0);
  std::printf("one hot basket: %.0f durable writes/s (%ld failed) (goal >= 20000)\n", hot_rate,
              failed3);
  bench::print_result({"durable.hot_basket", hot_rate, "writes/s", std::nullopt, "",
                       bench::figure_at_least(20000)});

  // Activations: every basket leaves memory, then each is read once (load from snapshot).
  for (int i = 0; i < s.baskets; ++i)
    node.host->grains().deactivate(runtime::grain_id{"basket", "b" + std::to_string(i)});
  for (int i = 0; i < 2000 && node.host->grains().size() > 1; ++i)
    std::this_thread::sleep_for(milliseconds{5});
  auto loads0 = node.storage->loads();
  t0 = clk::now();
  {
    window w{s.window};
    std::atomic<long> good{0};
    for (int i = 0; i < s.baskets; ++i) {
      w.acquire();
      node.host->client().ask<actors::basket_grain>("b" + std::to_string(i), actors::basket_get{},
                                                    [&](caf::expected<domain::basket> b) {
                                                      if (b && b->version > 0)
                                                        ++good;
                                                      w.release();
                                                    });
    }
    w.drain(s.window);
    double activation_rate = s.baskets / since(t0);
    std::printf("activations from snapshot: %.0f /s (%ld of %d restored, %llu loads)\n",
                activation_rate, good.load(), s.baskets,
                static_cast<unsigned long long>(node.storage->loads() - loads0));
    bench::print_result({"durable.activations_from_snapshot", activation_rate, "activations/s",
                         std::nullopt, "", std::nullopt});
  }
}

} // namespace

int main(int argc, char** argv) {
  settings s;
  CLI::App app{"Durable basket writes vs raw batched versioned upserts"};
  app.add_option("--seconds", s.seconds, "Duration of each measured scenario");
  app.add_option("--baskets", s.baskets, "Baskets written across");
  app.add_option("--window", s.window, "Requests in flight");
  app.add_option("--url", s.url, "PostgreSQL URL");
  app.add_option("--latency-rate", s.latency_rate,
                 "Writes/s offered in the latency scenario (default: half the measured rate); "
                 "a fixed rate compares two builds at the same load");
  app.add_flag("--profile", s.profile,
               "Scenario 2 alone, counted by callgrind (zeroed before, dumped after)");
  CLI11_PARSE(app, argc, argv);
  if (s.profile)
    s.connect_timeout_ms = 60000; // SCRAM's key derivation is slow under valgrind
  spdlog::set_level(spdlog::level::warn);
  s.schema = "bench_" + std::to_string(getpid());
  {
    auto conn = persistence::connect({s.url, s.schema, s.connect_timeout_ms, 30000});
    persistence::migrate(*conn, s.schema);
  }
  std::printf("durable_bench: %d baskets, window %d, %.1f s per scenario, schema %s\n", s.baskets,
              s.window, s.seconds, s.schema.c_str());

  double raw = 0;
  if (!s.profile) {
    cpu_sample cpu0, cpu1;
    raw = raw_upserts(s, cpu0, cpu1);
    std::printf("raw batched versioned upserts (libpqxx, 2 threads x 500/txn): %.0f rows/s\n", raw);
    print_cpu("row", cpu0, cpu1, raw * duration<double>(cpu1.at - cpu0.at).count());
  }

  {
    node_under_test node{s};
    // One product, and every basket holding a line of it (so that set needs no lookup).
    domain::product_draft d{"SKU-1", "Mug", "", "kitchen", 1250, "USD", 1'000'000, 0};
    std::promise<void> created;
    node.host->client().ask<actors::inventory_grain>("SKU-1", actors::product_create{d, {}, {}},
                                                     [&](auto) { created.set_value(); });
    created.get_future().wait();
    {
      window w{s.window};
      for (int i = 0; i < s.baskets; ++i) {
        w.acquire();
        node.host->client().ask<actors::basket_grain>("b" + std::to_string(i),
                                                      actors::basket_add{"SKU-1", 1, {}, {}},
                                                      [&](auto) { w.release(); });
      }
      w.drain(s.window);
    }

    auto spread = [&](long n) {
      return std::make_pair("b" + std::to_string(n % s.baskets),
                            static_cast<std::int32_t>(1 + (n / s.baskets) % 998));
    };
    auto t0 = clk::now();
    auto tx0 = node.storage->write_stats().transactions.load();
    auto w0 = node.storage->write_stats().writes.load();
    auto c0 = cpu_sample::take();
    CALLGRIND_ZERO_STATS;
    auto [ok, failed] = node.run(s.window, s.seconds, spread);
    CALLGRIND_DUMP_STATS_AT("durable basket writes");
    auto c1 = cpu_sample::take();
    double rate = ok / since(t0);
    auto txs = node.storage->write_stats().transactions.load() - tx0;
    std::printf("durable basket writes across %d baskets: %.0f writes/s (%ld failed), "
                "%.1f writes per transaction; raw %.0f rows/s; ratio %.2f (goal >= 0.6)\n",
                s.baskets, rate, failed, txs ? static_cast<double>(ok) / txs : 0.0, raw,
                raw > 0 ? rate / raw : 0.0);
    if (!s.profile)
      bench::print_result(
          {"durable.writes", rate, "writes/s", raw, "rows/s", bench::ratio_at_least(0.6)});
    print_cpu("write", c0, c1, static_cast<double>(ok));
    if (s.profile)
      std::printf("profile: %ld commands acknowledged in the counted interval, %llu of them "
                  "changed their basket (writes handed to storage)\n",
                  ok,
                  static_cast<unsigned long long>(node.storage->write_stats().writes.load() - w0));
    else
      other_scenarios(node, s, rate);
  }
  {
    auto conn = persistence::connect({s.url, "public", s.connect_timeout_ms, 30000});
    pqxx::nontransaction n{*conn};
    n.exec("DROP SCHEMA " + persistence::quote_identifier(s.schema) + " CASCADE");
  }
  return 0;
}
