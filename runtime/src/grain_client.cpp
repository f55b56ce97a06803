#include "bazaar/runtime/grain_client.hpp"

#include "bazaar/runtime/atoms.hpp"

#include <caf/send.hpp>
#include <caf/stateful_actor.hpp>

#include <algorithm>
#include <deque>

namespace bazaar::runtime {

namespace {

/// A dispatcher: starts the calls handed to it and expires the ones past their deadline.
/// Calls arrive in deadline order (one timeout for all), so a FIFO queue is the timer wheel.
struct dispatcher_state {
  std::deque<pending_call_ptr> queue;
  bool tick_armed = false;
  caf::timespan tick_interval{};
  static inline const char* name = "bazaar.dispatcher";
};

using dispatcher_actor = caf::stateful_actor<dispatcher_state>;

void expire(dispatcher_actor* self, clock::steady_time now) {
  auto& q = self->state.queue;
  while (!q.empty() && (q.front()->done() || q.front()->deadline <= now)) {
    if (!q.front()->done())
      q.front()->fail(make_failure(core::errc::timeout, "the grain did not answer in time"));
    q.pop_front();
  }
}

void arm(dispatcher_actor* self) {
  if (!self->state.tick_armed && !self->state.queue.empty()) {
    self->state.tick_armed = true;
    self->delayed_send(self, self->state.tick_interval, tick_atom::value);
  }
}

caf::behavior dispatcher(dispatcher_actor* self, caf::timespan tick_interval,
                         std::shared_ptr<catalog> host) {
  self->state.tick_interval = tick_interval;
  return {
      [=](dispatch_atom, pending_call_ptr& call) {
        self->state.queue.push_back(call);
        call->start(self);
        arm(self);
      },
      [=](tick_atom) {
        self->state.tick_armed = false;
        expire(self, host->time().now());
        arm(self);
      },
      [=](stop_atom) {
        for (auto& call : self->state.queue)
          call->fail(make_failure(core::errc::unavailable, "node is shutting down"));
        self->state.queue.clear();
        self->quit();
      },
  };
}

} // namespace

grain_client::grain_client(caf::actor_system& sys, std::shared_ptr<catalog> host, options opts)
    : host_(std::move(host)), opts_(opts),
      observations_(std::make_shared<observation_set>(
          static_cast<std::size_t>(std::max(0, opts_.max_observations)))) {
  auto tick = std::clamp<caf::timespan>(opts_.timeout / 10, std::chrono::milliseconds{1},
                                        std::chrono::milliseconds{50});
  for (int i = 0; i < std::max(1, opts_.dispatchers); ++i)
    dispatchers_.push_back(sys.spawn(dispatcher, tick, host_));
}

grain_client::~grain_client() {
  stop();
}

bool grain_client::admit() {
  if (stopped_.load(std::memory_order_relaxed))
    return false;
  if (inflight_->fetch_add(1, std::memory_order_acq_rel) >= opts_.max_inflight) {
    inflight_->fetch_sub(1, std::memory_order_acq_rel);
    return false;
  }
  return true;
}

void grain_client::hand_over(pending_call_ptr call, std::size_t lane) {
  call->deadline = host_->time().now() + opts_.timeout;
  auto i = lane % dispatchers_.size();
  caf::anon_send(dispatchers_[i], dispatch_atom::value, std::move(call));
}

void grain_client::stop() {
  if (stopped_.exchange(true))
    return;
  observations_->stop();
  for (auto& d : dispatchers_)
    caf::anon_send(d, stop_atom::value);
}

} // namespace bazaar::runtime
