#include "bazaar/domain/payment.hpp"

#include <charconv>
#include <random>

namespace bazaar::domain {

namespace {

/// FNV-1a: a stable hash of the payment id (std::hash may differ between builds).
std::uint64_t stable_hash(const std::string& text) {
  std::uint64_t h = 1469598103934665603ULL;
  for (unsigned char c : text) {
    h ^= c;
    h *= 1099511628211ULL;
  }
  return h;
}

} // namespace

gateway_answer simulate_gateway(const std::string& token, const std::string& payment_id,
                                double decline_rate, std::uint64_t seed) {
  using kind = gateway_answer::kind;
  if (token == "tok_decline")
    return {kind::decline, 0, "card_declined"};
  if (token == "tok_timeout")
    return {kind::silent, 0, {}};
  if (decline_rate > 0) {
    std::mt19937_64 rng{seed ^ stable_hash(payment_id)};
    if (std::uniform_real_distribution<double>{0.0, 1.0}(rng) < decline_rate)
      return {kind::decline, 0, "random_decline"};
  }
  constexpr std::string_view slow = "tok_slow_";
  if (token.compare(0, slow.size(), slow) == 0) {
    std::int64_t ms = 0;
    const char* first = token.data() + slow.size();
    const char* last = token.data() + token.size();
    auto [end, ec] = std::from_chars(first, last, ms);
    if (ec == std::errc() && end == last && first != last && ms >= 0 && ms <= 600'000)
      return {kind::delayed, ms, {}};
  }
  return {kind::approve, 0, {}};
}

maybe_failure payment::validate(const charge_request& r, const std::string& id) {
  if (r.payment_id != id)
    return validation_failed("payment_id", "payment_id does not name this payment");
  if (!is_identifier(r.order_id))
    return validation_failed("order_id", "order_id must be an identifier");
  if (r.amount_cents < 0 || r.amount_cents > 100'000'000'000LL)
    return validation_failed("amount_cents", "amount_cents must be 0..100000000000");
  if (r.card_token.empty() || r.card_token.size() > 128)
    return validation_failed("card_token", "card_token must be 1..128 characters");
  return std::nullopt;
}

void payment::touch(timestamp_ms now) {
  updated_at = now;
  ++version;
}

bool payment::request(const charge_request& r, const gateway_answer& answer, timestamp_ms now) {
  if (status != payment_status::none)
    return false;
  order_id = r.order_id;
  customer_id = r.customer_id;
  amount_cents = r.amount_cents;
  currency = r.currency;
  card_token = r.card_token;
  created_at = now;
  switch (answer.what) {
  case gateway_answer::kind::approve:
    status = payment_status::approved;
    charges = 1;
    break;
  case gateway_answer::kind::decline:
    status = payment_status::declined;
    reason = answer.reason;
    break;
  case gateway_answer::kind::silent:
  case gateway_answer::kind::delayed:
    status = payment_status::pending;
    break;
  }
  touch(now);
  return true;
}

bool payment::gateway_approved(timestamp_ms now) {
  if (status != payment_status::pending)
    return false;
  status = payment_status::approved;
  charges = 1;
  touch(now);
  return true;
}

bool payment::refund(timestamp_ms now) {
  if (status == payment_status::approved) {
    status = payment_status::refunded;
    refund_requested = false;
    touch(now);
    return true;
  }
  if (status == payment_status::pending && !refund_requested) {
    refund_requested = true;
    touch(now);
  }
  return false;
}

} // namespace bazaar::domain
