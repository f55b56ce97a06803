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

struct product_state {
  domain::product product;
  std::uint64_t saved_version = 0;
  static inline const char* name = "bazaar.product";
};

using product_actor = caf::stateful_actor<product_state>;

caf::behavior product_grain(product_actor* self, runtime::grain_context ctx,
                            grain_services services) {
  auto loaded = load_state<domain::product>(*services.store, ctx.id, domain::product_from_json);
  if (!loaded.ok) {
    self->set_default_handler([](caf::scheduled_actor*, caf::message_view&) -> caf::result<caf::message> {
      return make_failure(errc::unavailable, "the product's stored state cannot be read");
    });
    return {runtime::deactivation_handler(self, ctx, [] {})};
  }
  auto& st = self->state;
  if (loaded.state)
    st.product = std::move(*loaded.state);
  st.product.sku = ctx.id.key;
  st.saved_version = st.product.version;
  ctx.record->set_version(st.product.version);
  auto host = ctx.host;
  auto record = ctx.record;

  return {
    [=](const product_get&) -> domain::product { return self->state.product; },
    [=](const product_create& cmd) -> caf::result<domain::product> {
      auto& p = self->state.product;
      if (cmd.draft.sku != p.sku)
        return make_failure(errc::validation_failed, "sku does not name this product", "sku");
      if (auto bad = p.create(cmd.draft, host->time().wall_ms()))
        return runtime::to_error(*bad);
      record->set_version(p.version);
      return p;
    },
    runtime::deactivation_handler(self, ctx,
                                  [=] {
                                    save_state(*services.store, record->id(),
                                               self->state.product, self->state.saved_version);
                                  }),
  };
}

} // namespace

caf::actor spawn_product(caf::actor_system& sys, const runtime::grain_context& ctx,
                         const grain_services& services) {
  return sys.spawn(product_grain, ctx, services);
}

} // namespace bazaar::actors
