#pragma once

/// How the domain's types travel in CAF messages (locally, and between nodes): an `inspect`
/// per type. They live here, beside the grains, because the domain knows no CAF.

#include "bazaar/domain/basket.hpp"
#include "bazaar/domain/order.hpp"
#include "bazaar/domain/product.hpp"

#include <caf/meta/type_name.hpp>

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
           x.version);
}
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, product_draft& x) {
  return f(caf::meta::type_name("bazaar.product_draft"), x.sku, x.name, x.description, x.category,
           x.price_cents, x.currency, x.stock, x.low_stock_threshold);
}
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, product& x) {
  return f(caf::meta::type_name("bazaar.product"), x.exists, x.sku, x.name, x.description,
           x.category, x.price_cents, x.currency, x.active, x.stock, x.reserved,
           x.low_stock_threshold, x.version, x.updated_at);
}

} // namespace bazaar::domain
