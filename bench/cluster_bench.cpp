// Cross-node grain requests per second beside raw CAF remote request/response, in one run.
//
//   bench_cluster [--seconds 6] [--rounds 3] [--grains 1000] [--drivers 2] [--window 64]
//
// Two bazaar::node in this process on one PostgreSQL schema (dropped at the end): two actor
// systems, each with its own CAF middleman, forming a two-node cluster over loopback TCP.
//   ours: drivers on node A ask --grains basket grains that rendezvous placement puts on node
//         B (basket_get, a query answered from the grain's memory once active). A's catalog
//         resolves each to its remote stub; the stub routes the request to B's router, which
//         delegates it to the grain; the answer comes back through the stub.
//   raw:  node B's actor system runs --grains plain CAF actors answering basket_get with a
//         basket; A holds a proxy of each (fetched once from an actor B publishes on a port of
//         its own); drivers on A send each request straight to a proxy.
// Both sides: --drivers actors on A with --window requests in flight each, to random
// targets, measured in --rounds alternating slices (so that load changes hit both alike).
// Prints requests/s of each, and ours / raw (goal >= 0.7).

#include "bazaar/actors/basket_grain.hpp"
#include "bazaar/node.hpp"
#include "bazaar/runtime/cluster.hpp"
#include "bazaar/runtime/host.hpp"

#include "support/pg_schema.hpp"
#include "support/test_node.hpp"

#include "bench_result.hpp"
#include "xorshift.hpp"

#include <CLI/CLI.hpp>
#include <caf/io/middleman.hpp>
#include <caf/scoped_actor.hpp>
#include <spdlog/spdlog.h>

#include <atomic>
#include <cstdio>
#include <thread>

using namespace bazaar;
using bench::next_random;
using namespace std::chrono;
using steady = steady_clock;

namespace {

struct run_control {
  std::atomic<bool> stop{false};
  std::atomic<int> alive{0};
  std::atomic<std::uint64_t> ops{0};
  std::atomic<std::uint64_t> errors{0};
};

/// Keeps `window` basket_get requests in flight to random `targets` until told to stop.
class driver final : public caf::event_based_actor {
 public:
  driver(caf::actor_config& cfg, std::shared_ptr<const std::vector<caf::actor>> targets,
         std::shared_ptr<run_control> ctl, int window, std::uint64_t seed)
      : caf::event_based_actor(cfg), targets_(std::move(targets)), ctl_(std::move(ctl)),
        window_(window), rng_(seed | 1) {}

  caf::behavior make_behavior() override {
    for (int i = 0; i < window_; ++i)
      issue();
    return {[](runtime::stop_atom) {}};
  }

 private:
  void issue() {
    const auto& target = (*targets_)[next_random(rng_) % targets_->size()];
    ++inflight_;
    request(target, caf::infinite, actors::basket_get{})
        .then(
            [this](const domain::basket&) {
              ctl_->ops.fetch_add(1, std::memory_order_relaxed);
              completed();
            },
            [this](caf::error&) {
              ctl_->errors.fetch_add(1, std::memory_order_relaxed);
              completed();
            });
  }

  void completed() {
    --inflight_;
    if (!ctl_->stop.load(std::memory_order_relaxed))
      issue();
    else if (inflight_ == 0) {
      ctl_->alive.fetch_sub(1);
      quit();
    }
  }

  std::shared_ptr<const std::vector<caf::actor>> targets_;
  std::shared_ptr<run_control> ctl_;
  int window_;
  std::uint64_t rng_;
  int inflight_ = 0;
};

struct figure {
  std::uint64_t ops = 0;
  std::uint64_t errors = 0;
  double seconds = 0;
  double rate() const { return seconds > 0 ? static_cast<double>(ops) / seconds : 0; }
};

figure measure(caf::actor_system& sys, std::shared_ptr<const std::vector<caf::actor>> targets,
               int drivers, int window, double seconds) {
  auto ctl = std::make_shared<run_control>();
  ctl->alive = drivers;
  auto start = steady::now();
  for (int d = 0; d < drivers; ++d)
    sys.spawn<driver>(targets, ctl, window, 0x9e3779b97f4a7c15ULL * static_cast<unsigned>(d + 1));
  std::this_thread::sleep_for(duration<double>(seconds));
  auto ops = ctl->ops.load();
  auto elapsed = duration<double>(steady::now() - start).count();
  ctl->stop = true;
  while (ctl->alive.load() > 0)
    std::this_thread::sleep_for(1ms);
  return figure{ops, ctl->errors.load(), elapsed};
}

/// A plain CAF actor holding one basket (the raw side).
caf::behavior raw_basket(caf::event_based_actor*, std::string customer) {
  domain::basket b;
  b.customer_id = std::move(customer);
  return {[b](const actors::basket_get&) { return b; }};
}

/// Hands out the raw baskets' handles: (get_atom, index) -> actor.
caf::behavior raw_directory(caf::event_based_actor*, std::vector<caf::actor> baskets) {
  return {
      [baskets](caf::get_atom, std::int32_t i) { return baskets.at(static_cast<std::size_t>(i)); }};
}

} // namespace

int main(int argc, char** argv) {
  double seconds = 6;
  int rounds = 3;
  int grains = 1000;
  int drivers = 2;
  int window = 64;
  CLI::App app{"Cross-node grain requests/s beside raw CAF remote request/response"};
  app.add_option("--seconds", seconds, "Measured seconds per side")->check(CLI::Range(1.0, 600.0));
  app.add_option("--rounds", rounds, "Alternating slices per side")->check(CLI::Range(1, 100));
  app.add_option("--grains", grains, "Basket grains owned by the other node")
      ->check(CLI::Range(1, 1000000));
  app.add_option("--drivers", drivers, "Driver actors on node A")->check(CLI::Range(1, 64));
  app.add_option("--window", window, "Requests in flight per driver")->check(CLI::Range(1, 10000));
  CLI11_PARSE(app, argc, argv);
  spdlog::set_level(spdlog::level::warn);

  test::pg_schema schema;
  auto options = [&](const char* id) {
    auto o = test::test_node_options();
    o.postgres.schema = schema.name();
    o.cluster.node_id = id;
    o.http.request_timeout_ms = 10000;
    return o;
  };
  node a{options("bench-a")};
  node b{options("bench-b")};
  a.start();
  b.start();
  auto& catalog_a = a.grains().grains();
  const auto* placement = catalog_a.placement();
  // Wait until A sees B and holds a link to its router.
  auto until = steady::now() + 20s;
  while (!placement->router_of("bench-b") && steady::now() < until)
    std::this_thread::sleep_for(10ms);
  if (!placement->router_of("bench-b")) {
    std::fprintf(stderr, "node A never linked to node B\n");
    return 1;
  }

  // Baskets that live on B, resolved through A (remote stubs), and activated by a first get.
  auto ours = std::make_shared<std::vector<caf::actor>>();
  for (int i = 0; ours->size() < static_cast<std::size_t>(grains); ++i) {
    runtime::grain_id id{"basket", "bench-" + std::to_string(i)};
    if (placement->owner_elsewhere(id) != "bench-b")
      continue;
    auto stub = catalog_a.resolve(id);
    if (!stub) {
      std::fprintf(stderr, "cannot resolve %s\n", id.str().c_str());
      return 1;
    }
    ours->push_back(*stub);
  }
  {
    caf::scoped_actor self{a.system()};
    for (const auto& stub : *ours)
      self->request(stub, std::chrono::seconds{20}, actors::basket_get{})
          .receive([](const domain::basket&) {},
                   [](caf::error& e) {
                     std::fprintf(stderr, "warm-up: %s\n", caf::to_string(e).c_str());
                   });
  }
  if (b.grains().grains().size() < static_cast<std::size_t>(grains)) {
    std::fprintf(stderr, "only %zu of %d baskets are active on node B\n",
                 b.grains().grains().size(), grains);
    return 1;
  }

  // The raw side: plain actors on B, reached through proxies on A.
  std::vector<caf::actor> raw_baskets;
  for (int i = 0; i < grains; ++i)
    raw_baskets.push_back(b.system().spawn(raw_basket, "raw-" + std::to_string(i)));
  auto directory = b.system().spawn(raw_directory, raw_baskets);
  auto port = b.system().middleman().publish(directory, 0, "127.0.0.1");
  if (!port) {
    std::fprintf(stderr, "cannot publish: %s\n", caf::to_string(port.error()).c_str());
    return 1;
  }
  auto remote = a.system().middleman().remote_actor("127.0.0.1", *port);
  if (!remote) {
    std::fprintf(stderr, "cannot connect: %s\n", caf::to_string(remote.error()).c_str());
    return 1;
  }
  auto raw = std::make_shared<std::vector<caf::actor>>();
  {
    caf::scoped_actor self{a.system()};
    for (int i = 0; i < grains; ++i)
      self->request(*remote, 10s, caf::get_atom::value, static_cast<std::int32_t>(i))
          .receive([&](caf::actor& h) { raw->push_back(h); },
                   [](caf::error& e) { std::fprintf(stderr, "%s\n", caf::to_string(e).c_str()); });
  }
  if (raw->size() != static_cast<std::size_t>(grains))
    return 1;

  figure f_ours, f_raw;
  for (int r = 0; r < rounds; ++r) {
    auto x = measure(a.system(), raw, drivers, window, seconds / rounds);
    f_raw.ops += x.ops, f_raw.errors += x.errors, f_raw.seconds += x.seconds;
    auto y = measure(a.system(), ours, drivers, window, seconds / rounds);
    f_ours.ops += y.ops, f_ours.errors += y.errors, f_ours.seconds += y.seconds;
  }
  std::printf("cross-node requests, %d baskets on node B asked from node A, %d drivers x %d in "
              "flight, %.0f s per side in %d slices\n",
              grains, drivers, window, seconds, rounds);
  std::printf("  raw CAF remote request/response: %10.0f req/s (%llu errors)\n", f_raw.rate(),
              static_cast<unsigned long long>(f_raw.errors));
  std::printf("  grains across nodes (stub -> router -> grain): %10.0f req/s (%llu errors)\n",
              f_ours.rate(), static_cast<unsigned long long>(f_ours.errors));
  std::printf("  ratio ours / raw: %.2f (goal >= 0.7)\n",
              f_raw.rate() > 0 ? f_ours.rate() / f_raw.rate() : 0.0);
  bazaar::bench::print_result({"cluster.cross_node_requests", f_ours.rate(), "req/s", f_raw.rate(),
                               "req/s", bazaar::bench::ratio_at_least(0.7)});
  for (auto& h : raw_baskets)
    caf::anon_send_exit(h, caf::exit_reason::user_shutdown);
  caf::anon_send_exit(directory, caf::exit_reason::user_shutdown);
  raw->clear();
  ours->clear();
  a.stop();
  b.stop();
  return 0;
}
