// The grain runtime on a real actor system with a test grain: activation, idle collection
// with a hand-moved clock, one-at-a-time handling, re-sending across deactivation, bounds.

#include "bazaar/persistence/memory_snapshot_store.hpp"
#include "bazaar/runtime/errors.hpp"
#include "bazaar/runtime/grain_call.hpp"
#include "bazaar/runtime/grain_shell.hpp"
#include "bazaar/runtime/host.hpp"

#include <caf/actor_system.hpp>
#include <caf/actor_system_config.hpp>
#include <caf/stateful_actor.hpp>
#include <catch2/catch.hpp>

#include <algorithm>

#include <future>
#include <thread>

using namespace bazaar;
using namespace std::chrono_literals;
using runtime::grain_id;

namespace {

using incr_atom = caf::atom_constant<caf::atom("incr")>;
using get_atom = caf::atom_constant<caf::atom("get")>;
using hold_atom = caf::atom_constant<caf::atom("hold")>;
using call_atom = caf::atom_constant<caf::atom("call")>;

/// A counter grain: its value survives deactivation through the snapshot store.
struct counter_state {
  std::int64_t value = 0;
  std::uint64_t version = 0;
  std::uint64_t saved = 0;
  std::vector<caf::response_promise> held;
  static inline const char* name = "test.counter";
};

caf::behavior counter(caf::stateful_actor<counter_state>* self, runtime::grain_context ctx,
                      std::shared_ptr<persistence::memory_snapshot_store> store) {
  if (auto found = store->load(ctx.id.type, ctx.id.key).found) {
    self->state.value = std::stoll(found->state);
    self->state.version = self->state.saved = found->version;
  }
  return {
      [=](incr_atom) {
        // Not atomic on purpose: only one-message-at-a-time handling keeps the count exact.
        auto v = self->state.value;
        std::this_thread::yield();
        self->state.value = v + 1;
        ++self->state.version;
        return self->state.value;
      },
      [=](get_atom) { return self->state.value; },
      [=](hold_atom) {
        // Never answered until the grain deactivates: a grain that hangs.
        auto rp = self->make_response_promise<std::int64_t>();
        self->state.held.push_back(rp);
        return rp;
      },
      runtime::deactivation_handler(self, ctx,
                                    [=] {
                                      auto& st = self->state;
                                      if (st.version != st.saved)
                                        store->save({ctx.id.type, ctx.id.key, st.version,
                                                     std::to_string(st.value)},
                                                    st.saved);
                                      st.saved = st.version;
                                    }),
  };
}

/// A grain that calls a counter grain (the key in its message) and answers what it answered:
/// grain-to-grain calls with a kept reference and the sweep's timeouts.
struct caller_state {
  runtime::grain_refs refs;
  static inline const char* name = "test.caller";
};

caf::behavior caller(caf::stateful_actor<caller_state>* self, runtime::grain_context ctx,
                     std::chrono::milliseconds timeout) {
  return {
      [=](call_atom, caf::atom_value what, const std::string& key) {
        auto rp = self->make_response_promise<std::int64_t>();
        auto done = [rp](std::int64_t v) mutable { rp.deliver(v); };
        auto fail = [rp](caf::error& e) mutable { rp.deliver(e); };
        grain_id target{"counter", key};
        if (what == hold_atom::value)
          runtime::await_grain<std::int64_t>(self, ctx, self->state.refs, target, hold_atom::value,
                                             timeout, done, fail);
        else
          runtime::await_grain<std::int64_t>(self, ctx, self->state.refs, target, get_atom::value,
                                             timeout, done, fail);
        return rp;
      },
      runtime::deactivation_handler(self, ctx, [] {}),
  };
}

/// An actor system with a grain host and the counter and caller grain types.
struct fixture {
  explicit fixture(config::runtime_options opts = {}, std::chrono::milliseconds timeout = 5s) {
    opts.max_threads = 2;
    opts.collection_interval_ms = 3'600'000; // the tests sweep by hand
    runtime::configure(cfg, opts);
    sys = std::make_unique<caf::actor_system>(cfg);
    host = std::make_unique<runtime::host>(*sys, clock, opts, timeout);
    host->grains().register_type(
        "counter",
        [store = store](caf::actor_system& s, const runtime::grain_context& ctx) {
          return s.spawn(counter, ctx, store);
        },
        10s);
    host->grains().register_type(
        "caller",
        [](caf::actor_system& s, const runtime::grain_context& ctx) {
          return s.spawn(caller, ctx, std::chrono::milliseconds{100});
        },
        10s);
    host->start();
  }

  ~fixture() {
    host->stop(2s);
    host.reset();
    sys.reset();
  }

  /// Asks and waits for the answer (tests only; real callers never block).
  caf::expected<std::int64_t> ask(const grain_id& id, caf::atom_value what) {
    auto done = std::make_shared<std::promise<caf::expected<std::int64_t>>>();
    auto future = done->get_future();
    bool admitted = false;
    auto cb = [done](caf::expected<std::int64_t> r) { done->set_value(std::move(r)); };
    if (what == incr_atom::value)
      admitted = host->client().ask<std::int64_t>(id, incr_atom::value, cb);
    else if (what == get_atom::value)
      admitted = host->client().ask<std::int64_t>(id, get_atom::value, cb);
    else
      admitted = host->client().ask<std::int64_t>(id, hold_atom::value, cb);
    if (!admitted)
      return runtime::make_failure(core::errc::unavailable, "refused");
    return future.get();
  }

  /// Asks the caller grain to call counter `key` with `what`, and waits for its answer.
  caf::expected<std::int64_t> call_through(caf::atom_value what, const std::string& key) {
    auto done = std::make_shared<std::promise<caf::expected<std::int64_t>>>();
    auto future = done->get_future();
    host->client().ask<std::int64_t>(
        grain_id{"caller", "x"}, caf::make_message(call_atom::value, what, key),
        [done](caf::expected<std::int64_t> r) { done->set_value(std::move(r)); });
    return future.get();
  }

  void wait_until_inactive(std::size_t expected = 0) {
    for (int i = 0; i < 400 && host->grains().size() != expected; ++i)
      std::this_thread::sleep_for(5ms);
  }

  runtime::manual_clock clock;
  caf::actor_system_config cfg;
  std::unique_ptr<caf::actor_system> sys;
  std::shared_ptr<persistence::memory_snapshot_store> store =
      std::make_shared<persistence::memory_snapshot_store>();
  std::unique_ptr<runtime::host> host;
};

const grain_id c1{"counter", "c1"};

} // namespace

TEST_CASE("a grain is activated by its first message and reused afterwards") {
  fixture f;
  CHECK(f.host->grains().size() == 0);
  CHECK(*f.ask(c1, incr_atom::value) == 1);
  CHECK(*f.ask(c1, incr_atom::value) == 2);
  CHECK(f.host->grains().size() == 1);
  CHECK(f.host->grains().activations_total() == 1);
}

TEST_CASE("an unknown grain type is an error, not an activation") {
  fixture f;
  auto r = f.ask(grain_id{"nope", "x"}, get_atom::value);
  REQUIRE_FALSE(r);
  CHECK(runtime::to_failure(r.error()).code == core::errc::not_found);
}

TEST_CASE("an idle grain is deactivated and its state survives reactivation") {
  fixture f;
  CHECK(*f.ask(c1, incr_atom::value) == 1);
  CHECK(*f.ask(c1, incr_atom::value) == 2);
  f.host->collector().sweep(); // first look: remembers the touch count
  f.clock.advance(9s);
  CHECK(f.host->collector().sweep().deactivations == 0); // not idle long enough
  f.clock.advance(2s);
  CHECK(f.host->collector().sweep().deactivations == 1);
  f.wait_until_inactive();
  REQUIRE(f.host->grains().size() == 0);
  CHECK(f.store->size() == 1);
  CHECK(*f.ask(c1, incr_atom::value) == 3);
  CHECK(f.host->grains().activations_total() == 2);
}

TEST_CASE("a grain used between two sweeps is not deactivated") {
  fixture f;
  CHECK(*f.ask(c1, incr_atom::value) == 1);
  f.host->collector().sweep();
  f.clock.advance(8s);
  CHECK(*f.ask(c1, incr_atom::value) == 2); // touched
  f.host->collector().sweep();              // sees the touch: idle time restarts
  f.clock.advance(8s);
  CHECK(f.host->collector().sweep().deactivations == 0);
  CHECK(f.host->grains().size() == 1);
}

TEST_CASE("one grain handles concurrent requests one at a time") {
  fixture f;
  constexpr int threads = 8, per_thread = 500;
  std::vector<std::thread> callers;
  std::atomic<int> ok{0};
  for (int t = 0; t < threads; ++t)
    callers.emplace_back([&] {
      for (int i = 0; i < per_thread; ++i)
        if (f.ask(c1, incr_atom::value))
          ++ok;
    });
  for (auto& t : callers)
    t.join();
  CHECK(ok == threads * per_thread);
  CHECK(*f.ask(c1, get_atom::value) == threads * per_thread);
}

TEST_CASE("requests racing with deactivation reach the next activation and nothing is lost") {
  fixture f;
  std::atomic<bool> running{true};
  std::atomic<int> acknowledged{0};
  std::thread deactivator([&] {
    while (running) {
      f.host->grains().deactivate(c1);
      std::this_thread::sleep_for(200us);
    }
  });
  std::vector<std::thread> callers;
  for (int t = 0; t < 4; ++t)
    callers.emplace_back([&] {
      for (int i = 0; i < 300; ++i)
        if (f.ask(c1, incr_atom::value))
          ++acknowledged;
    });
  for (auto& t : callers)
    t.join();
  running = false;
  deactivator.join();
  CHECK(acknowledged == 1200);
  CHECK(*f.ask(c1, get_atom::value) == acknowledged.load());
  CHECK(f.host->grains().activations_total() > 1);
}

TEST_CASE("a grain that does not answer in time fails the call with a timeout") {
  fixture f{config::runtime_options{}, 100ms};
  auto r = std::async(std::launch::async, [&] { return f.ask(c1, hold_atom::value); });
  // The deadline is on the node's (here: the test's) clock; the dispatcher's sweep sees it.
  CHECK(r.wait_for(300ms) == std::future_status::timeout);
  f.clock.advance(200ms);
  auto answer = r.get();
  REQUIRE_FALSE(answer);
  CHECK(runtime::to_failure(answer.error()).code == core::errc::timeout);
  CHECK(f.host->client().inflight() == 0);
}

TEST_CASE("a grain-to-grain call not answered in time fails with a timeout at the next sweep") {
  fixture f;
  auto r = std::async(std::launch::async, [&] { return f.call_through(hold_atom::value, "c9"); });
  CHECK(r.wait_for(300ms) == std::future_status::timeout);
  CHECK(f.host->collector().sweep().timeouts == 0); // not overdue yet
  f.clock.advance(200ms);
  CHECK(f.host->collector().sweep().timeouts == 1);
  auto answer = r.get();
  REQUIRE_FALSE(answer);
  CHECK(runtime::to_failure(answer.error()).code == core::errc::timeout);
  // The caller handles messages again, and a late answer of the first call does not confuse
  // the next one.
  CHECK(*f.ask(grain_id{"counter", "c8"}, incr_atom::value) == 1);
  CHECK(*f.call_through(get_atom::value, "c8") == 1);
}

TEST_CASE("a caller keeps the grain it resolved and resolves again once it is gone") {
  fixture f;
  CHECK(*f.ask(c1, incr_atom::value) == 1);
  CHECK(*f.call_through(get_atom::value, "c1") == 1);
  CHECK(*f.call_through(get_atom::value, "c1") == 1);
  CHECK(f.host->grains().activations_total() == 2); // c1 and the caller, once each
  f.host->grains().deactivate(c1);
  f.wait_until_inactive(1);                           // the caller stays
  CHECK(*f.call_through(get_atom::value, "c1") == 1); // bounced off the gone actor, resolved again
  CHECK(f.host->grains().activations_total() == 3);   // c1 twice, the caller once
}

TEST_CASE("requests beyond the in-flight bound are refused at once") {
  config::runtime_options opts;
  opts.max_inflight = 2;
  fixture f{opts, 2s};
  std::vector<std::future<caf::expected<std::int64_t>>> held;
  for (int i = 0; i < 2; ++i)
    held.push_back(std::async(std::launch::async, [&] { return f.ask(c1, hold_atom::value); }));
  for (int i = 0; i < 2000 && f.host->client().inflight() < 2; ++i)
    std::this_thread::sleep_for(5ms);
  CHECK(f.host->client().inflight() == 2);
  bool admitted = f.host->client().ask<std::int64_t>(c1, get_atom::value, [](auto) {});
  CHECK_FALSE(admitted);
  // Past their deadline on the node's clock the held calls time out (and the futures, which
  // wait for them when destroyed, finish), whatever the checks above found.
  // (A call counts as in flight before its deadline is set from the clock: the clock moves on
  // until both have timed out, so that one whose deadline came after a move cannot hang.)
  for (int i = 0; i < 200; ++i) {
    f.clock.advance(3s);
    if (std::all_of(held.begin(), held.end(),
                    [](auto& h) { return h.wait_for(50ms) == std::future_status::ready; }))
      break;
  }
  for (auto& h : held)
    CHECK_FALSE(h.get()); // timed out after 2 s
}

TEST_CASE("stopping the host deactivates every grain and saves its state") {
  fixture f;
  for (int i = 0; i < 50; ++i)
    REQUIRE(f.ask(grain_id{"counter", "k" + std::to_string(i)}, incr_atom::value));
  CHECK(f.host->grains().size() == 50);
  f.host->stop(2s);
  CHECK(f.host->grains().size() == 0);
  CHECK(f.store->size() == 50);
}

TEST_CASE("a caller talking to more grains than it keeps still reaches each one") {
  fixture f;
  constexpr int grains = 300; // past grain_refs::max_slots / 2: the caller starts over
  for (int k = 0; k < grains; ++k)
    for (int n = 0; n <= k % 5; ++n)
      REQUIRE(f.ask(grain_id{"counter", "g" + std::to_string(k)}, incr_atom::value));
  for (int round = 0; round < 2; ++round)
    for (int k = 0; k < grains; ++k) {
      INFO("grain g" << k << ", round " << round);
      CHECK(*f.call_through(get_atom::value, "g" + std::to_string(k)) == k % 5 + 1);
    }
}
