/// bench_grains: basket grains against raw CAF request/response, in one process and one run, on
/// one actor_system configured as a node configures it (runtime::configure). Each scenario
/// prints the Bazaar figure, the raw CAF figure, their ratio and the goal. Reads (`get`) and
/// grain-to-grain calls (`call`) have goals; writes (`set`, `add`, `client`) are durable on
/// the in-memory storage (a snapshot and an event per write, the unit-test storage) and are
/// shown for analysis: the goal of durable writes is bench_durable's, on PostgreSQL.

#include "bazaar/actors/registry.hpp"
#include "bazaar/config/options.hpp"
#include "bazaar/persistence/memory_storage.hpp"
#include "bazaar/runtime/atoms.hpp"
#include "bazaar/runtime/host.hpp"

#include "bench_result.hpp"
#include "xorshift.hpp"

#include <CLI/CLI.hpp>
#include <caf/all.hpp>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <cstdio>
#include <fstream>
#include <functional>
#include <future>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <type_traits>
#include <unordered_map>
#include <vector>

namespace {

using namespace std::chrono_literals;
using bazaar::bench::next_random;
using bazaar::runtime::grain_id;
namespace actors = bazaar::actors;
namespace domain = bazaar::domain;
namespace runtime = bazaar::runtime;
using steady = std::chrono::steady_clock;

/// A call handed from a plain thread to a raw relay actor (the raw twin of grain_client).
struct raw_call {
  caf::actor target;
  actors::basket_set msg;
  std::function<void(bool)> done;
};

using raw_call_ptr = std::shared_ptr<raw_call>;

} // namespace

CAF_ALLOW_UNSAFE_MESSAGE_TYPE(raw_call_ptr)

namespace {

// -- options and output ---------------------------------------------------------------------

/// Command-line settings of one run.
struct bench_options {
  double seconds = 3.0;
  double warmup = 0.3;
  int baskets = 10000;
  int drivers = 2;
  int threads = 2;
  std::vector<int> windows{10, 100};
  int activations = 100000;
  int max_threads = 2;
  std::string policy = "stealing";
  std::vector<std::string> only;
  bool bazaar_only = false;
  int rounds = 5;
  int activation_rounds = 3;
};

/// The 1-, 5- and 15-minute load averages, as /proc/loadavg prints them.
std::string load_average() {
  std::ifstream in{"/proc/loadavg"};
  std::string a, b, c;
  in >> a >> b >> c;
  return a + " " + b + " " + c;
}

/// Seconds elapsed since `start`.
double since(steady::time_point start) {
  return std::chrono::duration<double>(steady::now() - start).count();
}

/// Prints one result row: scenario, window, Bazaar, raw, ratio and the verdict against a goal.
void print_row(const std::string& scenario, int window, double bazaar, double raw, double goal,
               std::uint64_t errors) {
  double ratio = raw > 0 ? bazaar / raw : 0;
  std::string verdict = goal <= 0       ? "(analysis)"
                        : raw <= 0      ? "(no raw)"
                        : ratio >= goal ? "meets goal"
                                        : "BELOW GOAL";
  std::printf("%-44s %6d %12.0f %12.0f %7.3f  %-5s %-11s errors=%llu load=%s\n", scenario.c_str(),
              window, bazaar, raw, ratio,
              goal > 0 ? (">=" + std::to_string(goal).substr(0, 3)).c_str() : "-", verdict.c_str(),
              static_cast<unsigned long long>(errors), load_average().c_str());
  std::fflush(stdout);
}

// -- raw CAF baseline actors -----------------------------------------------------------------

/// One line of a raw basket.
struct raw_line {
  std::string sku;
  std::int32_t quantity = 0;
};

/// The state of a raw basket actor: lines and a version, as small as a basket gets.
struct raw_basket_state {
  std::vector<raw_line> lines;
  std::uint64_t version = 0;
  static inline const char* name = "raw.basket";
};

using raw_basket_actor = caf::stateful_actor<raw_basket_state>;

/// Raw products by sku, read-only once the run starts.
using raw_product_map = std::unordered_map<std::string, caf::actor>;

/// Sets or adds a line of a raw basket; returns the new version.
std::uint64_t raw_apply(raw_basket_state& st, const std::string& sku, std::int32_t quantity,
                        bool add) {
  auto i = std::find_if(st.lines.begin(), st.lines.end(),
                        [&](const raw_line& l) { return l.sku == sku; });
  if (i == st.lines.end())
    st.lines.push_back(raw_line{sku, quantity});
  else
    i->quantity = add ? i->quantity + quantity : quantity;
  return ++st.version;
}

/// A raw basket: `set` changes its state and answers the version; `add` first asks the raw
/// product actor (one hop, caf::infinite, awaited like the grain does) and then changes it.
caf::behavior raw_basket(raw_basket_actor* self, std::shared_ptr<const raw_product_map> products) {
  return {
      [=](const actors::basket_set& cmd) -> std::uint64_t {
        return raw_apply(self->state, cmd.sku, cmd.quantity, false);
      },
      [=](const actors::basket_add& cmd) -> caf::result<std::uint64_t> {
        auto product = products->find(cmd.sku);
        if (product == products->end())
          return caf::make_error(caf::sec::invalid_argument);
        auto rp = self->make_response_promise<std::uint64_t>();
        self->request(product->second, caf::infinite, actors::product_get{})
            .await(
                [=](std::int64_t) mutable {
                  rp.deliver(raw_apply(self->state, cmd.sku, cmd.quantity, true));
                },
                [=](caf::error& e) mutable { rp.deliver(std::move(e)); });
        return rp;
      },
      [=](const actors::basket_get&) -> std::uint64_t { return self->state.version; },
  };
}

/// A raw product: answers its price.
caf::behavior raw_product(caf::event_based_actor*, std::int64_t price_cents) {
  return {
      [=](const actors::product_get&) -> std::int64_t { return price_cents; },
  };
}

/// A price quote for a sku: the grain-to-grain call of the platform measured alone. The quote
/// grain asks the product grain and answers its price (a command that changes nothing, so no
/// write); its raw twin asks a raw product actor the same way (one hop, awaited).
struct quote {
  std::string sku;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, quote& x) {
  return f(caf::meta::type_name("bench.quote"), x.sku);
}

struct quote_state {
  std::uint64_t version = 0;
};

/// Grain states travel in messages (to observers), so they are inspectable.
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, quote_state& x) {
  return f(caf::meta::type_name("bench.quote_state"), x.version);
}

boost::json::value to_snapshot(const quote_state& q) {
  return boost::json::object{{"version", q.version}};
}

struct quote_grain {
  static constexpr const char* type = "quote";
  using state = quote_state;
  using interface = caf::typed_actor<caf::replies_to<quote>::with<std::int64_t>>;

  static quote_state initial(const std::string&) { return {}; }
  static std::optional<quote_state> from_snapshot(const boost::json::value&) {
    return quote_state{};
  }

  runtime::outcome<std::int64_t> on(runtime::command<quote_state>& c, const quote& q) const {
    return c.ask<actors::inventory_grain>(
        q.sku, actors::product_get{},
        [](runtime::command<quote_state>&,
           const domain::product& p) -> runtime::outcome<std::int64_t> { return p.price_cents; });
  }
};

/// The raw twin of the quote grain.
caf::behavior raw_quoter(caf::event_based_actor* self,
                         std::shared_ptr<const raw_product_map> products) {
  return {
      [=](const quote& q) -> caf::result<std::int64_t> {
        auto product = products->find(q.sku);
        if (product == products->end())
          return caf::make_error(caf::sec::invalid_argument);
        auto rp = self->make_response_promise<std::int64_t>();
        self->request(product->second, caf::infinite, actors::product_get{})
            .await([=](std::int64_t price) mutable { rp.deliver(price); },
                   [=](caf::error& e) mutable { rp.deliver(std::move(e)); });
        return rp;
      },
  };
}

/// The state of a basket actor that keeps a domain::basket and answers a copy of it, like the
/// grain, but is reached by handle (no catalog): separates the cost of the reply from the rest.
struct domain_basket_state {
  domain::basket basket;
  static inline const char* name = "raw.domain_basket";
};

using domain_basket_actor = caf::stateful_actor<domain_basket_state>;

/// A raw actor holding a domain::basket; `set` on an existing line answers the whole basket.
caf::behavior domain_basket(domain_basket_actor* self) {
  return {
      [=](const actors::basket_set& cmd) -> domain::basket {
        auto& b = self->state.basket;
        if (b.find(cmd.sku) == nullptr) {
          domain::basket_line line;
          line.sku = cmd.sku;
          line.name = "Product " + cmd.sku;
          line.quantity = cmd.quantity;
          line.unit_price_cents = 1999;
          b.lines.push_back(std::move(line));
          ++b.version;
        } else {
          b.set(cmd.sku, cmd.quantity, nullptr, 0);
        }
        return b;
      },
  };
}

/// Relays calls from plain threads to raw baskets: the raw twin of a grain_client dispatcher.
caf::behavior raw_relay(caf::event_based_actor* self) {
  return {
      [=](runtime::dispatch_atom, raw_call_ptr& call) {
        self->request(call->target, caf::infinite, call->msg)
            .then([call](std::uint64_t) { call->done(true); },
                  [call](caf::error&) { call->done(false); });
      },
  };
}

// -- workloads: what a driver sends to whom ------------------------------------------------

/// Skus preloaded into every basket (the `set` scenarios change these lines only).
const std::vector<std::string>& preloaded_skus() {
  static const std::vector<std::string> skus{"SKU-0", "SKU-1", "SKU-2"};
  return skus;
}

/// Skus the `add` scenarios spread over, none of them preloaded (so `set` never pushes a line
/// towards the 999 cap that `add` then hits): 20 lines of 999 units per basket at most.
const std::vector<std::string>& add_skus() {
  static const std::vector<std::string> skus = [] {
    std::vector<std::string> out;
    for (int i = 0; i < 20; ++i)
      out.push_back("SKU-" + std::to_string(preloaded_skus().size() + i));
    return out;
  }();
  return skus;
}

/// Every product the run creates: the preloaded skus and the `add` skus.
std::vector<std::string> all_skus() {
  auto out = preloaded_skus();
  out.insert(out.end(), add_skus().begin(), add_skus().end());
  return out;
}

/// A command with its sku and quantity set and every other field left at its default.
template <class Command>
Command basket_command(const std::string& sku, std::int32_t quantity) {
  Command cmd;
  cmd.sku = sku;
  cmd.quantity = quantity;
  return cmd;
}

/// basket_set of an existing line, quantity 1..998.
actors::basket_set set_message(std::uint64_t k) {
  const auto& skus = preloaded_skus();
  return basket_command<actors::basket_set>(skus[k % skus.size()],
                                            static_cast<std::int32_t>(1 + k % 998));
}

/// basket_get.
actors::basket_get get_message(std::uint64_t) {
  return actors::basket_get{};
}

/// A quote of one of 20 products.
quote quote_message(std::uint64_t k) {
  const auto& skus = add_skus();
  return quote{skus[k % skus.size()]};
}

/// basket_add of one unit of one of 20 products.
actors::basket_add add_message(std::uint64_t k) {
  const auto& skus = add_skus();
  return basket_command<actors::basket_add>(skus[k % skus.size()], 1);
}

/// Raw baskets by handle.
template <class Msg, Msg (*Make)(std::uint64_t), class Reply = std::uint64_t>
struct raw_workload {
  using reply = Reply;
  std::shared_ptr<const std::vector<caf::actor>> baskets;
  std::size_t size() const { return baskets->size(); }
  caf::expected<caf::actor> target(std::size_t i) const { return (*baskets)[i]; }
  Msg message(std::uint64_t k) const { return Make(k); }
};

/// Actors that answer a domain::basket, by handle (analysis only): the domain-basket actors,
/// or the basket grains' own actors resolved once up front (the grain path minus resolve).
struct handle_workload {
  using reply = domain::basket;
  std::shared_ptr<const std::vector<caf::actor>> baskets;
  std::size_t size() const { return baskets->size(); }
  caf::expected<caf::actor> target(std::size_t i) const { return (*baskets)[i]; }
  actors::basket_set message(std::uint64_t k) const { return set_message(k); }
};

/// Basket grains by grain id, through the node's catalog (resolve, then request).
template <class Msg, Msg (*Make)(std::uint64_t), class Reply = domain::basket>
struct grain_workload {
  using reply = Reply;
  std::shared_ptr<runtime::catalog> grains;
  std::shared_ptr<const std::vector<grain_id>> ids;
  std::size_t size() const { return ids->size(); }
  caf::expected<caf::actor> target(std::size_t i) const { return grains->resolve((*ids)[i]); }
  Msg message(std::uint64_t k) const { return Make(k); }
};

/// product_create of a draft, every other field at its default.
actors::product_create product_create_of(const domain::product_draft& d) {
  actors::product_create cmd;
  cmd.draft = d;
  return cmd;
}

// -- drivers ---------------------------------------------------------------------------------

/// Counters of one driver, on their own cache line.
struct alignas(64) driver_slot {
  std::atomic<std::uint64_t> ops{0};
  std::atomic<std::uint64_t> errors{0};
};

/// What the main thread and the drivers of one measurement share.
struct run_control {
  explicit run_control(int n) : slots(new driver_slot[n]), count(n) {}
  std::unique_ptr<driver_slot[]> slots;
  int count;
  std::atomic<bool> stop{false};
  std::atomic<int> alive{0};
  /// The first error a driver saw, rendered, for the report.
  std::once_flag first_error_once;
  std::string first_error;

  void note_error(caf::actor_system& sys, const caf::error& e) {
    std::call_once(first_error_once, [&] { first_error = sys.render(e); });
  }

  std::uint64_t ops() const {
    std::uint64_t n = 0;
    for (int i = 0; i < count; ++i)
      n += slots[i].ops.load(std::memory_order_relaxed);
    return n;
  }
  std::uint64_t errors() const {
    std::uint64_t n = 0;
    for (int i = 0; i < count; ++i)
      n += slots[i].errors.load(std::memory_order_relaxed);
    return n;
  }
};

/// An event-based actor that keeps `window` requests in flight to random targets of its
/// workload (caf::infinite: no timer per request) until told to stop, then drains and quits.
template <class Workload>
class driver final : public caf::event_based_actor {
 public:
  driver(caf::actor_config& cfg, Workload work, std::shared_ptr<run_control> ctl, int slot,
         int window, std::uint64_t seed)
      : caf::event_based_actor(cfg), work_(std::move(work)), ctl_(std::move(ctl)),
        slot_(ctl_->slots[slot]), window_(window), rng_(seed | 1) {}

  caf::behavior make_behavior() override {
    for (int i = 0; i < window_; ++i)
      issue();
    return {
        [](runtime::stop_atom) {},
    };
  }

 private:
  void issue() {
    auto target = work_.target(next_random(rng_) % work_.size());
    if (!target) {
      slot_.errors.fetch_add(1, std::memory_order_relaxed);
      ctl_->note_error(system(), target.error());
      finish_if_idle();
      return;
    }
    ++inflight_;
    request(*target, caf::infinite, work_.message(k_++))
        .then(
            [this](const typename Workload::reply&) {
              slot_.ops.fetch_add(1, std::memory_order_relaxed);
              completed();
            },
            [this](caf::error& e) {
              slot_.errors.fetch_add(1, std::memory_order_relaxed);
              ctl_->note_error(system(), e);
              completed();
            });
  }

  void completed() {
    --inflight_;
    if (!ctl_->stop.load(std::memory_order_relaxed))
      issue();
    else
      finish_if_idle();
  }

  void finish_if_idle() {
    if (inflight_ == 0 && !quitting_) {
      quitting_ = true;
      ctl_->alive.fetch_sub(1);
      quit();
    }
  }

  Workload work_;
  std::shared_ptr<run_control> ctl_;
  driver_slot& slot_;
  int window_;
  std::uint64_t rng_;
  std::uint64_t k_ = 0;
  int inflight_ = 0;
  bool quitting_ = false;
};

/// Result of one measurement (or the sum of several slices of one).
struct figure {
  std::uint64_t ops = 0;
  double seconds = 0;
  std::uint64_t errors = 0;

  double ops_per_second() const { return seconds > 0 ? ops / seconds : 0; }
  figure& operator+=(const figure& other) {
    ops += other.ops;
    seconds += other.seconds;
    errors += other.errors;
    return *this;
  }
};

/// Measures one side of a scenario for the given number of seconds.
using probe = std::function<figure(double)>;

/// Measures the probes in `o.rounds` alternating slices of `o.seconds / o.rounds` each, so
/// that a change of machine load hits every side alike; sums each probe's slices.
std::vector<figure> interleave(const std::vector<probe>& probes, const bench_options& o) {
  std::vector<figure> out(probes.size());
  for (int r = 0; r < o.rounds; ++r)
    for (std::size_t i = 0; i < probes.size(); ++i)
      if (probes[i])
        out[i] += probes[i](o.seconds / o.rounds);
  return out;
}

/// Waits until `done()` or 30 s; false on timeout.
template <class Done>
bool wait_for(Done done) {
  auto deadline = steady::now() + 30s;
  while (!done()) {
    if (steady::now() > deadline)
      return false;
    std::this_thread::sleep_for(1ms);
  }
  return true;
}

/// Runs `o.drivers` drivers of `window` each over `work`: warm-up, then `seconds` measured.
template <class Workload>
figure measure_drivers(caf::actor_system& sys, const Workload& work, const bench_options& o,
                       int window, double seconds) {
  auto ctl = std::make_shared<run_control>(o.drivers);
  ctl->alive = o.drivers;
  for (int d = 0; d < o.drivers; ++d)
    sys.spawn<driver<Workload>>(work, ctl, d, window, 0x9e3779b97f4a7c15ULL * (d + 1));
  std::this_thread::sleep_for(std::chrono::duration<double>(o.warmup));
  auto start = steady::now();
  auto ops0 = ctl->ops();
  auto err0 = ctl->errors();
  std::this_thread::sleep_for(std::chrono::duration<double>(seconds));
  auto ops1 = ctl->ops();
  auto err1 = ctl->errors();
  auto elapsed = since(start);
  ctl->stop = true;
  if (!wait_for([&] { return ctl->alive.load() == 0; }))
    std::fprintf(stderr, "warning: drivers did not drain within 30 s\n");
  if (!ctl->first_error.empty())
    std::fprintf(stderr, "first error: %s\n", ctl->first_error.c_str());
  return figure{ops1 - ops0, elapsed, err1 - err0};
}

/// A probe of drivers over `work`.
template <class Workload>
probe drivers_probe(caf::actor_system& sys, Workload work, const bench_options& o, int window) {
  return [&sys, work, &o, window](double seconds) {
    return measure_drivers(sys, work, o, window, seconds);
  };
}

// -- plain-thread callers (the gateway's path) --------------------------------------------

/// The in-flight window of one plain caller thread; completions arrive on actor threads.
struct thread_window {
  std::mutex mtx;
  std::condition_variable cv;
  int inflight = 0;
  bool waiting = false;
  std::atomic<std::uint64_t> ops{0};
  std::atomic<std::uint64_t> errors{0};

  void complete(bool ok) {
    (ok ? ops : errors).fetch_add(1, std::memory_order_relaxed);
    bool wake;
    {
      std::lock_guard<std::mutex> guard{mtx};
      --inflight;
      wake = waiting;
    }
    if (wake)
      cv.notify_one();
  }

  /// Blocks until fewer than `limit` calls are in flight, then counts one more.
  void acquire(int limit) {
    std::unique_lock<std::mutex> lock{mtx};
    waiting = true;
    cv.wait(lock, [&] { return inflight < limit; });
    waiting = false;
    ++inflight;
  }

  /// Gives back a slot taken by acquire() whose call was never made.
  void release() {
    std::lock_guard<std::mutex> guard{mtx};
    --inflight;
  }

  void drain() {
    std::unique_lock<std::mutex> lock{mtx};
    waiting = true;
    cv.wait_for(lock, 30s, [&] { return inflight == 0; });
    waiting = false;
  }
};

/// `o.threads` plain threads each keep `window` calls in flight through `submit(i, k, win)`,
/// which returns false when it could not submit; `seconds` measured after a warm-up.
template <class Submit>
figure measure_threads(const bench_options& o, int window, double seconds, std::size_t targets,
                       Submit submit) {
  std::vector<std::unique_ptr<thread_window>> windows;
  for (int t = 0; t < o.threads; ++t)
    windows.push_back(std::make_unique<thread_window>());
  std::atomic<bool> stop{false};
  std::vector<std::thread> callers;
  for (int t = 0; t < o.threads; ++t) {
    callers.emplace_back([&, t] {
      auto& win = *windows[t];
      std::uint64_t rng = 0x2545f4914f6cdd1dULL * (t + 1), k = 0;
      while (!stop.load(std::memory_order_relaxed)) {
        win.acquire(window);
        if (!submit(next_random(rng) % targets, k++, win)) {
          win.release();
          win.errors.fetch_add(1, std::memory_order_relaxed);
        }
      }
      win.drain();
    });
  }
  auto total = [&](bool errors) {
    std::uint64_t n = 0;
    for (auto& w : windows)
      n += (errors ? w->errors : w->ops).load(std::memory_order_relaxed);
    return n;
  };
  std::this_thread::sleep_for(std::chrono::duration<double>(o.warmup));
  auto start = steady::now();
  auto ops0 = total(false);
  auto err0 = total(true);
  std::this_thread::sleep_for(std::chrono::duration<double>(seconds));
  auto ops1 = total(false);
  auto err1 = total(true);
  auto elapsed = since(start);
  stop = true;
  for (auto& c : callers)
    c.join();
  return figure{ops1 - ops0, elapsed, err1 - err0};
}

// -- activations -----------------------------------------------------------------------------

/// Activation timings: the spawn/resolve loop alone, and until every new actor answered once.
struct activation_figure {
  double loop_per_second = 0;
  double ready_per_second = 0;
};

/// The median of each field over several rounds.
activation_figure median_of(std::vector<activation_figure> rounds) {
  auto median = [&](double activation_figure::*field) {
    std::vector<double> v;
    for (auto& f : rounds)
      v.push_back(f.*field);
    std::sort(v.begin(), v.end());
    return v.empty() ? 0.0 : v[v.size() / 2];
  };
  return activation_figure{median(&activation_figure::loop_per_second),
                           median(&activation_figure::ready_per_second)};
}

/// Sends one basket_get to every handle from a scoped actor (pipelined) and waits for all
/// answers; returns how many arrived as errors.
std::size_t ping_all(caf::actor_system& sys, const std::vector<caf::actor>& handles) {
  caf::scoped_actor self{sys};
  for (auto& h : handles)
    self->send(h, actors::basket_get{});
  std::size_t errors = 0;
  std::size_t i = 0;
  self->receive_for(i, handles.size())([](std::uint64_t) {}, [](domain::basket&) {},
                                       [&](caf::error&) { ++errors; });
  return errors;
}

/// Times `spawn_all` (which fills `handles`), then the round of first answers.
template <class SpawnAll>
activation_figure time_activations(caf::actor_system& sys, std::size_t n, SpawnAll spawn_all) {
  std::vector<caf::actor> handles;
  handles.reserve(n);
  auto start = steady::now();
  spawn_all(handles);
  auto loop = since(start);
  if (auto errors = ping_all(sys, handles))
    std::fprintf(stderr, "warning: %zu activations answered an error\n", errors);
  auto ready = since(start);
  return activation_figure{n / loop, n / ready};
}

/// Runs `body` inside a freshly spawned actor and waits for it to finish.
void inside_actor(caf::actor_system& sys, std::function<void(caf::event_based_actor*)> body) {
  std::promise<void> finished;
  auto done = finished.get_future();
  sys.spawn([&](caf::event_based_actor* self) {
    body(self);
    finished.set_value();
  });
  done.wait();
}

void print_activation_row(const std::string& scenario, const activation_figure& bazaar,
                          const activation_figure& raw) {
  std::printf("%-44s %12.0f %12.0f %7.3f   | until answered: %10.0f %10.0f %7.3f  load=%s\n",
              scenario.c_str(), bazaar.loop_per_second, raw.loop_per_second,
              raw.loop_per_second > 0 ? bazaar.loop_per_second / raw.loop_per_second : 0,
              bazaar.ready_per_second, raw.ready_per_second,
              raw.ready_per_second > 0 ? bazaar.ready_per_second / raw.ready_per_second : 0,
              load_average().c_str());
  std::fflush(stdout);
}

/// Timeout of grain-to-grain calls, as a node configures it (runtime.call_timeout_ms default).
const std::chrono::milliseconds grain_call_timeout{
    bazaar::config::runtime_options{}.call_timeout_ms};

/// Grain services on process memory (the in-memory storage of unit tests).
runtime::grain_services in_memory_services() {
  runtime::grain_services s;
  s.storage = std::make_shared<bazaar::persistence::memory_storage>();
  s.call_timeout = grain_call_timeout;
  return s;
}

// -- setup -----------------------------------------------------------------------------------

/// Sends every message pipelined from a scoped actor and counts error answers.
template <class Msg>
std::size_t send_all(caf::actor_system& sys, const std::vector<std::pair<caf::actor, Msg>>& work) {
  caf::scoped_actor self{sys};
  for (auto& [h, msg] : work)
    self->send(h, msg);
  std::size_t errors = 0;
  std::size_t i = 0;
  self->receive_for(i, work.size())([](std::uint64_t) {}, [](domain::basket&) {},
                                    [](domain::product&) {}, [](std::int64_t) {},
                                    [&](caf::error&) { ++errors; });
  return errors;
}

bool selected(const bench_options& o, const std::string& group) {
  return o.only.empty() || std::find(o.only.begin(), o.only.end(), group) != o.only.end();
}

int run(const bench_options& o) {
  bazaar::config::runtime_options ropts;
  ropts.max_threads = o.max_threads;
  ropts.scheduler_policy = o.policy;
  caf::actor_system_config cfg;
  actors::register_types(cfg);
  runtime::register_interface<quote_grain::interface>(cfg);
  runtime::configure(cfg, ropts);
  caf::actor_system sys{cfg};
  runtime::system_clock clock;
  auto host = std::make_unique<runtime::host>(sys, clock, ropts, 5000ms);
  auto services = in_memory_services();
  actors::register_grains(host->grains(), bazaar::config::node_options{}, services);
  runtime::register_durable_grain(host->grains(), quote_grain{}, services, 10min);
  host->start();
  auto grains = host->grains_ptr();

  std::printf("bench_grains: baskets=%d drivers=%d caller-threads=%d seconds=%.1f in %d rounds "
              "warmup=%.1f scheduler.max-threads=%d policy=%s nproc=%u\n",
              o.baskets, o.drivers, o.threads, o.seconds, o.rounds, o.warmup, o.max_threads,
              o.policy.c_str(), std::thread::hardware_concurrency());
  std::printf("load at start: %s\n", load_average().c_str());

  // Products: product grains and their raw twins.
  auto raw_products = std::make_shared<raw_product_map>();
  {
    std::vector<std::pair<caf::actor, actors::product_create>> creates;
    for (const auto& sku : all_skus()) {
      domain::product_draft d;
      d.sku = sku;
      d.name = "Product " + sku;
      d.category = "bench";
      d.price_cents = 1999;
      d.stock = 1'000'000;
      creates.emplace_back(*grains->resolve(grain_id{actors::inventory_grain::type, sku}),
                           product_create_of(d));
      raw_products->emplace(sku, sys.spawn(raw_product, std::int64_t{1999}));
    }
    if (auto errors = send_all(sys, creates)) {
      std::fprintf(stderr, "setup: %zu product creations failed\n", errors);
      return 1;
    }
  }

  // Baskets: pre-activated grains and raw actors, each with the preloaded lines.
  auto ids = std::make_shared<std::vector<grain_id>>();
  auto raw_baskets = std::make_shared<std::vector<caf::actor>>();
  auto domain_baskets = std::make_shared<std::vector<caf::actor>>();
  auto grain_handles = std::make_shared<std::vector<caf::actor>>();
  {
    std::vector<std::pair<caf::actor, actors::basket_add>> grain_adds;
    std::vector<std::pair<caf::actor, actors::basket_set>> raw_sets;
    for (int i = 0; i < o.baskets; ++i) {
      ids->push_back(grain_id{actors::basket_grain::type, "customer-" + std::to_string(i)});
      auto grain = *grains->resolve(ids->back());
      grain_handles->push_back(grain);
      raw_baskets->push_back(sys.spawn(raw_basket, raw_products));
      domain_baskets->push_back(sys.spawn(domain_basket));
      for (const auto& sku : preloaded_skus()) {
        grain_adds.emplace_back(grain, basket_command<actors::basket_add>(sku, 1));
        raw_sets.emplace_back(raw_baskets->back(), basket_command<actors::basket_set>(sku, 1));
        raw_sets.emplace_back(domain_baskets->back(), basket_command<actors::basket_set>(sku, 1));
      }
    }
    auto errors = send_all(sys, grain_adds) + send_all(sys, raw_sets);
    if (errors) {
      std::fprintf(stderr, "setup: %zu basket preloads failed\n", errors);
      return 1;
    }
  }
  // Quoters: grains (activated by their first quote) and raw actors.
  auto quote_ids = std::make_shared<std::vector<grain_id>>();
  auto raw_quoters = std::make_shared<std::vector<caf::actor>>();
  {
    std::vector<std::pair<caf::actor, quote>> first_quotes;
    for (int i = 0; i < o.baskets; ++i) {
      quote_ids->push_back(grain_id{quote_grain::type, "q-" + std::to_string(i)});
      first_quotes.emplace_back(*grains->resolve(quote_ids->back()), quote_message(i));
      raw_quoters->push_back(sys.spawn(raw_quoter, raw_products));
    }
    if (auto errors = send_all(sys, first_quotes)) {
      std::fprintf(stderr, "setup: %zu first quotes failed\n", errors);
      return 1;
    }
  }
  std::printf("setup: %zu active grains (%d baskets with %zu lines each, %zu products)\n\n",
              grains->size(), o.baskets, preloaded_skus().size(), all_skus().size());

  std::printf("%-44s %6s %12s %12s %7s  %-5s\n", "scenario", "window", "bazaar op/s", "raw op/s",
              "ratio", "goal");
  using raw_quote = raw_workload<quote, quote_message, std::int64_t>;
  using grain_quote = grain_workload<quote, quote_message, std::int64_t>;
  using raw_get = raw_workload<actors::basket_get, get_message>;
  using grain_get = grain_workload<actors::basket_get, get_message>;
  using raw_set = raw_workload<actors::basket_set, set_message>;
  using raw_add = raw_workload<actors::basket_add, add_message>;
  using grain_set = grain_workload<actors::basket_set, set_message>;
  using grain_add = grain_workload<actors::basket_add, add_message>;
  int failures = 0;

  // Prints a row; `key` names its BENCH_RESULT line (analysis rows have none).
  auto row = [&](const std::string& name, int w, const figure& baz, const figure& raw, double goal,
                 const std::string& key = {}) {
    print_row(name, w, baz.ops_per_second(), raw.ops_per_second(), goal, baz.errors + raw.errors);
    if (!key.empty() && !o.bazaar_only) {
      bazaar::bench::result r{"grains." + key + ".w" + std::to_string(w),
                              baz.ops_per_second(),
                              "op/s",
                              raw.ops_per_second(),
                              "op/s",
                              std::nullopt};
      if (goal > 0)
        r.target = bazaar::bench::ratio_at_least(goal);
      bazaar::bench::print_result(r);
    }
    if (goal > 0 && raw.ops_per_second() > 0 && baz.ops_per_second() / raw.ops_per_second() < goal)
      ++failures;
  };
  auto unless_bazaar_only = [&](probe p) { return o.bazaar_only ? probe{} : std::move(p); };

  if (selected(o, "get")) {
    for (int w : o.windows) {
      auto f = interleave({unless_bazaar_only(drivers_probe(sys, raw_get{raw_baskets}, o, w)),
                           drivers_probe(sys, grain_get{grains, ids}, o, w)},
                          o);
      row("get, actor drivers (read of an active grain)", w, f[1], f[0], 0.7, "get");
    }
  }
  if (selected(o, "call")) {
    for (int w : o.windows) {
      auto f = interleave({unless_bazaar_only(drivers_probe(sys, raw_quote{raw_quoters}, o, w)),
                           drivers_probe(sys, grain_quote{grains, quote_ids}, o, w)},
                          o);
      row("call, grain asks a product grain (two hops)", w, f[1], f[0], 0.6, "call");
    }
  }
  if (selected(o, "set")) {
    for (int w : o.windows) {
      auto f =
          interleave({unless_bazaar_only(drivers_probe(sys, raw_set{raw_baskets}, o, w)),
                      drivers_probe(sys, grain_set{grains, ids}, o, w),
                      unless_bazaar_only(drivers_probe(sys, handle_workload{domain_baskets}, o, w)),
                      unless_bazaar_only(drivers_probe(sys, handle_workload{grain_handles}, o, w))},
                     o);
      row("set, actor drivers (durable, memory storage)", w, f[1], f[0], 0, "set");
      if (!o.bazaar_only) {
        row("  set, raw actor answering a domain::basket", w, f[2], f[0], 0);
        row("  set, grain actor by cached handle", w, f[3], f[0], 0);
      }
    }
  }
  if (selected(o, "add")) {
    for (int w : o.windows) {
      // basket_add calls the product grain (no CAF timer per call: the idle collector's sweep
      // times calls out), the raw basket a raw product actor.
      auto f = interleave({unless_bazaar_only(drivers_probe(sys, raw_add{raw_baskets}, o, w)),
                           drivers_probe(sys, grain_add{grains, ids}, o, w)},
                          o);
      row("add, actor drivers (durable + product grain)", w, f[1], f[0], 0, "add");
    }
  }
  if (selected(o, "client")) {
    std::vector<caf::actor> relays;
    for (int i = 0; i < runtime::effective_threads(ropts); ++i)
      relays.push_back(sys.spawn(raw_relay));
    std::atomic<std::size_t> next_relay{0};
    auto& client = host->client();
    for (int w : o.windows) {
      probe raw = [&](double seconds) {
        return measure_threads(o, w, seconds, raw_baskets->size(),
                               [&](std::size_t i, std::uint64_t k, thread_window& win) {
                                 auto call = std::make_shared<raw_call>(
                                     raw_call{(*raw_baskets)[i], set_message(k),
                                              [&win](bool ok) { win.complete(ok); }});
                                 auto r = next_relay.fetch_add(1, std::memory_order_relaxed);
                                 caf::anon_send(relays[r % relays.size()],
                                                runtime::dispatch_atom::value, std::move(call));
                                 return true;
                               });
      };
      probe baz = [&](double seconds) {
        return measure_threads(
            o, w, seconds, ids->size(), [&](std::size_t i, std::uint64_t k, thread_window& win) {
              return client.ask<domain::basket>((*ids)[i], set_message(k),
                                                [&win](caf::expected<domain::basket> reply) {
                                                  win.complete(static_cast<bool>(reply));
                                                });
            });
      };
      auto f = interleave({unless_bazaar_only(raw), baz}, o);
      row("set, plain threads via grain_client::ask", w, f[1], f[0], 0, "client");
    }
    for (auto& r : relays)
      caf::anon_send_exit(r, caf::exit_reason::user_shutdown);
  }

  std::vector<caf::actor> raw_spawned;
  if (selected(o, "activate") && o.activations > 0) {
    auto n = static_cast<std::size_t>(o.activations);
    std::printf(
        "\nactivations: %zu new grains or actors per variant and round, median of %d rounds\n", n,
        o.activation_rounds);
    std::printf("%-44s %12s %12s %7s   | %15s %10s %7s\n", "activations (new ids / spawns)",
                "bazaar /s", "raw /s", "ratio", "bazaar /s", "raw /s", "ratio");
    auto new_ids = [&](const std::string& prefix) {
      std::vector<grain_id> out;
      out.reserve(n);
      for (std::size_t i = 0; i < n; ++i)
        out.push_back(grain_id{actors::basket_grain::type, prefix + std::to_string(i)});
      return out;
    };
    auto keep = [&](std::vector<caf::actor>& handles) {
      raw_spawned.insert(raw_spawned.end(), handles.begin(), handles.end());
    };

    // Every variant spawns n new actors per round; rounds alternate the variants; medians.
    std::vector<activation_figure> raw_thread, baz_thread, raw_actor, raw_actor_sys, baz_actor;
    for (int r = 0; r < o.activation_rounds; ++r) {
      auto tag = std::to_string(r) + "-";
      auto thread_ids = new_ids("thread-" + tag);
      raw_thread.push_back(time_activations(sys, n, [&](std::vector<caf::actor>& handles) {
        for (std::size_t i = 0; i < n; ++i)
          handles.push_back(sys.spawn(raw_basket, raw_products));
        keep(handles);
      }));
      baz_thread.push_back(time_activations(sys, n, [&](std::vector<caf::actor>& handles) {
        for (auto& id : thread_ids)
          handles.push_back(*grains->resolve(id));
      }));
      auto actor_ids = new_ids("actor-" + tag);
      raw_actor.push_back(time_activations(sys, n, [&](std::vector<caf::actor>& handles) {
        inside_actor(sys, [&](caf::event_based_actor* self) {
          for (std::size_t i = 0; i < n; ++i)
            handles.push_back(self->spawn(raw_basket, raw_products));
        });
        keep(handles);
      }));
      raw_actor_sys.push_back(time_activations(sys, n, [&](std::vector<caf::actor>& handles) {
        inside_actor(sys, [&](caf::event_based_actor*) {
          for (std::size_t i = 0; i < n; ++i)
            handles.push_back(sys.spawn(raw_basket, raw_products));
        });
        keep(handles);
      }));
      baz_actor.push_back(time_activations(sys, n, [&](std::vector<caf::actor>& handles) {
        inside_actor(sys, [&](caf::event_based_actor*) {
          for (auto& id : actor_ids)
            handles.push_back(*grains->resolve(id));
        });
      }));
    }
    print_activation_row("from a plain thread", median_of(baz_thread), median_of(raw_thread));
    bazaar::bench::print_result({"grains.activate.thread", median_of(baz_thread).loop_per_second,
                                 "activations/s", median_of(raw_thread).loop_per_second, "spawns/s",
                                 std::nullopt});
    print_activation_row("from inside an actor (raw: self->spawn)", median_of(baz_actor),
                         median_of(raw_actor));
    print_activation_row("from inside an actor (raw: system.spawn)", median_of(baz_actor),
                         median_of(raw_actor_sys));
  }

  std::printf("\nload at end: %s\n", load_average().c_str());
  for (auto& h : *raw_baskets)
    caf::anon_send_exit(h, caf::exit_reason::user_shutdown);
  for (auto& h : *domain_baskets)
    caf::anon_send_exit(h, caf::exit_reason::user_shutdown);
  for (auto& [sku, h] : *raw_products)
    caf::anon_send_exit(h, caf::exit_reason::user_shutdown);
  for (auto& h : raw_spawned)
    caf::anon_send_exit(h, caf::exit_reason::user_shutdown);
  host->stop(30s);
  host.reset();
  return failures == 0 ? 0 : 3;
}

} // namespace

int main(int argc, char** argv) {
  CLI::App app{"Basket grains against raw CAF request/response, same process, same run"};
  bench_options o;
  app.add_option("--seconds", o.seconds, "Measured seconds per scenario and side")
      ->capture_default_str();
  app.add_option("--rounds", o.rounds, "Alternating slices the seconds are split into")
      ->capture_default_str()
      ->check(CLI::Range(1, 100));
  app.add_option("--warmup", o.warmup, "Warm-up seconds before each measurement")
      ->capture_default_str();
  app.add_option("--baskets", o.baskets, "Baskets (grains and raw actors)")
      ->capture_default_str()
      ->check(CLI::Range(1, 10'000'000));
  app.add_option("--drivers", o.drivers, "Driver actors")->capture_default_str();
  app.add_option("--threads", o.threads, "Plain caller threads of the grain_client scenario")
      ->capture_default_str();
  app.add_option("--windows", o.windows, "Requests in flight per driver or thread")
      ->delimiter(',')
      ->capture_default_str();
  app.add_option("--activations", o.activations, "New grains/actors per activation scenario")
      ->capture_default_str();
  app.add_option("--activation-rounds", o.activation_rounds,
                 "Rounds of every activation variant (the median is printed)")
      ->capture_default_str()
      ->check(CLI::Range(1, 20));
  app.add_option("--max-threads", o.max_threads, "scheduler.max-threads")->capture_default_str();
  app.add_option("--policy", o.policy, "Scheduler policy")
      ->check(CLI::IsMember({"stealing", "sharing"}))
      ->capture_default_str();
  app.add_option("--only", o.only, "Run only these groups: get, call, set, add, client, activate")
      ->delimiter(',');
  app.add_flag("--bazaar-only", o.bazaar_only,
               "Skip the raw baselines (for profiling the Bazaar path alone; no ratios)");
  CLI11_PARSE(app, argc, argv);
  return run(o);
}
