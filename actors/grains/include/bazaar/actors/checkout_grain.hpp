#pragma once

/// The checkout saga grain (key = order id): it reserves every line, takes the payment, moves
/// the order along and compensates on every failure path, in one of two transports
/// (saga.transport):
///
/// - grains (the default): the order grain starts it (checkout_begin) and the saga calls the
///   inventory grains (every line at once), the payment grain and the order grain directly,
///   on whichever node they live. A checkout whose answers all come at once is one command and
///   one write of the saga, taken after the participants' steps; a saga that has to wait (a
///   slow gateway, a participant that does not answer) writes where it stands and is driven on
///   by what it waits for (the payment grain's checkout_payment_decided, its timers) and by its
///   order's reminder. Every participant's step is idempotent on the order (reserve, release
///   and commit per order and sku; one charge per payment id; an order step taken before
///   changes nothing), so a saga driven again after a crash or a lost answer asks again and
///   nothing happens twice. Kafka carries the facts (the participants' events) to others.
/// - kafka: fed by the Kafka bridge with order-created, product-reserved and payment-processed
///   records, it sends product-reservation and payment-pending records, so a participant can
///   live in another service. Every step is one durable write: the records it sends, the
///   timers it sets and its new state commit together, after the order grain took the step,
///   so a node killed mid-saga resumes it from the last step, and a record delivered again
///   (same event id, or a late answer) changes nothing.
///
/// In both, durable reminders bound its waits.

#include "bazaar/actors/inventory_grain.hpp"
#include "bazaar/actors/order_grain.hpp"
#include "bazaar/actors/payment_grain.hpp"
#include "bazaar/actors/record_data.hpp"
#include "bazaar/actors/saga_messages.hpp"
#include "bazaar/domain/checkout.hpp"
#include "bazaar/domain/events.hpp"

#include <chrono>

namespace bazaar::actors {

/// Answers the saga's state.
struct checkout_get {};
BAZAAR_DESCRIBE(checkout_get, ())

/// Cancels the order on behalf of its owner or an admin and compensates (stock released,
/// payment refunded); answers the cancelled order. Conflict once shipped or cancelled.
struct checkout_cancel {
  static constexpr bool logged_at_info = true; ///< a step of a checkout (step_log.hpp)
  std::string reason;
  runtime::command_meta meta;
  runtime::idempotency idem;
};
BAZAAR_DESCRIBE(checkout_cancel, (reason, meta, idem))

struct checkout_grain {
  static constexpr const char* type = checkout_grain_type;
  using state = domain::checkout;
  using command = runtime::command<domain::checkout>;
  using interface = caf::typed_actor<caf::replies_to<checkout_get>::with<domain::checkout>,
                                     caf::replies_to<checkout_cancel>::with<domain::order>,
                                     caf::replies_to<checkout_begin>::with<bool>,
                                     caf::replies_to<checkout_payment_decided>::with<bool>,
                                     caf::replies_to<runtime::kafka_record>::with<bool>,
                                     caf::replies_to<runtime::reminder_due>::with<bool>>;

  /// The reminders that bound the saga's waits.
  static constexpr const char* reservation_timer = "reservation-timeout";
  static constexpr const char* payment_timer = "payment-timeout";
  /// Grains transport: gives back again what a cancelled saga could not give back at once.
  static constexpr const char* compensation_timer = "compensation";

  /// How long the saga waits for every line's reservation, and for the payment's answer.
  std::chrono::milliseconds reservation_timeout{10000};
  std::chrono::milliseconds payment_timeout{30000};
  /// saga.transport == grains: the saga calls its participants (else it sends records).
  bool by_calls = true;
  /// When a compensation a participant did not answer is tried again (saga.resume_after_ms).
  std::chrono::milliseconds retry_after{5000};

  static domain::checkout initial(const std::string& order_id) {
    domain::checkout s;
    s.order_id = order_id;
    return s;
  }
  static std::optional<domain::checkout> from_snapshot(const boost::json::value& v) {
    return domain::from_snapshot<domain::checkout>(v);
  }
  /// The correlation id the saga's timeouts (and records without one) carry on.
  static std::string correlation_of(const domain::checkout& s) { return s.correlation_id; }

  domain::checkout on(const domain::checkout& s, const checkout_get&) const { return s; }

  runtime::outcome<domain::order> on(command& c, const checkout_cancel& cmd) const {
    if (!by_calls) {
      auto next = c.state();
      domain::checkout_effects effects;
      if (auto bad = next.cancel(cmd.reason, c.now(), effects))
        return *bad;
      return carry_out<domain::order>(c, std::move(next), std::move(effects),
                                      [](domain::order& o) { return std::move(o); });
    }
    if (c.state().stage != domain::checkout_stage::waiting)
      return cancel_by_calls(c, c.state(), cmd.reason);
    // Not started here (yet, or its start was never written): what the order holds says which
    // lines to give back; a release that comes before its reserve makes that reserve hold
    // nothing.
    return c.ask<order_grain>(
        c.state().order_id, order_get{}, [this, reason = cmd.reason](command& c, domain::order& o) {
          if (!o.exists)
            return runtime::outcome<domain::order>{domain::not_found("no order " + o.order_id)};
          auto saga = c.state();
          saga.start(domain::checkout_start_of(o), c.now());
          return cancel_by_calls(c, std::move(saga), reason);
        });
  }

  /// grains: starts the saga, or drives an unfinished one on.
  runtime::outcome<bool> on(command& c, const checkout_begin& b) const {
    auto saga = c.state();
    if (!by_calls)
      return true;
    if (saga.terminal()) {
      // Ended: the order's reminder (it came from there) has nothing left to start.
      c.disarm_reminder_of(order_of(saga), order_grain::checkout_timer);
      return true;
    }
    auto from = saga.stage;
    if (saga.stage == domain::checkout_stage::waiting) {
      if (auto bad = domain::checkout::validate(b.start, saga.order_id))
        return *bad;
      saga.start(b.start, c.now());
      if (b.created_at > 0)
        saga.started_at = b.created_at; // the reservation wait counts from the order
      if (saga.correlation_id.empty())
        saga.correlation_id = c.meta().correlation_id;
    }
    return drive(c, std::move(saga), from, false);
  }

  /// grains: the payment was decided after its charge was answered pending.
  runtime::outcome<bool> on(command& c, const checkout_payment_decided&) const {
    const auto& saga = c.state();
    if (!by_calls)
      return true;
    if (saga.stage == domain::checkout_stage::paying)
      return pay(c, saga, saga.stage, false);
    if (saga.stage == domain::checkout_stage::cancelled &&
        saga.payment == domain::saga_payment::requested)
      return late_payment(c, saga);
    return true;
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
    if (r.event_type == domain::events::order_created.name) {
      auto start = start_of(data);
      if (auto* bad = std::get_if<domain::failure>(&start))
        return *bad;
      effects = saga.start(std::get<domain::checkout_start>(start), c.now());
      if (saga.correlation_id.empty())
        saga.correlation_id = c.meta().correlation_id;
    } else if (r.event_type == domain::events::product_reserved.name) {
      auto sku = data_text(data, "sku");
      auto status = data_text(data, "status");
      if (!sku || !status)
        return bad_record("a product-reserved record needs the strings sku and status");
      effects = saga.on_reserved(*sku, *status == "reserved",
                                 data_text(data, "reason").value_or(""), c.now());
    } else if (r.event_type == domain::events::payment_processed.name) {
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
    if (by_calls) {
      c.disarm_reminder(r.name); // dealt with; re-armed below if the saga still waits
      const auto& saga = c.state();
      if (r.name == reservation_timer && saga.stage == domain::checkout_stage::reserving)
        return reserve(c, saga, saga.stage); // past the deadline, what is missing compensates
      if (r.name == payment_timer && saga.stage == domain::checkout_stage::paying)
        return pay(c, saga, saga.stage, true);
      if (r.name == compensation_timer && saga.stage == domain::checkout_stage::cancelled)
        return give_back<bool>(c, saga, saga.stage, true, {},
                               [](command&, domain::order*) { return reply_bool{true}; });
      return true;
    }
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
  using stage = domain::checkout_stage;
  using reply_bool = runtime::outcome<bool>;

  // -- grains transport ----------------------------------------------------------------------

  /// Drives `saga` (the saga's next state; `from` is the stage it was committed in) on as far
  /// as its participants' answers take it now, then takes it in one write.
  reply_bool drive(command& c, domain::checkout saga, stage from, bool deadline_passed) const {
    switch (saga.stage) {
    case stage::reserving:
      return reserve(c, std::move(saga), from);
    case stage::paying:
      return pay(c, std::move(saga), from, deadline_passed);
    default:
      return settle(c, std::move(saga), from);
    }
  }

  /// Asks every line not answered yet to reserve, all at once. All reserved: on to the
  /// payment. One rejected: compensates. Some not answered: waits (written) until the
  /// reservation deadline, then compensates (reservation_timeout).
  reply_bool reserve(command& c, domain::checkout saga, stage from) const {
    std::vector<std::pair<std::string, product_reserve>> calls;
    for (const auto& l : saga.lines)
      if (l.state == domain::line_state::requested)
        calls.emplace_back(l.sku, product_reserve{saga.order_id, l.quantity, c.meta(), {}});
    auto before = saga;
    return c.ask_all<inventory_grain>(
        calls, [this, saga = std::move(saga), before = std::move(before), calls,
                from](command& c, std::vector<runtime::answer<domain::reservation>>& got) mutable {
          domain::checkout_effects decided;
          for (std::size_t i = 0; i < got.size(); ++i) {
            if (!got[i].ok())
              continue;
            const auto& r = *got[i].reply;
            bool held = r.accepted() && r.status != domain::reservation_status::released &&
                        r.status != domain::reservation_status::returned;
            auto e = saga.on_reserved(calls[i].first, held, r.reason, c.now());
            if (!e.empty())
              decided = std::move(e);
          }
          if (saga.stage == stage::cancelled)
            return compensate(c, std::move(saga), std::move(before), from, std::move(decided));
          if (saga.stage == stage::paying)
            return pay(c, std::move(saga), from, false);
          if (c.now() >= saga.started_at + reservation_timeout.count()) {
            auto e = saga.on_reservation_timeout(c.now());
            return compensate(c, std::move(saga), std::move(before), from, std::move(e));
          }
          return settle(c, std::move(saga), from);
        });
  }

  /// Asks the payment grain to charge (once, however often asked). Approved: commits every
  /// line and confirms. Declined: compensates. Not decided (a slow or silent gateway, no
  /// answer): the order shows the pending payment and the saga waits for it, or compensates
  /// (payment_timeout) when `deadline_passed`.
  reply_bool pay(command& c, domain::checkout saga, stage from, bool deadline_passed) const {
    domain::charge_request req{saga.payment_id,   saga.order_id, saga.customer_id,
                               saga.amount_cents, saga.currency, saga.card_token};
    std::vector<std::pair<std::string, payment_charge>> calls{
        {saga.payment_id, payment_charge{std::move(req), c.meta()}}};
    return c.ask_all<payment_grain>(
        std::move(calls),
        [this, saga = std::move(saga), from,
         deadline_passed](command& c, std::vector<runtime::answer<domain::payment>>& got) mutable {
          auto before = saga;
          auto status = got[0].ok() ? got[0].reply->status : domain::payment_status::none;
          if (status == domain::payment_status::approved ||
              status == domain::payment_status::declined) {
            auto e = saga.on_payment(std::string(domain::to_string(status)), c.now());
            // The order shows its reservation before what the payment decided.
            e.order_steps.insert(e.order_steps.begin(), domain::order_status::stock_reserved);
            if (status == domain::payment_status::approved)
              return confirm(c, std::move(saga), std::move(before), from, std::move(e));
            return compensate(c, std::move(saga), std::move(before), from, std::move(e));
          }
          if (deadline_passed) {
            auto e = saga.on_payment_timeout(c.now());
            e.order_steps.insert(e.order_steps.begin(), domain::order_status::stock_reserved);
            return compensate(c, std::move(saga), std::move(before), from, std::move(e));
          }
          return wait_for_payment(c, std::move(before), from);
        });
  }

  /// A payment decided after the saga was cancelled: an approval is refunded, and the order
  /// shows where the payment stands.
  reply_bool late_payment(command& c, const domain::checkout& committed) const {
    std::vector<std::pair<std::string, payment_get>> calls{{committed.payment_id, payment_get{}}};
    return c.ask_all<payment_grain>(
        std::move(calls),
        [this, saga = committed](command& c,
                                 std::vector<runtime::answer<domain::payment>>& got) mutable {
          if (!got[0].ok())
            return reply_bool{true}; // the payment grain tells again, or the order's reminder
          auto from = saga.stage;
          auto e = saga.on_payment(std::string(domain::to_string(got[0].reply->status)), c.now());
          return give_back<bool>(c, std::move(saga), from, false, e.order_payment_status,
                                 [](command&, domain::order*) { return reply_bool{true}; });
        });
  }

  /// The customer's (or an admin's) cancellation: the order's step first (refused once
  /// shipped: then nothing changed), then what the saga holds is given back.
  runtime::outcome<domain::order> cancel_by_calls(command& c, domain::checkout saga,
                                                  const std::string& reason) const {
    auto from = c.state().stage;
    domain::checkout_effects e;
    if (auto bad = saga.cancel(reason, c.now(), e))
      return *bad;
    return order_step<domain::order>(
        c, saga, e.order_steps, e.cancel_reason, e.order_payment_status,
        [this, saga, from](command& c, runtime::answer<domain::order>& got) mutable {
          if (!got.ok())
            return runtime::outcome<domain::order>{got.failure};
          return give_back<domain::order>(
              c, std::move(saga), from, true, {},
              [o = std::move(*got.reply)](command&, domain::order* later) mutable {
                return runtime::outcome<domain::order>{later != nullptr ? std::move(*later)
                                                                        : std::move(o)};
              });
        });
  }

  /// A failed saga: the order is cancelled first, then what the saga holds is given back. An
  /// order that refuses leaves the saga as it stood `before`, to be driven again.
  reply_bool compensate(command& c, domain::checkout saga, domain::checkout before, stage from,
                        domain::checkout_effects e) const {
    return order_step<bool>(c, saga, e.order_steps, e.cancel_reason, e.order_payment_status,
                            [this, saga, before = std::move(before),
                             from](command& c, runtime::answer<domain::order>& got) mutable {
                              // A conflict: an earlier drive of this saga cancelled the
                              // order (it does not go back to stock_reserved); what the saga
                              // holds is still to be given back. Anything else: driven again
                              // later, from where the saga stood before.
                              if (!got.ok() && got.failure.code != core::errc::conflict)
                                return settle(c, std::move(before), from);
                              return give_back<bool>(
                                  c, std::move(saga), from, true, {},
                                  [](command&, domain::order*) { return reply_bool{true}; });
                            });
  }

  /// Gives back what the cancelled `saga` holds: every line's units (`releases`) and, when the
  /// payment was approved, the money; the order then shows the payment as it stands. Then the
  /// saga is written. A participant that did not answer leaves the compensation reminder armed,
  /// which does it again. `reply(command, order or null)` makes the answer.
  template <class R, class Reply>
  runtime::outcome<R> give_back(command& c, domain::checkout saga, stage from, bool releases,
                                std::string order_payment, Reply reply) const {
    std::vector<std::pair<std::string, product_release>> calls;
    if (releases)
      for (const auto& l : saga.lines)
        if (l.state != domain::line_state::rejected)
          calls.emplace_back(l.sku,
                             product_release{saga.order_id, c.meta(), {}, domain::sold_of(l)});
    return c.ask_all<inventory_grain>(
        std::move(calls),
        [this, saga = std::move(saga), from, order_payment = std::move(order_payment),
         reply](command& c,
                std::vector<runtime::answer<domain::product>>& got) mutable -> runtime::outcome<R> {
          for (const auto& a : got)
            if (!a.ok())
              return unfinished<R>(c, std::move(saga), from, reply);
          std::vector<std::pair<std::string, payment_refund>> refunds;
          if (saga.payment == domain::saga_payment::refund_requested)
            refunds.emplace_back(saga.payment_id, payment_refund{c.meta()});
          return c.ask_all<payment_grain>(
              std::move(refunds),
              [this, saga = std::move(saga), from, order_payment = std::move(order_payment),
               reply](command& c, std::vector<runtime::answer<domain::payment>>& got) mutable
              -> runtime::outcome<R> {
                if (!got.empty()) {
                  if (!got[0].ok())
                    return unfinished<R>(c, std::move(saga), from, reply);
                  auto e = saga.on_payment(std::string(domain::to_string(got[0].reply->status)),
                                           c.now());
                  if (!e.order_payment_status.empty())
                    order_payment = e.order_payment_status;
                }
                if (order_payment.empty()) {
                  take_state(c, std::move(saga), from);
                  c.disarm_reminder(compensation_timer);
                  return reply(c, nullptr);
                }
                return order_step<R>(c, saga, {}, {}, order_payment,
                                     [this, saga, from, reply](
                                         command& c, runtime::answer<domain::order>& got) mutable {
                                       if (!got.ok())
                                         return unfinished<R>(c, std::move(saga), from, reply);
                                       take_state(c, std::move(saga), from);
                                       c.disarm_reminder(compensation_timer);
                                       return reply(c, &*got.reply);
                                     });
              });
        });
  }

  /// A compensation a participant did not answer: the saga is written cancelled, and its
  /// compensation reminder gives back again later.
  template <class R, class Reply>
  runtime::outcome<R> unfinished(command& c, domain::checkout saga, stage from, Reply reply) const {
    take_state(c, std::move(saga), from);
    c.arm_reminder(compensation_timer, c.now() + retry_after.count());
    return reply(c, nullptr);
  }

  /// Commits every line's units, then confirms the order (reserved, paid, confirmed and the
  /// approved payment in one write), then writes the saga. Should a participant not answer,
  /// the saga waits for its payment as it stood `before` (driving it again asks the payment,
  /// which answers approved again, and commits again).
  reply_bool confirm(command& c, domain::checkout saga, domain::checkout before, stage from,
                     domain::checkout_effects e) const {
    std::vector<std::pair<std::string, product_commit>> calls;
    for (const auto& s : e.stock)
      if (s.type == domain::stock_request::kind::commit)
        calls.emplace_back(s.sku, product_commit{saga.order_id, c.meta(), {}});
    return c.ask_all<inventory_grain>(
        std::move(calls),
        [this, saga = std::move(saga), before = std::move(before), from,
         e = std::move(e)](command& c, std::vector<runtime::answer<domain::product>>& got) mutable {
          for (const auto& a : got)
            if (!a.ok())
              return wait_for_payment(c, std::move(before), from);
          return order_step<bool>(
              c, saga, e.order_steps, {}, e.order_payment_status,
              [this, saga, before, from](command& c, runtime::answer<domain::order>& got) mutable {
                if (!got.ok())
                  return wait_for_payment(c, std::move(before), from);
                return settle(c, std::move(saga), from);
              });
        });
  }

  /// The saga waits for its payment: the order shows it reserved and the payment pending.
  reply_bool wait_for_payment(command& c, domain::checkout paying, stage from) const {
    return order_step<bool>(c, paying, {domain::order_status::stock_reserved}, {},
                            domain::payment_states::pending,
                            [this, paying, from](command& c, runtime::answer<domain::order>&) {
                              return settle(c, paying, from);
                            });
  }

  /// Asks the order grain to take `steps` (and the payment's state, unless "") in one write,
  /// then `then(command, answer)`.
  template <class R, class Then>
  runtime::outcome<R> order_step(command& c, const domain::checkout& saga,
                                 const std::vector<domain::order_status>& steps,
                                 const std::string& reason, const std::string& payment_status,
                                 Then then) const {
    order_advance step{{}, reason, {}, {}, c.meta()};
    for (auto s : steps)
      step.statuses.emplace_back(domain::to_string(s));
    if (!payment_status.empty()) {
      step.payment_id = saga.payment_id;
      step.payment_status = payment_status;
    }
    std::vector<std::pair<std::string, order_advance>> calls{{saga.order_id, std::move(step)}};
    return c.ask_all<order_grain>(
        std::move(calls),
        [then](command& c, std::vector<runtime::answer<domain::order>>& got) mutable {
          return then(c, got[0]);
        });
  }

  reply_bool settle(command& c, domain::checkout saga, stage from) const {
    take_state(c, std::move(saga), from);
    return reply_bool{true};
  }

  /// Takes `saga` into the write, with the timers of its stage: the reservation's deadline
  /// while reserving, the payment's while paying (a saga that never waited arms none).
  void take_state(command& c, domain::checkout saga, stage from) const {
    auto& current = c.state();
    current = std::move(saga);
    if (current.stage == from)
      return;
    if (from == stage::reserving)
      c.disarm_reminder(reservation_timer);
    if (from == stage::paying)
      c.disarm_reminder(payment_timer);
    if (current.stage == stage::reserving)
      c.arm_reminder(reservation_timer, current.started_at + reservation_timeout.count());
    if (current.stage == stage::paying)
      c.arm_reminder(payment_timer, c.now() + payment_timeout.count());
    if (current.terminal())
      c.disarm_reminder_of(order_of(current), order_grain::checkout_timer); // nothing to start
  }

  static runtime::grain_id order_of(const domain::checkout& saga) {
    return runtime::grain_id{order_grain::type, saga.order_id};
  }

  // -- kafka transport -----------------------------------------------------------------------
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
  /// order's step comes first (a call to the order grain, every status of the step in one
  /// write); a refusal refuses the whole step and leaves the saga as it was (its state, records
  /// and timers are taken only once the order took its step), so that the record or reminder
  /// that asked for it is retried from the same state. `reply` makes the answer from the order
  /// as the step left it.
  template <class R, class Reply>
  runtime::outcome<R> carry_out(command& c, domain::checkout next, domain::checkout_effects effects,
                                Reply reply) const {
    order_advance step{{}, effects.cancel_reason, {}, {}, c.meta()};
    for (auto status : effects.order_steps)
      step.statuses.emplace_back(domain::to_string(status));
    if (!effects.order_payment_status.empty()) {
      step.payment_id = next.payment_id;
      step.payment_status = effects.order_payment_status;
    }
    auto timers = std::make_pair(reservation_timeout, payment_timeout);
    if constexpr (!std::is_same<R, domain::order>::value) {
      if (step.statuses.empty() && step.payment_status.empty()) {
        take(c, std::move(next), effects, timers);
        return runtime::outcome<R>{R{true}};
      }
    }
    auto key = next.order_id;
    return c.ask<order_grain>(std::move(key), std::move(step),
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
      c.emit(domain::events::product_reservation.name, {{"order_id", saga.order_id},
                                                        {"sku", s.sku},
                                                        {"quantity", s.quantity},
                                                        {"type", domain::to_string(s.type)},
                                                        {"sold", s.sold}});
    if (effects.charge || effects.refund)
      c.emit(domain::events::payment_pending.name,
             {{"order_id", saga.order_id},
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
};

} // namespace bazaar::actors
