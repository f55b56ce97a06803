#pragma once

/// A catalog product and its stock: the state of one inventory grain (key = sku).

#include "bazaar/domain/described.hpp"
#include "bazaar/domain/failure.hpp"

#include <chrono>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>

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
BAZAAR_DESCRIBE(product_draft, (sku, name, description, category, price_cents, currency, stock,
                                low_stock_threshold))

/// Limits of a product's fields.
inline constexpr std::size_t max_name_length = 200;
inline constexpr std::size_t max_description_length = 4000;
inline constexpr std::int64_t max_price_cents = 1'000'000'000'00; // one billion in major units
inline constexpr std::int64_t max_stock = 1'000'000'000;

/// What an admin changes of a product (docs/API.md `PUT /api/v1/products/{sku}`): the fields
/// given, each validated like at creation.
struct product_update {
  std::optional<std::string> name;
  std::optional<std::string> description;
  std::optional<std::string> category;
  std::optional<std::int64_t> price_cents;
};
BAZAAR_DESCRIBE(product_update, (name, description, category, price_cents))

/// A change of stock (docs/API.md `POST /api/v1/products/{sku}/stock`): exactly one of `delta`
/// (added to the stock) or `set` (the new stock).
struct stock_change {
  std::optional<std::int64_t> delta;
  std::optional<std::int64_t> set;
};
BAZAAR_DESCRIBE(stock_change, (delta, set))

/// Why a reservation was rejected.
inline constexpr std::string_view reason_out_of_stock = "out_of_stock";
inline constexpr std::string_view reason_product_inactive = "product_inactive";
inline constexpr std::string_view reason_unknown_product = "unknown_product";

/// Where an order's reservation of a product stands.
/// `returned`: committed units given back to stock (the order was cancelled after it was
/// confirmed).
BOOST_DEFINE_FIXED_ENUM_CLASS(reservation_status, std::uint8_t, reserved, rejected, committed,
                              released, returned)

/// One order's reservation of a product: what the first reserve for the order answered, and
/// what became of it since.
struct reservation {
  std::string order_id;
  std::int64_t quantity = 0;
  reservation_status status = reservation_status::reserved;
  /// Why it was rejected (reason_*); empty otherwise.
  std::string reason;
  /// When it took its status (0 in a snapshot written before this was kept).
  timestamp_ms at = 0;

  /// True when the first reserve for the order succeeded (whatever became of it since).
  bool accepted() const { return status != reservation_status::rejected; }
};
BAZAAR_DESCRIBE(reservation, (order_id, quantity, status, reason, at))

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
  /// Every order that asked to reserve this product, by order id.
  std::map<std::string, reservation> reservations;
  /// Incremented by every accepted change; 0 until created.
  std::uint64_t version = 0;
  timestamp_ms updated_at = 0;

  std::int64_t available() const { return stock - reserved; }

  /// Checks a draft without changing anything.
  static maybe_failure validate(const product_draft& draft);

  /// Creates the product from a draft; conflict if it already exists.
  maybe_failure create(const product_draft& draft, timestamp_ms now);

  /// Checks an update without changing anything: at least one field, each valid.
  static maybe_failure validate(const product_update& update);

  /// Changes the given fields; not_found for a product never created. The version moves only
  /// when a value changed.
  maybe_failure update(const product_update& update, timestamp_ms now);

  /// Checks a stock change without a product: exactly one of delta and set, within range.
  static maybe_failure validate(const stock_change& change);

  /// Changes the stock; not_found for a product never created, validation_failed for a stock
  /// below 0 or above max_stock, conflict for a stock below what is reserved. The version
  /// moves only when the stock changed.
  maybe_failure change_stock(const stock_change& change, timestamp_ms now);

  /// Takes the product off sale: later reservations are rejected (product_inactive), existing
  /// ones can still be released or committed. Deactivating twice changes nothing the second
  /// time; not_found for a product never created.
  maybe_failure deactivate(timestamp_ms now);

  /// Puts a deactivated product on sale again: reservations are accepted from now on.
  /// Activating an active product changes nothing; not_found for a product never created.
  maybe_failure activate(timestamp_ms now);

  /// Checks a reservation request: an order id of the identifier rule, 1..max_stock units.
  static maybe_failure validate_reservation(const std::string& order_id, std::int64_t quantity);

  /// Reserves `quantity` units for the order if the product is active and has them available,
  /// else records the rejection (out_of_stock, product_inactive). The first reserve for an
  /// order decides: another reserve for the order answers its reservation as it is and changes
  /// nothing. A product never created rejects with unknown_product and records nothing.
  /// Requires validate_reservation to pass.
  reservation reserve(const std::string& order_id, std::int64_t quantity, timestamp_ms now);

  /// Gives an order's units back: reserved units to what is available, committed (sold) units
  /// to the stock (`returned`). Releasing again, or releasing a rejected reservation, changes
  /// nothing. Releasing an order the product does not remember records the release, so that a
  /// reserve arriving after it holds nothing (a late reserve answers `released`); when the
  /// release says the order bought `sold` units (its saga committed them, and the product
  /// has forgotten the sale since, forget_closed), those go back to the stock (`returned`).
  maybe_failure release(const std::string& order_id, timestamp_ms now, std::int64_t sold = 0);

  /// Forgets the reservations that ended (rejected, committed, released, returned) at or
  /// before `now - keep`, so that a product's state does not grow with its sales; one still
  /// held is kept whatever its age. Returns how many it forgot. A release of a forgotten sale
  /// still returns its units (release's `sold`); a release arriving twice more than `keep`
  /// apart would return them twice, so `keep` must outlast any redelivery (records are
  /// retried for minutes, idempotency answers are kept 24 h). Housekeeping that goes with a
  /// change: it leaves the version alone.
  std::size_t forget_closed(timestamp_ms now, std::chrono::milliseconds keep);

  /// Turns an order's reservation into a sale: stock and reserved both drop by its quantity.
  /// Committing again changes nothing; conflict when the order holds no reservation (unknown,
  /// rejected or released).
  maybe_failure commit(const std::string& order_id, timestamp_ms now);

  /// True when available stock, `available_before` a change, is now at or below the
  /// low-stock threshold and was above it before: the crossing, not every change below it.
  bool crossed_low_stock(std::int64_t available_before) const {
    return available_before > low_stock_threshold && available() <= low_stock_threshold;
  }
};
BAZAAR_DESCRIBE(product,
                (exists, sku, name, description, category, price_cents, currency, active, stock,
                 reserved, low_stock_threshold, reservations, version, updated_at, available))

} // namespace bazaar::domain
