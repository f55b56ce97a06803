#pragma once

/// How code that is not an actor (the HTTP gateway) calls grains without blocking: `ask`
/// hands the call to one of a few dispatcher actors, which resolve the grain, send the
/// request and run the callback when the answer, an error or the timeout comes. Requests in
/// flight are bounded; past the bound `ask` refuses at once so the caller can answer 503.
/// Timeouts use one sweep timer per dispatcher, never a timer per request, and the catalog's
/// (injected) clock.

#include "bazaar/runtime/catalog.hpp"
#include "bazaar/runtime/errors.hpp"
#include "bazaar/runtime/grain_call.hpp"
#include "bazaar/runtime/grain_interface.hpp"
#include "bazaar/runtime/grain_observation.hpp"

#include <caf/actor.hpp>
#include <caf/actor_system.hpp>
#include <caf/allowed_unsafe_message_type.hpp>
#include <caf/event_based_actor.hpp>
#include <caf/expected.hpp>

#include <atomic>
#include <chrono>
#include <functional>
#include <memory>
#include <vector>

namespace bazaar::runtime {

/// A call waiting in a dispatcher. Only its dispatcher touches it after hand-over.
class pending_call : public std::enable_shared_from_this<pending_call> {
 public:
  virtual ~pending_call() = default;

  /// Resolves and sends (again); runs in the dispatcher.
  virtual void start(caf::event_based_actor* self) = 0;
  /// Completes with an error unless already completed.
  virtual void fail(const caf::error& e) = 0;

  bool done() const { return done_; }
  clock::steady_time deadline; ///< on the catalog's clock

 protected:
  bool done_ = false;
};

using pending_call_ptr = std::shared_ptr<pending_call>;

} // namespace bazaar::runtime

CAF_ALLOW_UNSAFE_MESSAGE_TYPE(bazaar::runtime::pending_call_ptr)

namespace bazaar::runtime {

class grain_client {
 public:
  struct options {
    int dispatchers = 2;
    int max_inflight = 20000;
    std::chrono::milliseconds timeout{5000};
    /// Observations open at once (observe); past it observe refuses.
    int max_observations = 10000;
  };

  grain_client(caf::actor_system& sys, std::shared_ptr<catalog> host, options opts);
  ~grain_client();

  grain_client(const grain_client&) = delete;
  grain_client& operator=(const grain_client&) = delete;

  /// Sends `msg` to grain `id`; `done` runs exactly once on a dispatcher thread with the
  /// reply or an error (timeout, unavailable, or the grain's own failure). Returns false,
  /// without calling `done`, when too many requests are in flight.
  template <class Reply, class Msg>
  bool ask(grain_id id, Msg msg, std::function<void(caf::expected<Reply>)> done);

  /// Sends `msg` to grain `key` of grain type G; `done` gets what G's interface answers to
  /// Msg (a message G does not handle does not compile).
  template <class G, class Msg, class Done, class = typename G::interface>
  bool ask(std::string key, Msg msg, Done done) {
    using reply = reply_t<typename G::interface, Msg>;
    return ask<reply>(grain_id{G::type, std::move(key)}, std::move(msg),
                      std::function<void(caf::expected<reply>)>(std::move(done)));
  }

  /// Observes grain `key` of grain type G (grain_observation.hpp): `on_state(const
  /// G::state&) -> bool` gets its committed state now and after each change (false ends the
  /// observation), `on_end(const caf::error&)` what ends it. Returns nullopt, calling
  /// neither, when too many observations are open or the client stopped.
  template <class G, class OnState, class OnEnd, class = typename G::interface>
  std::optional<observation> observe(std::string key, OnState on_state, OnEnd on_end) {
    using state_type = typename G::state;
    return start_observation<state_type>(
        host_, *observations_, grain_id{G::type, std::move(key)}, opts_.timeout,
        std::function<bool(const state_type&)>(std::move(on_state)),
        std::function<void(const caf::error&)>(std::move(on_end)));
  }

  /// Fails every pending call with `unavailable`, ends every observation and stops the
  /// dispatchers.
  void stop();

  /// Requests in flight now.
  int inflight() const { return inflight_->load(std::memory_order_relaxed); }

  /// Observations open now.
  std::size_t observations() const { return observations_->size(); }

  catalog& host() { return *host_; }

 private:
  template <class Reply, class Msg>
  class typed_call;

  bool admit();
  /// Hands the call to the dispatcher of `lane` (the grain's hash): the calls to one grain
  /// from one thread are sent in the order they were made.
  void hand_over(pending_call_ptr call, std::size_t lane);

  std::shared_ptr<catalog> host_;
  options opts_;
  std::vector<caf::actor> dispatchers_;
  std::shared_ptr<std::atomic<int>> inflight_ = std::make_shared<std::atomic<int>>(0);
  std::atomic<bool> stopped_{false};
  std::shared_ptr<observation_set> observations_;
};

template <class Reply, class Msg>
class grain_client::typed_call final : public pending_call {
 public:
  typed_call(std::shared_ptr<catalog> host, std::shared_ptr<std::atomic<int>> inflight, grain_id id,
             Msg msg, std::function<void(caf::expected<Reply>)> done)
      : host_(std::move(host)), inflight_(std::move(inflight)), id_(std::move(id)),
        msg_(std::move(msg)), done_fn_(std::move(done)) {}

  /// A call dropped undelivered (its dispatcher already stopped) still completes, once.
  ~typed_call() override {
    if (!done_)
      complete(make_failure(core::errc::unavailable, "node is shutting down"));
  }

  void start(caf::event_based_actor* self) override {
    auto target = host_->resolve(id_);
    if (!target) {
      fail(target.error());
      return;
    }
    ++attempt_;
    auto me = std::static_pointer_cast<typed_call>(shared_from_this());
    auto addr = target->address();
    self->request(*target, caf::infinite, msg_)
        .then([me](Reply& reply) { me->complete(std::move(reply)); },
              [me, self, addr](caf::error& e) {
                if (me->done())
                  return;
                if (resend_after_bounce(*me->host_, me->id_, addr, e, me->attempt_))
                  me->start(self);
                else
                  me->fail(e);
              });
  }

  void fail(const caf::error& e) override { complete(caf::expected<Reply>{e}); }

 private:
  void complete(caf::expected<Reply> result) {
    if (done_)
      return;
    done_ = true;
    auto fn = std::move(done_fn_);
    done_fn_ = nullptr;
    inflight_->fetch_sub(1, std::memory_order_acq_rel);
    fn(std::move(result));
  }

  std::shared_ptr<catalog> host_;
  std::shared_ptr<std::atomic<int>> inflight_;
  grain_id id_;
  Msg msg_;
  std::function<void(caf::expected<Reply>)> done_fn_;
  int attempt_ = 0;
};

template <class Reply, class Msg>
bool grain_client::ask(grain_id id, Msg msg, std::function<void(caf::expected<Reply>)> done) {
  if (!admit())
    return false;
  auto lane = grain_id_hash{}(id);
  auto call = std::make_shared<typed_call<Reply, Msg>>(host_, inflight_, std::move(id),
                                                       std::move(msg), std::move(done));
  hand_over(std::move(call), lane);
  return true;
}

} // namespace bazaar::runtime
