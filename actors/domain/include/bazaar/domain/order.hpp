#pragma once

/// An order and its status machine (docs/API.md "Orders"): the state of one order grain.

#include "bazaar/domain/failure.hpp"

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace bazaar::domain {

enum class order_status : std::uint8_t {
  pending,
  stock_reserved,
  paid,
  confirmed,
  shipped,
  delivered,
  cancelled,
};

std::string_view to_string(order_status s);
std::optional<order_status> parse_order_status(std::string_view text);

struct order_line {
  std::string sku;
  std::string name;
  int quantity = 0;
  std::int64_t unit_price_cents = 0;

  std::int64_t line_total_cents() const { return unit_price_cents * quantity; }
};

struct status_change {
  order_status status = order_status::pending;
  timestamp_ms at = 0;
};

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
  std::uint64_t version = 0;

  std::int64_t total_cents() const;

  /// Creates a pending order; conflict if this order exists already with other content,
  /// nothing if it exists with the same (a re-sent create is harmless).
  maybe_failure create(const order_draft& draft, timestamp_ms now);
};

} // namespace bazaar::domain
