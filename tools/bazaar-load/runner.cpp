#include "runner.hpp"

#include "http_connection.hpp"

#include <bazaar/core/time.hpp>

#include <boost/json.hpp>

#include <algorithm>
#include <atomic>
#include <cmath>
#include <memory>
#include <random>
#include <thread>

#include <sys/resource.h>

namespace bazaar::load {

namespace json = boost::json;

namespace {

double cpu_now() {
  rusage u{};
  ::getrusage(RUSAGE_SELF, &u);
  auto seconds = [](const timeval& t) {
    return static_cast<double>(t.tv_sec) + static_cast<double>(t.tv_usec) / 1e6;
  };
  return seconds(u.ru_utime) + seconds(u.ru_stime);
}

} // namespace

bool is_terminal(const std::string& status) {
  return status == "confirmed" || status == "cancelled" || status == "shipped" ||
         status == "delivered";
}

std::optional<std::int64_t> order_created_to_final_ms(const json::value& order) {
  const auto* o = order.if_object();
  const auto* timeline = o ? o->if_contains("timeline") : nullptr;
  if (timeline == nullptr || !timeline->is_array())
    return std::nullopt;
  std::optional<core::timestamp_ms> created;
  for (const auto& step : timeline->get_array()) {
    const auto* entry = step.if_object();
    const auto* status = entry ? entry->if_contains("status") : nullptr;
    const auto* at = entry ? entry->if_contains("at") : nullptr;
    if (status == nullptr || !status->is_string() || at == nullptr || !at->is_string())
      return std::nullopt;
    auto when = core::parse_rfc3339(at->get_string());
    if (!when)
      return std::nullopt;
    if (!created)
      created = when;
    else if (is_terminal(std::string{status->get_string()}))
      return *when >= *created ? std::optional<std::int64_t>{*when - *created} : std::nullopt;
  }
  return std::nullopt;
}

namespace {

std::uint64_t nanos_since(load_clock::time_point t) {
  auto d = load_clock::now() - t;
  return d.count() < 0 ? 0
                       : static_cast<std::uint64_t>(
                             std::chrono::duration_cast<std::chrono::nanoseconds>(d).count());
}

/// Draws an index in [0, n): uniformly, or by Zipf's law (rank k with weight 1 / k^s).
class sampler {
 public:
  sampler(std::size_t n, bool zipf, double exponent) : n_{n} {
    if (!zipf)
      return;
    cdf_.reserve(n);
    double sum = 0;
    for (std::size_t k = 1; k <= n; ++k) {
      sum += 1.0 / std::pow(static_cast<double>(k), exponent);
      cdf_.push_back(sum);
    }
    for (auto& c : cdf_)
      c /= sum;
  }

  std::size_t operator()(std::mt19937_64& rng) const {
    if (cdf_.empty())
      return std::uniform_int_distribution<std::size_t>{0, n_ - 1}(rng);
    auto u = std::uniform_real_distribution<double>{0, 1}(rng);
    auto it = std::lower_bound(cdf_.begin(), cdf_.end(), u);
    return std::min<std::size_t>(static_cast<std::size_t>(it - cdf_.begin()), n_ - 1);
  }

 private:
  std::size_t n_;
  std::vector<double> cdf_;
};

/// What every worker shares.
struct run_context {
  const load_options& options;
  const shop& s;
  basket_model& model;
  const std::vector<target>& targets;
  sampler customers;
  sampler skus;
  std::atomic<bool> stopping{false};
  std::atomic<std::uint64_t> started{0};
  std::atomic<std::uint64_t> checkouts_unknown{0};

  /// Takes one iteration of the budget; false once the run is over.
  bool may_start() {
    if (stopping.load(std::memory_order_relaxed))
      return false;
    if (options.requests == 0)
      return true;
    return started.fetch_add(1, std::memory_order_relaxed) < options.requests;
  }
};

/// One thread's part of the run.
struct worker_env {
  run_context& ctx;
  event_loop& loop;
  recorder& stats;
  std::vector<order_record>& orders;
};

/// A virtual user: one connection, one customer at a time, one iteration at a time.
class virtual_user {
 public:
  virtual_user(worker_env& env, std::size_t index, const target& to)
      : env_{env}, index_{index}, connection_{env.loop, to, env.ctx.options.keep_alive,
                                              env.ctx.options.timeout},
        rng_{env.ctx.options.seed * 1000003 + index} {}

  bool busy() const { return static_cast<bool>(done_); }
  std::uint64_t connects() const { return connection_.connects(); }

  /// Starts an iteration due at `intended`; `done` runs when it ended.
  void start(load_clock::time_point intended, std::function<void()> done) {
    done_ = std::move(done);
    intended_ = intended;
    first_request_ = true;
    acquire_customer();
    const auto& o = env_.ctx.options;
    bool checkout = o.scenario == scenario::checkout ||
                    (o.scenario == scenario::mixed &&
                     std::uniform_real_distribution<double>{0, 1}(rng_) < o.checkout_share);
    if (checkout) {
      lines_left_ = std::uniform_int_distribution<int>{1, o.max_lines}(rng_);
      checkout_fill();
    } else {
      basket_step();
    }
  }

 private:
  basket_model& model() { return env_.ctx.model; }
  const shop& s() { return env_.ctx.s; }

  void acquire_customer() {
    auto& m = model();
    for (int attempt = 0; attempt < 64; ++attempt) {
      auto c = env_.ctx.customers(rng_);
      if (m.try_acquire(c)) {
        customer_ = c;
        return;
      }
    }
    // Hot customers are all held: the next free one after a random start (there is one, since
    // there are more customers than users).
    auto n = m.customers();
    auto from = std::uniform_int_distribution<std::size_t>{0, n - 1}(rng_);
    for (std::size_t i = 0;; ++i) {
      auto c = (from + i) % n;
      if (m.try_acquire(c)) {
        customer_ = c;
        return;
      }
      if (i > 0 && i % n == 0)
        std::this_thread::yield();
    }
  }

  /// Sends one request of the iteration. The first is timed from the iteration's intended
  /// start (open loop: time waiting for its turn counts), the others from their sending.
  void send(request_kind kind, http_request r, std::function<void(http_outcome&)> then) {
    auto from = first_request_ ? intended_ : load_clock::now();
    first_request_ = false;
    connection_.send(r, [this, kind, from, then = std::move(then)](http_outcome o) {
      env_.stats.request(kind, o.status, o.failure, nanos_since(from));
      then(o);
    });
  }

  int draw_sku() { return static_cast<int>(env_.ctx.skus(rng_)); }

  /// An add or set that the node will take: a line stays within 999 units and a basket within
  /// 100 lines (the node refuses more; that would only measure refusals).
  basket_op writable(basket_op op) {
    auto& m = model();
    if (op.what == basket_op::kind::add || op.what == basket_op::kind::set) {
      // (The list of lines is built only for a full basket, not for every write.)
      if (m.line_count(customer_) >= 100 && !m.has_line(customer_, op.sku)) {
        auto lines = m.expected_skus(customer_);
        op.sku = lines[std::uniform_int_distribution<std::size_t>{0, lines.size() - 1}(rng_)];
      }
      if (op.what == basket_op::kind::add &&
          m.expected_quantity(customer_, op.sku) + op.quantity > 999)
        op.what = basket_op::kind::set;
    }
    return op;
  }

  basket_op next_basket_op() {
    const auto& mix = env_.ctx.options.mix;
    double total = mix.add + mix.set + mix.remove + mix.get + mix.clear;
    double u = std::uniform_real_distribution<double>{0, total}(rng_);
    basket_op op;
    op.sku = draw_sku();
    if ((u -= mix.add) < 0) {
      op.what = basket_op::kind::add;
      op.quantity = std::uniform_int_distribution<int>{1, 3}(rng_);
    } else if ((u -= mix.set) < 0) {
      op.what = basket_op::kind::set;
      op.quantity = std::uniform_int_distribution<int>{0, 5}(rng_);
    } else if ((u -= mix.remove) < 0) {
      op.what = basket_op::kind::remove;
      auto lines = model().expected_skus(customer_);
      if (!lines.empty())
        op.sku = lines[std::uniform_int_distribution<std::size_t>{0, lines.size() - 1}(rng_)];
    } else if ((u -= mix.get) < 0 || mix.clear <= 0) {
      op.what = basket_op::kind::get;
    } else {
      op.what = basket_op::kind::clear;
    }
    return writable(op);
  }

  http_request basket_request(const basket_op& op) {
    const auto& token = s().customer_tokens[customer_];
    auto sku = op.sku >= 0 ? s().skus[static_cast<std::size_t>(op.sku)] : std::string{};
    switch (op.what) {
    case basket_op::kind::add:
      return {"POST",
              "/api/v1/basket/items",
              token,
              json::serialize(json::object{{"sku", sku}, {"quantity", op.quantity}}),
              {}};
    case basket_op::kind::set:
      return {"PUT",
              "/api/v1/basket/items/" + sku,
              token,
              json::serialize(json::object{{"quantity", op.quantity}}),
              {}};
    case basket_op::kind::remove:
      return {"DELETE", "/api/v1/basket/items/" + sku, token, {}, {}};
    case basket_op::kind::clear:
      return {"DELETE", "/api/v1/basket", token, {}, {}};
    case basket_op::kind::get:
    case basket_op::kind::checkout:
      break;
    }
    return {"GET", "/api/v1/basket", token, {}, {}};
  }

  static request_kind kind_of(basket_op::kind k) {
    switch (k) {
    case basket_op::kind::add:
      return request_kind::add;
    case basket_op::kind::set:
      return request_kind::set;
    case basket_op::kind::remove:
      return request_kind::remove;
    case basket_op::kind::clear:
      return request_kind::clear;
    case basket_op::kind::checkout:
      return request_kind::checkout;
    case basket_op::kind::get:
      break;
    }
    return request_kind::get;
  }

  /// Records what an answer to a basket operation tells the model.
  void learn(const basket_op& op, const http_outcome& o) {
    bool write = op.what != basket_op::kind::get;
    if (o.status >= 200 && o.status < 300) {
      auto view = s().parse_basket(o.body);
      if (view)
        model().acknowledged(customer_, op, &*view);
      else if (write)
        model().unknown(customer_, op); // a 2xx that is not a basket: nothing to learn from
      return;
    }
    // A refusal (4xx) and 503 change nothing; without an answer, or with 500 or 504, the
    // write may have happened. A connection that was never made sent nothing.
    bool refused = (o.status >= 400 && o.status < 500) || o.status == 503;
    if (write && !refused && (o.answered() || o.sent))
      model().unknown(customer_, op);
  }

  void basket_step() {
    auto op = next_basket_op();
    send(kind_of(op.what), basket_request(op), [this, op](http_outcome& o) {
      learn(op, o);
      finish(!o.answered() && o.failure == "connect");
    });
  }

  // -- checkout: fill the basket, check out, follow the order to a terminal status ----------

  void checkout_fill() {
    if (env_.ctx.stopping) {
      finish(false);
      return;
    }
    if (lines_left_ <= 0) {
      checkout_key_ =
          "load-" + s().run_id + "-u" + std::to_string(index_) + "-" + std::to_string(++checkouts_);
      checkout_send(0);
      return;
    }
    --lines_left_;
    basket_op op{basket_op::kind::add, draw_sku(), std::uniform_int_distribution<int>{1, 2}(rng_)};
    op = writable(op);
    send(kind_of(op.what), basket_request(op), [this, op](http_outcome& o) {
      learn(op, o);
      if (!o.answered() && o.failure == "connect")
        finish(true);
      else
        checkout_fill();
    });
  }

  void checkout_send(int attempt) {
    if (model().expected_skus(customer_).empty()) {
      finish(false); // nothing got into the basket: no checkout to make
      return;
    }
    const auto& o = env_.ctx.options;
    bool decline = std::uniform_real_distribution<double>{0, 1}(rng_) < o.decline_share;
    http_request r{
        "POST", "/api/v1/basket/checkout", s().customer_tokens[customer_],
        json::serialize(json::object{
            {"payment", json::object{{"card_token", decline ? "tok_decline" : "tok_load"}}}}),
        checkout_key_};
    send(request_kind::checkout, r, [this, attempt](http_outcome& answer) {
      basket_op op{basket_op::kind::checkout, -1, 0};
      if (answer.status == 202) {
        model().acknowledged(customer_, op, nullptr);
        auto v = parse_json(answer.body);
        const auto* id = v.is_object() ? v.as_object().if_contains("order_id") : nullptr;
        if (id == nullptr || !id->is_string()) {
          finish(false);
          return;
        }
        env_.orders.push_back(
            order_record{std::string{id->as_string()}, customer_, "pending", {}, false});
        order_ = env_.orders.size() - 1;
        accepted_ = load_clock::now();
        follow_order();
        return;
      }
      bool refused = answer.status >= 400 && answer.status < 500;
      if (refused) {
        finish(false);
        return;
      }
      // 503 (nothing happened) or no answer (it may have): the same Idempotency-Key again
      // either makes it or returns the order it made.
      if (attempt < 3 && !env_.ctx.stopping) {
        env_.loop.at(load_clock::now() + std::chrono::milliseconds{200},
                     [this, attempt] { checkout_send(attempt + 1); });
        return;
      }
      if (answer.status != 503 && (answer.answered() || answer.sent)) {
        model().unknown(customer_, op);
        env_.ctx.checkouts_unknown.fetch_add(1);
      }
      finish(false);
    });
  }

  void follow_order() {
    auto& record = env_.orders[order_];
    send(request_kind::order,
         {"GET", "/api/v1/orders/" + record.order_id, s().customer_tokens[customer_], {}, {}},
         [this](http_outcome& o) {
           auto& record = env_.orders[order_];
           if (o.status == 200) {
             auto v = parse_json(o.body);
             if (v.is_object()) {
               if (const auto* st = v.as_object().if_contains("status"); st && st->is_string())
                 record.status = std::string{st->as_string()};
             }
             if (is_terminal(record.status)) {
               record.terminal = true;
               // Seen at this poll (late by up to one), and exactly by the order's timeline.
               std::optional<std::uint64_t> on_node;
               if (auto ms = order_created_to_final_ms(v))
                 on_node = static_cast<std::uint64_t>(*ms) * 1000000;
               env_.stats.order(nanos_since(accepted_), on_node);
               finish(false);
               return;
             }
           }
           const auto& opts = env_.ctx.options;
           if (env_.ctx.stopping || load_clock::now() - accepted_ > opts.order_timeout) {
             finish(false); // the final checks follow it
             return;
           }
           env_.loop.at(load_clock::now() + opts.poll, [this] { follow_order(); });
         });
  }

  /// Ends the iteration; `backoff` when the node could not be reached (so that a closed loop
  /// does not spin on a node that is down).
  void finish(bool backoff) {
    model().release(customer_);
    env_.stats.iteration(nanos_since(intended_), true);
    auto done = std::move(done_);
    done_ = nullptr;
    if (backoff)
      env_.loop.at(load_clock::now() + std::chrono::milliseconds{50}, std::move(done));
    else
      done();
  }

  worker_env& env_;
  std::size_t index_;
  http_connection connection_;
  std::mt19937_64 rng_;
  std::function<void()> done_;
  load_clock::time_point intended_;
  bool first_request_ = false;
  std::size_t customer_ = 0;
  int lines_left_ = 0;
  std::uint64_t checkouts_ = 0;
  std::string checkout_key_;
  std::size_t order_ = 0;
  load_clock::time_point accepted_;
};

/// One thread: its loop, its users, its recorder.
class worker {
 public:
  worker(run_context& ctx, std::size_t first_user, std::size_t users, double rate)
      : ctx_{ctx}, env_{ctx, loop_, stats_, orders_}, rate_{rate} {
    for (std::size_t i = 0; i < users; ++i) {
      auto index = first_user + i;
      users_.push_back(
          std::make_unique<virtual_user>(env_, index, ctx.targets[index % ctx.targets.size()]));
    }
  }

  recorder& stats() { return stats_; }
  std::vector<order_record>& orders() { return orders_; }
  std::uint64_t connects() const {
    std::uint64_t n = 0;
    for (const auto& u : users_)
      n += u->connects();
    return n;
  }

  void run(load_clock::time_point start) {
    start_ = start;
    if (rate_ > 0) {
      for (auto& u : users_)
        idle_.push_back(u.get());
      loop_.at(start, [this] { pace(); });
    } else {
      for (auto& u : users_)
        next(*u);
    }
    loop_.run([this] { return over_ && busy_ == 0; });
  }

 private:
  /// Closed loop: the user's next iteration, if the run goes on.
  void next(virtual_user& u) {
    if (!ctx_.may_start()) {
      over_ = true;
      return;
    }
    ++busy_;
    u.start(load_clock::now(), [this, &u] {
      --busy_;
      loop_.at(load_clock::now(), [this, &u] { next(u); });
    });
  }

  /// Open loop: starts every iteration due by now, each timed from when it was due.
  void pace() {
    auto now = load_clock::now();
    auto due_at = [this](std::uint64_t i) {
      return start_ + std::chrono::duration_cast<load_clock::duration>(
                          std::chrono::duration<double>(static_cast<double>(i) / rate_));
    };
    while (due_at(ticks_) <= now) {
      if (!ctx_.may_start()) {
        over_ = true;
        return;
      }
      auto intended = due_at(ticks_++);
      if (idle_.empty()) {
        stats_.dropped();
        continue;
      }
      auto* u = idle_.back();
      idle_.pop_back();
      ++busy_;
      u->start(intended, [this, u] {
        --busy_;
        idle_.push_back(u);
      });
    }
    loop_.at(due_at(ticks_), [this] { pace(); });
  }

  run_context& ctx_;
  event_loop loop_;
  recorder stats_;
  std::vector<order_record> orders_;
  worker_env env_;
  double rate_;
  std::vector<std::unique_ptr<virtual_user>> users_;
  std::vector<virtual_user*> idle_;
  std::size_t busy_ = 0;
  bool over_ = false;
  load_clock::time_point start_;
  std::uint64_t ticks_ = 0;
};

} // namespace

run_result run_load(const load_options& o, const shop& s, basket_model& model,
                    const std::vector<target>& targets,
                    const std::function<void(const interval_point&, const run_totals&)>& progress,
                    const std::atomic<bool>& interrupted) {
  run_context ctx{o,
                  s,
                  model,
                  targets,
                  sampler{o.customers, o.zipf, o.zipf_exponent},
                  sampler{o.skus, o.zipf, o.zipf_exponent}};
  auto threads = static_cast<std::size_t>(std::max(1, std::min(o.threads, o.concurrency)));
  auto users = static_cast<std::size_t>(o.concurrency);
  std::vector<std::unique_ptr<worker>> workers;
  for (std::size_t t = 0, first = 0; t < threads; ++t) {
    auto n = users / threads + (t < users % threads ? 1 : 0);
    workers.push_back(
        std::make_unique<worker>(ctx, first, n, o.rate / static_cast<double>(threads)));
    first += n;
  }
  auto start = load_clock::now();
  auto cpu_start = cpu_now();
  std::atomic<std::size_t> running{threads};
  std::vector<std::thread> pool;
  for (auto& w : workers)
    pool.emplace_back([&, w = w.get()] {
      w->run(start);
      running.fetch_sub(1);
    });

  run_result result;
  auto deadline = o.duration.count() > 0 ? start + o.duration : load_clock::time_point::max();
  auto last = start;
  auto collect = [&](load_clock::time_point now) {
    interval_point p;
    latency_histogram h;
    for (auto& w : workers)
      w->stats().take_interval(h, p.requests, p.errors, p.dropped);
    p.end_s = std::chrono::duration<double>(now - start).count();
    p.seconds = std::chrono::duration<double>(now - last).count();
    p.p50 = h.percentile(50);
    p.p90 = h.percentile(90);
    p.p99 = h.percentile(99);
    p.max = h.max();
    last = now;
    result.timeline.push_back(p);
    if (progress) {
      run_totals so_far;
      for (auto& w : workers)
        so_far.merge(w->stats().totals());
      progress(p, so_far);
    }
  };
  auto next_tick = start + std::chrono::seconds{1};
  while (running.load() > 0) {
    auto wake = std::min(next_tick, deadline);
    std::this_thread::sleep_until(
        std::min(wake, load_clock::now() + std::chrono::milliseconds{50}));
    auto now = load_clock::now();
    if (now >= deadline)
      ctx.stopping = true;
    if (interrupted.load() && !ctx.stopping.exchange(true))
      result.interrupted = true;
    if (now >= next_tick) {
      collect(now);
      next_tick += std::chrono::seconds{1};
    }
  }
  for (auto& t : pool)
    t.join();
  auto end = load_clock::now();
  if (end - last > std::chrono::milliseconds{100} || result.timeline.empty())
    collect(end);
  result.seconds = std::chrono::duration<double>(end - start).count();
  result.cpu_seconds = cpu_now() - cpu_start;
  for (auto& w : workers) {
    result.totals.merge(w->stats().totals());
    for (auto& order : w->orders())
      result.orders.push_back(std::move(order));
    result.connections_opened += w->connects();
  }
  result.checkouts_unknown = ctx.checkouts_unknown.load();
  return result;
}

} // namespace bazaar::load
