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

void basket::remove(const std::string& sku, timestamp_ms now) {
  auto i = std::find_if(lines.begin(), lines.end(), [&](const auto& l) { return l.sku == sku; });
  if (i == lines.end())
    return;
  lines.erase(i);
  touch(now);
}

void basket::clear(timestamp_ms now) {
  if (lines.empty())
    return;
  lines.clear();
  touch(now);
}

std::uint64_t fingerprint(std::string_view body) {
  std::uint64_t h = 1469598103934665603ULL;
  for (unsigned char c : body) {
    h ^= c;
    h *= 1099511628211ULL;
  }
  return h;
}

const checkout_record* basket::find_checkout(const std::string& key, timestamp_ms now) const {
  for (const auto& r : checkouts)
    if (r.idempotency_key == key && now - r.at < checkout_memory_ms)
      return &r;
  return nullptr;
}

void basket::record_checkout(checkout_record record, timestamp_ms now) {
  checkouts.erase(std::remove_if(checkouts.begin(), checkouts.end(),
                                 [&](const checkout_record& r) {
                                   return now - r.at >= checkout_memory_ms ||
                                          r.idempotency_key == record.idempotency_key;
                                 }),
                  checkouts.end());
  if (checkouts.size() >= max_checkout_records)
    checkouts.erase(checkouts.begin());
  if (record.accepted)
    lines.clear();
  record.at = now;
  checkouts.push_back(std::move(record));
  touch(now);
}

void basket::touch(timestamp_ms now) {
  ++version;
  updated_at = now;
}

} // namespace bazaar::domain
