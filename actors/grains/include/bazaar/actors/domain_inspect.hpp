#pragma once

/// How the domain's types travel in CAF messages (locally, and between nodes): an `inspect`
/// per type. They live here, beside the grains, because the domain knows no CAF.

#include "bazaar/domain/basket.hpp"
#include "bazaar/domain/order.hpp"
#include "bazaar/domain/product.hpp"

#include <caf/error.hpp>
#include <caf/meta/load_callback.hpp>
#include <caf/meta/type_name.hpp>

#include <optional>

namespace bazaar::domain {

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, basket_line& x) {
  return f(caf::meta::type_name("bazaar.basket_line"), x.sku, x.name, x.quantity,
           x.unit_price_cents);
}
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, basket& x) {
  return f(caf::meta::type_name("bazaar.basket"), x.customer_id, x.lines, x.currency, x.version,
           x.updated_at);
}
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, order_line& x) {
  return f(caf::meta::type_name("bazaar.order_line"), x.sku, x.name, x.quantity,
           x.unit_price_cents);
}
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, status_change& x) {
  return f(caf::meta::type_name("bazaar.status_change"), x.status, x.at);
}
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, order_draft& x) {
  return f(caf::meta::type_name("bazaar.order_draft"), x.order_id, x.customer_id, x.items,
           x.currency, x.card_token, x.shipping_address);
}
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, order& x) {
  return f(caf::meta::type_name("bazaar.order"), x.exists, x.order_id, x.customer_id, x.items,
           x.currency, x.card_token, x.shipping_address, x.status, x.cancel_reason, x.timeline,
           x.payment_id, x.payment_status, x.tracking_number, x.version);
}
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, product_draft& x) {
  return f(caf::meta::type_name("bazaar.product_draft"), x.sku, x.name, x.description, x.category,
           x.price_cents, x.currency, x.stock, x.low_stock_threshold);
}
/// A std::optional travels as a flag and a value (CAF 0.17 has no std::optional support).
template <class T>
struct optional_parts {
  explicit optional_parts(const std::optional<T>& x) : has(x.has_value()), value(x.value_or(T{})) {}
  void store(std::optional<T>& x) const {
    if (has)
      x = value;
    else
      x.reset();
  }
  bool has;
  T value;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, product_update& x) {
  optional_parts<std::string> name{x.name}, description{x.description}, category{x.category};
  optional_parts<std::int64_t> price{x.price_cents};
  auto load = [&]() -> caf::error {
    name.store(x.name);
    description.store(x.description);
    category.store(x.category);
    price.store(x.price_cents);
    return caf::none;
  };
  return f(caf::meta::type_name("bazaar.product_update"), name.has, name.value, description.has,
           description.value, category.has, category.value, price.has, price.value,
           caf::meta::load_callback(load));
}
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, stock_change& x) {
  optional_parts<std::int64_t> delta{x.delta}, set{x.set};
  auto load = [&]() -> caf::error {
    delta.store(x.delta);
    set.store(x.set);
    return caf::none;
  };
  return f(caf::meta::type_name("bazaar.stock_change"), delta.has, delta.value, set.has, set.value,
           caf::meta::load_callback(load));
}
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, reservation& x) {
  return f(caf::meta::type_name("bazaar.reservation"), x.order_id, x.quantity, x.status, x.reason);
}
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, product& x) {
  return f(caf::meta::type_name("bazaar.product"), x.exists, x.sku, x.name, x.description,
           x.category, x.price_cents, x.currency, x.active, x.stock, x.reserved,
           x.low_stock_threshold, x.reservations, x.version, x.updated_at);
}

} // namespace bazaar::domain
