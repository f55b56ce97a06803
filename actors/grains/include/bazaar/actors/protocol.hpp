#pragma once

/// The messages grains understand and the replies they give. Plain structs with `inspect`, so
/// the same types serve local calls and, later, calls across nodes.

#include "bazaar/domain/basket.hpp"
#include "bazaar/domain/order.hpp"
#include "bazaar/domain/product.hpp"

#include <caf/meta/type_name.hpp>

#include <cstdint>
#include <string>

namespace bazaar::actors {

/// Grain type names, the `type` half of a grain id.
inline constexpr const char* basket_type = "basket";
inline constexpr const char* product_type = "product";
inline constexpr const char* order_type = "order";

/// Who asked: carried into the metadata of the events a command produces.
struct command_meta {
  std::string correlation_id;
  std::string user_id;
};

/// The Idempotency-Key of a mutating request (API.md), if it had one. The grain that has the
/// effect remembers the answer, in the same transaction as the effect.
struct idempotency {
  std::string scope; ///< the customer (token sub)
  std::string key;   ///< empty: no key
  std::uint64_t fingerprint = 0;
  /// The HTTP status of a successful answer (200, 201, 202), stored with its body.
  std::int32_t success_status = 200;

  bool present() const { return !key.empty(); }
};

// -- basket grain (key = customer id); every command answers the resulting domain::basket ----

struct basket_get {};
struct basket_add {
  std::string sku;
  std::int32_t quantity = 0;
  command_meta meta;
  idempotency idem;
};
struct basket_set {
  std::string sku;
  std::int32_t quantity = 0;
  command_meta meta;
  idempotency idem;
};
struct basket_remove {
  std::string sku;
  command_meta meta;
  idempotency idem;
};
struct basket_clear {
  command_meta meta;
  idempotency idem;
};

/// Turns the basket into a pending order and empties it; answers checkout_accepted.
/// Needs an idempotency key: a retry gets the first answer, another body with it is 409.
struct basket_checkout {
  std::string card_token;
  /// JSON text, "" when none.
  std::string shipping_address;
  command_meta meta;
  idempotency idem;
};
struct checkout_accepted {
  std::string order_id;
};

// -- order grain (key = order id); every command answers the resulting domain::order ---------

struct order_create {
  domain::order_draft draft;
  command_meta meta;
};
/// Answers the order, with `exists == false` for an unknown id.
struct order_get {};

// -- product grain (key = sku); every command answers the resulting domain::product ----------

/// Answers the product, with `exists == false` for a sku never created.
struct product_get {};
struct product_create {
  domain::product_draft draft;
  command_meta meta;
  idempotency idem;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, command_meta& x) {
  return f(caf::meta::type_name("bazaar.command_meta"), x.correlation_id, x.user_id);
}
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, idempotency& x) {
  return f(caf::meta::type_name("bazaar.idempotency"), x.scope, x.key, x.fingerprint,
           x.success_status);
}
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, basket_get&) {
  return f(caf::meta::type_name("bazaar.basket_get"));
}
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, basket_add& x) {
  return f(caf::meta::type_name("bazaar.basket_add"), x.sku, x.quantity, x.meta, x.idem);
}
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, basket_set& x) {
  return f(caf::meta::type_name("bazaar.basket_set"), x.sku, x.quantity, x.meta, x.idem);
}
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, basket_remove& x) {
  return f(caf::meta::type_name("bazaar.basket_remove"), x.sku, x.meta, x.idem);
}
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, basket_clear& x) {
  return f(caf::meta::type_name("bazaar.basket_clear"), x.meta, x.idem);
}
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, basket_checkout& x) {
  return f(caf::meta::type_name("bazaar.basket_checkout"), x.card_token, x.shipping_address, x.meta,
           x.idem);
}
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, checkout_accepted& x) {
  return f(caf::meta::type_name("bazaar.checkout_accepted"), x.order_id);
}
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, order_create& x) {
  return f(caf::meta::type_name("bazaar.order_create"), x.draft, x.meta);
}
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, order_get&) {
  return f(caf::meta::type_name("bazaar.order_get"));
}
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, product_get&) {
  return f(caf::meta::type_name("bazaar.product_get"));
}
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, product_create& x) {
  return f(caf::meta::type_name("bazaar.product_create"), x.draft, x.meta, x.idem);
}

} // namespace bazaar::actors

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
