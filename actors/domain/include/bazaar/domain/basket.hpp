#pragma once

/// A customer's basket: the state of one basket grain (key = customer id). Lines carry the
/// name and unit price the product had when the line was first added.

#include "bazaar/domain/described.hpp"
#include "bazaar/domain/failure.hpp"

#include <cstdint>
#include <string>
#include <vector>

namespace bazaar::domain {

struct product;

/// Limits of docs/API.md's Basket section.
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
BAZAAR_DESCRIBE(basket_line, (sku, name, quantity, unit_price_cents, line_total_cents))

/// A stable 64-bit fingerprint (FNV-1a) of a request body.
std::uint64_t fingerprint(std::string_view body);

/// The id of the order a checkout creates: derived from the customer, the Idempotency-Key
/// and the basket version, so that a checkout retried after a failure creates the same order.
std::string order_id_for(const std::string& customer_id, const std::string& idempotency_key,
                         std::uint64_t basket_version);

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

  /// Whether an add of `quantity` units of `sku` can be tried at all (before its product is
  /// looked up): a well-formed sku and 1..999 units.
  static maybe_failure check_add(std::string_view sku, int quantity);

  /// Whether setting the line of `sku` to `quantity` can be tried: a well-formed sku and
  /// 0..999 units.
  static maybe_failure check_set(std::string_view sku, int quantity);

  /// Whether a line of `sku` can be removed: a well-formed sku.
  static maybe_failure check_sku(std::string_view sku);

  /// Adds `quantity` (1..999) units of a product to its line, creating the line if needed.
  /// Refused when the product is unknown or inactive, the line would exceed 999 units, the
  /// basket would exceed 100 lines, or the currency differs from the basket's.
  maybe_failure add(const product& item, int quantity, timestamp_ms now);

  /// Sets the line of a sku to `quantity` (0..999); 0 removes it. `item` is needed only when
  /// the line does not exist yet (pass nullptr otherwise).
  maybe_failure set(const std::string& sku, int quantity, const product* item, timestamp_ms now);

  /// Removes the line of a sku; removing an absent line changes nothing and is not an error.
  /// True when a line was removed.
  bool remove(const std::string& sku, timestamp_ms now);

  /// Removes every line; true when there were any.
  bool clear(timestamp_ms now);

 private:
  basket_line* find_mutable(const std::string& sku);
  void touch(timestamp_ms now);
};
BAZAAR_DESCRIBE(basket, (customer_id, lines, currency, version, updated_at, total_cents))

} // namespace bazaar::domain
