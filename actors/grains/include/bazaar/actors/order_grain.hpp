#pragma once

/// The order grain (key = order id): an order and its status machine (docs/API.md "Orders").
/// The basket creates it; the checkout saga moves it along (and cancels it, compensating);
/// admins ship and deliver it. Every status change is an `order-status-changed` event, and the
/// journal of its events folds back into the same order (order_from_events).
/// With the grains transport (saga.transport = grains) the order starts its saga: once the new
/// order is committed it tells the saga (checkout_begin), and a reminder committed with the
/// order tells it again every saga.resume_after_ms until the saga's last write removes it, so
/// an order answered 202 gets its saga, and gets to its end, even when a node dies mid-way.

#include "bazaar/actors/domain_inspect.hpp"
#include "bazaar/actors/saga_messages.hpp"
#include "bazaar/domain/events.hpp"
#include "bazaar/domain/json_codec.hpp"
#include "bazaar/domain/order_journal.hpp"
#include "bazaar/runtime/durable_grain.hpp"

namespace bazaar::actors {

/// Creates the order in status `pending`; a create re-sent with the same content is harmless.
struct order_create {
  static constexpr bool logged_at_info = true; ///< a step of an order (step_log.hpp)
  domain::order_draft draft;
  runtime::command_meta meta;
};
BAZAAR_DESCRIBE(order_create, (draft, meta))

/// Answers the order, with `exists == false` for an unknown id.
struct order_get {};
BAZAAR_DESCRIBE(order_get, ())

/// The checkout saga's step: brings the order through each of `statuses` in turn, in one write
/// (a status taken before changes nothing; none: no status change), recording the payment's
/// state when `payment_status` is not empty. Each change is an order-status-changed event.
struct order_advance {
  static constexpr bool logged_at_info = true; ///< a step of an order (step_log.hpp)
  std::vector<std::string> statuses;
  std::string reason;
  std::string payment_id;
  std::string payment_status;
  runtime::command_meta meta;
};
BAZAAR_DESCRIBE(order_advance, (statuses, reason, payment_id, payment_status, meta))

/// Ships a confirmed order; answers the order.
struct order_ship {
  static constexpr bool logged_at_info = true; ///< a step of an order (step_log.hpp)
  std::string tracking_number;
  runtime::command_meta meta;
  runtime::idempotency idem;
};
BAZAAR_DESCRIBE(order_ship, (tracking_number, meta, idem))

/// Marks a shipped order delivered; answers the order.
struct order_deliver {
  static constexpr bool logged_at_info = true; ///< a step of an order (step_log.hpp)
  runtime::command_meta meta;
  runtime::idempotency idem;
};
BAZAAR_DESCRIBE(order_deliver, (meta, idem))

struct order_grain {
  static constexpr const char* type = "order";
  using state = domain::order;
  using command = runtime::command<domain::order>;
  using result = runtime::outcome<domain::order>;
  using interface = caf::typed_actor<caf::replies_to<order_get>::with<domain::order>,
                                     caf::replies_to<order_create>::with<domain::order>,
                                     caf::replies_to<order_advance>::with<domain::order>,
                                     caf::replies_to<order_ship>::with<domain::order>,
                                     caf::replies_to<order_deliver>::with<domain::order>,
                                     caf::replies_to<runtime::reminder_due>::with<bool>>;

  /// The reminder by which an unfinished checkout is started again (grains transport).
  static constexpr const char* checkout_timer = "checkout";

  /// saga.transport == grains: the order starts its saga itself (see above).
  bool starts_saga = true;
  /// saga.resume_after_ms.
  std::chrono::milliseconds resume_after{5000};

  static domain::order initial(const std::string& id) {
    domain::order o;
    o.order_id = id;
    return o;
  }
  static std::optional<domain::order> from_snapshot(const boost::json::value& v) {
    return domain::from_snapshot<domain::order>(v);
  }

  domain::order on(const domain::order& o, const order_get&) const { return o; }

  result on(command& c, const order_create& cmd) const {
    auto& o = c.state();
    if (cmd.draft.order_id != o.order_id)
      return domain::validation_failed("order_id", "order_id does not name this order");
    bool existed = o.exists;
    if (auto bad = o.create(cmd.draft, c.now()))
      return *bad;
    if (!existed) {
      c.emit(domain::events::order_created.name, domain::order_created_data(o));
      if (starts_saga) {
        c.arm_reminder(checkout_timer, c.now() + resume_after.count());
        begin_checkout(c);
      }
    }
    return o;
  }

  result on(command& c, const order_advance& cmd) const {
    auto& o = c.state();
    if (!o.exists)
      return domain::not_found("no order " + o.order_id);
    std::vector<domain::order_status> steps;
    auto trial = o; // every step is checked before any is taken: a refusal changes nothing
    for (const auto& status : cmd.statuses) {
      auto to = domain::parse_enum<domain::order_status>(status);
      if (!to)
        return domain::validation_failed("status", "no order status '" + status + "'");
      if (auto bad = trial.advance(*to, cmd.reason, c.now()))
        return *bad;
      steps.push_back(*to);
    }
    bool paid_changed =
        !cmd.payment_status.empty() && o.set_payment(cmd.payment_id, cmd.payment_status, c.now());
    bool moved = false;
    for (auto to : steps) {
      auto from = o.status;
      (void)o.advance(to, cmd.reason, c.now()); // checked above
      if (o.status != from) {
        c.emit(domain::events::order_status_changed.name, domain::status_changed_data(o, from));
        moved = true;
      }
    }
    if (paid_changed && !moved)
      c.emit(domain::events::order_payment_updated.name, domain::payment_data(o));
    return o;
  }

  /// The checkout reminder (grains transport): tells the saga again, and comes back after
  /// saga.resume_after_ms, until the saga's last write removes it (the saga ends after the
  /// order's last step: a node killed in between leaves a saga to finish).
  runtime::outcome<bool> on(command& c, const runtime::reminder_due& r) const {
    auto& o = c.state();
    if (r.name != checkout_timer || !starts_saga || !o.exists) {
      c.disarm_reminder(r.name);
      return true;
    }
    c.arm_reminder(checkout_timer, c.now() + resume_after.count());
    begin_checkout(c);
    return true;
  }

  result on(command& c, const order_ship& cmd) const {
    auto& o = c.state();
    auto from = o.status;
    if (auto bad = o.ship(cmd.tracking_number, c.now()))
      return *bad;
    c.emit(domain::events::order_status_changed.name, domain::status_changed_data(o, from));
    return o;
  }

  result on(command& c, const order_deliver&) const {
    auto& o = c.state();
    auto from = o.status;
    if (auto bad = o.deliver(c.now()))
      return *bad;
    c.emit(domain::events::order_status_changed.name, domain::status_changed_data(o, from));
    return o;
  }

 private:
  /// Tells the saga to start (or go on) once this command committed.
  static void begin_checkout(command& c) {
    const auto& o = c.state();
    c.tell_after_commit(runtime::grain_id{checkout_grain_type, o.order_id},
                        checkout_begin{domain::checkout_start_of(o),
                                       o.timeline.empty() ? 0 : o.timeline.front().at, c.meta()});
  }
};

} // namespace bazaar::actors
