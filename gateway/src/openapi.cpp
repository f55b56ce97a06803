#include "bazaar/gateway/openapi.hpp"

namespace bazaar::gateway {

void add_openapi_route(router& r) {
  r.add("GET", "/openapi.json", access::anyone,
        [](http_request&, const responder_ptr& out) { out->send(200, openapi_document()); });
}

} // namespace bazaar::gateway
