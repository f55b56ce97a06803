#pragma once

/// The product grain (key = sku): a catalog product and its stock. Reads reflect every
/// acknowledged write at once.

#include "bazaar/actors/domain_inspect.hpp"
#include "bazaar/domain/json_codec.hpp"
#include "bazaar/runtime/durable_grain.hpp"

namespace bazaar::actors {

/// Answers the product, with `exists == false` for a sku never created.
struct product_get {};

/// Creates the product; `conflict` when it exists.
struct product_create {
  domain::product_draft draft;
  runtime::command_meta meta;
  runtime::idempotency idem;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, product_get&) {
  return f(caf::meta::type_name("bazaar.product_get"));
}
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, product_create& x) {
  return f(caf::meta::type_name("bazaar.product_create"), x.draft, x.meta, x.idem);
}

struct product_grain {
  static constexpr const char* type = "product";
  /// Products are read by every basket that adds them: they stay longer than the default.
  static constexpr int idle_timeout_ms = 30 * 60 * 1000;
  using state = domain::product;
  using interface = caf::typed_actor<caf::replies_to<product_get>::with<domain::product>,
                                     caf::replies_to<product_create>::with<domain::product>>;

  static domain::product initial(const std::string& sku) {
    domain::product p;
    p.sku = sku;
    return p;
  }
  static std::optional<domain::product> from_snapshot(const boost::json::value& v) {
    return domain::product_from_json(v);
  }

  domain::product on(const domain::product& p, const product_get&) const { return p; }

  runtime::outcome<domain::product> on(runtime::command<domain::product>& c,
                                       const product_create& cmd) const {
    auto& p = c.state();
    if (cmd.draft.sku != p.sku)
      return domain::validation_failed("sku", "sku does not name this product");
    if (auto bad = p.create(cmd.draft, c.now()))
      return *bad;
    c.emit("product-created", domain::to_json(p).as_object());
    c.emit("stock-updated", {{"sku", p.sku}, {"stock", p.stock}, {"reserved", p.reserved}});
    return p;
  }
};

} // namespace bazaar::actors
