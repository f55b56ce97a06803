#pragma once

/// Calls from one actor to a grain, addressed by id. The calling actor handles nothing else
/// until the answer arrives (CAF's `await`), so a grain that calls another grain still
/// processes its own commands strictly one at a time.

#include "bazaar/runtime/catalog.hpp"
#include "bazaar/runtime/errors.hpp"

#include <caf/event_based_actor.hpp>

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

template <class Reply, class Self, class Msg, class OnReply, class OnError>
void await_grain(Self* self, catalog& host, const grain_id& id, const Msg& msg,
                 caf::timespan timeout, OnReply on_reply, OnError on_error, int attempt = 1) {
  auto target = host.resolve(id);
  if (!target) {
    on_error(target.error());
    return;
  }
  auto addr = target->address();
  self->request(*target, timeout, msg)
      .await([on_reply](Reply& reply) mutable { on_reply(reply); },
             [self, &host, id, msg, timeout, on_reply, on_error, attempt,
              addr](caf::error& e) mutable {
               if (resend_after_bounce(host, id, addr, e, attempt))
                 await_grain<Reply>(self, host, id, msg, timeout, on_reply, on_error, attempt + 1);
               else
                 on_error(e);
             });
}

} // namespace bazaar::runtime
