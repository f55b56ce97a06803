// What a log line costs the thread that writes it (issue 20): the node's log as it was before
// (log.queue_lines=0: formatted and written to stderr on the logging thread, under the sink's
// lock) against the asynchronous one (formatted on the logging thread, written by the log's
// own thread). Threads log JSON lines like a checkout step's, each inside a log scope, as
// fast as they can or at a given rate; stderr goes where the caller sends it (a file, as for
// bench_checkout --log-level info). Prints, per mode, the time of one call on the logging
// thread (p50, p99, p99.9, max), the calls per second, how long the queue took to be written
// out at the end, and the lines dropped.
//
//   build/bin/bench_logging [--threads 2] [--lines 50000] [--rate 0] [--queue-lines 8192] 2>FILE

#include "bazaar/runtime/logging.hpp"

#include <CLI/CLI.hpp>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <numeric>
#include <string>
#include <thread>
#include <vector>

using namespace bazaar;
using clk = std::chrono::steady_clock;

namespace {

struct figures {
  double p50_ns = 0, p99_ns = 0, p999_ns = 0, max_ns = 0, calls_per_s = 0, write_out_ms = 0;
  std::uint64_t dropped = 0;
};

double at(const std::vector<std::int64_t>& sorted, double q) {
  auto i = static_cast<std::size_t>(q * static_cast<double>(sorted.size() - 1));
  return static_cast<double>(sorted[i]);
}

figures run(int queue_lines, int threads, long lines, double rate) {
  config::log_options opts;
  opts.level = "info";
  opts.format = "json";
  opts.queue_lines = queue_lines;
  runtime::setup_logging(opts);
  runtime::set_log_node("bench-node");
  std::vector<std::vector<std::int64_t>> took(static_cast<std::size_t>(threads));
  std::atomic<int> ready{0};
  std::atomic<bool> go{false};
  std::vector<std::thread> pool;
  for (int t = 0; t < threads; ++t)
    pool.emplace_back([&, t] {
      auto& mine = took[static_cast<std::size_t>(t)];
      mine.reserve(static_cast<std::size_t>(lines));
      std::string cid = "c-" + std::to_string(t) + "-5f0c1e9a-7d3b-4c51-9a0e-2b7f6d8c4e31";
      std::string key = "ord-" + std::to_string(t) + "-0f4b2a6c-9e1d-4f7a-b3c5-8d2e6a1f7b90";
      runtime::log_scope scope{runtime::log_context{cid, "checkout", key, key}};
      ++ready;
      while (!go)
        std::this_thread::yield();
      auto start = clk::now();
      for (long i = 0; i < lines; ++i) {
        if (rate > 0)
          std::this_thread::sleep_until(
              start + std::chrono::nanoseconds(static_cast<std::int64_t>(1e9 * i / rate)));
        auto t0 = clk::now();
        spdlog::info("handled record product-reservation(type=reserve) "
                     "e-{}-{}: emits product-reserved(status=reserved), stock-updated",
                     t, i);
        mine.push_back(
            std::chrono::duration_cast<std::chrono::nanoseconds>(clk::now() - t0).count());
      }
    });
  while (ready < threads)
    std::this_thread::yield();
  auto start = clk::now();
  go = true;
  for (auto& th : pool)
    th.join();
  auto logged = clk::now();
  runtime::shutdown_logging(std::chrono::minutes{1});
  auto written = clk::now();
  figures f;
  auto dropped = runtime::log_lines_dropped();
  f.dropped = std::accumulate(dropped.begin(), dropped.end(), std::uint64_t{0});
  std::vector<std::int64_t> all;
  for (const auto& v : took)
    all.insert(all.end(), v.begin(), v.end());
  std::sort(all.begin(), all.end());
  f.p50_ns = at(all, 0.5);
  f.p99_ns = at(all, 0.99);
  f.p999_ns = at(all, 0.999);
  f.max_ns = static_cast<double>(all.back());
  f.calls_per_s =
      static_cast<double>(all.size()) / std::chrono::duration<double>(logged - start).count();
  f.write_out_ms = std::chrono::duration<double, std::milli>(written - logged).count();
  return f;
}

void print(const char* mode, const figures& f) {
  std::printf("%-34s p50 %7.0f ns  p99 %8.0f ns  p99.9 %9.0f ns  max %10.0f ns  %9.0f calls/s  "
              "written out in %6.1f ms  dropped %llu\n",
              mode, f.p50_ns, f.p99_ns, f.p999_ns, f.max_ns, f.calls_per_s, f.write_out_ms,
              static_cast<unsigned long long>(f.dropped));
}

} // namespace

int main(int argc, char** argv) {
  int threads = 2, queue_lines = 8192, rounds = 1;
  long lines = 50000;
  double rate = 0;
  CLI::App app{"The cost of a log line on the logging thread: synchronous against queued"};
  app.add_option("--threads", threads, "Threads logging at once")->capture_default_str();
  app.add_option("--lines", lines, "Lines per thread")->capture_default_str();
  app.add_option("--rate", rate, "Lines/s per thread (0: as fast as possible)")
      ->capture_default_str();
  app.add_option("--queue-lines", queue_lines, "log.queue_lines of the asynchronous mode")
      ->capture_default_str();
  app.add_option("--rounds", rounds, "Runs of each mode, alternately")->capture_default_str();
  CLI11_PARSE(app, argc, argv);
  std::printf("bench_logging: %d threads x %ld lines, %s, nproc %u\n", threads, lines,
              rate > 0 ? (std::to_string(rate) + " lines/s each").c_str() : "as fast as possible",
              std::thread::hardware_concurrency());
  for (int r = 0; r < rounds; ++r) {
    print("synchronous (log.queue_lines=0)", run(0, threads, lines, rate));
    auto label = "queued (log.queue_lines=" + std::to_string(queue_lines) + ")";
    print(label.c_str(), run(queue_lines, threads, lines, rate));
  }
  return 0;
}
