#pragma once

/// The basket grain (key = customer id): a customer's basket. Lines are priced from the inventory
/// grain when first added; checkout turns the basket into a pending order. A basket untouched
/// for its ttl is cleared by its expiry reminder.

#include "bazaar/actors/inventory_grain.hpp"
#include "bazaar/actors/order_grain.hpp"

#include <chrono>

namespace bazaar::actors {

// -- messages: every command answers the resulting basket, checkout its order id ------------

struct basket_get {};
BAZAAR_DESCRIBE(basket_get, ())
struct basket_add {
  std::string sku;
  std::int32_t quantity = 0;
  runtime::command_meta meta;
  runtime::idempotency idem;
};
BAZAAR_DESCRIBE(basket_add, (sku, quantity, meta, idem))
struct basket_set {
  std::string sku;
  std::int32_t quantity = 0;
  runtime::command_meta meta;
  runtime::idempotency idem;
};
BAZAAR_DESCRIBE(basket_set, (sku, quantity, meta, idem))
struct basket_remove {
  std::string sku;
  runtime::command_meta meta;
  runtime::idempotency idem;
};
BAZAAR_DESCRIBE(basket_remove, (sku, meta, idem))
struct basket_clear {
  runtime::command_meta meta;
  runtime::idempotency idem;
};
BAZAAR_DESCRIBE(basket_clear, (meta, idem))
/// Turns the basket into a pending order and empties it. Needs an Idempotency-Key: a retry
/// gets the first answer (the same order), another request with the key gets `conflict`.
struct basket_checkout {
  static constexpr bool logged_at_info = true; ///< a step of a checkout (step_log.hpp)
  std::string card_token;
  /// JSON text, "" when none.
  std::string shipping_address;
  runtime::command_meta meta;
  runtime::idempotency idem;
};
BAZAAR_DESCRIBE(basket_checkout, (card_token, shipping_address, meta, idem))
struct checkout_accepted {
  std::string order_id;
};
BAZAAR_DESCRIBE(checkout_accepted, (order_id))

// -- the grain ------------------------------------------------------------------------------

struct basket_grain {
  static constexpr const char* type = "basket";
  using state = domain::basket;
  using interface = caf::typed_actor<caf::replies_to<basket_get>::with<domain::basket>,
                                     caf::replies_to<basket_add>::with<domain::basket>,
                                     caf::replies_to<basket_set>::with<domain::basket>,
                                     caf::replies_to<basket_remove>::with<domain::basket>,
                                     caf::replies_to<basket_clear>::with<domain::basket>,
                                     caf::replies_to<basket_checkout>::with<checkout_accepted>,
                                     caf::replies_to<runtime::reminder_due>::with<bool>>;
  using command = runtime::command<domain::basket>;
  using result = runtime::outcome<domain::basket>;

  /// The reminder that clears a basket untouched for `ttl`.
  static constexpr const char* expiry = "expiry";

  /// A basket untouched this long is cleared.
  std::chrono::milliseconds ttl{30LL * 24 * 60 * 60 * 1000};

  static domain::basket initial(const std::string& customer) {
    domain::basket b;
    b.customer_id = customer;
    return b;
  }
  static std::optional<domain::basket> from_snapshot(const boost::json::value& v) {
    return domain::from_snapshot<domain::basket>(v);
  }

  domain::basket on(const domain::basket& b, const basket_get&) const { return b; }

  result on(command& c, const basket_add& cmd) const {
    if (auto bad = domain::basket::check_add(cmd.sku, cmd.quantity))
      return *bad;
    return c.ask<inventory_grain>(cmd.sku, product_get{},
                                  [this, cmd](command& c, const domain::product& item) -> result {
                                    auto& b = c.state();
                                    bool was_empty = b.lines.empty();
                                    if (auto bad = b.add(item, cmd.quantity, c.now()))
                                      return *bad;
                                    c.emit(domain::events::basket_item_added.name,
                                           {{"customer_id", b.customer_id},
                                            {"sku", cmd.sku},
                                            {"quantity", cmd.quantity},
                                            {"line_quantity", b.find(cmd.sku)->quantity},
                                            {"unit_price_cents", item.price_cents}});
                                    keep_expiry(c, was_empty);
                                    return b;
                                  });
  }

  result on(command& c, const basket_set& cmd) const {
    if (auto bad = domain::basket::check_set(cmd.sku, cmd.quantity))
      return *bad;
    // A new line needs its product; changing or removing a line does not.
    if (cmd.quantity == 0 || c.state().find(cmd.sku) != nullptr)
      return set_line(c, cmd, nullptr);
    return c.ask<inventory_grain>(
        cmd.sku, product_get{},
        [this, cmd](command& c, const domain::product& item) { return set_line(c, cmd, &item); });
  }

  result on(command& c, const basket_remove& cmd) const {
    if (auto bad = domain::basket::check_sku(cmd.sku))
      return *bad;
    auto& b = c.state();
    if (b.remove(cmd.sku, c.now()))
      c.emit(domain::events::basket_item_removed.name,
             {{"customer_id", b.customer_id}, {"sku", cmd.sku}});
    return b;
  }

  result on(command& c, const basket_clear&) const {
    auto& b = c.state();
    if (b.clear(c.now()))
      c.emit(domain::events::basket_cleared.name, {{"customer_id", b.customer_id}});
    return b;
  }

  /// The order first, then the basket: a retry after a failure in between finds the same order
  /// (its id derives from the key and the basket version) and only empties the basket.
  runtime::outcome<checkout_accepted> on(command& c, const basket_checkout& cmd) const {
    if (!cmd.idem.present())
      return domain::failure{domain::errc::bad_request, "checkout needs an Idempotency-Key", {}};
    const auto& b = c.state();
    if (b.lines.empty())
      return domain::conflict("the basket is empty");
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
    return c.ask<order_grain>(
        order_id, order_create{std::move(draft), cmd.meta},
        [order_id](command& c, const domain::order&) {
          auto& basket = c.state();
          basket.clear(c.now());
          c.emit(domain::events::basket_checked_out.name,
                 {{"customer_id", basket.customer_id}, {"order_id", order_id}});
          return runtime::outcome<checkout_accepted>{checkout_accepted{order_id}};
        });
  }

  /// Clears a basket untouched for the ttl; a basket changed since gets its reminder moved.
  runtime::outcome<bool> on(command& c, const runtime::reminder_due& r) const {
    auto& b = c.state();
    auto due = b.updated_at + ttl.count();
    if (r.name != expiry || b.lines.empty()) {
      c.disarm_reminder(r.name);
    } else if (c.now() >= due) {
      auto lines = b.lines.size();
      b.clear(c.now());
      c.emit(domain::events::basket_expired.name,
             {{"customer_id", b.customer_id}, {"lines", lines}, {"ttl_s", ttl.count() / 1000}});
      c.disarm_reminder(expiry);
    } else {
      c.arm_reminder(expiry, due);
    }
    return true;
  }

 private:
  result set_line(command& c, const basket_set& cmd, const domain::product* item) const {
    auto& b = c.state();
    auto before = b.version;
    bool was_empty = b.lines.empty();
    if (auto bad = b.set(cmd.sku, cmd.quantity, item, c.now()))
      return *bad;
    if (b.version != before)
      c.emit(cmd.quantity == 0 ? domain::events::basket_item_removed.name
                               : domain::events::basket_item_updated.name,
             {{"customer_id", b.customer_id}, {"sku", cmd.sku}, {"quantity", cmd.quantity}});
    keep_expiry(c, was_empty);
    return b;
  }

  /// A basket that just got its first line arms its expiry; the reminder moves itself on.
  void keep_expiry(command& c, bool was_empty) const {
    const auto& b = c.state();
    if (was_empty && !b.lines.empty())
      c.arm_reminder(expiry, b.updated_at + ttl.count());
  }
};

} // namespace bazaar::actors
