#include "bazaar/domain/basket.hpp"

#include "bazaar/domain/product.hpp"

#include <algorithm>

namespace bazaar::domain {

namespace {

maybe_failure check_product(const product& item) {
  if (!item.exists)
    return validation_failed("sku", "unknown sku " + item.sku);
  if (!item.active)
    return validation_failed("sku", "product " + item.sku + " is not active");
  return std::nullopt;
}

} // namespace

std::int64_t basket::total_cents() const {
  std::int64_t sum = 0;
  for (const auto& line : lines)
    sum += line.line_total_cents();
  return sum;
}

const basket_line* basket::find(const std::string& sku) const {
  auto i = std::find_if(lines.begin(), lines.end(), [&](const auto& l) { return l.sku == sku; });
  return i == lines.end() ? nullptr : &*i;
}

basket_line* basket::find_mutable(const std::string& sku) {
  auto i = std::find_if(lines.begin(), lines.end(), [&](const auto& l) { return l.sku == sku; });
  return i == lines.end() ? nullptr : &*i;
}

maybe_failure basket::add(const product& item, int quantity, timestamp_ms now) {
  if (quantity < 1 || quantity > max_quantity_per_add)
    return validation_failed("quantity", "quantity must be between 1 and 999");
  if (auto bad = check_product(item))
    return bad;
  auto line = find_mutable(item.sku);
  if (line == nullptr) {
    if (lines.size() >= max_basket_lines)
      return validation_failed("sku", "a basket holds at most 100 lines");
    if (!lines.empty() && item.currency != currency)
      return validation_failed("sku", "product " + item.sku + " is priced in " + item.currency +
                                          ", the basket in " + currency);
    if (lines.empty())
      currency = item.currency;
    lines.push_back(basket_line{item.sku, item.name, quantity, item.price_cents});
  } else {
    if (line->quantity + quantity > max_line_quantity)
      return validation_failed("quantity", "a line holds at most 999 units");
    line->quantity += quantity;
  }
  touch(now);
  return std::nullopt;
}

maybe_failure basket::set(const std::string& sku, int quantity, const product* item,
                          timestamp_ms now) {
  if (quantity < 0 || quantity > max_line_quantity)
    return validation_failed("quantity", "quantity must be between 0 and 999");
  auto line = find_mutable(sku);
  if (line != nullptr) {
    if (quantity == 0)
      remove(sku, now);
    else if (line->quantity != quantity) {
      line->quantity = quantity;
      touch(now);
    }
    return std::nullopt;
  }
  if (quantity == 0)
    return std::nullopt;
  if (item == nullptr)
    return validation_failed("sku", "unknown sku " + sku);
  return add(*item, quantity, now);
}

bool basket::remove(const std::string& sku, timestamp_ms now) {
  auto i = std::find_if(lines.begin(), lines.end(), [&](const auto& l) { return l.sku == sku; });
  if (i == lines.end())
    return false;
  lines.erase(i);
  touch(now);
  return true;
}

bool basket::clear(timestamp_ms now) {
  if (lines.empty())
    return false;
  lines.clear();
  touch(now);
  return true;
}

maybe_failure basket::check_sku(std::string_view sku) {
  if (!is_identifier(sku))
    return validation_failed("sku", "sku must be 1..64 characters of [A-Za-z0-9._:-]");
  return std::nullopt;
}

maybe_failure basket::check_add(std::string_view sku, int quantity) {
  if (quantity < 1 || quantity > max_quantity_per_add)
    return validation_failed("quantity", "quantity must be between 1 and 999");
  return check_sku(sku);
}

maybe_failure basket::check_set(std::string_view sku, int quantity) {
  if (quantity < 0 || quantity > max_line_quantity)
    return validation_failed("quantity", "quantity must be between 0 and 999");
  return check_sku(sku);
}

std::uint64_t fingerprint(std::string_view body) {
  std::uint64_t h = 1469598103934665603ULL;
  for (unsigned char c : body) {
    h ^= c;
    h *= 1099511628211ULL;
  }
  return h;
}

std::string order_id_for(const std::string& customer_id, const std::string& idempotency_key,
                         std::uint64_t basket_version) {
  auto h =
      fingerprint(customer_id + '\n' + idempotency_key + '\n' + std::to_string(basket_version));
  static const char* hex = "0123456789abcdef";
  std::string id = "ord-";
  for (int shift = 60; shift >= 0; shift -= 4)
    id += hex[(h >> shift) & 0xf];
  return id;
}

void basket::touch(timestamp_ms now) {
  ++version;
  updated_at = now;
}

} // namespace bazaar::domain
