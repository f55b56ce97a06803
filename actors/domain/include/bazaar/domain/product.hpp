#pragma once

/// A catalog product and its stock: the state of one inventory grain (key = sku).

#include "bazaar/domain/failure.hpp"

#include <cstdint>
#include <string>

namespace bazaar::domain {

/// What an admin supplies to create a product (docs/API.md `POST /api/v1/products`).
struct product_draft {
  std::string sku;
  std::string name;
  std::string description;
  std::string category;
  std::int64_t price_cents = 0;
  std::string currency = "USD";
  std::int64_t stock = 0;
  std::int64_t low_stock_threshold = 0;
};

/// Limits of a product's fields.
inline constexpr std::size_t max_name_length = 200;
inline constexpr std::size_t max_description_length = 4000;
inline constexpr std::int64_t max_price_cents = 1'000'000'000'00; // one billion in major units
inline constexpr std::int64_t max_stock = 1'000'000'000;

/// A product; `exists` is false for a sku that was never created.
struct product {
  bool exists = false;
  std::string sku;
  std::string name;
  std::string description;
  std::string category;
  std::int64_t price_cents = 0;
  std::string currency = "USD";
  bool active = true;
  std::int64_t stock = 0;
  std::int64_t reserved = 0;
  std::int64_t low_stock_threshold = 0;
  /// Incremented by every accepted change; 0 until created.
  std::uint64_t version = 0;
  timestamp_ms updated_at = 0;

  std::int64_t available() const { return stock - reserved; }

  /// Checks a draft without changing anything.
  static maybe_failure validate(const product_draft& draft);

  /// Creates the product from a draft; conflict if it already exists.
  maybe_failure create(const product_draft& draft, timestamp_ms now);
};

} // namespace bazaar::domain
