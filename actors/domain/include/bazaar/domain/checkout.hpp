#pragma once

/// The checkout saga of one order (docs/API.md "Events"): reserve every line, then take the
/// payment, then confirm; on a rejected line, a declined payment, a timeout or the customer's
/// cancellation, give back what was taken. Each step is a decision on the saga's state that
/// returns what to do next (records to send, order steps, timers); the grain that hosts it
/// carries those out in the same durable write, so a step is taken once or not at all.

#include "bazaar/domain/described.hpp"
#include "bazaar/domain/failure.hpp"
#include "bazaar/domain/order.hpp"

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace bazaar::domain {

/// Where the saga stands:
///   waiting    no order-created seen yet;
///   reserving  reservations asked for, not all answered;
///   paying     every line reserved; the payment asked for;
///   confirmed  paid and confirmed (the saga's work is done unless the order is cancelled later);
///   cancelled  compensated and cancelled.
BOOST_DEFINE_FIXED_ENUM_CLASS(checkout_stage, std::uint8_t, waiting, reserving, paying, confirmed,
                              cancelled)

/// Where a line stands: asked for, held, refused, or bought (committed when the checkout was
/// confirmed; its release then gives the units back to the stock).
BOOST_DEFINE_FIXED_ENUM_CLASS(line_state, std::uint8_t, requested, reserved, rejected, sold)

struct checkout_line {
  std::string sku;
  std::int64_t quantity = 0;
  line_state state = line_state::requested;
};
BAZAAR_DESCRIBE(checkout_line, (sku, quantity, state))

/// Where the saga's payment stands.
BOOST_DEFINE_FIXED_ENUM_CLASS(saga_payment, std::uint8_t, none, requested, approved, declined,
                              refund_requested, refunded)

/// What order-created tells the saga.
struct checkout_start {
  std::string order_id;
  std::string customer_id;
  std::vector<checkout_line> lines;
  std::int64_t amount_cents = 0;
  std::string currency = "USD";
  std::string card_token;
};
BAZAAR_DESCRIBE(checkout_start, (order_id, customer_id, lines, amount_cents, currency, card_token))

/// What a committed order tells its checkout (the same as its order-created event).
checkout_start checkout_start_of(const order& o);

/// One request to the inventory grain of `sku` (a product-reservation record).
struct stock_request {
  enum class kind : std::uint8_t { reserve, release, commit };
  BOOST_DESCRIBE_NESTED_ENUM(kind, reserve, release, commit)
  kind type = kind::reserve;
  std::string sku;
  std::int64_t quantity = 0;
  /// A release of units the order bought (line_state::sold): `quantity`, else 0. The product
  /// gives them back even when it has forgotten the sale (product::forget_closed).
  std::int64_t sold = 0;
};

/// The `sold` of a release of `line`.
inline std::int64_t sold_of(const checkout_line& line) {
  return line.state == line_state::sold ? line.quantity : 0;
}

/// What a step asks the hosting grain to do, in this order: bring the order to each status of
/// `order_steps` (a refusal refuses the whole step), send the stock requests, ask for the
/// payment or its refund, and set the timers.
struct checkout_effects {
  std::vector<order_status> order_steps;
  std::string cancel_reason;
  std::vector<stock_request> stock;
  bool charge = false;
  bool refund = false;
  /// The order's payment as the order should show it after this step ("" leaves it).
  std::string order_payment_status;
  bool arm_reservation_timer = false;
  bool arm_payment_timer = false;
  bool disarm_timers = false;
  /// Timers (by name) to remove besides: the one that fired.
  std::vector<std::string> disarm;

  bool empty() const {
    return order_steps.empty() && stock.empty() && !charge && !refund &&
           order_payment_status.empty() && !arm_reservation_timer && !arm_payment_timer &&
           !disarm_timers && disarm.empty();
  }
};

/// The payment id of an order's payment.
std::string payment_id_for(const std::string& order_id);

struct checkout {
  std::string order_id;
  std::string customer_id;
  std::vector<checkout_line> lines;
  std::int64_t amount_cents = 0;
  std::string currency = "USD";
  std::string card_token;
  checkout_stage stage = checkout_stage::waiting;
  saga_payment payment = saga_payment::none;
  std::string payment_id;
  std::string cancel_reason;
  timestamp_ms started_at = 0;
  timestamp_ms updated_at = 0;
  std::uint64_t version = 0;
  /// The correlation id of the request that started the checkout (docs/API.md "Events"): the
  /// events of the saga's timeouts carry it too. "" in a snapshot written before it existed.
  std::string correlation_id;

  bool terminal() const {
    return stage == checkout_stage::confirmed || stage == checkout_stage::cancelled;
  }

  /// Checks what order-created carries: the order id of this saga, 1..100 lines of distinct
  /// skus with 1..999 units, a card token.
  static maybe_failure validate(const checkout_start& s, const std::string& order_id);

  /// order-created: asks to reserve every line and arms the reservation timer. Seen before,
  /// or after a cancellation, it changes nothing.
  checkout_effects start(const checkout_start& s, timestamp_ms now);

  /// product-reserved for one line. All reserved: the order becomes stock_reserved and the
  /// payment is asked for. One rejected (`reason`): the others are released and the order is
  /// cancelled. An answer for a line already answered, or after the reservation stage, changes
  /// nothing (a release sent at compensation follows every reserve on its partition).
  checkout_effects on_reserved(const std::string& sku, bool reserved, const std::string& reason,
                               timestamp_ms now);

  /// payment-processed. Approved while paying: commit the stock, the order becomes paid, then
  /// confirmed. Declined while paying: release and cancel (payment_declined). Approved after the
  /// saga was cancelled (a late answer): refund it. Refunded: recorded.
  checkout_effects on_payment(const std::string& status, timestamp_ms now);

  /// A timer: the reservation or payment wait ran out; compensates and cancels if the saga
  /// still waits for it, else changes nothing.
  checkout_effects on_reservation_timeout(timestamp_ms now);
  checkout_effects on_payment_timeout(timestamp_ms now);

  /// The customer's (or an admin's) cancellation: the order is cancelled (the hosting grain's
  /// order step refuses once shipped), the stock given back and the payment refunded.
  /// Conflict when the saga is cancelled already.
  maybe_failure cancel(const std::string& reason, timestamp_ms now, checkout_effects& out);

 private:
  checkout_effects compensate(const std::string& reason, timestamp_ms now);
  void touch(timestamp_ms now);
};
BAZAAR_DESCRIBE(checkout,
                (order_id, customer_id, lines, amount_cents, currency, card_token, stage, payment,
                 payment_id, cancel_reason, started_at, updated_at, version, correlation_id))

} // namespace bazaar::domain
