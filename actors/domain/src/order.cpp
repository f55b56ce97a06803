#include "bazaar/domain/order.hpp"

namespace bazaar::domain {

namespace {

constexpr std::string_view status_names[] = {"pending", "stock_reserved", "paid",     "confirmed",
                                             "shipped", "delivered",      "cancelled"};

} // namespace

std::string_view to_string(order_status s) {
  return status_names[static_cast<std::size_t>(s)];
}

std::optional<order_status> parse_order_status(std::string_view text) {
  for (std::size_t i = 0; i < std::size(status_names); ++i)
    if (status_names[i] == text)
      return static_cast<order_status>(i);
  return std::nullopt;
}

std::int64_t order::total_cents() const {
  std::int64_t sum = 0;
  for (const auto& line : items)
    sum += line.line_total_cents();
  return sum;
}

maybe_failure order::create(const order_draft& d, timestamp_ms now) {
  if (exists) {
    if (d.customer_id == customer_id && d.items.size() == items.size())
      return std::nullopt;
    return conflict("order " + d.order_id + " exists already");
  }
  if (!is_identifier(d.order_id))
    return validation_failed("order_id", "order_id must be an identifier");
  if (d.items.empty())
    return conflict("an order needs at least one line");
  exists = true;
  order_id = d.order_id;
  customer_id = d.customer_id;
  items = d.items;
  currency = d.currency;
  card_token = d.card_token;
  shipping_address = d.shipping_address;
  status = order_status::pending;
  timeline = {status_change{order_status::pending, now}};
  ++version;
  return std::nullopt;
}

} // namespace bazaar::domain
