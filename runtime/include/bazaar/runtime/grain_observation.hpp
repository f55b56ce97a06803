#pragma once

/// Observing a durable grain from outside the actor system (the gateway's event streams).
/// Each observation is an actor of its own: it resolves the grain, asks to be observed
/// (observer_list.hpp), and monitors the activation that answered. When that activation ends
/// (deactivated as idle or by an admin, fenced off, crashed, node stopping) the observer
/// resolves the grain again and re-observes the next activation, which answers its current
/// state, so no committed change is missed while the observation lasts; a state can then
/// arrive twice, and callers dedupe by version. States from one activation arrive in commit
/// order. No timer runs while observing: only the observe request itself has a timeout.
///
/// `on_state` runs on the observer actor (never two at once) for the first state and each
/// later one; returning false ends the observation. `on_end` runs at most once, when the
/// grain cannot be observed (any more): unknown type, storage unavailable, node stopping, too
/// many observers. Neither runs after cancel() took effect. The observations of a node are
/// bounded and counted (observation_set) and end when the node's grain client stops.

#include "bazaar/runtime/atoms.hpp"
#include "bazaar/runtime/catalog.hpp"
#include "bazaar/runtime/errors.hpp"
#include "bazaar/runtime/grain_call.hpp"

#include <caf/actor.hpp>
#include <caf/event_based_actor.hpp>
#include <caf/exit_reason.hpp>
#include <caf/send.hpp>
#include <caf/stateful_actor.hpp>

#include <cstddef>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <unordered_map>

namespace bazaar::runtime {

/// A handle on one observation: cheap to copy; cancel() ends it (the grain drops the observer
/// when its actor goes down).
class observation {
 public:
  observation() = default;
  explicit observation(caf::actor observer) : observer_(std::move(observer)) {}

  /// Ends the observation; idempotent. Callbacks already running finish.
  void cancel() const {
    if (observer_)
      caf::anon_send_exit(observer_, caf::exit_reason::user_shutdown);
  }

 private:
  caf::actor observer_;
};

/// The live observations of a node: at most `limit` at once; stop() ends them all (their
/// `on_end` gets `unavailable`) and refuses new ones.
class observation_set : public std::enable_shared_from_this<observation_set> {
 public:
  explicit observation_set(std::size_t limit) : limit_(limit) {}

  /// Reserves a place for one more observation; false at the bound or after stop().
  bool admit();
  /// Gives up a place reserved by admit() that was not used.
  void release();
  /// Takes the observer of a reserved place; it leaves the set when it terminates.
  void add(const caf::actor& observer);

  /// Observations open now.
  std::size_t size() const;

  /// Ends every observation and refuses new ones.
  void stop();

 private:
  void remove(caf::actor_id id);

  const std::size_t limit_;
  mutable std::mutex mtx_;
  std::size_t reserved_ = 0;
  bool stopped_ = false;
  std::unordered_map<caf::actor_id, caf::actor> live_;
};

namespace detail {

template <class State>
struct grain_observer_state {
  std::shared_ptr<catalog> host;
  grain_id id;
  caf::timespan timeout{};
  std::function<bool(const State&)> on_state;
  std::function<void(const caf::error&)> on_end;
  /// The activation observed now (none while observing again).
  caf::actor_addr grain;
  /// Observe requests that bounced off ended activations in a row.
  int attempt = 0;
  static inline const char* name = "bazaar.grain_observer";
};

template <class State>
using grain_observer_actor = caf::stateful_actor<grain_observer_state<State>>;

template <class State>
void end_observation(grain_observer_actor<State>* self, const caf::error& e) {
  auto& st = self->state;
  auto end = std::move(st.on_end);
  st.on_end = nullptr;
  st.on_state = nullptr;
  if (end)
    end(e);
  self->quit();
}

template <class State>
void deliver(grain_observer_actor<State>* self, const State& s) {
  auto& st = self->state;
  if (st.on_state && !st.on_state(s)) {
    st.on_state = nullptr;
    st.on_end = nullptr;
    self->quit();
  }
}

/// Resolves the grain (activating it if needed) and asks its activation to be observed.
template <class State>
void observe_grain(grain_observer_actor<State>* self) {
  auto& st = self->state;
  auto target = st.host->resolve(st.id);
  if (!target) {
    end_observation(self, target.error());
    return;
  }
  ++st.attempt;
  auto addr = target->address();
  self->request(*target, st.timeout, observe_atom::value, caf::actor_cast<caf::actor>(self))
      .then(
          [self, grain = *target](State& s) {
            self->state.attempt = 0;
            self->state.grain = grain.address();
            self->monitor(grain); // a down message at once if it ended meanwhile
            deliver(self, s);
          },
          [self, addr](caf::error& e) {
            auto& st = self->state;
            if (resend_after_bounce(*st.host, st.id, addr, e, st.attempt))
              observe_grain(self);
            else
              end_observation(self, e);
          });
}

template <class State>
caf::behavior grain_observer(grain_observer_actor<State>* self, grain_observer_state<State> init) {
  self->state = std::move(init);
  self->set_down_handler([self](caf::down_msg& dm) {
    if (dm.source != self->state.grain)
      return;
    self->state.grain = nullptr;
    observe_grain(self); // the next activation answers the state as of now
  });
  observe_grain(self);
  return {
      [self](observed_atom, const State& s) { deliver(self, s); },
      [self](stop_atom) {
        end_observation(self, make_failure(core::errc::unavailable, "node is shutting down"));
      },
  };
}

} // namespace detail

/// Starts observing grain `id`, whose state type is State (see the top of this file); nullopt,
/// calling neither callback, when `set` is at its bound or stopped.
template <class State>
std::optional<observation> start_observation(std::shared_ptr<catalog> host, observation_set& set,
                                             grain_id id, caf::timespan timeout,
                                             std::function<bool(const State&)> on_state,
                                             std::function<void(const caf::error&)> on_end) {
  if (!set.admit())
    return std::nullopt;
  auto& sys = host->system();
  detail::grain_observer_state<State> init;
  init.host = std::move(host);
  init.id = std::move(id);
  init.timeout = timeout;
  init.on_state = std::move(on_state);
  init.on_end = std::move(on_end);
  auto observer = sys.spawn(&detail::grain_observer<State>, std::move(init));
  set.add(observer);
  return observation{std::move(observer)};
}

} // namespace bazaar::runtime
