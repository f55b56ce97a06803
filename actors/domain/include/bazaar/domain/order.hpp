#pragma once

/// An order and its status machine (docs/API.md "Orders"): the state of one order grain.

#include "bazaar/domain/described.hpp"
#include "bazaar/domain/failure.hpp"

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace bazaar::domain {

BOOST_DEFINE_FIXED_ENUM_CLASS(order_status, std::uint8_t, pending, stock_reserved, paid, confirmed,
                              shipped, delivered, cancelled)

/// True for delivered and cancelled: nothing follows them.
bool is_terminal(order_status s);

/// Whether the status machine of docs/API.md allows `from -> to`: the happy path one step at a
/// time, and cancelled from any status before shipped.
bool can_transition(order_status from, order_status to);

/// Why an order was cancelled (docs/API.md "Orders"); reservation_timeout is ours: the stock
/// service did not answer within saga.reservation_timeout_ms.
namespace cancel_reasons {
inline constexpr const char* out_of_stock = "out_of_stock";
inline constexpr const char* product_inactive = "product_inactive";
inline constexpr const char* payment_declined = "payment_declined";
inline constexpr const char* payment_timeout = "payment_timeout";
inline constexpr const char* reservation_timeout = "reservation_timeout";
inline constexpr const char* customer_request = "customer_request";
} // namespace cancel_reasons

/// Where the order's payment stands, as the order shows it.
namespace payment_states {
inline constexpr const char* pending = "pending";
inline constexpr const char* approved = "approved";
inline constexpr const char* declined = "declined";
inline constexpr const char* refunded = "refunded";
} // namespace payment_states

struct order_line {
  std::string sku;
  std::string name;
  int quantity = 0;
  std::int64_t unit_price_cents = 0;

  std::int64_t line_total_cents() const { return unit_price_cents * quantity; }
};
BAZAAR_DESCRIBE(order_line, (sku, name, quantity, unit_price_cents, line_total_cents))

struct status_change {
  order_status status = order_status::pending;
  timestamp_ms at = 0;
};
BAZAAR_DESCRIBE(status_change, (status, at))

/// What checkout hands to a new order.
struct order_draft {
  std::string order_id;
  std::string customer_id;
  std::vector<order_line> items;
  std::string currency = "USD";
  std::string card_token;
  /// The shipping address as JSON text ("" when none was given).
  std::string shipping_address;
};
BAZAAR_DESCRIBE(order_draft, (order_id, customer_id, items, currency, card_token, shipping_address))

struct order {
  bool exists = false;
  std::string order_id;
  std::string customer_id;
  std::vector<order_line> items;
  std::string currency = "USD";
  std::string card_token;
  std::string shipping_address;
  order_status status = order_status::pending;
  std::string cancel_reason;
  std::vector<status_change> timeline;
  /// The payment the checkout asked for ("" until it did) and where it stands (payment_states).
  std::string payment_id;
  std::string payment_status;
  std::string tracking_number;
  std::uint64_t version = 0;

  std::int64_t total_cents() const;

  /// Creates a pending order; conflict if this order exists already with other content,
  /// nothing if it exists with the same (a re-sent create is harmless).
  maybe_failure create(const order_draft& draft, timestamp_ms now);

  /// True when the order has been in status `s` (it is in the timeline).
  bool has_been(order_status s) const;

  /// The checkout's step: brings the order to `to` (with `reason` for cancelled). A step the
  /// order has taken already changes nothing (a re-sent step is harmless); a step the status
  /// machine forbids is a conflict; not_found for an order never created.
  maybe_failure advance(order_status to, const std::string& reason, timestamp_ms now);

  /// The owner's (or an admin's) cancellation: conflict once shipped, delivered or cancelled.
  maybe_failure cancel(const std::string& reason, timestamp_ms now);

  /// Ships a confirmed order with its tracking number (1..128 characters).
  maybe_failure ship(const std::string& tracking_number, timestamp_ms now);

  /// Marks a shipped order delivered.
  maybe_failure deliver(timestamp_ms now);

  /// Records the payment; true when something changed (the version moved).
  bool set_payment(const std::string& id, const std::string& status, timestamp_ms now);

 private:
  void enter(order_status s, timestamp_ms now);
};
BAZAAR_DESCRIBE(order, (exists, order_id, customer_id, status, items, currency, card_token,
                        shipping_address, cancel_reason, timeline, payment_id, payment_status,
                        tracking_number, version, total_cents))

} // namespace bazaar::domain
