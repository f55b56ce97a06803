// A customer's basket and its checkout: /api/v1/basket (docs/API.md "Basket", "Checkout").

#include "shop_routes.hpp"

#include "bazaar/actors/basket_grain.hpp"
#include "bazaar/domain/json_codec.hpp"
#include "bazaar/gateway/route_kit.hpp"

#include <boost/json.hpp>

namespace bazaar::gateway {

namespace json = boost::json;
using domain::errc;

namespace {

/// The caller's basket: the basket grain keyed by the token's subject.
const std::string& basket_of(const http_request& req) {
  return req.principal.subject;
}

} // namespace

void add_basket_routes(router& r, runtime::grain_client& grains) {
  // The basket is written straight into the answer, without a JSON tree.
  auto reply = [](const responder_ptr& out) {
    return [out](const domain::basket& b) {
      out->json_with(200, [&b](std::string& body) { domain::json_form::append_api(body, b); });
    };
  };
  r.add("GET", "/api/v1/basket", access::customer,
        [&grains, reply](http_request& req, const responder_ptr& out) {
          call<actors::basket_grain>(grains, out, basket_of(req), actors::basket_get{}, reply(out));
        });
  r.add("POST", "/api/v1/basket/items", access::customer,
        [&grains, reply](http_request& req, const responder_ptr& out) {
          auto m = read_mutation(req, out);
          if (!m)
            return;
          body_reader in{m->body};
          auto sku = in.string("sku", true);
          auto quantity = in.integer("quantity", true, 1, domain::max_quantity_per_add);
          if (in.error())
            return out->fail(*in.error());
          if (!valid_sku(*sku, out))
            return;
          call<actors::basket_grain>(
              grains, out, basket_of(req),
              actors::basket_add{*sku, static_cast<std::int32_t>(*quantity), meta_of(req), m->idem},
              reply(out));
        });
  r.add("PUT", "/api/v1/basket/items/{sku}", access::customer,
        [&grains, reply](http_request& req, const responder_ptr& out) {
          auto m = read_mutation(req, out);
          if (!m)
            return;
          body_reader in{m->body};
          auto quantity = in.integer("quantity", true, 0, domain::max_line_quantity);
          if (in.error())
            return out->fail(*in.error());
          if (!valid_sku(req.params[0], out))
            return;
          call<actors::basket_grain>(grains, out, basket_of(req),
                                     actors::basket_set{req.params[0],
                                                        static_cast<std::int32_t>(*quantity),
                                                        meta_of(req), m->idem},
                                     reply(out));
        });
  r.add("DELETE", "/api/v1/basket/items/{sku}", access::customer,
        [&grains, reply](http_request& req, const responder_ptr& out) {
          auto idem = idempotency_of(req, out);
          if (!idem || !valid_sku(req.params[0], out))
            return;
          call<actors::basket_grain>(grains, out, basket_of(req),
                                     actors::basket_remove{req.params[0], meta_of(req), *idem},
                                     reply(out));
        });
  r.add("DELETE", "/api/v1/basket", access::customer,
        [&grains, reply](http_request& req, const responder_ptr& out) {
          auto idem = idempotency_of(req, out);
          if (!idem)
            return;
          call<actors::basket_grain>(grains, out, basket_of(req),
                                     actors::basket_clear{meta_of(req), *idem}, reply(out));
        });
}

void add_checkout_route(router& r, runtime::grain_client& grains) {
  r.add("POST", "/api/v1/basket/checkout", access::customer,
        [&grains](http_request& req, const responder_ptr& out) {
          if (req.idempotency_key.empty())
            return out->fail(
                domain::failure{errc::bad_request, "checkout needs an Idempotency-Key header", {}});
          auto m = read_mutation(req, out);
          if (!m)
            return;
          auto payment = m->body.find("payment");
          if (payment == m->body.end() || payment->value().is_null())
            return out->fail(domain::validation_failed("payment", "payment is required"));
          if (!payment->value().is_object())
            return out->fail(
                domain::failure{errc::bad_request, "payment must be an object", "payment"});
          body_reader pay{payment->value().get_object()};
          auto card = pay.string("card_token", true);
          if (pay.error()) {
            auto f = *pay.error();
            f.field = "payment.card_token";
            return out->fail(f);
          }
          if (card->empty() || card->size() > 128)
            return out->fail(domain::validation_failed("payment.card_token",
                                                       "card_token must be 1..128 characters"));
          std::string shipping;
          if (auto addr = m->body.find("shipping_address");
              addr != m->body.end() && !addr->value().is_null()) {
            if (!addr->value().is_object())
              return out->fail(domain::failure{
                  errc::bad_request, "shipping_address must be an object", "shipping_address"});
            shipping = json::serialize(addr->value());
          }
          actors::basket_checkout cmd{*card, std::move(shipping), meta_of(req), m->idem};
          call<actors::basket_grain>(
              grains, out, basket_of(req), std::move(cmd),
              [out](const actors::checkout_accepted& a) {
                out->json(202, json::object{{"order_id", a.order_id}, {"status", "pending"}});
              });
        });
}

} // namespace bazaar::gateway
