#pragma once

/// The REST routes the node serves (docs/API.md), bound to the grains they call.

#include "bazaar/domain/read_side.hpp"
#include "bazaar/gateway/admin_routes.hpp"
#include "bazaar/gateway/router.hpp"
#include "bazaar/runtime/event_history.hpp"
#include "bazaar/runtime/grain_client.hpp"

#include <boost/json/value.hpp>

#include <functional>
#include <memory>
#include <string>
#include <vector>

namespace bazaar::gateway {

/// One line of /readyz: a dependency and whether it is usable now.
struct readiness_check {
  std::string name;
  bool ok = false;
  std::string detail;
};

using readiness_probe = std::function<std::vector<readiness_check>()>;

/// What the routes need of the node.
struct route_context {
  runtime::grain_client* grains = nullptr;
  const runtime::event_history* history = nullptr;
  /// The read side (product search, order lists, reports); null: those routes answer 503.
  domain::read_models* read_models = nullptr;
  readiness_probe ready;
  /// The runtime administration routes' answers (admin_routes.hpp).
  admin_hooks admin;
  /// The body of GET /metrics (Prometheus text format); null: 404.
  std::function<std::string()>
      metrics; /// Routes of grain types the node hosts beyond the shop's (bazaar::grain_extension).
  std::vector<std::function<void(router&, runtime::grain_client&)>> more_routes;
};

/// Builds the router: health, catalog, basket, checkout, order and admin routes, then
/// `more_routes`.
std::shared_ptr<router> make_routes(route_context context);

} // namespace bazaar::gateway
