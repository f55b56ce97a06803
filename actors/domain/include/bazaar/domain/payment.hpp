#pragma once

/// A payment (docs/API.md "Payment simulation"): one charge of a card for an order, through a
/// simulated gateway whose answer the card token decides, and its refund. A payment charges
/// the card at most once, however often it is asked.

#include "bazaar/domain/described.hpp"
#include "bazaar/domain/failure.hpp"

#include <cstdint>
#include <optional>
#include <string>

namespace bazaar::domain {

BOOST_DEFINE_FIXED_ENUM_CLASS(payment_status, std::uint8_t, none, pending, approved, declined,
                              refunded)

/// What the simulated gateway does with a charge.
struct gateway_answer {
  enum class kind : std::uint8_t {
    approve,
    decline,
    /// Never answers (tok_timeout).
    silent,
    /// Approves after `delay_ms` (tok_slow_<ms>).
    delayed,
  };
  kind what = kind::approve;
  std::int64_t delay_ms = 0;
  /// Why it declines: card_declined (tok_decline) or random_decline (payment.decline_rate).
  std::string reason;
};

/// The simulated gateway: `tok_decline` declines, `tok_timeout` never answers, `tok_slow_<ms>`
/// approves after <ms> (0..600000), any other token approves; on top, a fraction
/// `decline_rate` (0..1) of payments is declined, decided by a generator seeded with `seed`
/// and the payment id, so that one payment is always decided alike.
gateway_answer simulate_gateway(const std::string& card_token, const std::string& payment_id,
                                double decline_rate, std::uint64_t seed);

/// What the payment asks for: a charge.
struct charge_request {
  std::string payment_id;
  std::string order_id;
  std::string customer_id;
  std::int64_t amount_cents = 0;
  std::string currency = "USD";
  std::string card_token;
};
BAZAAR_DESCRIBE(charge_request,
                (payment_id, order_id, customer_id, amount_cents, currency, card_token))

struct payment {
  std::string payment_id;
  std::string order_id;
  std::string customer_id;
  std::int64_t amount_cents = 0;
  std::string currency = "USD";
  std::string card_token;
  payment_status status = payment_status::none;
  /// How often the card was charged: 0 or 1.
  int charges = 0;
  /// A refund was asked for while the gateway had not answered yet.
  bool refund_requested = false;
  std::string reason;
  timestamp_ms created_at = 0;
  timestamp_ms updated_at = 0;
  std::uint64_t version = 0;
  /// The correlation id of the charge request: a slow gateway's late answer carries it too.
  /// "" in a snapshot written before it existed.
  std::string correlation_id;

  /// Checks a charge request: this payment's id, an order id, an amount of 0..10^11 cents.
  static maybe_failure validate(const charge_request& r, const std::string& payment_id);

  /// Asks the gateway to charge, once: true when this was the first request (the status is
  /// now what the gateway answered at once, or pending). A later request changes nothing.
  bool request(const charge_request& r, const gateway_answer& answer, timestamp_ms now);

  /// The gateway's late answer (tok_slow_<ms>): approves a pending payment; true if it did.
  bool gateway_approved(timestamp_ms now);

  /// Refunds an approved payment (true); a pending one is refunded once it is approved;
  /// otherwise nothing happens (false).
  bool refund(timestamp_ms now);

 private:
  void touch(timestamp_ms now);
};
BAZAAR_DESCRIBE(payment, (payment_id, order_id, customer_id, amount_cents, currency, card_token,
                          status, charges, refund_requested, reason, created_at, updated_at,
                          version, correlation_id))

} // namespace bazaar::domain
