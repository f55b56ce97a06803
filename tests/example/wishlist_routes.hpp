#pragma once

// The README's "Adding a grain type" example. File 3 of 3: its routes, read with the gateway's
// route kit. In the shop it would be gateway/src/wishlist_routes.cpp.
//   GET    /api/v1/wishlist               the caller's wishlist
//   POST   /api/v1/wishlist/items         {"sku"}: adds it (Idempotency-Key honoured)
//   DELETE /api/v1/wishlist/items/{sku}   removes it

#include "bazaar/gateway/http_codec.hpp"
#include "bazaar/gateway/route_kit.hpp"
#include "example/wishlist_grain.hpp"

namespace bazaar::example {

inline void add_wishlist_routes(gateway::router& r, runtime::grain_client& grains) {
  using namespace gateway;
  auto answer = [](const responder_ptr& out) {
    return [out](const domain::wishlist& w) {
      out->json_with(200, [&w](std::string& body) { domain::json_form::append_api(body, w); });
    };
  };
  r.add("GET", "/api/v1/wishlist", access::customer,
        [&grains, answer](http_request& req, const responder_ptr& out) {
          call<actors::wishlist_grain>(grains, out, req.principal.subject, actors::wishlist_get{},
                                       answer(out));
        });
  r.add("POST", "/api/v1/wishlist/items", access::customer,
        [&grains, answer](http_request& req, const responder_ptr& out) {
          auto m = read_mutation(req, out);
          if (!m)
            return;
          body_reader in{m->body};
          auto sku = in.string("sku", true).value_or("");
          if (in.error())
            return out->fail(*in.error());
          call<actors::wishlist_grain>(grains, out, req.principal.subject,
                                       actors::wishlist_add{sku, meta_of(req), m->idem},
                                       answer(out));
        });
  r.add("DELETE", "/api/v1/wishlist/items/{sku}", access::customer,
        [&grains, answer](http_request& req, const responder_ptr& out) {
          auto idem = bodiless_mutation(req, out);
          if (!idem || !valid_sku(req.params[0], out))
            return;
          call<actors::wishlist_grain>(grains, out, req.principal.subject,
                                       actors::wishlist_remove{req.params[0], meta_of(req), *idem},
                                       answer(out));
        });
}

} // namespace bazaar::example
