#include "bazaar/domain/product.hpp"

namespace bazaar::domain {

maybe_failure product::validate(const product_draft& d) {
  if (!is_identifier(d.sku))
    return validation_failed("sku", "sku must be 1..64 characters of [A-Za-z0-9._:-]");
  if (d.name.empty() || d.name.size() > max_name_length)
    return validation_failed("name", "name must be 1..200 characters");
  if (d.description.size() > max_description_length)
    return validation_failed("description", "description must be at most 4000 characters");
  if (d.category.empty() || d.category.size() > max_name_length)
    return validation_failed("category", "category must be 1..200 characters");
  if (d.price_cents < 0 || d.price_cents > max_price_cents)
    return validation_failed("price_cents", "price_cents must be between 0 and 100000000000");
  if (!is_currency(d.currency))
    return validation_failed("currency", "currency must be an ISO 4217 code such as USD");
  if (d.stock < 0 || d.stock > max_stock)
    return validation_failed("stock", "stock must be between 0 and 1000000000");
  if (d.low_stock_threshold < 0 || d.low_stock_threshold > max_stock)
    return validation_failed("low_stock_threshold",
                             "low_stock_threshold must be between 0 and 1000000000");
  return std::nullopt;
}

maybe_failure product::create(const product_draft& d, timestamp_ms now) {
  if (exists)
    return conflict("product " + d.sku + " already exists");
  if (auto bad = validate(d))
    return bad;
  exists = true;
  sku = d.sku;
  name = d.name;
  description = d.description;
  category = d.category;
  price_cents = d.price_cents;
  currency = d.currency;
  active = true;
  stock = d.stock;
  reserved = 0;
  low_stock_threshold = d.low_stock_threshold;
  ++version;
  updated_at = now;
  return std::nullopt;
}

} // namespace bazaar::domain
