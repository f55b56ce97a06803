#pragma once

/// The order grain (key = order id): an order and its status machine (docs/API.md "Orders").
/// The basket creates it; the checkout saga moves it along (and cancels it, compensating);
/// admins ship and deliver it. Every status change is an `order-status-changed` event, and the
/// journal of its events folds back into the same order (order_from_events).

#include "bazaar/actors/domain_inspect.hpp"
#include "bazaar/domain/json_codec.hpp"
#include "bazaar/domain/order_journal.hpp"
#include "bazaar/runtime/durable_grain.hpp"

namespace bazaar::actors {

/// The event types of the order grain; their topics are configuration.
namespace order_events {
inline constexpr const char* order_created = "order-created";
inline constexpr const char* order_status_changed = "order-status-changed";
/// Journaled only: the payment changed without a status change (a refund after cancelling).
inline constexpr const char* order_payment_updated = "order-payment-updated";
} // namespace order_events

/// Creates the order in status `pending`; a create re-sent with the same content is harmless.
struct order_create {
  static constexpr bool logged_at_info = true; ///< a step of an order (step_log.hpp)
  domain::order_draft draft;
  runtime::command_meta meta;
};

/// Answers the order, with `exists == false` for an unknown id.
struct order_get {};

/// The checkout saga's step: brings the order to `status` (a step taken before changes
/// nothing; empty: no status change), recording the payment's state when `payment_status` is
/// not empty.
struct order_advance {
  static constexpr bool logged_at_info = true; ///< a step of an order (step_log.hpp)
  std::string status;
  std::string reason;
  std::string payment_id;
  std::string payment_status;
  runtime::command_meta meta;
};

/// Ships a confirmed order; answers the order.
struct order_ship {
  static constexpr bool logged_at_info = true; ///< a step of an order (step_log.hpp)
  std::string tracking_number;
  runtime::command_meta meta;
  runtime::idempotency idem;
};

/// Marks a shipped order delivered; answers the order.
struct order_deliver {
  static constexpr bool logged_at_info = true; ///< a step of an order (step_log.hpp)
  runtime::command_meta meta;
  runtime::idempotency idem;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, order_create& x) {
  return f(caf::meta::type_name("bazaar.order_create"), x.draft, x.meta);
}
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, order_get&) {
  return f(caf::meta::type_name("bazaar.order_get"));
}
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, order_advance& x) {
  return f(caf::meta::type_name("bazaar.order_advance"), x.status, x.reason, x.payment_id,
           x.payment_status, x.meta);
}
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, order_ship& x) {
  return f(caf::meta::type_name("bazaar.order_ship"), x.tracking_number, x.meta, x.idem);
}
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, order_deliver& x) {
  return f(caf::meta::type_name("bazaar.order_deliver"), x.meta, x.idem);
}

struct order_grain {
  static constexpr const char* type = "order";
  using state = domain::order;
  using command = runtime::command<domain::order>;
  using result = runtime::outcome<domain::order>;
  using interface = caf::typed_actor<caf::replies_to<order_get>::with<domain::order>,
                                     caf::replies_to<order_create>::with<domain::order>,
                                     caf::replies_to<order_advance>::with<domain::order>,
                                     caf::replies_to<order_ship>::with<domain::order>,
                                     caf::replies_to<order_deliver>::with<domain::order>>;

  static domain::order initial(const std::string& id) {
    domain::order o;
    o.order_id = id;
    return o;
  }
  static std::optional<domain::order> from_snapshot(const boost::json::value& v) {
    return domain::order_from_json(v);
  }

  domain::order on(const domain::order& o, const order_get&) const { return o; }

  result on(command& c, const order_create& cmd) const {
    auto& o = c.state();
    if (cmd.draft.order_id != o.order_id)
      return domain::validation_failed("order_id", "order_id does not name this order");
    bool existed = o.exists;
    if (auto bad = o.create(cmd.draft, c.now()))
      return *bad;
    if (!existed)
      c.emit(order_events::order_created, domain::order_created_data(o));
    return o;
  }

  result on(command& c, const order_advance& cmd) const {
    auto& o = c.state();
    auto from = o.status;
    if (!o.exists)
      return domain::not_found("no order " + o.order_id);
    if (!cmd.status.empty()) {
      auto to = domain::parse_order_status(cmd.status);
      if (!to)
        return domain::validation_failed("status", "no order status '" + cmd.status + "'");
      if (auto bad = o.advance(*to, cmd.reason, c.now()))
        return *bad;
    }
    bool paid_changed =
        !cmd.payment_status.empty() && o.set_payment(cmd.payment_id, cmd.payment_status, c.now());
    if (o.status != from)
      c.emit(order_events::order_status_changed, domain::status_changed_data(o, from));
    else if (paid_changed)
      c.emit(order_events::order_payment_updated, domain::payment_data(o));
    return o;
  }

  result on(command& c, const order_ship& cmd) const {
    auto& o = c.state();
    auto from = o.status;
    if (auto bad = o.ship(cmd.tracking_number, c.now()))
      return *bad;
    c.emit(order_events::order_status_changed, domain::status_changed_data(o, from));
    return o;
  }

  result on(command& c, const order_deliver&) const {
    auto& o = c.state();
    auto from = o.status;
    if (auto bad = o.deliver(c.now()))
      return *bad;
    c.emit(order_events::order_status_changed, domain::status_changed_data(o, from));
    return o;
  }
};

} // namespace bazaar::actors
