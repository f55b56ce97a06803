#pragma once

/// A customer's basket: the state of one basket grain (key = customer id). Lines carry the
/// name and unit price the product had when the line was first added.

#include "bazaar/domain/failure.hpp"

#include <cstdint>
#include <string>
#include <vector>

namespace bazaar::domain {

struct product;

/// Limits of API.md's Basket section.
inline constexpr int max_quantity_per_add = 999;
inline constexpr int max_line_quantity = 999;
inline constexpr std::size_t max_basket_lines = 100;

struct basket_line {
  std::string sku;
  std::string name;
  int quantity = 0;
  std::int64_t unit_price_cents = 0;

  std::int64_t line_total_cents() const { return unit_price_cents * quantity; }
};

/// The remembered answer of one checkout attempt, so that a retry with the same
/// Idempotency-Key gets the first answer (API.md "Idempotency").
struct checkout_record {
  std::string idempotency_key;
  /// Fingerprint of the request body: the same key with another body is a conflict.
  std::uint64_t fingerprint = 0;
  /// True when the attempt created an order (202); false when it was refused (409).
  bool accepted = false;
  std::string order_id;
  timestamp_ms at = 0;
};

/// How long and how many checkout attempts a basket remembers.
inline constexpr timestamp_ms checkout_memory_ms = 24LL * 60 * 60 * 1000;
inline constexpr std::size_t max_checkout_records = 64;

/// A stable 64-bit fingerprint (FNV-1a) of a request body.
std::uint64_t fingerprint(std::string_view body);

struct basket {
  std::string customer_id;
  std::vector<basket_line> lines;
  std::string currency = "USD";
  /// Incremented by every accepted change; 0 for a basket that never changed.
  std::uint64_t version = 0;
  timestamp_ms updated_at = 0;

  std::int64_t total_cents() const;

  /// The line of a sku, or nullptr.
  const basket_line* find(const std::string& sku) const;

  /// Adds `quantity` (1..999) units of a product to its line, creating the line if needed.
  /// Refused when the product is unknown or inactive, the line would exceed 999 units, the
  /// basket would exceed 100 lines, or the currency differs from the basket's.
  maybe_failure add(const product& item, int quantity, timestamp_ms now);

  /// Sets the line of a sku to `quantity` (0..999); 0 removes it. `item` is needed only when
  /// the line does not exist yet (pass nullptr otherwise).
  maybe_failure set(const std::string& sku, int quantity, const product* item, timestamp_ms now);

  /// Removes the line of a sku; removing an absent line changes nothing and is not an error.
  void remove(const std::string& sku, timestamp_ms now);

  /// Removes every line.
  void clear(timestamp_ms now);

  /// The remembered attempt with this key, if any (and not older than checkout_memory_ms).
  const checkout_record* find_checkout(const std::string& key, timestamp_ms now) const;

  /// Remembers an attempt's answer; an accepted one also empties the basket.
  void record_checkout(checkout_record record, timestamp_ms now);

  /// Remembered checkout attempts, oldest first (part of the snapshot, not of the API form).
  std::vector<checkout_record> checkouts;

 private:
  basket_line* find_mutable(const std::string& sku);
  void touch(timestamp_ms now);
};

} // namespace bazaar::domain
