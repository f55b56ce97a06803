#pragma once

/// GET /metrics: the node's metrics in the Prometheus text format (version 0.0.4), for anyone
/// (no token: scrapers carry none; the page holds counts, never secrets or keys).

#include "bazaar/gateway/router.hpp"

#include <functional>
#include <string>

namespace bazaar::gateway {

/// Adds GET /metrics answering `scrape()`; a null function answers 404.
void add_metrics_route(router& r, std::function<std::string()> scrape);

} // namespace bazaar::gateway
