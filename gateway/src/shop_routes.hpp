#pragma once

// The shop's routes, one file per resource (product_routes.cpp, basket_routes.cpp,
// order_routes.cpp), each read with route_kit.hpp; make_routes (routes.cpp) adds them all.

#include "bazaar/gateway/router.hpp"
#include "bazaar/runtime/event_history.hpp"
#include "bazaar/runtime/grain_client.hpp"

namespace bazaar::gateway {

void add_product_routes(router& r, runtime::grain_client& grains);
void add_basket_routes(router& r, runtime::grain_client& grains);
void add_checkout_route(router& r, runtime::grain_client& grains);
void add_order_routes(router& r, runtime::grain_client& grains);
void add_event_routes(router& r, runtime::grain_client* grains,
                      const runtime::event_history* history);

} // namespace bazaar::gateway
