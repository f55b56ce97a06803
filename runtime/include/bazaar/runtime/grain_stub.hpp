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
/// fails `unavailable` with its outcome unknown, so that the caller decides.
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

struct grain_stub_state {
  grain_context ctx;
  std::uint64_t next_call = 0;
  /// A call sent to a router and not answered yet: what to do if that router's node fails.
  struct in_flight {
    caf::actor_addr router;
    std::function<void()> on_node_down;
  };
  std::unordered_map<std::uint64_t, in_flight> sent;
  /// Calls waiting to be sent again (by the key of their retry message).
  std::unordered_map<std::uint64_t, std::function<void()>> waiting;
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
  if (st.leaving && st.sent.empty() && st.waiting.empty())
    stub_leave(self);
}

/// Sends `msg` (whose answer is Reply) to the owner's router, and handles what comes back.
template <class Reply>
void stub_route(grain_stub_actor* self, caf::message msg, caf::typed_response_promise<Reply> rp,
                clock::steady_time deadline, bool retry_safe, bool observe) {
  auto& st = self->state;
  auto& host = *st.ctx.host;
  const auto* placement = host.placement();
  auto again = [self, msg, rp, deadline, retry_safe, observe]() mutable {
    auto& st = self->state;
    if (st.ctx.host->time().now() >= deadline) {
      rp.deliver(make_failure(core::errc::unavailable,
                              "no node can serve " + st.ctx.id.str() + " now; retry the request"));
      return;
    }
    auto key = ++st.next_call;
    st.waiting.emplace(key, [self, msg, rp, deadline, retry_safe, observe]() mutable {
      stub_route<Reply>(self, std::move(msg), std::move(rp), deadline, retry_safe, observe);
    });
    self->delayed_send(self, retry_interval, retry_atom::value, key);
  };
  auto router = placement != nullptr ? placement->router_of(placement->owner_elsewhere(st.ctx.id))
                                     : caf::actor{};
  if (!router) {
    again();
    return;
  }
  if (st.routers.insert(router.address()).second)
    self->monitor(router);
  auto key = ++st.next_call;
  st.sent.emplace(
      key, grain_stub_state::in_flight{
               router.address(), [self, again, rp, retry_safe]() mutable {
                 if (retry_safe)
                   again();
                 else
                   rp.deliver(make_failure(core::errc::unavailable,
                                           "the node serving " + self->state.ctx.id.str() +
                                               " failed; the outcome of the request is unknown"));
               }});
  self->request(router, caf::infinite, route_atom::value, st.ctx.id, std::move(msg))
      .then(
          [self, key, rp, observe](Reply& reply) mutable {
            auto& st = self->state;
            if (st.sent.erase(key) == 0)
              return; // its node was declared failed meanwhile
            if (observe) {
              // The activation that answered: observers re-observe when it ends.
              auto grain = caf::actor_cast<caf::actor>(self->current_sender());
              if (grain && st.observed.insert(grain.address()).second)
                self->monitor(grain);
            }
            rp.deliver(std::move(reply));
            stub_settled(self);
          },
          [self, key, rp, again](caf::error& e) mutable {
            auto& st = self->state;
            if (st.sent.erase(key) == 0)
              return;
            if (is_not_owner(e) || is_receiver_down(e))
              again(); // nothing happened there
            else
              rp.deliver(std::move(e));
            stub_settled(self);
          });
}

/// The stub's handler of one message of G's interface.
template <class G, class In, class Out>
auto stub_handler(grain_stub_actor* self,
                  caf::typed_mpi<caf::detail::type_list<In>, caf::output_tuple<Out>>) {
  static_assert(!std::is_void<Out>::value, "grain messages answer a value");
  return [self](In& msg) -> caf::result<Out> {
    auto rp = self->make_response_promise<Out>();
    bool safe = is_query<G, In>::value || idempotency_of(msg).present();
    auto deadline =
        self->state.ctx.host->time().now() + self->state.ctx.host->placement()->retry_budget();
    stub_route<Out>(self, caf::make_message(std::move(msg)), rp, deadline, safe, false);
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
    std::vector<std::function<void()>> failed;
    for (auto i = st.sent.begin(); i != st.sent.end();) {
      if (i->second.router == dm.source) {
        failed.push_back(std::move(i->second.on_node_down));
        i = st.sent.erase(i);
      } else {
        ++i;
      }
    }
    for (auto& f : failed)
      f();
    detail::stub_settled(self);
  });
  using signatures = typename G::interface::signatures;
  return detail::stub_handlers<G>(self, signatures{})
      .or_else(caf::message_handler{
          [self](retry_atom, std::uint64_t key) {
            auto& st = self->state;
            auto i = st.waiting.find(key);
            if (i == st.waiting.end())
              return;
            auto f = std::move(i->second);
            st.waiting.erase(i);
            f();
            detail::stub_settled(self);
          },
          [self](observe_atom, caf::actor& who) -> caf::result<typename G::state> {
            auto rp = self->make_response_promise<typename G::state>();
            auto deadline = self->state.ctx.host->time().now() +
                            self->state.ctx.host->placement()->retry_budget();
            detail::stub_route<typename G::state>(
                self, caf::make_message(observe_atom::value, std::move(who)), rp, deadline, true,
                true);
            return rp;
          },
          [self](unobserve_atom, caf::actor& who) {
            const auto* placement = self->state.ctx.host->placement();
            auto router = placement->router_of(placement->owner_elsewhere(self->state.ctx.id));
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
