#pragma once

/// Calls from one grain to another, addressed by id. The calling grain handles nothing else
/// until the answer arrives (CAF's `await`), so it still processes its own commands strictly
/// one at a time. No CAF timer per call: the call is registered with the caller's activation,
/// and the idle collector's sweep answers it with a timeout once its deadline passed. Callers
/// keep the resolved actor of a grain (grain_refs) and resolve again only when it is gone.

#include "bazaar/runtime/catalog.hpp"
#include "bazaar/runtime/errors.hpp"

#include <caf/event_based_actor.hpp>

#include <unordered_map>

namespace bazaar::runtime {

/// How often a call is re-sent when its grain was deactivating at the moment it arrived.
inline constexpr int max_call_attempts = 8;

/// Decides what a failed call does next: when its grain's activation had already ended
/// before it saw the request (nothing happened) and attempts remain, the dead activation is
/// forgotten and the call is to be re-sent (true); otherwise the error is the answer (false).
inline bool resend_after_bounce(catalog& host, const grain_id& id, const caf::actor_addr& addr,
                                const caf::error& e, int attempt) {
  if (!is_receiver_down(e) || attempt >= max_call_attempts)
    return false;
  host.remove(id, addr);
  return true;
}

/// The actors of the grains one caller talks to, resolved once and kept while they live.
class grain_refs {
 public:
  /// At most this many are kept; past it the cache starts over.
  static constexpr std::size_t capacity = 256;

  /// The actor of `id`: the kept one, or resolved (and activated if needed) through `host`.
  caf::expected<caf::actor> get(catalog& host, const grain_id& id) {
    if (auto i = refs_.find(id); i != refs_.end())
      return i->second;
    auto resolved = host.resolve(id);
    if (resolved) {
      if (refs_.size() >= capacity)
        refs_.clear();
      refs_.emplace(id, *resolved);
    }
    return resolved;
  }

  /// Forgets the actor of `id` (it is gone).
  void forget(const grain_id& id) { refs_.erase(id); }

 private:
  std::unordered_map<grain_id, caf::actor, grain_id_hash> refs_;
};

/// Sends `msg` to grain `id` on behalf of the grain of `caller` and awaits the answer: `on_reply`
/// gets the reply, `on_error` the error (a timeout after `timeout`). `self` is the caller's actor.
template <class Reply, class Self, class Msg, class OnReply, class OnError>
void await_grain(Self* self, const grain_context& caller, grain_refs& refs, const grain_id& id,
                 const Msg& msg, std::chrono::milliseconds timeout, OnReply on_reply,
                 OnError on_error, int attempt = 1) {
  auto& host = *caller.host;
  auto target = refs.get(host, id);
  if (!target) {
    on_error(target.error());
    return;
  }
  auto addr = target->address();
  auto call = self->request(*target, caf::infinite, msg); // call.id(): the response id
  caller.record->call_started(call.id().integer_value(), host.time().now() + timeout);
  call.await(
      [record = caller.record, on_reply](Reply& reply) mutable {
        record->call_ended();
        on_reply(reply);
      },
      [self, caller, &refs, id, msg, timeout, on_reply, on_error, attempt,
       addr](caf::error& e) mutable {
        caller.record->call_ended();
        if (resend_after_bounce(*caller.host, id, addr, e, attempt)) {
          refs.forget(id);
          await_grain<Reply>(self, caller, refs, id, msg, timeout, on_reply, on_error, attempt + 1);
        } else {
          on_error(e);
        }
      });
}

} // namespace bazaar::runtime
