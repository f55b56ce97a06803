// The shop grains on the durable-grain platform, on a real actor system over in-memory
// storage: replies only after commit, pipelining, rollback on storage failure, the version
// fence, idempotency answers, reminders, typed interfaces.

#include "bazaar/actors/registry.hpp"
#include "bazaar/persistence/memory_storage.hpp"
#include "bazaar/runtime/errors.hpp"
#include "bazaar/runtime/host.hpp"
#include "bazaar/runtime/reminder_service.hpp"

#include <boost/json.hpp>
#include <caf/actor_system.hpp>
#include <caf/actor_system_config.hpp>
#include <catch2/catch.hpp>

#include <algorithm>

#include <deque>
#include <future>
#include <thread>

using namespace bazaar;
using namespace std::chrono_literals;
using runtime::grain_id;

namespace {

/// Memory storage whose writes wait at a gate until the test opens it.
class gated_storage final : public persistence::grain_store {
 public:
  explicit gated_storage(std::shared_ptr<persistence::memory_storage> inner)
      : inner_(std::move(inner)) {}
  void load(const std::string& t, const std::string& k,
            std::function<void(persistence::load_result)> done) override {
    inner_->load(t, k, std::move(done));
  }
  void write(persistence::grain_write w) override {
    std::unique_lock<std::mutex> lock{mtx_};
    if (closed_) {
      held_.push_back(std::move(w));
      return;
    }
    lock.unlock();
    inner_->write(std::move(w));
  }
  bool ready(std::string& why) const override { return inner_->ready(why); }
  void close() {
    std::lock_guard<std::mutex> guard{mtx_};
    closed_ = true;
  }
  std::size_t held() {
    std::lock_guard<std::mutex> guard{mtx_};
    return held_.size();
  }
  /// Opens the gate: held writes go through in order.
  void open() {
    std::deque<persistence::grain_write> held;
    {
      std::lock_guard<std::mutex> guard{mtx_};
      closed_ = false;
      held.swap(held_);
    }
    for (auto& w : held)
      inner_->write(std::move(w));
  }

 private:
  std::shared_ptr<persistence::memory_storage> inner_;
  std::mutex mtx_;
  bool closed_ = false;
  std::deque<persistence::grain_write> held_;
};

struct shop {
  shop() {
    runtime::configure(cfg, runtime_opts());
    actors::register_types(cfg);
    sys = std::make_unique<caf::actor_system>(cfg);
    host = std::make_unique<runtime::host>(*sys, clock, runtime_opts(), 5s);
    runtime::grain_services services;
    services.storage = gate;
    services.call_timeout = 5s;
    config::node_options opts;
    opts.basket.ttl_s = 60;
    actors::register_grains(host->grains(), opts, services);
    host->start();
    reminders = std::make_unique<runtime::reminder_service>(memory, host->client(),
                                                            runtime::reminder_service::options{});
  }
  ~shop() {
    reminders.reset();
    host->stop(2s);
    host.reset();
    sys.reset();
  }
  static config::runtime_options runtime_opts() {
    config::runtime_options o;
    o.max_threads = 2;
    o.collection_interval_ms = 3'600'000;
    return o;
  }

  /// Sends a message to grain `key` of type G; the future gets its answer (tests only).
  template <class G, class Msg>
  auto send(std::string key, Msg msg) {
    using reply = runtime::reply_t<typename G::interface, Msg>;
    auto p = std::make_shared<std::promise<caf::expected<reply>>>();
    auto f = p->get_future();
    REQUIRE(host->client().ask<G>(std::move(key), std::move(msg),
                                  [p](caf::expected<reply> r) { p->set_value(std::move(r)); }));
    return f;
  }
  template <class G, class Msg>
  auto ask(std::string key, Msg msg) {
    return send<G>(std::move(key), std::move(msg)).get();
  }

  void create_product(const std::string& sku, std::int64_t price = 500) {
    domain::product_draft d{sku, "Item " + sku, "", "misc", price, "USD", 100, 0};
    REQUIRE(ask<actors::inventory_grain>(sku, actors::product_create{d, {}, {}}));
  }

  std::vector<std::string> event_types(const std::string& aggregate_id) {
    std::vector<std::string> out;
    for (const auto& e : memory->events())
      if (e.aggregate_id == aggregate_id)
        out.push_back(e.event_type);
    return out;
  }

  runtime::manual_clock clock;
  caf::actor_system_config cfg;
  std::unique_ptr<caf::actor_system> sys;
  std::shared_ptr<persistence::memory_storage> memory =
      std::make_shared<persistence::memory_storage>();
  std::shared_ptr<gated_storage> gate = std::make_shared<gated_storage>(memory);
  std::unique_ptr<runtime::host> host;
  std::unique_ptr<runtime::reminder_service> reminders;
};

using actors::basket_grain;
const std::string alice = "alice";

actors::basket_add add(std::string sku, int n, std::string key = {}, std::uint64_t fp = 1) {
  actors::basket_add cmd{std::move(sku), n, {"corr-1", "alice"}, {}};
  if (!key.empty())
    cmd.idem = runtime::idempotency{"alice", std::move(key), fp};
  return cmd;
}

core::errc code_of(const caf::error& e) {
  return runtime::to_failure(e).code;
}

} // namespace

TEST_CASE("an acknowledged basket change is stored with its event") {
  shop s;
  s.create_product("A", 250);
  auto b = s.ask<basket_grain>(alice, add("A", 2));
  REQUIRE(b);
  CHECK(b->version == 1);
  auto stored = s.memory->snapshots().load("basket", "alice");
  REQUIRE(stored.found);
  CHECK(stored.found->version == 1);
  CHECK(stored.found->event_seq == 1);
  auto events = s.memory->events();
  auto found = std::find_if(events.begin(), events.end(),
                            [](auto& e) { return e.event_type == "basket-item-added"; });
  REQUIRE(found != events.end());
  auto env = boost::json::parse(found->envelope).as_object();
  CHECK(env["aggregate_id"].as_string() == "alice");
  CHECK(env["version"].as_int64() == 1);
  CHECK(env["metadata"].as_object()["correlation_id"].as_string() == "corr-1");
  CHECK(env["data"].as_object()["quantity"].as_int64() == 2);
}

TEST_CASE("no answer leaves before its own write committed, and pipelined answers keep order") {
  shop s;
  s.create_product("A");
  s.gate->close();
  auto first = s.send<basket_grain>(alice, add("A", 1));
  auto second = s.send<basket_grain>(alice, add("A", 2));
  for (int i = 0; i < 400 && s.gate->held() < 2; ++i)
    std::this_thread::sleep_for(5ms);
  CHECK(s.gate->held() == 2); // the second command was accepted while the first write waited
  auto read = s.send<basket_grain>(alice, actors::basket_get{});
  CHECK(first.wait_for(100ms) == std::future_status::timeout);
  CHECK(second.wait_for(0ms) == std::future_status::timeout);
  CHECK(read.wait_for(0ms) == std::future_status::timeout);
  s.gate->open();
  auto a = first.get(), b = second.get(), r = read.get();
  REQUIRE(a);
  REQUIRE(b);
  REQUIRE(r);
  // The two commands came through different dispatchers, so either may have been first;
  // each reply shows the state right after its own command.
  auto& earlier = a->version == 1 ? *a : *b;
  auto& later = a->version == 1 ? *b : *a;
  CHECK(earlier.version == 1);
  CHECK(later.version == 2);
  CHECK(later.lines[0].quantity == 3);
  CHECK((earlier.lines[0].quantity == 1 || earlier.lines[0].quantity == 2));
  CHECK(r->version == 2);
}

TEST_CASE("when storage fails the change is refused, nothing changes, and reads still work") {
  shop s;
  s.create_product("A");
  REQUIRE(s.ask<basket_grain>(alice, add("A", 1)));
  s.memory->set_available(false);
  auto refused = s.ask<basket_grain>(alice, add("A", 5));
  REQUIRE_FALSE(refused);
  CHECK(code_of(refused.error()) == core::errc::unavailable);
  auto read = s.ask<basket_grain>(alice, actors::basket_get{});
  REQUIRE(read);
  CHECK(read->lines[0].quantity == 1);
  CHECK(read->version == 1);
  s.memory->set_available(true);
  auto later = s.ask<basket_grain>(alice, add("A", 1));
  REQUIRE(later);
  CHECK(later->lines[0].quantity == 2);
  CHECK(later->version == 2); // the refused change left no trace in the version either
  CHECK(s.event_types("alice") ==
        std::vector<std::string>{"basket-item-added", "basket-item-added"});
}

TEST_CASE("a write whose commit storage did not confirm answers timeout, not unavailable, and "
          "the next activation shows what storage holds") {
  shop s;
  s.create_product("A");
  REQUIRE(s.ask<basket_grain>(alice, add("A", 1)));
  s.memory->set_commit_in_doubt(true); // the commit is made, its answer lost
  auto doubtful = s.ask<basket_grain>(alice, add("A", 5));
  REQUIRE_FALSE(doubtful);
  CHECK(code_of(doubtful.error()) == core::errc::timeout);
  s.memory->set_commit_in_doubt(false);
  // The grain left; its next activation loads the change that storage did make.
  auto now = s.ask<basket_grain>(alice, actors::basket_get{});
  for (int i = 0; i < 200 && now && now->version != 2; ++i) {
    std::this_thread::sleep_for(5ms);
    now = s.ask<basket_grain>(alice, actors::basket_get{});
  }
  REQUIRE(now);
  CHECK(now->version == 2);
  CHECK(now->lines[0].quantity == 6);
  auto later = s.ask<basket_grain>(alice, add("A", 1));
  REQUIRE(later);
  CHECK(later->lines[0].quantity == 7);
  CHECK(later->version == 3);
}

TEST_CASE("a grain written by another activation refuses its next write and reloads") {
  shop s;
  s.create_product("A");
  REQUIRE(s.ask<basket_grain>(alice, add("A", 1)));
  // Another activation wrote version 2 with 7 units meanwhile.
  auto stored = s.memory->snapshots().load("basket", "alice").found;
  auto state = boost::json::parse(stored->state).as_object();
  state["lines"].as_array()[0].as_object()["quantity"] = 7;
  state["version"] = 2;
  REQUIRE(s.memory->snapshots().save(
              persistence::snapshot{"basket", "alice", 2, boost::json::serialize(state), 1}, 1) ==
          persistence::save_status::saved);
  auto refused = s.ask<basket_grain>(alice, add("A", 1));
  REQUIRE_FALSE(refused);
  CHECK(code_of(refused.error()) == core::errc::unavailable);
  auto now = s.ask<basket_grain>(alice, actors::basket_get{});
  REQUIRE(now);
  CHECK(now->version == 2);
  CHECK(now->lines[0].quantity == 7);
  CHECK(s.host->grains().activations_total() >= 3); // product, basket, basket again
}

TEST_CASE("a retry with the same idempotency key gets the first answer and no second effect") {
  shop s;
  s.create_product("A");
  auto first = s.ask<basket_grain>(alice, add("A", 2, "k-1", 11));
  REQUIRE(first);
  REQUIRE(s.ask<basket_grain>(alice, add("A", 1))); // a later change, without a key
  auto retry = s.ask<basket_grain>(alice, add("A", 2, "k-1", 11));
  REQUIRE(retry);
  CHECK(retry->version == 1); // the first answer, not the basket as it is now
  CHECK(retry->lines[0].quantity == 2);
  auto other = s.ask<basket_grain>(alice, add("A", 3, "k-1", 12));
  REQUIRE_FALSE(other);
  CHECK(code_of(other.error()) == core::errc::conflict);
  CHECK(s.ask<basket_grain>(alice, actors::basket_get{})->lines[0].quantity == 3);
}

TEST_CASE("a refused request's answer is remembered for its key") {
  shop s;
  auto first = s.ask<basket_grain>(alice, add("NOPE", 1, "k-2", 5));
  REQUIRE_FALSE(first);
  CHECK(code_of(first.error()) == core::errc::validation_failed);
  s.create_product("NOPE"); // now it would succeed, but the key has its answer
  auto retry = s.ask<basket_grain>(alice, add("NOPE", 1, "k-2", 5));
  REQUIRE_FALSE(retry);
  auto f = runtime::to_failure(retry.error());
  CHECK(f.code == core::errc::validation_failed);
  CHECK(f.field == "sku");
  CHECK(f.message == runtime::to_failure(first.error()).message);
  CHECK(s.ask<basket_grain>(alice, actors::basket_get{})->lines.empty());
}

TEST_CASE("a request that failed for the moment is not remembered: its retry runs") {
  shop s;
  s.create_product("A");
  s.memory->set_available(false);
  auto failed = s.ask<basket_grain>(alice, add("A", 1, "k-5", 3));
  REQUIRE_FALSE(failed);
  CHECK(code_of(failed.error()) == core::errc::unavailable);
  s.memory->set_available(true);
  auto retry = s.ask<basket_grain>(alice, add("A", 1, "k-5", 3));
  REQUIRE(retry);
  CHECK(retry->lines[0].quantity == 1);
  auto again = s.ask<basket_grain>(alice, add("A", 1, "k-5", 3));
  REQUIRE(again);
  CHECK(again->version == retry->version); // now remembered: once in effect
}

TEST_CASE("remembered keys survive deactivation") {
  shop s;
  s.create_product("A");
  REQUIRE(s.ask<basket_grain>(alice, add("A", 1, "k-3", 9)));
  REQUIRE(s.host->grains().deactivate(grain_id{"basket", alice}));
  for (int i = 0; i < 200 && s.host->grains().list("basket", 10).size() > 0; ++i)
    std::this_thread::sleep_for(5ms);
  auto retry = s.ask<basket_grain>(alice, add("A", 1, "k-3", 9));
  REQUIRE(retry);
  CHECK(retry->version == 1);
  CHECK(s.ask<basket_grain>(alice, actors::basket_get{})->lines[0].quantity == 1);
}

TEST_CASE("checkout creates the order once, empties the basket and replays its answer") {
  shop s;
  s.create_product("A", 300);
  REQUIRE(s.ask<basket_grain>(alice, add("A", 2)));
  actors::basket_checkout co{"tok_ok", "", {"c", "alice"}, {"alice", "chk-1", 77}};
  auto accepted = s.ask<basket_grain>(alice, co);
  REQUIRE(accepted);
  auto order = s.ask<actors::order_grain>(accepted->order_id, actors::order_get{});
  REQUIRE(order);
  CHECK(order->exists);
  CHECK(order->total_cents() == 600);
  CHECK(s.ask<basket_grain>(alice, actors::basket_get{})->lines.empty());
  auto again = s.ask<basket_grain>(alice, co);
  REQUIRE(again);
  CHECK(again->order_id == accepted->order_id);
  auto empty =
      s.ask<basket_grain>(alice, actors::basket_checkout{"tok_ok", "", {}, {"alice", "chk-2", 78}});
  REQUIRE_FALSE(empty);
  CHECK(code_of(empty.error()) == core::errc::conflict);
  // Created once (the saga, started by the order, moves it on meanwhile).
  auto types = s.event_types(accepted->order_id);
  REQUIRE_FALSE(types.empty());
  CHECK(types.front() == "order-created");
  CHECK(std::count(types.begin(), types.end(), "order-created") == 1);
}

TEST_CASE("a basket untouched for its ttl is cleared by its expiry reminder") {
  shop s;
  s.create_product("A");
  REQUIRE(s.ask<basket_grain>(alice, add("A", 1)));
  REQUIRE(s.memory->reminders().count("basket/alice/expiry") == 1);
  s.memory->set_now(s.clock.wall_ms() + 30'000);
  CHECK(s.reminders->poll_once() == 0); // not due yet
  s.clock.advance(61s);
  s.memory->set_now(s.clock.wall_ms());
  CHECK(s.reminders->poll_once() == 1);
  for (int i = 0; i < 200 && s.memory->reminders().count("basket/alice/expiry") == 1; ++i)
    std::this_thread::sleep_for(5ms);
  CHECK(s.memory->reminders().empty());
  CHECK(s.ask<basket_grain>(alice, actors::basket_get{})->lines.empty());
  auto types = s.event_types("alice");
  CHECK(types.back() == "basket-expired");
}

TEST_CASE("a basket changed since its reminder was armed is not expired but re-armed") {
  shop s;
  s.create_product("A");
  REQUIRE(s.ask<basket_grain>(alice, add("A", 1)));
  s.clock.advance(50s);
  REQUIRE(s.ask<basket_grain>(alice, add("A", 1))); // later change
  s.clock.advance(20s); // 70 s after the first change, 20 s after the last
  s.memory->set_now(s.clock.wall_ms());
  CHECK(s.reminders->poll_once() == 1);
  std::this_thread::sleep_for(100ms);
  CHECK(s.ask<basket_grain>(alice, actors::basket_get{})->lines[0].quantity == 2);
  auto reminders = s.memory->reminders();
  REQUIRE(reminders.count("basket/alice/expiry") == 1);
  CHECK(reminders["basket/alice/expiry"] > s.clock.wall_ms());
}

TEST_CASE("a grain whose storage cannot be read answers 503 and activates afresh later") {
  shop s;
  s.memory->set_available(false);
  auto r = s.ask<basket_grain>(alice, actors::basket_get{});
  REQUIRE_FALSE(r);
  CHECK(code_of(r.error()) == core::errc::unavailable);
  s.memory->set_available(true);
  auto later = s.ask<basket_grain>(alice, actors::basket_get{});
  REQUIRE(later);
  CHECK(later->customer_id == "alice");
}

TEST_CASE("a grain interface says what each message answers and refuses others at compile time") {
  using basket = actors::basket_grain::interface;
  static_assert(runtime::handles_v<basket, actors::basket_add>);
  static_assert(!runtime::handles_v<basket, actors::order_get>);
  static_assert(std::is_same<runtime::reply_t<basket, actors::basket_checkout>,
                             actors::checkout_accepted>::value);
  static_assert(std::is_same<runtime::reply_t<basket, runtime::reminder_due>, bool>::value);
  // Message types are registered with CAF under the names their inspect functions give.
  CHECK(runtime::inspect_name<actors::basket_add>() == "bazaar.basket_add");
  CHECK(runtime::inspect_name<domain::basket>() == "bazaar.basket");
}
