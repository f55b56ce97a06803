#include "bazaar/domain/checkout.hpp"

#include "bazaar/domain/basket.hpp"
#include "bazaar/domain/product.hpp"

#include <set>

namespace bazaar::domain {

std::string payment_id_for(const std::string& order_id) {
  // Order ids are identifiers of at most 64 characters; so is the payment id.
  return order_id.size() <= 60 ? "pay-" + order_id : order_id;
}

checkout_start checkout_start_of(const order& o) {
  checkout_start s;
  s.order_id = o.order_id;
  s.customer_id = o.customer_id;
  for (const auto& item : o.items)
    s.lines.push_back(checkout_line{item.sku, item.quantity, line_state::requested});
  s.amount_cents = o.total_cents();
  s.currency = o.currency;
  s.card_token = o.card_token;
  return s;
}

maybe_failure checkout::validate(const checkout_start& s, const std::string& order_id) {
  if (s.order_id != order_id)
    return validation_failed("order_id", "order_id does not name this checkout");
  if (s.lines.empty() || s.lines.size() > max_basket_lines)
    return validation_failed("items", "an order has 1..100 lines");
  std::set<std::string> skus;
  for (const auto& l : s.lines) {
    if (!is_identifier(l.sku) || !skus.insert(l.sku).second)
      return validation_failed("items", "every line needs a distinct sku");
    if (l.quantity < 1 || l.quantity > max_line_quantity)
      return validation_failed("items", "a line holds 1..999 units");
  }
  if (s.card_token.empty())
    return validation_failed("card_token", "the order carries no card token");
  return std::nullopt;
}

void checkout::touch(timestamp_ms now) {
  updated_at = now;
  ++version;
}

checkout_effects checkout::start(const checkout_start& s, timestamp_ms now) {
  checkout_effects out;
  if (stage != checkout_stage::waiting)
    return out; // started before, or cancelled before its order-created arrived
  customer_id = s.customer_id;
  lines = s.lines;
  for (auto& l : lines)
    l.state = line_state::requested;
  amount_cents = s.amount_cents;
  currency = s.currency;
  card_token = s.card_token;
  payment_id = payment_id_for(order_id);
  stage = checkout_stage::reserving;
  started_at = now;
  for (const auto& l : lines)
    out.stock.push_back(stock_request{stock_request::kind::reserve, l.sku, l.quantity});
  out.arm_reservation_timer = true;
  touch(now);
  return out;
}

checkout_effects checkout::compensate(const std::string& reason, timestamp_ms now) {
  checkout_effects out;
  // A release follows its reserve on the same partition (both keyed by the order), and the
  // inventory grain remembers a release that came first: every line not rejected is released.
  for (const auto& l : lines)
    if (l.state != line_state::rejected)
      out.stock.push_back(
          stock_request{stock_request::kind::release, l.sku, l.quantity, sold_of(l)});
  if (payment == saga_payment::approved) {
    payment = saga_payment::refund_requested;
    out.refund = true;
  }
  out.order_steps.push_back(order_status::cancelled);
  out.cancel_reason = reason;
  out.disarm_timers = true;
  cancel_reason = reason;
  stage = checkout_stage::cancelled;
  touch(now);
  return out;
}

checkout_effects checkout::on_reserved(const std::string& sku, bool reserved,
                                       const std::string& reason, timestamp_ms now) {
  checkout_effects out;
  if (stage != checkout_stage::reserving)
    return out;
  checkout_line* line = nullptr;
  for (auto& l : lines)
    if (l.sku == sku)
      line = &l;
  if (line == nullptr || line->state != line_state::requested)
    return out;
  line->state = reserved ? line_state::reserved : line_state::rejected;
  if (!reserved)
    return compensate(reason == reason_product_inactive ? cancel_reasons::product_inactive
                                                        : cancel_reasons::out_of_stock,
                      now);
  touch(now);
  for (const auto& l : lines)
    if (l.state != line_state::reserved)
      return out; // still waiting for others
  stage = checkout_stage::paying;
  payment = saga_payment::requested;
  out.order_steps.push_back(order_status::stock_reserved);
  out.charge = true;
  out.order_payment_status = payment_states::pending;
  out.disarm_timers = true;
  out.arm_payment_timer = true;
  return out;
}

checkout_effects checkout::on_payment(const std::string& status, timestamp_ms now) {
  checkout_effects out;
  if (status == "approved") {
    if (stage == checkout_stage::paying) {
      payment = saga_payment::approved;
      stage = checkout_stage::confirmed;
      for (auto& l : lines) {
        out.stock.push_back(stock_request{stock_request::kind::commit, l.sku, l.quantity});
        l.state = line_state::sold;
      }
      out.order_steps = {order_status::paid, order_status::confirmed};
      out.order_payment_status = payment_states::approved;
      out.disarm_timers = true;
      touch(now);
    } else if (stage == checkout_stage::cancelled && payment == saga_payment::requested) {
      // Approved after the timeout compensated: the money goes back.
      payment = saga_payment::refund_requested;
      out.refund = true;
      out.order_payment_status = payment_states::approved;
      touch(now);
    }
  } else if (status == "declined") {
    if (stage == checkout_stage::paying) {
      payment = saga_payment::declined;
      out = compensate(cancel_reasons::payment_declined, now);
      out.order_payment_status = payment_states::declined;
    } else if (payment == saga_payment::requested) {
      payment = saga_payment::declined;
      out.order_payment_status = payment_states::declined;
      touch(now);
    }
  } else if (status == "refunded") {
    if (payment != saga_payment::refunded) {
      payment = saga_payment::refunded;
      out.order_payment_status = payment_states::refunded;
      touch(now);
    }
  }
  return out;
}

checkout_effects checkout::on_reservation_timeout(timestamp_ms now) {
  if (stage != checkout_stage::reserving)
    return checkout_effects{};
  return compensate(cancel_reasons::reservation_timeout, now);
}

checkout_effects checkout::on_payment_timeout(timestamp_ms now) {
  if (stage != checkout_stage::paying)
    return checkout_effects{};
  return compensate(cancel_reasons::payment_timeout, now);
}

maybe_failure checkout::cancel(const std::string& reason, timestamp_ms now, checkout_effects& out) {
  if (stage == checkout_stage::cancelled)
    return conflict("order " + order_id + " is cancelled already");
  out = compensate(reason, now);
  return std::nullopt;
}

} // namespace bazaar::domain
