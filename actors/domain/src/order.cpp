#include "bazaar/domain/order.hpp"

namespace bazaar::domain {

bool is_terminal(order_status s) {
  return s == order_status::delivered || s == order_status::cancelled;
}

bool can_transition(order_status from, order_status to) {
  using s = order_status;
  if (to == s::cancelled)
    return from == s::pending || from == s::stock_reserved || from == s::paid ||
           from == s::confirmed;
  switch (from) {
  case s::pending:
    return to == s::stock_reserved;
  case s::stock_reserved:
    return to == s::paid;
  case s::paid:
    return to == s::confirmed;
  case s::confirmed:
    return to == s::shipped;
  case s::shipped:
    return to == s::delivered;
  case s::delivered:
  case s::cancelled:
    return false;
  }
  return false;
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

bool order::has_been(order_status s) const {
  for (const auto& step : timeline)
    if (step.status == s)
      return true;
  return false;
}

void order::enter(order_status s, timestamp_ms now) {
  status = s;
  timeline.push_back(status_change{s, now});
  ++version;
}

maybe_failure order::advance(order_status to, const std::string& reason, timestamp_ms now) {
  if (!exists)
    return not_found("no order " + order_id);
  if (status == to || (has_been(to) && status != order_status::cancelled))
    return std::nullopt;
  if (!can_transition(status, to))
    return conflict("order " + order_id + " is " + std::string(to_string(status)) +
                    " and cannot become " + std::string(to_string(to)));
  if (to == order_status::cancelled)
    cancel_reason = reason;
  enter(to, now);
  return std::nullopt;
}

maybe_failure order::cancel(const std::string& reason, timestamp_ms now) {
  if (!exists)
    return not_found("no order " + order_id);
  if (!can_transition(status, order_status::cancelled))
    return conflict("order " + order_id + " is " + std::string(to_string(status)) +
                    " and can no longer be cancelled");
  cancel_reason = reason;
  enter(order_status::cancelled, now);
  return std::nullopt;
}

maybe_failure order::ship(const std::string& tracking, timestamp_ms now) {
  if (!exists)
    return not_found("no order " + order_id);
  if (tracking.empty() || tracking.size() > 128)
    return validation_failed("tracking_number", "tracking_number must be 1..128 characters");
  if (status != order_status::confirmed)
    return conflict("order " + order_id + " is " + std::string(to_string(status)) +
                    "; only a confirmed order can be shipped");
  tracking_number = tracking;
  enter(order_status::shipped, now);
  return std::nullopt;
}

maybe_failure order::deliver(timestamp_ms now) {
  if (!exists)
    return not_found("no order " + order_id);
  if (status != order_status::shipped)
    return conflict("order " + order_id + " is " + std::string(to_string(status)) +
                    "; only a shipped order can be delivered");
  enter(order_status::delivered, now);
  return std::nullopt;
}

bool order::set_payment(const std::string& id, const std::string& state, timestamp_ms) {
  if (payment_id == id && payment_status == state)
    return false;
  payment_id = id;
  payment_status = state;
  ++version;
  return true;
}

} // namespace bazaar::domain
