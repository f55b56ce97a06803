// What an activation costs: the memory an idle basket grain holds, and how long a call to a
// grain that is not active takes to be answered; each beside a raw CAF baseline in the same run.
//
//   bench_activation [--only memory,latency] [--storage postgres|memory] [--grains 100000]
//                    [--calls 2000] [--window 500] [--url URL]
//
// memory: RSS per idle basket grain beside RSS per raw CAF actor (goal: ratio <= 2). Each side
//   runs in a child process of its own (forked before any thread exists; RSS never shrinks
//   after a free, so the sides must not share a heap), configured as a node configures its
//   actor system (actors::register_types, runtime::configure):
//   - grains: the shop's durable grains registered as the node registers them, on --storage
//     (postgres: pg_storage, the node's storage, in a private schema; memory: the unit tests'
//     memory_storage), with a 24 h idle timeout so that the idle collector (which still sweeps
//     every second) keeps them. --grains basket grains of fresh customers are activated by a
//     basket_get each (--window in flight from one scoped actor) and answer it once;
//   - raw: --grains CAF event-based actors spawned directly, each holding the state of an empty
//     basket (a domain::basket with its customer id, as basket_grain::initial makes it) and
//     answering one basket_get with a copy of it; their handles are kept in a vector.
//   Each side first warms up with 1,000 of its own (threads, connections, allocator arenas),
//   then reads VmRSS of /proc/self/status, activates the --grains, waits 2 s (two sweeps of the
//   idle collector: none may leave), checks they are all still there and reads VmRSS again.
//   Bytes per grain = the difference / --grains.
// latency: --calls calls to grains that are not active (fresh keys), one at a time from a
//   scoped actor: catalog::resolve (which activates, i.e. spawns the grain, which loads its
//   snapshot from --storage) and a basket_get request, timed until its answer. Beside it,
//   interleaved call by call so that the machine's noise hits both alike, the raw baseline:
//   spawn a CAF actor and send it the same request, which it answers after (postgres) running
//   the activation's two reads itself on a plain libpqxx connection (the same SELECTs of
//   snapshots and idempotency_keys, for its key, in one transaction: what pg_loader runs for a
//   batch of one). p50 / p99 / max of each, and the ratio of the p99s. No goal was set; see
//   docs/BENCHMARKS.md.
// Prints BENCH_RESULT lines (bench_result.hpp). Only 127.0.0.1; the schema is dropped at the end.

#include "bazaar/actors/registry.hpp"
#include "bazaar/persistence/memory_storage.hpp"
#include "bazaar/persistence/migrations.hpp"
#include "bazaar/persistence/pg_storage.hpp"
#include "bazaar/runtime/host.hpp"

#include "bench_result.hpp"

#include <CLI/CLI.hpp>
#include <caf/all.hpp>
#include <pqxx/pqxx>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <memory>
#include <string>
#include <sys/wait.h>
#include <thread>
#include <unistd.h>
#include <vector>

using namespace bazaar;
using namespace std::chrono;
using clk = steady_clock;

namespace {

struct settings {
  std::vector<std::string> only;
  std::string storage = "postgres";
  int grains = 100000;
  int calls = 2000;
  int window = 500;
  std::string url = "postgresql://bazaar:bazaar@127.0.0.1:5432/bazaar";
  std::string schema;

  bool postgres() const { return storage == "postgres"; }
  persistence::pg_settings pg() const { return {url, schema, 2000, 30000}; }
};

bool selected(const settings& s, const std::string& what) {
  return s.only.empty() || std::find(s.only.begin(), s.only.end(), what) != s.only.end();
}

/// VmRSS of this process, in bytes.
long rss_bytes() {
  std::ifstream in{"/proc/self/status"};
  std::string line;
  while (std::getline(in, line))
    if (line.rfind("VmRSS:", 0) == 0)
      return std::atol(line.c_str() + 6) * 1024;
  return -1;
}

std::string load_average() {
  std::ifstream in{"/proc/loadavg"};
  std::string a, b, c;
  in >> a >> b >> c;
  return a + " " + b + " " + c;
}

/// The state of a raw basket actor: what an empty basket grain holds as its domain state.
struct raw_basket_state {
  domain::basket basket;
  static inline const char* name = "raw.basket";
};

using raw_basket_actor = caf::stateful_actor<raw_basket_state>;

/// A raw basket actor: answers basket_get with a copy of its basket.
caf::behavior raw_basket(raw_basket_actor* self, std::string customer) {
  self->state.basket.customer_id = std::move(customer);
  return {
      [=](const actors::basket_get&) -> domain::basket { return self->state.basket; },
  };
}

/// The raw baseline of a durable activation: on its first request, the reads pg_loader runs
/// for one grain (its snapshot and its remembered idempotency answers, one transaction), on a
/// plain libpqxx connection; then it answers as raw_basket does.
caf::behavior raw_loading_basket(raw_basket_actor* self, std::string customer,
                                 std::shared_ptr<pqxx::connection> conn) {
  self->state.basket.customer_id = customer;
  return {
      [=](const actors::basket_get&) -> domain::basket {
        if (conn) {
          pqxx::work w{*conn};
          auto keys = "(" + w.quote(std::string{"basket"}) + "," + w.quote(customer) + ")";
          auto r = w.exec("SELECT grain_type, grain_key, version, state::text, event_seq "
                          "FROM snapshots WHERE (grain_type, grain_key) IN (" +
                          keys + ")");
          auto kr = w.exec("SELECT grain_type, grain_key, scope, key, fingerprint, outcome, body, "
                           "(extract(epoch FROM expires_at) * 1000)::bigint FROM idempotency_keys "
                           "WHERE expires_at > now() AND (grain_type, grain_key) IN (" +
                           keys + ")");
          w.commit();
          if (!r.empty() || !kr.empty())
            self->state.basket.version = 1; // never for the fresh keys of this benchmark
        }
        return self->state.basket;
      },
  };
}

/// An actor system configured as a node configures its own.
struct system_under_test {
  caf::actor_system_config cfg;
  std::unique_ptr<caf::actor_system> sys;

  system_under_test() {
    actors::register_types(cfg);
    runtime::configure(cfg, config::runtime_options{});
    sys = std::make_unique<caf::actor_system>(cfg);
  }
};

/// The shop's grains on --storage, registered as a node registers them, with a 24 h idle
/// timeout (the collector still sweeps every second).
struct grain_node {
  system_under_test sut;
  runtime::system_clock clock;
  std::shared_ptr<persistence::pg_storage> pg;
  std::unique_ptr<runtime::host> host;

  explicit grain_node(const settings& s) {
    config::runtime_options ro;
    runtime::grain_services services;
    if (s.postgres()) {
      pg = std::make_shared<persistence::pg_storage>(s.pg(), persistence::pg_storage::options{});
      if (!pg->wait_ready(seconds{10}))
        throw std::runtime_error("PostgreSQL storage not ready");
      services.storage = pg;
    } else {
      services.storage = std::make_shared<persistence::memory_storage>();
    }
    host = std::make_unique<runtime::host>(*sut.sys, clock, ro, seconds{30});
    config::node_options no;
    no.grains.idle_timeout_ms = 24 * 60 * 60 * 1000;
    actors::register_grains(host->grains(), no, services);
    host->start();
  }
  ~grain_node() {
    host->stop(seconds{10});
    host.reset();
    if (pg)
      pg->stop();
  }
};

/// Sends basket_get to `n` actors that `make(i)` gives (spawning or activating them), at most
/// `window` in flight from one scoped actor; returns how many answered with an error.
template <class Make>
long ask_all(caf::actor_system& sys, int n, int window, Make make) {
  caf::scoped_actor self{sys};
  long errors = 0;
  int sent = 0, answered = 0;
  auto send_next = [&] {
    auto target = make(sent++);
    if (!target) {
      ++errors;
      ++answered;
      return;
    }
    self->send(*target, actors::basket_get{});
  };
  while (sent < n && sent - answered < window)
    send_next();
  while (answered < n) {
    self->receive([&](domain::basket&) { ++answered; },
                  [&](caf::error&) {
                    ++errors;
                    ++answered;
                  });
    while (sent < n && sent - answered < window)
      send_next();
  }
  return errors;
}

/// What one side of the memory figure measured, sent from its child process.
struct memory_figure {
  long rss_before = 0;
  long rss_after = 0;
  long errors = 0;
  long present = 0; ///< grains (or actors) held at the end
};

/// One side of the memory figure, in this (child) process.
memory_figure measure_memory(const settings& s, bool grains) {
  constexpr int warmup = 1000;
  memory_figure m;
  std::unique_ptr<grain_node> node;
  std::unique_ptr<system_under_test> raw;
  std::vector<caf::actor> raw_handles;
  raw_handles.reserve(static_cast<std::size_t>(s.grains + warmup));
  caf::actor_system* sys = nullptr;
  if (grains) {
    node = std::make_unique<grain_node>(s);
    sys = node->sut.sys.get();
  } else {
    raw = std::make_unique<system_under_test>();
    sys = raw->sys.get();
  }
  auto activate = [&](const std::string& prefix, int n) {
    return ask_all(*sys, n, s.window, [&](int i) -> caf::expected<caf::actor> {
      auto key = prefix + std::to_string(i);
      if (grains)
        return node->host->grains().resolve(runtime::grain_id{actors::basket_grain::type, key});
      raw_handles.push_back(sys->spawn(raw_basket, key));
      return raw_handles.back();
    });
  };
  m.errors += activate("warm-", warmup);
  std::this_thread::sleep_for(milliseconds{500});
  m.rss_before = rss_bytes();
  m.errors += activate("idle-", s.grains);
  std::this_thread::sleep_for(seconds{2});
  m.present = grains ? static_cast<long>(node->host->grains().size()) - warmup
                     : static_cast<long>(raw_handles.size()) - warmup;
  m.rss_after = rss_bytes();
  // The child leaves with _exit: stopping 100,000 grains would only take time.
  (void)node.release();
  (void)raw.release();
  return m;
}

/// Runs one side of the memory figure in a child process; false if it failed.
bool memory_child(const settings& s, bool grains, memory_figure& out) {
  int fds[2];
  if (pipe(fds) != 0)
    return false;
  std::fflush(stdout);
  std::fflush(stderr);
  pid_t pid = fork();
  if (pid < 0)
    return false;
  if (pid == 0) {
    close(fds[0]);
    memory_figure m;
    bool ok = true;
    try {
      m = measure_memory(s, grains);
    } catch (const std::exception& e) {
      std::fprintf(stderr, "bench_activation: %s\n", e.what());
      ok = false;
    }
    if (ok && write(fds[1], &m, sizeof m) != static_cast<ssize_t>(sizeof m))
      ok = false;
    std::fflush(stdout);
    // Leaves at once: tearing down 100,000 grains measures nothing, and the parent holds the
    // schema.
    _exit(ok ? 0 : 1);
  }
  close(fds[1]);
  ssize_t got = read(fds[0], &out, sizeof out);
  close(fds[0]);
  int status = 0;
  waitpid(pid, &status, 0);
  return got == static_cast<ssize_t>(sizeof out) && WIFEXITED(status) && WEXITSTATUS(status) == 0;
}

int run_memory(const settings& s) {
  std::printf("idle memory: %d basket grains (%s storage) against %d raw CAF actors, each side "
              "in its own process; load %s\n",
              s.grains, s.storage.c_str(), s.grains, load_average().c_str());
  memory_figure g, r;
  if (!memory_child(s, true, g) || !memory_child(s, false, r)) {
    std::fprintf(stderr, "bench_activation: a memory child failed\n");
    return 1;
  }
  auto per = [&](const memory_figure& m) {
    return static_cast<double>(m.rss_after - m.rss_before) / s.grains;
  };
  for (const auto& [what, m] : {std::pair<const char*, const memory_figure&>{"grains", g},
                                std::pair<const char*, const memory_figure&>{"raw", r}})
    std::printf("  %-6s VmRSS %.1f MiB -> %.1f MiB: %.0f bytes each (%ld of %d still held, %ld "
                "errors)\n",
                what, m.rss_before / 1048576.0, m.rss_after / 1048576.0, per(m), m.present,
                s.grains, m.errors);
  std::printf("  ratio grain / raw actor: %.2f (goal <= 2)\n", per(g) / per(r));
  std::printf("  (analysis: sizeof the grain's actor %zu bytes, of its catalog record %zu; of the "
              "raw actor %zu)\n",
              sizeof(runtime::durable_grain_actor<actors::basket_grain>),
              sizeof(runtime::activation), sizeof(raw_basket_actor));
  if (g.errors || r.errors || g.present != s.grains || r.present != s.grains) {
    std::fprintf(stderr, "bench_activation: errors, or grains left during the measurement\n");
    return 1;
  }
  bench::print_result({"memory.idle_basket." + s.storage, per(g), "bytes/grain", per(r),
                       "bytes/raw actor", bench::ratio_at_most(2)});
  return 0;
}

/// The q-quantile (nearest rank) of sorted samples.
double quantile(const std::vector<double>& sorted, double q) {
  if (sorted.empty())
    return 0;
  auto i = static_cast<std::size_t>(std::ceil(q * static_cast<double>(sorted.size())));
  return sorted[std::min(sorted.size() - 1, i == 0 ? 0 : i - 1)];
}

int run_latency(const settings& s) {
  grain_node node{s};
  auto& sys = *node.sut.sys;
  std::shared_ptr<pqxx::connection> conn;
  if (s.postgres())
    conn = persistence::connect(s.pg());
  caf::scoped_actor self{sys};
  std::vector<caf::actor> raw_actors;
  long errors = 0;
  auto timed = [&](auto target) {
    auto t0 = clk::now();
    auto h = target();
    if (!h) {
      ++errors;
      return 0.0;
    }
    self->request(*h, caf::infinite, actors::basket_get{})
        .receive([](domain::basket&) {}, [&](caf::error&) { ++errors; });
    return duration<double, std::milli>(clk::now() - t0).count();
  };
  auto grain = [&](const std::string& key) {
    return [&, key] {
      return node.host->grains().resolve(runtime::grain_id{actors::basket_grain::type, key});
    };
  };
  auto raw = [&](const std::string& key) {
    return [&, key]() -> caf::expected<caf::actor> {
      raw_actors.push_back(sys.spawn(raw_loading_basket, key, conn));
      return raw_actors.back();
    };
  };
  std::vector<double> g, r;
  for (int i = 0; i < s.calls + 200; ++i) {
    auto gk = "lat-g-" + std::to_string(i), rk = "lat-r-" + std::to_string(i);
    double a = 0, b = 0;
    if (i % 2 == 0) {
      a = timed(grain(gk));
      b = timed(raw(rk));
    } else {
      b = timed(raw(rk));
      a = timed(grain(gk));
    }
    if (i >= 200) { // the first 200 of each warm up
      g.push_back(a);
      r.push_back(b);
    }
  }
  std::sort(g.begin(), g.end());
  std::sort(r.begin(), r.end());
  std::printf("activation latency: %d calls to basket grains not active (%s storage), one at a "
              "time, interleaved with raw spawn + request%s; load %s\n",
              s.calls, s.storage.c_str(),
              s.postgres() ? " + the same SELECTs on a plain libpqxx connection" : "",
              load_average().c_str());
  std::printf("  grains: p50 %.3f ms, p99 %.3f ms, max %.3f ms\n", quantile(g, 0.5),
              quantile(g, 0.99), g.back());
  std::printf("  raw:    p50 %.3f ms, p99 %.3f ms, max %.3f ms\n", quantile(r, 0.5),
              quantile(r, 0.99), r.back());
  std::printf("  ratio of the p99s: %.2f (%ld errors)\n", quantile(g, 0.99) / quantile(r, 0.99),
              errors);
  for (auto& a : raw_actors)
    caf::anon_send_exit(a, caf::exit_reason::user_shutdown);
  if (errors) {
    std::fprintf(stderr, "bench_activation: %ld calls failed\n", errors);
    return 1;
  }
  bench::print_result({"activation.latency_p99." + s.storage, quantile(g, 0.99), "ms",
                       quantile(r, 0.99), "ms", std::nullopt});
  return 0;
}

} // namespace

int main(int argc, char** argv) {
  settings s;
  if (const char* env = std::getenv("BAZAAR_POSTGRES_URL"))
    s.url = env;
  CLI::App app{"Idle grain memory and activation latency against raw CAF actors"};
  app.add_option("--only", s.only, "Run only these: memory, latency")
      ->delimiter(',')
      ->check(CLI::IsMember({"memory", "latency"}));
  app.add_option("--storage", s.storage, "Grain storage: postgres (the node's) or memory")
      ->check(CLI::IsMember({"postgres", "memory"}))
      ->capture_default_str();
  app.add_option("--grains", s.grains, "Idle grains (and raw actors) of the memory figure")
      ->check(CLI::Range(1, 10'000'000))
      ->capture_default_str();
  app.add_option("--calls", s.calls, "Activations timed per side in the latency figure")
      ->check(CLI::Range(1, 1'000'000))
      ->capture_default_str();
  app.add_option("--window", s.window, "Activations in flight in the memory figure")
      ->check(CLI::Range(1, 100'000))
      ->capture_default_str();
  app.add_option("--url", s.url, "PostgreSQL URL (default: $BAZAAR_POSTGRES_URL)");
  CLI11_PARSE(app, argc, argv);
  spdlog::set_level(spdlog::level::warn);
  s.schema = "bench_activation_" + std::to_string(getpid());
  if (s.postgres()) {
    auto conn = persistence::connect(s.pg());
    persistence::migrate(*conn, s.schema);
  }
  int status = 0;
  try {
    if (selected(s, "memory"))
      status |= run_memory(s);
    if (selected(s, "latency"))
      status |= run_latency(s);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "bench_activation: %s\n", e.what());
    status = 1;
  }
  if (s.postgres()) {
    auto conn = persistence::connect({s.url, "public", 2000, 30000});
    pqxx::nontransaction n{*conn};
    n.exec("DROP SCHEMA " + persistence::quote_identifier(s.schema) + " CASCADE");
  }
  return status;
}
