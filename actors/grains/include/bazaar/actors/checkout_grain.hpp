#pragma once

/// The checkout saga grain (key = order id): fed by the Kafka bridge with order-created,
/// product-reserved and payment-processed records, it reserves every line (product-reservation
/// records to the inventory grains), asks for the payment (payment-pending to the payment
/// grain), moves the order along (calls to its order grain), and compensates on every failure
/// path. Durable reminders bound its waits. Every step is one durable write: the records it
/// sends, the timers it sets and its new state commit together, after the order grain took the
/// step, so a node killed mid-saga resumes it from the last step, and a record delivered again
/// (same event id, or a late answer) changes nothing.

#include "bazaar/actors/order_grain.hpp"
#include "bazaar/actors/record_data.hpp"
#include "bazaar/domain/checkout.hpp"

#include <chrono>

namespace bazaar::actors {

/// The event types the saga sends.
namespace checkout_events {
inline constexpr const char* product_reservation = "product-reservation";
inline constexpr const char* payment_pending = "payment-pending";
} // namespace checkout_events

/// Answers the saga's state.
struct checkout_get {};

/// Cancels the order on behalf of its owner or an admin and compensates (stock released,
/// payment refunded); answers the cancelled order. Conflict once shipped or cancelled.
struct checkout_cancel {
  static constexpr bool logged_at_info = true; ///< a step of a checkout (step_log.hpp)
  std::string reason;
  runtime::command_meta meta;
  runtime::idempotency idem;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, checkout_get&) {
  return f(caf::meta::type_name("bazaar.checkout_get"));
}
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, checkout_cancel& x) {
  return f(caf::meta::type_name("bazaar.checkout_cancel"), x.reason, x.meta, x.idem);
}

} // namespace bazaar::actors

namespace bazaar::domain {

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, checkout_line& x) {
  return f(caf::meta::type_name("bazaar.checkout_line"), x.sku, x.quantity, x.state);
}
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, checkout& x) {
  return f(caf::meta::type_name("bazaar.checkout"), x.order_id, x.customer_id, x.lines,
           x.amount_cents, x.currency, x.card_token, x.stage, x.payment, x.payment_id,
           x.cancel_reason, x.started_at, x.updated_at, x.version, x.correlation_id);
}

} // namespace bazaar::domain

namespace bazaar::actors {

struct checkout_grain {
  static constexpr const char* type = "checkout";
  using state = domain::checkout;
  using command = runtime::command<domain::checkout>;
  using interface = caf::typed_actor<caf::replies_to<checkout_get>::with<domain::checkout>,
                                     caf::replies_to<checkout_cancel>::with<domain::order>,
                                     caf::replies_to<runtime::kafka_record>::with<bool>,
                                     caf::replies_to<runtime::reminder_due>::with<bool>>;

  /// The reminders that bound the saga's waits.
  static constexpr const char* reservation_timer = "reservation-timeout";
  static constexpr const char* payment_timer = "payment-timeout";

  /// How long the saga waits for every line's reservation, and for the payment's answer.
  std::chrono::milliseconds reservation_timeout{10000};
  std::chrono::milliseconds payment_timeout{30000};

  static domain::checkout initial(const std::string& order_id) {
    domain::checkout s;
    s.order_id = order_id;
    return s;
  }
  static std::optional<domain::checkout> from_snapshot(const boost::json::value& v) {
    return domain::checkout_from_json(v);
  }
  /// The correlation id the saga's timeouts (and records without one) carry on.
  static std::string correlation_of(const domain::checkout& s) { return s.correlation_id; }

  domain::checkout on(const domain::checkout& s, const checkout_get&) const { return s; }

  runtime::outcome<domain::order> on(command& c, const checkout_cancel& cmd) const {
    auto next = c.state();
    domain::checkout_effects effects;
    if (auto bad = next.cancel(cmd.reason, c.now(), effects))
      return *bad;
    return carry_out<domain::order>(c, std::move(next), std::move(effects),
                                    [](domain::order& o) { return std::move(o); });
  }

  runtime::outcome<bool> on(command& c, const runtime::kafka_record& r) const {
    auto parsed = record_data(r);
    if (auto* bad = std::get_if<domain::failure>(&parsed))
      return *bad;
    const auto& data = std::get<boost::json::object>(parsed);
    auto saga = c.state(); // the saga's next state, taken once the order took its step
    auto order_id = data_text(data, "order_id");
    if (!order_id || *order_id != saga.order_id)
      return bad_record("a " + r.event_type + " record for this saga names order_id '" +
                        saga.order_id + "'");
    domain::checkout_effects effects;
    if (r.event_type == order_events::order_created) {
      auto start = start_of(data);
      if (auto* bad = std::get_if<domain::failure>(&start))
        return *bad;
      effects = saga.start(std::get<domain::checkout_start>(start), c.now());
      if (saga.correlation_id.empty())
        saga.correlation_id = c.meta().correlation_id;
    } else if (r.event_type == "product-reserved") {
      auto sku = data_text(data, "sku");
      auto status = data_text(data, "status");
      if (!sku || !status)
        return bad_record("a product-reserved record needs the strings sku and status");
      effects = saga.on_reserved(*sku, *status == "reserved",
                                 data_text(data, "reason").value_or(""), c.now());
    } else if (r.event_type == "payment-processed") {
      auto status = data_text(data, "status");
      if (!status)
        return bad_record("a payment-processed record needs the string status");
      effects = saga.on_payment(*status, c.now());
    } else {
      return bad_record("the checkout saga handles order-created, product-reserved and "
                        "payment-processed records, not '" +
                        r.event_type + "'");
    }
    return carry_out<bool>(c, std::move(saga), std::move(effects),
                           [](domain::order&) { return true; });
  }

  runtime::outcome<bool> on(command& c, const runtime::reminder_due& r) const {
    auto next = c.state();
    domain::checkout_effects effects;
    if (r.name == reservation_timer)
      effects = next.on_reservation_timeout(c.now());
    else if (r.name == payment_timer)
      effects = next.on_payment_timeout(c.now());
    effects.disarm.push_back(r.name); // dealt with: it must not fire again
    return carry_out<bool>(c, std::move(next), std::move(effects),
                           [](domain::order&) { return true; });
  }

 private:
  /// What order-created says, or why it cannot start a checkout.
  static std::variant<domain::failure, domain::checkout_start>
  start_of(const boost::json::object& data) {
    domain::checkout_start s;
    s.order_id = data_text(data, "order_id").value_or("");
    s.customer_id = data_text(data, "customer_id").value_or("");
    s.card_token = data_text(data, "card_token").value_or("");
    s.currency = data_text(data, "currency").value_or("USD");
    s.amount_cents = data_int(data, "total_cents").value_or(0);
    auto items = data.find("items");
    if (items == data.end() || !items->value().is_array())
      return bad_record("an order-created record needs an items array");
    for (const auto& item : items->value().get_array()) {
      if (!item.is_object())
        return bad_record("every item of an order-created record is an object");
      auto sku = data_text(item.get_object(), "sku");
      auto quantity = data_int(item.get_object(), "quantity");
      if (!sku || !quantity)
        return bad_record("every item of an order-created record has a sku and a quantity");
      s.lines.push_back(domain::checkout_line{*sku, *quantity, domain::line_state::requested});
    }
    return s;
  }

  /// Carries out a step: `next` is the saga's state after it, `effects` what it asks for. The
  /// order's steps come first (each a call to the order grain); a refusal refuses the whole
  /// step and leaves the saga as it was (its state, records and timers are taken only once the
  /// order took its steps), so that the record or reminder that asked for it is retried from
  /// the same state. `reply` makes the answer from the order as the last step left it.
  template <class R, class Reply>
  runtime::outcome<R> carry_out(command& c, domain::checkout next, domain::checkout_effects effects,
                                Reply reply) const {
    std::vector<order_advance> steps;
    for (auto status : effects.order_steps)
      steps.push_back(order_advance{
          std::string(domain::to_string(status)), effects.cancel_reason, {}, {}, c.meta()});
    if (!effects.order_payment_status.empty()) {
      if (steps.empty())
        steps.push_back(order_advance{{}, {}, {}, {}, c.meta()});
      steps.back().payment_id = next.payment_id;
      steps.back().payment_status = effects.order_payment_status;
    }
    auto timers = std::make_pair(reservation_timeout, payment_timeout);
    if (steps.empty()) {
      if constexpr (std::is_same<R, domain::order>::value) {
        steps.push_back(order_advance{{}, {}, {}, {}, c.meta()}); // the answer is the order
      } else {
        take(c, std::move(next), effects, timers);
        return runtime::outcome<R>{R{true}};
      }
    }
    return take_steps<R>(c, std::move(steps), 0,
                         [next = std::move(next), effects = std::move(effects), timers,
                          reply](command& c, domain::order& o) mutable {
                           take(c, std::move(next), effects, timers);
                           return runtime::outcome<R>{reply(o)};
                         });
  }

  /// Takes the step into the saga's write: its new state, the records it sends, its timers.
  static void take(command& c, domain::checkout next, const domain::checkout_effects& effects,
                   std::pair<std::chrono::milliseconds, std::chrono::milliseconds> timers) {
    auto& saga = c.state();
    saga = std::move(next);
    for (const auto& s : effects.stock)
      c.emit(checkout_events::product_reservation, {{"order_id", saga.order_id},
                                                    {"sku", s.sku},
                                                    {"quantity", s.quantity},
                                                    {"type", domain::to_string(s.type)}});
    if (effects.charge || effects.refund)
      c.emit(checkout_events::payment_pending, {{"order_id", saga.order_id},
                                                {"payment_id", saga.payment_id},
                                                {"amount_cents", saga.amount_cents},
                                                {"currency", saga.currency},
                                                {"customer_id", saga.customer_id},
                                                {"card_token", saga.card_token},
                                                {"type", effects.charge ? "charge" : "refund"}});
    for (const auto& name : effects.disarm)
      c.disarm_reminder(name);
    if (effects.disarm_timers) {
      c.disarm_reminder(reservation_timer);
      c.disarm_reminder(payment_timer);
    }
    if (effects.arm_reservation_timer)
      c.arm_reminder(reservation_timer, c.now() + timers.first.count());
    if (effects.arm_payment_timer)
      c.arm_reminder(payment_timer, c.now() + timers.second.count());
  }

  /// Asks the order grain to take steps[i..], one after the other, then goes on with
  /// `then(command, order)`.
  template <class R, class Then>
  static runtime::outcome<R> take_steps(command& c, std::vector<order_advance> steps, std::size_t i,
                                        Then then) {
    auto key = c.state().order_id;
    auto step = steps[i];
    return c.ask<order_grain>(
        std::move(key), std::move(step),
        [steps = std::move(steps), i, then](command& c, domain::order& o) mutable {
          if (i + 1 < steps.size())
            return take_steps<R>(c, std::move(steps), i + 1, std::move(then));
          return then(c, o);
        });
  }
};

} // namespace bazaar::actors
