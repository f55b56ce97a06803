#include "bazaar/gateway/routes.hpp"

#include "bazaar/gateway/metrics_route.hpp"
#include "bazaar/gateway/openapi.hpp"
#include "bazaar/gateway/order_stream.hpp"
#include "bazaar/gateway/read_routes.hpp"
#include "shop_routes.hpp"

#include <boost/json.hpp>

namespace bazaar::gateway {

namespace json = boost::json;

namespace {

void add_health_routes(router& r, readiness_probe ready) {
  r.add("GET", "/healthz", access::anyone, [](http_request&, const responder_ptr& out) {
    out->json(200, {{"status", "ok"}});
  });
  r.add("GET", "/readyz", access::anyone, [ready](http_request&, const responder_ptr& out) {
    json::object checks;
    bool all_ok = true;
    for (const auto& c : ready()) {
      checks[c.name] = json::object{{"ok", c.ok}, {"detail", c.detail}};
      all_ok = all_ok && c.ok;
    }
    out->json(all_ok ? 200 : 503,
              json::object{{"status", all_ok ? "ready" : "not_ready"}, {"checks", checks}});
  });
}

} // namespace

std::shared_ptr<router> make_routes(route_context context) {
  auto r = std::make_shared<router>();
  auto& grains = *context.grains;
  add_health_routes(*r, std::move(context.ready));
  add_openapi_route(*r);
  add_product_routes(*r, grains);
  add_basket_routes(*r, grains);
  add_checkout_route(*r, grains);
  add_order_routes(*r, grains);
  add_order_stream_route(*r, grains);
  add_event_routes(*r, &grains, context.history);
  add_read_routes(*r, context.read_models);
  add_admin_routes(*r, std::move(context.admin));
  add_metrics_route(*r, std::move(context.metrics));
  for (const auto& add : context.more_routes)
    add(*r, grains);
  return r;
}

} // namespace bazaar::gateway
