#pragma once

/// Calls from one grain to another, addressed by id. The calling grain handles nothing else
/// until the answer arrives (CAF's `await`), so it still processes its own commands strictly
/// one at a time. No CAF timer per call: the call is registered with the caller's activation,
/// and the idle collector's sweep answers it with a timeout once its deadline passed. Callers
/// keep the resolved actor of a grain (grain_refs) and resolve again only when it is gone.

#include "bazaar/runtime/catalog.hpp"
#include "bazaar/runtime/errors.hpp"

#include <caf/event_based_actor.hpp>

#include <algorithm>
#include <vector>

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

/// The actors of the grains one caller talks to, resolved once and kept while they live: a
/// small open-addressing table private to its caller (no lock), growing with use up to
/// `max_slots` and starting over past that.
class grain_refs {
 public:
  static constexpr std::size_t max_slots = 256;

  /// The actor of `id`: the kept one, or resolved (and activated if needed) through `host`.
  caf::expected<caf::actor> get(catalog& host, const grain_id& id) {
    auto hash = grain_id_hash{}(id);
    if (!table_.empty())
      for (auto i = hash & (table_.size() - 1); table_[i].handle; i = (i + 1) & (table_.size() - 1))
        if (table_[i].hash == hash && table_[i].id == id)
          return table_[i].handle;
    auto resolved = host.resolve(id);
    if (resolved)
      keep(hash, id, *resolved);
    return resolved;
  }

  /// Forgets the actor of `id` (it is gone).
  void forget(const grain_id&) {
    // Removing one entry of an open-addressing table needs care; a grain that is gone is
    // rare enough that starting over is the simple, correct choice.
    table_.clear();
    used_ = 0;
  }

 private:
  struct entry {
    std::size_t hash = 0;
    grain_id id;
    caf::actor handle; ///< empty: a free slot
  };

  void keep(std::size_t hash, const grain_id& id, const caf::actor& handle) {
    if ((used_ + 1) * 2 > table_.size()) {
      // Grow (keeping what is known), or start over once the table is as large as it gets.
      auto old = std::move(table_);
      table_ = std::vector<entry>(old.empty() ? 8 : std::min(old.size() * 2, max_slots));
      used_ = 0;
      if (table_.size() > old.size())
        for (auto& e : old)
          if (e.handle)
            place(std::move(e));
    }
    place(entry{hash, id, handle});
  }

  void place(entry e) {
    auto i = e.hash & (table_.size() - 1);
    while (table_[i].handle)
      i = (i + 1) & (table_.size() - 1);
    table_[i] = std::move(e);
    ++used_;
  }

  std::vector<entry> table_;
  std::size_t used_ = 0;
};

/// Asks grain `id` with `msg` and awaits the answer: `on_reply(reply)` or `on_error(error)`.
/// A call alone (`tracked`) is registered with the caller's activation, whose deadline the
/// idle collector enforces; one of several awaited at once (command::ask_all) is bounded by
/// CAF's own timeout instead, since an activation tracks one call. CAF hands awaited answers
/// over last-asked first, so several calls are in flight together and the caller handles
/// nothing else until every one answered.
/// `caller` and `refs` must outlive the call (they live in the caller's actor state).
template <class Reply, class Self, class Msg, class OnReply, class OnError>
void await_grain(Self* self, const grain_context& caller, grain_refs& refs, const grain_id& id,
                 const Msg& msg, std::chrono::milliseconds timeout, OnReply on_reply,
                 OnError on_error, bool tracked = true, int attempt = 1) {
  auto& host = *caller.host;
  auto target = refs.get(host, id);
  if (!target) {
    on_error(target.error());
    return;
  }
  auto addr = target->address();
  auto call =
      self->request(*target, tracked ? caf::duration{caf::infinite} : caf::duration{timeout},
                    msg); // call.id(): the response id
  if (tracked)
    caller.record->call_started(call.id().integer_value(), host.time().now() + timeout);
  call.await(
      [record = caller.record.get(), on_reply, tracked](Reply& reply) mutable {
        if (tracked)
          record->call_ended();
        on_reply(reply);
      },
      [self, caller = &caller, refs = &refs, id, msg, timeout, on_reply, on_error, tracked, attempt,
       addr](caf::error& e) mutable {
        if (tracked)
          caller->record->call_ended();
        if (resend_after_bounce(*caller->host, id, addr, e, attempt)) {
          refs->forget(id);
          await_grain<Reply>(self, *caller, *refs, id, msg, timeout, on_reply, on_error, tracked,
                             attempt + 1);
        } else {
          on_error(e);
        }
      });
}

/// Sends `msg` (a message its grain answers with a bool) to grain `id` without waiting for
/// the answer (the caller goes on with other messages; the answer is dropped). Sent again when the
/// grain's activation had ended before it saw the message; otherwise a message that does not arrive
/// is lost, so what it asks for must also be reachable another way (a durable reminder that asks
/// again).
template <class Self, class Msg>
void tell_grain(Self* self, const grain_context& caller, grain_refs& refs, const grain_id& id,
                const Msg& msg, int attempt = 1) {
  auto target = refs.get(*caller.host, id);
  if (!target)
    return;
  auto addr = target->address();
  self->request(*target, caf::infinite, msg)
      .then([](bool) {},
            [self, caller = &caller, refs = &refs, id, msg, attempt, addr](caf::error& e) {
              if (resend_after_bounce(*caller->host, id, addr, e, attempt)) {
                refs->forget(id);
                tell_grain(self, *caller, *refs, id, msg, attempt + 1);
              }
            });
}

} // namespace bazaar::runtime
