#pragma once

/// The order grain (key = order id): an order and its status machine.

#include "bazaar/actors/domain_inspect.hpp"
#include "bazaar/domain/json_codec.hpp"
#include "bazaar/runtime/durable_grain.hpp"

namespace bazaar::actors {

/// Creates the order in status `pending`; a create re-sent with the same content is harmless.
struct order_create {
  domain::order_draft draft;
  runtime::command_meta meta;
};

/// Answers the order, with `exists == false` for an unknown id.
struct order_get {};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, order_create& x) {
  return f(caf::meta::type_name("bazaar.order_create"), x.draft, x.meta);
}
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, order_get&) {
  return f(caf::meta::type_name("bazaar.order_get"));
}

struct order_grain {
  static constexpr const char* type = "order";
  using state = domain::order;
  using interface = caf::typed_actor<caf::replies_to<order_get>::with<domain::order>,
                                     caf::replies_to<order_create>::with<domain::order>>;

  static domain::order initial(const std::string& id) {
    domain::order o;
    o.order_id = id;
    return o;
  }
  static std::optional<domain::order> from_snapshot(const boost::json::value& v) {
    return domain::order_from_json(v);
  }

  domain::order on(const domain::order& o, const order_get&) const { return o; }

  runtime::outcome<domain::order> on(runtime::command<domain::order>& c,
                                     const order_create& cmd) const {
    auto& o = c.state();
    if (cmd.draft.order_id != o.order_id)
      return domain::validation_failed("order_id", "order_id does not name this order");
    bool existed = o.exists;
    if (auto bad = o.create(cmd.draft, c.now()))
      return *bad;
    if (!existed)
      c.emit("order-created", {{"order_id", o.order_id},
                               {"customer_id", o.customer_id},
                               {"items", domain::to_json(o.items)},
                               {"total_cents", o.total_cents()},
                               {"currency", o.currency},
                               {"card_token", o.card_token}});
    return o;
  }
};

} // namespace bazaar::actors
