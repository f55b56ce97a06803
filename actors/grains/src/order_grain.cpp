#include "bazaar/actors/grains.hpp"
#include "bazaar/actors/protocol.hpp"
#include "bazaar/domain/json_codec.hpp"
#include "bazaar/runtime/errors.hpp"
#include "bazaar/runtime/grain_shell.hpp"

#include "snapshot_io.hpp"

#include <caf/event_based_actor.hpp>
#include <caf/stateful_actor.hpp>

namespace bazaar::actors {

namespace {

using domain::errc;
using runtime::make_failure;

struct order_state {
  domain::order order;
  std::uint64_t saved_version = 0;
  static inline const char* name = "bazaar.order";
};

using order_actor = caf::stateful_actor<order_state>;

caf::behavior order_grain(order_actor* self, runtime::grain_context ctx, grain_services services) {
  auto loaded = load_state<domain::order>(*services.store, ctx.id, domain::order_from_json);
  if (!loaded.ok) {
    self->set_default_handler(
      [](caf::scheduled_actor*, caf::message_view&) -> caf::result<caf::message> {
        return make_failure(errc::unavailable, "the order's stored state cannot be read");
      });
    return {runtime::deactivation_handler(self, ctx, [] {})};
  }
  auto& st = self->state;
  if (loaded.state)
    st.order = std::move(*loaded.state);
  st.order.order_id = ctx.id.key;
  st.saved_version = st.order.version;
  ctx.record->set_version(st.order.version);
  auto host = ctx.host;
  auto record = ctx.record;

  return {
    [=](const order_get&) -> domain::order { return self->state.order; },
    [=](const order_create& cmd) -> caf::result<domain::order> {
      auto& o = self->state.order;
      if (cmd.draft.order_id != o.order_id)
        return make_failure(errc::validation_failed, "order_id does not name this order",
                            "order_id");
      if (auto bad = o.create(cmd.draft, host->time().wall_ms()))
        return runtime::to_error(*bad);
      record->set_version(o.version);
      return o;
    },
    runtime::deactivation_handler(self, ctx,
                                  [=] {
                                    save_state(*services.store, record->id(), self->state.order,
                                               self->state.saved_version);
                                  }),
  };
}

} // namespace

caf::actor spawn_order(caf::actor_system& sys, const runtime::grain_context& ctx,
                       const grain_services& services) {
  return sys.spawn(order_grain, ctx, services);
}

} // namespace bazaar::actors
