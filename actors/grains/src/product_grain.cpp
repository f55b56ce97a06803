#include "bazaar/actors/grains.hpp"

#include "bazaar/actors/shell.hpp"

namespace bazaar::actors {

namespace {

namespace json = boost::json;

struct product_state : grain_state<domain::product> {
  static inline const char* name = "bazaar.product";
};

using product_actor = caf::stateful_actor<product_state>;

caf::message_handler running(product_actor* self) {
  auto d = [self]() -> durable<domain::product>& { return *self->state.d; };
  return {
      [=](const product_get&) -> caf::result<domain::product> {
        auto rp = self->make_response_promise<domain::product>();
        d().answer_state(reply_state(rp));
        return rp;
      },
      [=](const product_create& cmd) -> caf::result<domain::product> {
        auto rp = self->make_response_promise<domain::product>();
        auto w = reply_state(rp);
        auto& p = d().current();
        if (auto seen = d().check(cmd.idem)) {
          d().answer_error(*seen, w);
        } else if (cmd.draft.sku != p.sku) {
          d().refuse(self, cmd.idem,
                     domain::validation_failed("sku", "sku does not name this product"), w);
        } else if (auto bad = p.create(cmd.draft, d().now())) {
          d().refuse(self, cmd.idem, *bad, w);
        } else {
          d().emit("product-created", domain::to_json(p).as_object(), cmd.meta);
          d().emit("stock-updated", {{"sku", p.sku}, {"stock", p.stock}, {"reserved", p.reserved}},
                   cmd.meta);
          d().commit(
              self, cmd.idem,
              [](const domain::product& x) { return json::serialize(domain::to_json(x)); }, w);
        }
        return rp;
      },
  };
}

caf::behavior product_grain(product_actor* self, runtime::grain_context ctx,
                            grain_services services) {
  auto sku = ctx.id.key;
  return load_then<domain::product>(
      self, ctx, services, domain::product_from_json,
      [sku] {
        domain::product p;
        p.sku = sku;
        return p;
      },
      [self] { return running(self); });
}

} // namespace

caf::actor spawn_product(caf::actor_system& sys, const runtime::grain_context& ctx,
                         const grain_services& services) {
  return sys.spawn(product_grain, ctx, services);
}

} // namespace bazaar::actors
