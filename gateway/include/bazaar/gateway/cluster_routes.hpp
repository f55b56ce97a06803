#pragma once

/// The admin routes of the cluster (docs/API.md): GET /admin/cluster (the membership table as
/// this node last read it, and its view) and GET /admin/grains (the activations on this
/// node). The node supplies the bodies; these routes validate the query and answer.

#include "bazaar/gateway/router.hpp"

#include <boost/json/value.hpp>

#include <cstddef>
#include <functional>
#include <string>

namespace bazaar::gateway {

/// What /admin/grains lists: activations of `type` (empty: any), at most `limit`.
using grains_listing =
    std::function<boost::json::value(const std::string& type, std::size_t limit)>;

/// Adds GET /admin/cluster and GET /admin/grains; a null function answers 404 (a node
/// without a cluster: no storage configured).
void add_cluster_routes(router& r, std::function<boost::json::value()> cluster,
                        grains_listing grains);

} // namespace bazaar::gateway
