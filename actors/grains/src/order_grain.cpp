#include "bazaar/actors/grains.hpp"

#include "bazaar/actors/shell.hpp"

namespace bazaar::actors {

namespace {

namespace json = boost::json;

struct order_state : grain_state<domain::order> {
  static inline const char* name = "bazaar.order";
};

using order_actor = caf::stateful_actor<order_state>;

caf::message_handler running(order_actor* self) {
  auto d = [self]() -> durable<domain::order>& { return *self->state.d; };
  return {
      [=](const order_get&) -> caf::result<domain::order> {
        auto rp = self->make_response_promise<domain::order>();
        d().answer_state(reply_state(rp));
        return rp;
      },
      [=](const order_create& cmd) -> caf::result<domain::order> {
        auto rp = self->make_response_promise<domain::order>();
        auto w = reply_state(rp);
        auto& o = d().current();
        bool existed = o.exists;
        if (cmd.draft.order_id != o.order_id) {
          d().refuse(self, {},
                     domain::validation_failed("order_id", "order_id does not name this order"), w);
        } else if (auto bad = o.create(cmd.draft, d().now())) {
          d().refuse(self, {}, *bad, w);
        } else {
          if (!existed) {
            json::array items;
            for (const auto& l : o.items)
              items.push_back(json::object{{"sku", l.sku},
                                           {"name", l.name},
                                           {"quantity", l.quantity},
                                           {"unit_price_cents", l.unit_price_cents}});
            d().emit("order-created",
                     {{"order_id", o.order_id},
                      {"customer_id", o.customer_id},
                      {"items", std::move(items)},
                      {"total_cents", o.total_cents()},
                      {"currency", o.currency},
                      {"card_token", o.card_token}},
                     cmd.meta);
          }
          d().commit(self, {}, nullptr, w);
        }
        return rp;
      },
  };
}

caf::behavior order_grain(order_actor* self, runtime::grain_context ctx, grain_services services) {
  auto id = ctx.id.key;
  return load_then<domain::order>(
      self, ctx, services, domain::order_from_json,
      [id] {
        domain::order o;
        o.order_id = id;
        return o;
      },
      [self] { return running(self); });
}

} // namespace

caf::actor spawn_order(caf::actor_system& sys, const runtime::grain_context& ctx,
                       const grain_services& services) {
  return sys.spawn(order_grain, ctx, services);
}

} // namespace bazaar::actors
