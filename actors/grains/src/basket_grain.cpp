#include "bazaar/actors/grains.hpp"
#include "bazaar/runtime/grain_call.hpp"
#include "bazaar/runtime/reminders.hpp"

#include "bazaar/actors/shell.hpp"

namespace bazaar::actors {

namespace {

using domain::errc;
namespace json = boost::json;

struct basket_state : grain_state<domain::basket> {
  /// Whether this activation has armed the expiry reminder for the current contents.
  bool expiry_armed = false;
  static inline const char* name = "bazaar.basket";
};

using basket_actor = caf::stateful_actor<basket_state>;
using basket_waiter = waiter<domain::basket>;

constexpr const char* expiry_reminder = "expiry";

std::string render(const domain::basket& b) {
  return json::serialize(domain::to_json(b));
}

domain::failure bad_sku() {
  return domain::validation_failed("sku", "sku must be 1..64 characters of [A-Za-z0-9._:-]");
}

caf::message_handler running(basket_actor* self, grain_services services) {
  auto d = [self]() -> durable<domain::basket>& { return *self->state.d; };
  auto ttl = services.basket_ttl.count();
  // Commits a change, arming the expiry reminder when the basket has contents to expire.
  auto finish = [=](const idempotency& idem, basket_waiter w) {
    const auto& b = d().current();
    if (!b.lines.empty() && !self->state.expiry_armed) {
      d().arm_reminder(expiry_reminder, b.updated_at + ttl);
      self->state.expiry_armed = true;
    }
    d().commit(self, idem, render, std::move(w));
  };
  // Runs `apply(product)` once the product grain answered; nothing else reaches this basket
  // meanwhile (await), so commands stay strictly one at a time.
  auto with_product = [=](const std::string& sku, basket_waiter w, auto apply) {
    auto host = self->state.ctx.host;
    runtime::await_grain<domain::product>(
        self, *host, runtime::grain_id{product_type, sku}, product_get{}, services.call_timeout,
        [apply](domain::product& item) mutable { apply(item); }, [w](caf::error& e) { w.fail(e); });
  };

  return {
      [=](const basket_get&) -> caf::result<domain::basket> {
        auto rp = self->make_response_promise<domain::basket>();
        d().answer_state(reply_state(rp));
        return rp;
      },
      [=](const basket_add& cmd) -> caf::result<domain::basket> {
        auto rp = self->make_response_promise<domain::basket>();
        auto w = reply_state(rp);
        if (auto seen = d().check(cmd.idem))
          d().answer_error(*seen, w);
        else if (cmd.quantity < 1 || cmd.quantity > domain::max_quantity_per_add)
          d().refuse(self, cmd.idem,
                     domain::validation_failed("quantity", "quantity must be between 1 and 999"),
                     w);
        else if (!domain::is_identifier(cmd.sku))
          d().refuse(self, cmd.idem, bad_sku(), w);
        else
          with_product(cmd.sku, w, [=](const domain::product& item) {
            auto& b = d().current();
            if (auto bad = b.add(item, cmd.quantity, d().now()))
              return d().refuse(self, cmd.idem, *bad, w);
            d().emit("basket-item-added",
                     {{"customer_id", b.customer_id},
                      {"sku", cmd.sku},
                      {"quantity", cmd.quantity},
                      {"line_quantity", b.find(cmd.sku)->quantity},
                      {"unit_price_cents", item.price_cents}},
                     cmd.meta);
            finish(cmd.idem, w);
          });
        return rp;
      },
      [=](const basket_set& cmd) -> caf::result<domain::basket> {
        auto rp = self->make_response_promise<domain::basket>();
        auto w = reply_state(rp);
        auto apply = [=](const domain::product* item) {
          auto& b = d().current();
          auto before = b.version;
          if (auto bad = b.set(cmd.sku, cmd.quantity, item, d().now()))
            return d().refuse(self, cmd.idem, *bad, w);
          if (b.version != before)
            d().emit(cmd.quantity == 0 ? "basket-item-removed" : "basket-item-updated",
                     {{"customer_id", b.customer_id}, {"sku", cmd.sku}, {"quantity", cmd.quantity}},
                     cmd.meta);
          finish(cmd.idem, w);
        };
        if (auto seen = d().check(cmd.idem))
          d().answer_error(*seen, w);
        else if (cmd.quantity < 0 || cmd.quantity > domain::max_line_quantity)
          d().refuse(self, cmd.idem,
                     domain::validation_failed("quantity", "quantity must be between 0 and 999"),
                     w);
        else if (!domain::is_identifier(cmd.sku))
          d().refuse(self, cmd.idem, bad_sku(), w);
        else if (d().current().find(cmd.sku) != nullptr || cmd.quantity == 0)
          apply(nullptr);
        else
          with_product(cmd.sku, w, [apply](const domain::product& item) { apply(&item); });
        return rp;
      },
      [=](const basket_remove& cmd) -> caf::result<domain::basket> {
        auto rp = self->make_response_promise<domain::basket>();
        auto w = reply_state(rp);
        if (auto seen = d().check(cmd.idem))
          d().answer_error(*seen, w);
        else if (!domain::is_identifier(cmd.sku))
          d().refuse(self, cmd.idem, bad_sku(), w);
        else {
          auto& b = d().current();
          auto before = b.version;
          b.remove(cmd.sku, d().now());
          if (b.version != before)
            d().emit("basket-item-removed", {{"customer_id", b.customer_id}, {"sku", cmd.sku}},
                     cmd.meta);
          finish(cmd.idem, w);
        }
        return rp;
      },
      [=](const basket_clear& cmd) -> caf::result<domain::basket> {
        auto rp = self->make_response_promise<domain::basket>();
        auto w = reply_state(rp);
        if (auto seen = d().check(cmd.idem)) {
          d().answer_error(*seen, w);
          return rp;
        }
        auto& b = d().current();
        auto before = b.version;
        b.clear(d().now());
        if (b.version != before)
          d().emit("basket-cleared", {{"customer_id", b.customer_id}}, cmd.meta);
        finish(cmd.idem, w);
        return rp;
      },
      [=](const basket_checkout& cmd) -> caf::result<checkout_accepted> {
        auto rp = self->make_response_promise<checkout_accepted>();
        std::function<void(const caf::error&)> fail = [rp](const caf::error& e) mutable {
          rp.deliver(e);
        };
        auto& b = d().current();
        if (!cmd.idem.present()) {
          rp.deliver(runtime::make_failure(errc::bad_request, "checkout needs an Idempotency-Key"));
          return rp;
        }
        if (auto seen = d().check(cmd.idem)) {
          d().answer_error(*seen, basket_waiter{[fail, e = *seen](const auto&) { fail(e); }, fail});
          return rp;
        }
        if (b.lines.empty()) {
          d().refuse(self, cmd.idem, domain::conflict("the basket is empty"),
                     basket_waiter{[](const auto&) {}, fail});
          return rp;
        }
        domain::order_draft draft;
        draft.order_id = domain::order_id_for(b.customer_id, cmd.idem.key, b.version);
        draft.customer_id = b.customer_id;
        for (const auto& line : b.lines)
          draft.items.push_back(
              domain::order_line{line.sku, line.name, line.quantity, line.unit_price_cents});
        draft.currency = b.currency;
        draft.card_token = cmd.card_token;
        draft.shipping_address = cmd.shipping_address;
        auto order_id = draft.order_id;
        auto host = self->state.ctx.host;
        // The order first, then the basket: a retry after a failure in between finds the same
        // order (its id derives from the key and the basket version) and only empties the basket.
        runtime::await_grain<domain::order>(
            self, *host, runtime::grain_id{order_type, order_id},
            order_create{std::move(draft), cmd.meta}, services.call_timeout,
            [=](domain::order&) mutable {
              auto& basket = d().current();
              basket.clear(d().now());
              d().emit("basket-checked-out",
                       {{"customer_id", basket.customer_id}, {"order_id", order_id}}, cmd.meta);
              auto body =
                  json::serialize(json::object{{"order_id", order_id}, {"status", "pending"}});
              d().commit(
                  self, cmd.idem, [body](const domain::basket&) { return body; },
                  basket_waiter{[rp, order_id](const auto&) mutable {
                                  rp.deliver(checkout_accepted{order_id});
                                },
                                fail});
            },
            [fail](caf::error& e) mutable { fail(e); });
        return rp;
      },
      [=](const runtime::reminder_due& r) -> caf::result<bool> {
        auto rp = self->make_response_promise<bool>();
        auto w = reply_with<domain::basket>(rp, [](const domain::basket&) { return true; });
        auto& b = d().current();
        auto now = d().now();
        if (r.name != expiry_reminder) {
          d().disarm_reminder(r.name);
        } else if (b.lines.empty()) {
          d().disarm_reminder(expiry_reminder);
          self->state.expiry_armed = false;
        } else if (now >= b.updated_at + ttl) {
          auto lines = b.lines.size();
          b.clear(now);
          d().emit("basket-expired",
                   {{"customer_id", b.customer_id}, {"lines", lines}, {"ttl_s", ttl / 1000}},
                   command_meta{{}, "system"});
          d().disarm_reminder(expiry_reminder);
          self->state.expiry_armed = false;
        } else {
          d().arm_reminder(expiry_reminder, b.updated_at + ttl);
          self->state.expiry_armed = true;
        }
        d().commit(self, idempotency{}, render, std::move(w));
        return rp;
      },
  };
}

caf::behavior basket_grain(basket_actor* self, runtime::grain_context ctx,
                           grain_services services) {
  auto customer = ctx.id.key;
  return load_then<domain::basket>(
      self, ctx, services, domain::basket_from_json,
      [customer] {
        domain::basket b;
        b.customer_id = customer;
        return b;
      },
      [self, services] { return running(self, services); });
}

} // namespace

caf::actor spawn_basket(caf::actor_system& sys, const runtime::grain_context& ctx,
                        const grain_services& services) {
  return sys.spawn(basket_grain, ctx, services);
}

} // namespace bazaar::actors
