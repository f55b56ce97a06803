#include "bazaar/actors/grains.hpp"
#include "bazaar/actors/protocol.hpp"
#include "bazaar/domain/json_codec.hpp"
#include "bazaar/runtime/errors.hpp"
#include "bazaar/runtime/grain_call.hpp"
#include "bazaar/runtime/grain_shell.hpp"

#include "snapshot_io.hpp"

#include <caf/event_based_actor.hpp>
#include <caf/stateful_actor.hpp>

#include <random>

namespace bazaar::actors {

namespace {

using domain::errc;
using runtime::make_failure;
using runtime::to_error;

struct basket_state {
  domain::basket basket;
  std::uint64_t saved_version = 0;
  static inline const char* name = "bazaar.basket";
};

using basket_actor = caf::stateful_actor<basket_state>;

caf::error bad_sku() {
  return make_failure(errc::validation_failed, "sku must be 1..64 characters of [A-Za-z0-9._:-]",
                      "sku");
}

/// A new order id: "ord-" and 20 random hex digits.
std::string new_order_id() {
  thread_local std::mt19937_64 rng{std::random_device{}()};
  static const char* hex = "0123456789abcdef";
  std::string id = "ord-";
  auto a = rng(), b = rng();
  for (int i = 0; i < 20; ++i) {
    auto& bits = i < 16 ? a : b;
    id += hex[bits & 0xf];
    bits >>= 4;
  }
  return id;
}

caf::behavior basket_grain(basket_actor* self, runtime::grain_context ctx,
                           grain_services services) {
  auto loaded = load_state<domain::basket>(*services.store, ctx.id, domain::basket_from_json);
  if (!loaded.ok) {
    self->set_default_handler([](caf::scheduled_actor*, caf::message_view&) -> caf::result<caf::message> {
      return make_failure(errc::unavailable, "the basket's stored state cannot be read");
    });
    return {runtime::deactivation_handler(self, ctx, [] {})};
  }
  auto& st = self->state;
  if (loaded.state)
    st.basket = std::move(*loaded.state);
  st.basket.customer_id = ctx.id.key;
  st.saved_version = st.basket.version;
  ctx.record->set_version(st.basket.version);

  auto host = ctx.host;
  auto record = ctx.record;
  auto now = [host] { return host->time().wall_ms(); };
  // Runs a change that needs the product's current data (name, price, active).
  auto with_product = [=](const std::string& sku, auto apply) {
    auto rp = self->make_response_promise<domain::basket>();
    runtime::await_grain<domain::product>(
      self, *host, runtime::grain_id{product_type, sku}, product_get{}, services.call_timeout,
      [=](domain::product& item) mutable {
        if (auto bad = apply(item)) {
          rp.deliver(to_error(*bad));
          return;
        }
        record->set_version(self->state.basket.version);
        rp.deliver(self->state.basket);
      },
      [=](caf::error& e) mutable { rp.deliver(std::move(e)); });
    return rp;
  };

  return {
    [=](const basket_get&) -> domain::basket { return self->state.basket; },
    [=](const basket_add& cmd) -> caf::result<domain::basket> {
      if (cmd.quantity < 1 || cmd.quantity > domain::max_quantity_per_add)
        return make_failure(errc::validation_failed, "quantity must be between 1 and 999",
                            "quantity");
      if (!domain::is_identifier(cmd.sku))
        return bad_sku();
      return with_product(cmd.sku, [=](const domain::product& item) {
        return self->state.basket.add(item, cmd.quantity, now());
      });
    },
    [=](const basket_set& cmd) -> caf::result<domain::basket> {
      auto& b = self->state.basket;
      if (cmd.quantity < 0 || cmd.quantity > domain::max_line_quantity)
        return make_failure(errc::validation_failed, "quantity must be between 0 and 999",
                            "quantity");
      if (!domain::is_identifier(cmd.sku))
        return bad_sku();
      if (b.find(cmd.sku) != nullptr || cmd.quantity == 0) {
        b.set(cmd.sku, cmd.quantity, nullptr, now());
        record->set_version(b.version);
        return b;
      }
      return with_product(cmd.sku, [=](const domain::product& item) {
        return self->state.basket.set(cmd.sku, cmd.quantity, &item, now());
      });
    },
    [=](const basket_remove& cmd) -> caf::result<domain::basket> {
      if (!domain::is_identifier(cmd.sku))
        return bad_sku();
      self->state.basket.remove(cmd.sku, now());
      record->set_version(self->state.basket.version);
      return self->state.basket;
    },
    [=](const basket_clear&) -> domain::basket {
      self->state.basket.clear(now());
      record->set_version(self->state.basket.version);
      return self->state.basket;
    },
    [=](const basket_checkout& cmd) -> caf::result<checkout_accepted> {
      auto& b = self->state.basket;
      auto t = now();
      if (const auto* seen = b.find_checkout(cmd.idempotency_key, t)) {
        if (seen->fingerprint != cmd.fingerprint)
          return make_failure(errc::conflict,
                              "this Idempotency-Key was already used with another request");
        if (seen->accepted)
          return checkout_accepted{seen->order_id};
        return make_failure(errc::conflict, "the basket is empty");
      }
      if (b.lines.empty()) {
        b.record_checkout({cmd.idempotency_key, cmd.fingerprint, false, {}, t}, t);
        record->set_version(b.version);
        return make_failure(errc::conflict, "the basket is empty");
      }
      domain::order_draft draft;
      draft.order_id = new_order_id();
      draft.customer_id = b.customer_id;
      for (const auto& line : b.lines)
        draft.items.push_back(
          domain::order_line{line.sku, line.name, line.quantity, line.unit_price_cents});
      draft.currency = b.currency;
      draft.card_token = cmd.card_token;
      draft.shipping_address = cmd.shipping_address;
      auto rp = self->make_response_promise<checkout_accepted>();
      auto order_id = draft.order_id;
      // Nothing else reaches this basket until the order exists (await), so the lines that
      // became the order are the lines that are cleared.
      runtime::await_grain<domain::order>(
        self, *host, runtime::grain_id{order_type, order_id}, order_create{std::move(draft)},
        services.call_timeout,
        [=](domain::order&) mutable {
          auto& basket = self->state.basket;
          basket.record_checkout({cmd.idempotency_key, cmd.fingerprint, true, order_id, 0},
                                 now());
          record->set_version(basket.version);
          rp.deliver(checkout_accepted{order_id});
        },
        [=](caf::error& e) mutable { rp.deliver(std::move(e)); });
      return rp;
    },
    runtime::deactivation_handler(self, ctx,
                                  [=] {
                                    save_state(*services.store, record->id(), self->state.basket,
                                               self->state.saved_version);
                                  }),
  };
}

} // namespace

caf::actor spawn_basket(caf::actor_system& sys, const runtime::grain_context& ctx,
                        const grain_services& services) {
  return sys.spawn(basket_grain, ctx, services);
}

} // namespace bazaar::actors
