#pragma once

/// The read-side routes (docs/API.md): product search and categories, the customer's order
/// list, notifications and the sales report, answered from the read models (eventually
/// consistent projections of the events) off the HTTP I/O threads. Without read models (no
/// storage configured) they answer 503.

#include "bazaar/domain/read_side.hpp"
#include "bazaar/gateway/router.hpp"

namespace bazaar::gateway {

/// Adds GET /api/v1/products, /api/v1/categories, /api/v1/orders,
/// /api/v1/admin/notifications and /api/v1/admin/reports/sales. `models` may be null; it must
/// outlive the router.
void add_read_routes(router& r, domain::read_models* models);

} // namespace bazaar::gateway
