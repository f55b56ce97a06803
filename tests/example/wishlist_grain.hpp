#pragma once

// The README's "Adding a grain type" example. File 2 of 3: the grain, its messages and
// handlers. In the shop it would be actors/grains/include/bazaar/actors/wishlist_grain.hpp.

#include "bazaar/actors/domain_inspect.hpp"
#include "bazaar/domain/json_codec.hpp"
#include "bazaar/runtime/command_meta.hpp"
#include "bazaar/runtime/durable_grain.hpp"
#include "example/wishlist.hpp"

namespace bazaar::actors {

struct wishlist_get {};
BAZAAR_DESCRIBE(wishlist_get, ())
struct wishlist_add {
  std::string sku;
  runtime::command_meta meta;
  runtime::idempotency idem;
};
BAZAAR_DESCRIBE(wishlist_add, (sku, meta, idem))
struct wishlist_remove {
  std::string sku;
  runtime::command_meta meta;
  runtime::idempotency idem;
};
BAZAAR_DESCRIBE(wishlist_remove, (sku, meta, idem))

struct wishlist_grain {
  static constexpr const char* type = "wishlist";
  using state = domain::wishlist;
  using interface = caf::typed_actor<caf::replies_to<wishlist_get>::with<domain::wishlist>,
                                     caf::replies_to<wishlist_add>::with<domain::wishlist>,
                                     caf::replies_to<wishlist_remove>::with<domain::wishlist>>;
  using command = runtime::command<domain::wishlist>;

  static domain::wishlist initial(const std::string& customer) {
    domain::wishlist w;
    w.customer_id = customer;
    return w;
  }
  static std::optional<domain::wishlist> from_snapshot(const boost::json::value& v) {
    return domain::from_snapshot<domain::wishlist>(v);
  }

  // A query: answered from the committed state.
  domain::wishlist on(const domain::wishlist& w, const wishlist_get&) const { return w; }

  // A command: change the state, emit events, return the reply or a refusal.
  runtime::outcome<domain::wishlist> on(command& c, const wishlist_add& cmd) const {
    auto& w = c.state();
    if (auto bad = w.add(cmd.sku, c.now()))
      return *bad;
    c.emit("wishlist-item-added", {{"customer_id", w.customer_id}, {"sku", cmd.sku}});
    return w;
  }

  runtime::outcome<domain::wishlist> on(command& c, const wishlist_remove& cmd) const {
    auto& w = c.state();
    if (w.remove(cmd.sku, c.now()))
      c.emit("wishlist-item-removed", {{"customer_id", w.customer_id}, {"sku", cmd.sku}});
    return w;
  }
};

} // namespace bazaar::actors
