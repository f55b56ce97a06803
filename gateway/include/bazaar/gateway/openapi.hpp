#pragma once

/// The OpenAPI 3 document of the routes the node serves: gateway/openapi.json, compiled in
/// (embed_openapi.cmake), served as it is by GET /openapi.json to anyone. docs/API.md is the
/// human contract; the document describes the same routes, and a test checks that every route
/// the router serves is documented and every documented route is served.

#include "bazaar/gateway/router.hpp"

#include <string_view>

namespace bazaar::gateway {

/// The document's JSON text.
std::string_view openapi_document();

/// Adds GET /openapi.json (access::anyone).
void add_openapi_route(router& r);

} // namespace bazaar::gateway
