#pragma once

/// A test-only order grain: the shop's order grain (actors/order_grain.hpp) plus
/// `order_force_status`, which moves an order to any status, appending it to the timeline,
/// so that tests can drive status changes through the platform (committed, observed) without
/// the checkout saga. It is registered under the same type name, "order", in place of the
/// shop's: a node registers extension grains after its own, and the catalog keeps the last
/// registration of a type name. Only tests host it (order_status_extension()).

#include "bazaar/actors/order_grain.hpp"
#include "bazaar/grain_extension.hpp"

namespace bazaar::test {

/// Moves the order to `status` ("paid", "cancelled", ...), with `reason` for a cancellation.
struct order_force_status {
  std::string status;
  std::string reason;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, order_force_status& x) {
  return f(caf::meta::type_name("test.order_force_status"), x.status, x.reason);
}

struct order_status_grain : actors::order_grain {
  using interface = caf::typed_actor<caf::replies_to<actors::order_get>::with<domain::order>,
                                     caf::replies_to<actors::order_create>::with<domain::order>,
                                     caf::replies_to<order_force_status>::with<domain::order>>;
  using actors::order_grain::on;

  runtime::outcome<domain::order> on(runtime::command<domain::order>& c,
                                     const order_force_status& f) const {
    auto& o = c.state();
    auto status = domain::parse_order_status(f.status);
    if (!o.exists)
      return domain::not_found("no order " + o.order_id);
    if (!status)
      return domain::validation_failed("status", "no status " + f.status);
    o.status = *status;
    o.cancel_reason = f.reason;
    o.timeline.push_back(domain::status_change{*status, c.now()});
    ++o.version;
    return o;
  }
};

/// The grain extension that hosts order_status_grain as "order".
inline grain_extension order_status_extension() {
  grain_extension e;
  e.register_types = [](caf::actor_system_config& cfg) {
    runtime::register_message_type<order_force_status>(cfg);
  };
  e.register_grains = [](runtime::catalog& grains, const runtime::grain_services& services) {
    runtime::register_durable_grain(grains, order_status_grain{}, services,
                                    std::chrono::minutes{10});
  };
  e.types = {{order_status_grain::type, false}};
  return e;
}

} // namespace bazaar::test
