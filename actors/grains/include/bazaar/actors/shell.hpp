#pragma once

/// The lifecycle every durable grain shell shares: load the snapshot before anything else
/// (messages that arrive meanwhile wait, in order), then run; take storage's answers; and
/// deactivate only when no write is in flight (a forced deactivation waits for them).

#include "bazaar/actors/durable.hpp"

#include "bazaar/runtime/atoms.hpp"

#include <caf/event_based_actor.hpp>
#include <caf/skip.hpp>
#include <caf/stateful_actor.hpp>

#include <optional>

namespace bazaar::actors {

/// What every grain's actor state holds.
template <class T>
struct grain_state {
  std::optional<durable<T>> d;
  runtime::grain_context ctx;
  bool leaving = false;
};

/// Leaves the catalog and quits, failing whatever still waits.
template <class Self>
void leave(Self* self) {
  auto& st = self->state;
  if (st.d)
    st.d->abandon(runtime::make_failure(domain::errc::unavailable,
                                        "the grain is deactivating; retry the request"));
  st.ctx.host->remove(st.ctx.id, self->address());
  self->quit();
}

/// The handlers of storage answers and deactivate requests, part of every running behavior.
template <class Self>
caf::message_handler lifecycle(Self* self) {
  return {
      [self](persisted_atom, std::uint64_t epoch, std::uint64_t write_no, std::uint8_t status) {
        auto& st = self->state;
        if (!st.d->on_persisted(epoch, write_no, static_cast<persistence::save_status>(status)) ||
            (st.leaving && st.d->settled()))
          leave(self);
      },
      [self](runtime::deactivate_atom, std::uint64_t touches) {
        auto& st = self->state;
        if (!st.ctx.record->idle_since(touches))
          return; // used since the collector looked
        if (st.d->settled())
          leave(self);
        else if (touches == runtime::force_deactivation)
          st.leaving = true; // leave once the writes in flight are answered
      },
  };
}

/// The first behavior of a grain: asks storage for its snapshot and becomes `running()` once
/// it is restored. If storage cannot be read, every message that waited is answered 503 and
/// the activation ends, so that the next message activates (and loads) afresh.
template <class T, class Self, class FromJson, class Initial, class Running>
caf::behavior load_then(Self* self, runtime::grain_context ctx, grain_services services,
                        FromJson from_json, Initial initial, Running running) {
  self->state.ctx = ctx;
  services.storage->load(ctx.id.type, ctx.id.key,
                         [handle = caf::actor_cast<caf::actor>(self)](persistence::load_result r) {
                           caf::anon_send(handle, loaded_atom::value,
                                          std::make_shared<persistence::load_result>(std::move(r)));
                         });
  self->set_default_handler(caf::skip);
  return {
      [=](loaded_atom, const load_result_ptr& r) {
        auto& st = self->state;
        st.d.emplace(ctx, services);
        if (!r->ok || !st.d->restore(*r, from_json, initial())) {
          self->set_default_handler(
              [](caf::scheduled_actor*, caf::message_view&) -> caf::result<caf::message> {
                return runtime::make_failure(domain::errc::unavailable,
                                             "storage is unavailable; retry the request");
              });
          self->become(
              caf::behavior{[self](runtime::deactivate_atom, std::uint64_t) { leave(self); }});
          self->send(self, runtime::deactivate_atom::value, runtime::force_deactivation);
          return;
        }
        self->set_default_handler(caf::print_and_drop);
        self->become(caf::behavior{running().or_else(lifecycle(self))});
      },
  };
}

} // namespace bazaar::actors
