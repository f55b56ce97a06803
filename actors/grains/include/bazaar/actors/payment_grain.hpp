#pragma once

/// The payment grain (key = payment id): charges a card once through the simulated gateway
/// (docs/API.md "Payment simulation") and refunds it. Asked by the checkout saga's calls
/// (payment_charge, payment_refund; grains transport) or fed by the Kafka bridge with
/// payment-pending records (`type` charge or refund; kafka transport); every decision is a
/// payment-processed event.
/// A slow gateway (tok_slow_<ms>) answers through a durable reminder, so no scheduler thread
/// waits and a restart in between still gets the answer; a silent one (tok_timeout) never
/// answers, and the saga's timer compensates.

#include "bazaar/actors/record_data.hpp"
#include "bazaar/actors/saga_messages.hpp"
#include "bazaar/domain/events.hpp"
#include "bazaar/domain/json_codec.hpp"
#include "bazaar/domain/payment.hpp"
#include "bazaar/runtime/durable_grain.hpp"

namespace bazaar::actors {

/// Answers the payment.
struct payment_get {};
BAZAAR_DESCRIBE(payment_get, ())

/// Charges the card, at most once however often asked; answers the payment as it stands then:
/// approved or declined, or pending while the gateway has not answered (a slow gateway's
/// answer is told to the order's saga, checkout_payment_decided; a silent one never comes).
struct payment_charge {
  domain::charge_request request;
  runtime::command_meta meta;
};
BAZAAR_DESCRIBE(payment_charge, (request, meta))

/// Refunds the payment (an approved one now, a pending one once approved); answers it.
struct payment_refund {
  runtime::command_meta meta;
};
BAZAAR_DESCRIBE(payment_refund, (meta))

struct payment_grain {
  static constexpr const char* type = "payment";
  using state = domain::payment;
  using command = runtime::command<domain::payment>;
  using interface = caf::typed_actor<caf::replies_to<payment_get>::with<domain::payment>,
                                     caf::replies_to<payment_charge>::with<domain::payment>,
                                     caf::replies_to<payment_refund>::with<domain::payment>,
                                     caf::replies_to<runtime::kafka_record>::with<bool>,
                                     caf::replies_to<runtime::reminder_due>::with<bool>>;

  /// The reminder by which a slow gateway answers.
  static constexpr const char* gateway_timer = "gateway-answer";

  /// payment.decline_rate and payment.seed.
  double decline_rate = 0;
  std::uint64_t seed = 42;
  /// saga.transport == grains: a slow gateway's answer is told to the order's saga.
  bool tells_saga = true;

  static domain::payment initial(const std::string& id) {
    domain::payment p;
    p.payment_id = id;
    return p;
  }
  static std::optional<domain::payment> from_snapshot(const boost::json::value& v) {
    return domain::from_snapshot<domain::payment>(v);
  }
  /// The correlation id a slow gateway's answer (a reminder) carries on.
  static std::string correlation_of(const domain::payment& p) { return p.correlation_id; }

  domain::payment on(const domain::payment& p, const payment_get&) const { return p; }

  runtime::outcome<bool> on(command& c, const runtime::kafka_record& r) const {
    if (r.event_type != domain::events::payment_pending.name)
      return bad_record("the payment grain handles payment-pending records, not '" + r.event_type +
                        "'");
    auto parsed = record_data(r);
    if (auto* bad = std::get_if<domain::failure>(&parsed))
      return *bad;
    const auto& data = std::get<boost::json::object>(parsed);
    auto& p = c.state();
    auto type = data_text(data, "type").value_or("charge");
    if (type == "refund") {
      if (data_text(data, "payment_id").value_or("") != p.payment_id)
        return bad_record("the refund names another payment");
      if (p.refund(c.now()))
        processed(c);
      return true;
    }
    if (type != "charge")
      return bad_record("type must be charge or refund, not '" + type + "'");
    domain::charge_request req;
    req.payment_id = data_text(data, "payment_id").value_or("");
    req.order_id = data_text(data, "order_id").value_or("");
    req.customer_id = data_text(data, "customer_id").value_or("");
    req.amount_cents = data_int(data, "amount_cents").value_or(-1);
    req.currency = data_text(data, "currency").value_or("USD");
    req.card_token = data_text(data, "card_token").value_or("");
    if (auto bad = charge(c, req))
      return *bad;
    return true;
  }

  runtime::outcome<domain::payment> on(command& c, const payment_charge& cmd) const {
    if (auto bad = charge(c, cmd.request))
      return *bad;
    return c.state();
  }

  runtime::outcome<domain::payment> on(command& c, const payment_refund&) const {
    auto& p = c.state();
    if (p.status == domain::payment_status::none)
      return domain::not_found("no payment " + p.payment_id);
    if (p.refund(c.now()))
      processed(c);
    return p;
  }

  /// The slow gateway's answer.
  runtime::outcome<bool> on(command& c, const runtime::reminder_due& r) const {
    auto& p = c.state();
    c.disarm_reminder(r.name);
    if (r.name == gateway_timer && p.gateway_approved(c.now())) {
      processed(c);
      if (p.refund_requested && p.refund(c.now()))
        processed(c);
      if (tells_saga)
        c.tell_after_commit(runtime::grain_id{checkout_grain_type, p.order_id},
                            checkout_payment_decided{p.order_id, c.meta()});
    }
    return true;
  }

 private:
  /// Charges once (a request seen before changes nothing), as the gateway decides.
  domain::maybe_failure charge(command& c, const domain::charge_request& req) const {
    auto& p = c.state();
    if (auto bad = domain::payment::validate(req, p.payment_id))
      return bad;
    auto answer = domain::simulate_gateway(req.card_token, p.payment_id, decline_rate, seed);
    if (!p.request(req, answer, c.now()))
      return std::nullopt; // asked before: at most one charge
    p.correlation_id = c.meta().correlation_id;
    if (answer.what == domain::gateway_answer::kind::delayed)
      c.arm_reminder(gateway_timer, c.now() + answer.delay_ms);
    else if (p.status != domain::payment_status::pending)
      processed(c);
    return std::nullopt;
  }

  /// payment-processed with the payment's status now.
  static void processed(command& c) {
    const auto& p = c.state();
    c.emit(domain::events::payment_processed.name, {{"payment_id", p.payment_id},
                                                    {"order_id", p.order_id},
                                                    {"customer_id", p.customer_id},
                                                    {"amount_cents", p.amount_cents},
                                                    {"currency", p.currency},
                                                    {"status", domain::to_string(p.status)},
                                                    {"reason", p.reason}});
  }
};

} // namespace bazaar::actors
