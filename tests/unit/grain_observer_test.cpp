// Grain observers (observer_list.hpp, grain_observation.hpp) on a real actor system over
// in-memory storage, with the test-only ledger grain: the committed state at once and after
// each change, observers dropped when they go down, observed grains kept from idle
// collection, re-observing after a deactivation, and the end of observations at shutdown.

#include "bazaar/persistence/memory_storage.hpp"
#include "bazaar/runtime/host.hpp"
#include "bazaar/runtime/observer_list.hpp"
#include "support/eventually.hpp"
#include "support/ledger_grain.hpp"

#include <caf/actor_system.hpp>
#include <caf/actor_system_config.hpp>
#include <catch2/catch.hpp>

#include <future>
#include <mutex>

using namespace bazaar;
using namespace std::chrono_literals;
using test::eventually;
using test::ledger;
using test::ledger_grain;

namespace {

struct ledgers {
  explicit ledgers(const runtime::clock& clk = real_clock()) {
    runtime::configure(cfg, runtime_opts());
    test::register_ledger_types(cfg);
    sys = std::make_unique<caf::actor_system>(cfg);
    host = std::make_unique<runtime::host>(*sys, clk, runtime_opts(), 5s);
    runtime::grain_services services;
    services.storage = memory;
    runtime::register_durable_grain(host->grains(), ledger_grain{}, services, 1000ms);
    host->start();
  }
  ~ledgers() {
    host->stop(2s);
    host.reset();
    sys.reset();
  }
  static const runtime::clock& real_clock() {
    static runtime::system_clock c;
    return c;
  }
  static config::runtime_options runtime_opts() {
    config::runtime_options o;
    o.max_threads = 2;
    o.collection_interval_ms = 3'600'000; // the tests sweep by hand
    return o;
  }

  /// Adds `amount` to ledger `key` through a Kafka record (a command that commits).
  void add(const std::string& key, std::int64_t amount) {
    static std::atomic<int> next{0};
    auto id = "ev-" + std::to_string(++next);
    runtime::kafka_record r{"t", 0,      0,
                            id,  "test", R"({"data":{"amount":)" + std::to_string(amount) + "}}"};
    auto p = std::make_shared<std::promise<bool>>();
    auto f = p->get_future();
    REQUIRE(host->client().ask<ledger_grain>(
        key, r, [p](caf::expected<bool> ok) { p->set_value(ok && *ok); }));
    REQUIRE(f.get());
  }

  /// The observers the active ledger `key` reports, or -1 when it is not active.
  long observers_of(const std::string& key) {
    for (const auto& a : host->grains().list("ledger", 1000))
      if (a.id.key == key)
        return static_cast<long>(a.observers);
    return -1;
  }

  caf::actor_system_config cfg;
  std::shared_ptr<persistence::memory_storage> memory =
      std::make_shared<persistence::memory_storage>();
  std::unique_ptr<caf::actor_system> sys;
  std::unique_ptr<runtime::host> host;
};

/// What one observation saw, from the observer's thread.
struct seen {
  std::mutex mtx;
  std::vector<ledger> states;
  std::optional<caf::error> ended;
  bool keep_going = true;

  auto on_state() {
    return [this](const ledger& l) {
      std::lock_guard<std::mutex> guard{mtx};
      states.push_back(l);
      return keep_going;
    };
  }
  auto on_end() {
    return [this](const caf::error& e) {
      std::lock_guard<std::mutex> guard{mtx};
      ended = e;
    };
  }
  std::vector<std::uint64_t> versions() {
    std::lock_guard<std::mutex> guard{mtx};
    std::vector<std::uint64_t> out;
    for (const auto& l : states)
      if (out.empty() || out.back() != l.version)
        out.push_back(l.version);
    return out;
  }
  bool has_ended() {
    std::lock_guard<std::mutex> guard{mtx};
    return ended.has_value();
  }
};

} // namespace

TEST_CASE("an observer list holds each observer once, up to its bound") {
  caf::actor_system_config cfg;
  caf::actor_system sys{cfg};
  // (An argument: CAF 0.17 binds a reference to a null argument tuple for a spawn without one,
  // which UBSan reports.)
  auto idle = [](caf::event_based_actor*, int) -> caf::behavior { return {[](int) {}}; };
  auto a = sys.spawn(idle, 0);
  auto b = sys.spawn(idle, 0);
  auto c = sys.spawn(idle, 0);
  runtime::observer_list list{2};
  CHECK(list.add(a) == runtime::observer_list::added::fresh);
  CHECK(list.add(a) == runtime::observer_list::added::again);
  CHECK(list.add(b) == runtime::observer_list::added::fresh);
  CHECK(list.add(c) == runtime::observer_list::added::full);
  CHECK(list.size() == 2);
  CHECK(list.remove(a.address()));
  CHECK_FALSE(list.remove(a.address()));
  CHECK(list.add(c) == runtime::observer_list::added::fresh);
  CHECK(list.size() == 2);
  for (auto& x : {a, b, c})
    caf::anon_send_exit(x, caf::exit_reason::user_shutdown);
}

TEST_CASE("an observer gets the committed state at once, then after every commit, in order") {
  ledgers l;
  l.add("k1", 5);
  seen s;
  auto obs = l.host->client().observe<ledger_grain>("k1", s.on_state(), s.on_end());
  REQUIRE(obs);
  REQUIRE(eventually([&] { return s.versions() == std::vector<std::uint64_t>{1}; }));
  l.add("k1", 7);
  l.add("k1", 1);
  REQUIRE(eventually([&] { return s.versions() == std::vector<std::uint64_t>{1, 2, 3}; }));
  {
    std::lock_guard<std::mutex> guard{s.mtx};
    CHECK(s.states.back().total == 13);
  }
  CHECK(l.observers_of("k1") == 1);
  CHECK(l.host->client().observations() == 1);
  obs->cancel();
  CHECK(eventually([&] { return l.observers_of("k1") == 0; }));
  CHECK(eventually([&] { return l.host->client().observations() == 0; }));
  CHECK_FALSE(s.has_ended()); // a cancelled observation is not told it ended
}

TEST_CASE("an observation whose callback answers false ends and the grain drops it") {
  ledgers l;
  seen s;
  s.keep_going = false;
  REQUIRE(l.host->client().observe<ledger_grain>("k2", s.on_state(), s.on_end()));
  REQUIRE(eventually([&] { return s.versions().size() == 1; }));
  CHECK(eventually([&] { return l.observers_of("k2") == 0; }));
  CHECK(eventually([&] { return l.host->client().observations() == 0; }));
}

TEST_CASE("an observed grain is not collected as idle, and is once its observers left") {
  runtime::manual_clock clock;
  ledgers l{clock};
  seen s;
  auto obs = l.host->client().observe<ledger_grain>("k3", s.on_state(), s.on_end());
  REQUIRE(obs);
  REQUIRE(eventually([&] { return l.observers_of("k3") == 1; }));
  auto& collector = l.host->collector();
  // Several idle timeouts pass with sweeps: the observed grain stays.
  for (int i = 0; i < 4; ++i) {
    collector.sweep();
    clock.advance(2s);
    collector.sweep();
    std::this_thread::sleep_for(50ms);
  }
  CHECK(l.observers_of("k3") == 1);
  obs->cancel();
  REQUIRE(eventually([&] { return l.observers_of("k3") == 0; }));
  // Now idle: it leaves after an idle timeout (sweeps that see the grain untouched).
  CHECK(eventually(
      [&] {
        collector.sweep();
        clock.advance(2s);
        collector.sweep();
        return l.observers_of("k3") == -1;
      },
      10s, 50ms));
}

TEST_CASE("a grain deactivated while observed: the observer sees the next change of the next "
          "activation") {
  ledgers l;
  l.add("k4", 1);
  seen s;
  auto obs = l.host->client().observe<ledger_grain>("k4", s.on_state(), s.on_end());
  REQUIRE(obs);
  REQUIRE(eventually([&] { return s.versions() == std::vector<std::uint64_t>{1}; }));
  auto before = l.host->grains().activations_total();
  REQUIRE(l.host->grains().deactivate(runtime::grain_id{"ledger", "k4"}));
  // The observer re-observes, which activates the grain again.
  REQUIRE(eventually(
      [&] { return l.host->grains().activations_total() > before && l.observers_of("k4") == 1; }));
  l.add("k4", 2);
  CHECK(eventually([&] { return s.versions() == std::vector<std::uint64_t>{1, 2}; }));
  CHECK_FALSE(s.has_ended());
  obs->cancel();
}

TEST_CASE("observations end with unavailable when the node's grains stop") {
  ledgers l;
  seen s;
  REQUIRE(l.host->client().observe<ledger_grain>("k5", s.on_state(), s.on_end()));
  REQUIRE(eventually([&] { return s.versions().size() == 1; }));
  l.host->stop(2s);
  REQUIRE(eventually([&] { return s.has_ended(); }));
  std::lock_guard<std::mutex> guard{s.mtx};
  CHECK(runtime::to_failure(*s.ended).code == core::errc::unavailable);
  CHECK(l.host->client().observations() == 0);
}

TEST_CASE("observations past the client's bound are refused at once") {
  ledgers l;
  // The node's bound is large; a client of its own with a bound of 2 shows the rule.
  runtime::grain_client::options o;
  o.max_observations = 2;
  runtime::grain_client client{*l.sys, l.host->grains_ptr(), o};
  seen a, b, c;
  auto x = client.observe<ledger_grain>("k6", a.on_state(), a.on_end());
  auto y = client.observe<ledger_grain>("k6", b.on_state(), b.on_end());
  CHECK(x);
  CHECK(y);
  CHECK_FALSE(client.observe<ledger_grain>("k6", c.on_state(), c.on_end()));
  x->cancel();
  REQUIRE(eventually([&] { return client.observations() == 1; }));
  CHECK(client.observe<ledger_grain>("k6", c.on_state(), c.on_end()));
  client.stop();
  // The observers end on their own threads: wait for it before `b` and `c` go out of scope.
  CHECK(eventually([&] { return b.has_ended() && c.has_ended(); }));
}
