#pragma once

/// The remote stub of a grain that lives on another node: what the catalog resolves such a
/// grain to, so that callers (the gateway, the Kafka bridge, other grains, observers) send to
/// it exactly as to a local activation. It answers the grain's whole interface by routing
/// each message to the router (grain_router) of the node that owns the grain now, which
/// delegates it to the activation there; the answer comes back to the stub and on to the
/// caller.
///
/// A call that found no node to take it (the owner unreachable, or it answered that the grain
/// is not its to serve: it is leaving, or the views differ for a moment) provably did nothing
/// and is sent again every `retry_interval` against the current view, up to the placement's
/// retry budget. A call in flight to a node that fails (the connection to its router drops)
/// fails fast: a query or a message with an Idempotency-Key (a Kafka record's event id) is
/// sent again to the new owner, since a second delivery changes nothing; any other command
/// fails `timeout` with its outcome unknown, so that the caller decides (not `unavailable`,
/// which promises that nothing happened).
///
/// A stub leaves when idle like an activation, when the catalog rebalances after a view change
/// (once its calls are answered), and when the remote activation it observes for a caller
/// ends, so that observers (who monitor the stub) re-observe the next activation.

#include "bazaar/runtime/atoms.hpp"
#include "bazaar/runtime/catalog.hpp"
#include "bazaar/runtime/errors.hpp"
#include "bazaar/runtime/message_traits.hpp"

#include <caf/event_based_actor.hpp>
#include <caf/send.hpp>
#include <caf/stateful_actor.hpp>
#include <caf/typed_response_promise.hpp>

#include <chrono>
#include <functional>
#include <set>
#include <string>
#include <unordered_map>

namespace bazaar::runtime {

/// How long a stub waits before sending a call again that found no owner.
inline constexpr std::chrono::milliseconds retry_interval{50};

struct grain_stub_state;

/// One call a stub holds: sent to a router and not answered yet, or waiting to be sent again.
struct stub_call {
  caf::message msg;
  caf::response_promise rp;
  clock::steady_time deadline;
  bool retry_safe = false;   ///< a second delivery changes nothing (query, Idempotency-Key)
  bool observe = false;      ///< an observe request: monitor the activation that answers
  caf::actor_addr router;    ///< where it was sent (while in flight)
  std::uint32_t attempt = 0; ///< answers to an earlier attempt are ignored
  /// Sends it (again); stub_route<Reply> of the call's answer type.
  void (*send)(caf::stateful_actor<grain_stub_state>*, std::uint64_t) = nullptr;
};

struct grain_stub_state {
  grain_context ctx;
  std::uint64_t next_call = 0;
  /// Calls in flight or waiting to be sent again, by key.
  std::unordered_map<std::uint64_t, stub_call> calls;
  /// Where the grain's owner was last found: the view epoch it was looked up in, and the
  /// router of that node (invalid: not reachable then).
  std::uint64_t route_epoch = ~std::uint64_t{0};
  caf::actor route;
  /// Routers monitored (their node failing fails the calls sent there).
  std::set<caf::actor_addr> routers;
  /// Remote activations observed for a caller: when one ends, the stub leaves.
  std::set<caf::actor_addr> observed;
  bool leaving = false;
  static inline const char* name = "grain_stub";
};

using grain_stub_actor = caf::stateful_actor<grain_stub_state>;

namespace detail {

inline void stub_leave(grain_stub_actor* self) {
  self->state.ctx.host->remove(self->state.ctx.id, self->address());
  self->quit();
}

inline void stub_settled(grain_stub_actor* self) {
  auto& st = self->state;
  if (st.leaving && st.calls.empty())
    stub_leave(self);
}

/// The router of the grain's owner under the current view (cached per view epoch).
inline caf::actor stub_router(grain_stub_actor* self) {
  auto& st = self->state;
  const auto* placement = st.ctx.host->placement();
  if (placement == nullptr)
    return {};
  auto epoch = placement->epoch();
  if (epoch != st.route_epoch || !st.route) {
    st.route = placement->router_of(placement->owner_elsewhere(st.ctx.id));
    st.route_epoch = epoch;
  }
  return st.route;
}

/// Call `key` found no node to take it: sent again after retry_interval while its deadline
/// allows, else failed `unavailable` (nothing happened).
inline void stub_again(grain_stub_actor* self, std::uint64_t key) {
  auto& st = self->state;
  auto i = st.calls.find(key);
  if (i == st.calls.end())
    return;
  if (st.ctx.host->time().now() >= i->second.deadline) {
    i->second.rp.deliver(
        make_failure(core::errc::unavailable,
                     "no node can serve " + st.ctx.id.str() + " now; retry the request"));
    st.calls.erase(i);
    return;
  }
  i->second.router = caf::actor_addr{};
  st.route = nullptr; // look the owner up again
  self->delayed_send(self, retry_interval, retry_atom::value, key);
}

/// Sends call `key` (whose answer is Reply) to the owner's router, and handles what comes back.
template <class Reply>
void stub_route(grain_stub_actor* self, std::uint64_t key) {
  auto& st = self->state;
  auto i = st.calls.find(key);
  if (i == st.calls.end())
    return;
  auto router = stub_router(self);
  if (!router) {
    stub_again(self, key);
    return;
  }
  if (st.routers.insert(router.address()).second)
    self->monitor(router);
  i->second.router = router.address();
  auto attempt = ++i->second.attempt;
  self->request(router, caf::infinite, route_atom::value, st.ctx.id, i->second.msg)
      .then(
          [self, key, attempt](Reply& reply) {
            auto& st = self->state;
            auto i = st.calls.find(key);
            if (i == st.calls.end() || i->second.attempt != attempt || !i->second.router)
              return; // failed meanwhile (its node went down), or sent again
            if (i->second.observe) {
              // The activation that answered: observers re-observe when it ends.
              auto grain = caf::actor_cast<caf::actor>(self->current_sender());
              if (grain && st.observed.insert(grain.address()).second)
                self->monitor(grain);
            }
            i->second.rp.deliver(std::move(reply));
            st.calls.erase(i);
            stub_settled(self);
          },
          [self, key, attempt](caf::error& e) {
            auto& st = self->state;
            auto i = st.calls.find(key);
            if (i == st.calls.end() || i->second.attempt != attempt || !i->second.router)
              return;
            if (is_not_owner(e) || is_receiver_down(e)) {
              stub_again(self, key); // nothing happened there
            } else {
              i->second.rp.deliver(std::move(e));
              st.calls.erase(i);
            }
            stub_settled(self);
          });
}

/// Takes a call and sends it.
template <class Reply>
void stub_take(grain_stub_actor* self, caf::message msg, caf::response_promise rp, bool retry_safe,
               bool observe) {
  auto& st = self->state;
  st.ctx.record->touch(); // in use: not idle (callers may keep the stub and not resolve again)
  auto key = ++st.next_call;
  stub_call c;
  c.msg = std::move(msg);
  c.rp = std::move(rp);
  c.deadline = st.ctx.host->time().now() + st.ctx.host->placement()->retry_budget();
  c.retry_safe = retry_safe;
  c.observe = observe;
  c.send = &stub_route<Reply>;
  st.calls.emplace(key, std::move(c));
  stub_route<Reply>(self, key);
}

/// The stub's handler of one message of G's interface.
template <class G, class In, class Out>
auto stub_handler(grain_stub_actor* self,
                  caf::typed_mpi<caf::detail::type_list<In>, caf::output_tuple<Out>>) {
  static_assert(!std::is_void<Out>::value, "grain messages answer a value");
  return [self](In& msg) -> caf::result<Out> {
    auto rp = self->make_response_promise<Out>();
    bool safe = is_query<G, In>::value || idempotency_of(msg).present();
    stub_take<Out>(self, caf::make_message(std::move(msg)), rp, safe, false);
    return rp;
  };
}

template <class G, class... Sigs>
caf::message_handler stub_handlers(grain_stub_actor* self, caf::detail::type_list<Sigs...>) {
  return caf::message_handler{stub_handler<G>(self, Sigs{})...};
}

} // namespace detail

/// The actor of the remote stub of a grain of definition G (see above).
template <class G>
caf::behavior grain_stub(grain_stub_actor* self, grain_context ctx) {
  self->state.ctx = std::move(ctx);
  self->set_down_handler([self](caf::down_msg& dm) {
    auto& st = self->state;
    if (st.observed.count(dm.source)) {
      detail::stub_leave(self); // observers monitor the stub: they re-observe the next activation
      return;
    }
    if (st.routers.erase(dm.source) == 0)
      return;
    if (st.route.address() == dm.source)
      st.route = nullptr;
    // The node failed: calls in flight there are sent again when a second delivery changes
    // nothing, and fail with their outcome unknown otherwise.
    std::vector<std::uint64_t> failed;
    for (auto& [key, call] : st.calls)
      if (call.router == dm.source)
        failed.push_back(key);
    for (auto key : failed) {
      auto& call = st.calls.at(key);
      if (call.retry_safe) {
        detail::stub_again(self, key);
      } else {
        // Not `unavailable`: that promises nothing happened, and the node may have committed
        // it before it failed. Like a grain that did not answer in time, the outcome is unknown.
        call.rp.deliver(make_failure(core::errc::timeout,
                                     "the node serving " + st.ctx.id.str() +
                                         " failed; the outcome of the request is unknown"));
        st.calls.erase(key);
      }
    }
    detail::stub_settled(self);
  });
  using signatures = typename G::interface::signatures;
  return detail::stub_handlers<G>(self, signatures{})
      .or_else(caf::message_handler{
          [self](retry_atom, std::uint64_t key) {
            auto& st = self->state;
            auto i = st.calls.find(key);
            if (i == st.calls.end())
              return;
            i->second.send(self, key);
            detail::stub_settled(self);
          },
          [self](observe_atom, caf::actor& who) -> caf::result<typename G::state> {
            auto rp = self->make_response_promise<typename G::state>();
            detail::stub_take<typename G::state>(
                self, caf::make_message(observe_atom::value, std::move(who)), rp, true, true);
            return rp;
          },
          [self](unobserve_atom, caf::actor& who) {
            auto router = detail::stub_router(self);
            if (router) // anonymous: nothing comes back
              caf::anon_send(router, route_atom::value, self->state.ctx.id,
                             caf::make_message(unobserve_atom::value, std::move(who)));
          },
          [self](deactivate_atom, std::uint64_t touches) {
            auto& st = self->state;
            if (!st.ctx.record->idle_since(touches))
              return;
            st.leaving = true;
            detail::stub_settled(self);
          },
      });
}

} // namespace bazaar::runtime
