// The catalog's write side and a product by sku: /api/v1/products (docs/API.md "Catalog").

#include "shop_routes.hpp"

#include "bazaar/actors/inventory_grain.hpp"
#include "bazaar/domain/json_codec.hpp"
#include "bazaar/gateway/route_kit.hpp"

#include <boost/json.hpp>

namespace bazaar::gateway {

namespace json = boost::json;
using domain::errc;

namespace {

/// Whether the sku of a product path can name a product; if not, answers 404 (no grain is
/// asked). (valid_sku answers 422 instead, for a sku the request names as data.)
bool product_path_sku(const std::string& sku, const responder_ptr& out) {
  if (domain::is_identifier(sku))
    return true;
  out->fail(domain::not_found("no product " + sku));
  return false;
}

/// Answers the product with `status`.
auto product_answer(const responder_ptr& out, int status) {
  return [out, status](const domain::product& p) {
    out->json_with(status, [&p](std::string& body) { domain::json_form::append_api(body, p); });
  };
}

/// `method path` (admin): a change of the product {sku} that `read` takes from the body and
/// domain::product::validate checks, sent as `Msg{change, meta, idempotency}` to its inventory
/// grain, whose product `answer(out)` answers.
template <class Msg, class Read, class Answer>
void add_product_change(router& r, runtime::grain_client& grains, const char* method,
                        const char* path, Read read, Answer answer) {
  r.add(method, path, access::admin,
        [&grains, read, answer](http_request& req, const responder_ptr& out) {
          const auto& sku = req.params[0];
          auto m = read_mutation(req, out);
          if (!m)
            return;
          body_reader in{m->body};
          auto change = read(in);
          if (in.error())
            return out->fail(*in.error());
          if (auto bad = domain::product::validate(change))
            return out->fail(*bad);
          if (!product_path_sku(sku, out))
            return;
          call<actors::inventory_grain>(grains, out, sku,
                                        Msg{std::move(change), meta_of(req), m->idem}, answer(out));
        });
}

/// POST `path` (admin): a change of the product {sku} that takes no body (or an object, ignored),
/// answered 200 with the product: `Msg{meta, idempotency}` to its inventory grain.
template <class Msg>
void add_bodiless_product_change(router& r, runtime::grain_client& grains, const char* path) {
  r.add("POST", path, access::admin, [&grains](http_request& req, const responder_ptr& out) {
    const auto& sku = req.params[0];
    auto idem = bodiless_mutation(req, out);
    if (!idem || !product_path_sku(sku, out))
      return;
    call<actors::inventory_grain>(grains, out, sku, Msg{meta_of(req), *idem},
                                  product_answer(out, 200));
  });
}

} // namespace

void add_product_routes(router& r, runtime::grain_client& grains) {
  r.add("POST", "/api/v1/products", access::admin,
        [&grains](http_request& req, const responder_ptr& out) {
          auto m = read_mutation(req, out);
          if (!m)
            return;
          body_reader in{m->body};
          domain::product_draft d;
          d.sku = in.string("sku", true).value_or("");
          d.name = in.string("name", true).value_or("");
          d.description = in.string("description", false).value_or("");
          d.category = in.string("category", true).value_or("");
          d.price_cents = in.integer("price_cents", true, 0, domain::max_price_cents).value_or(0);
          d.currency = in.string("currency", false).value_or("USD");
          d.stock = in.integer("stock", true, 0, domain::max_stock).value_or(0);
          d.low_stock_threshold =
              in.integer("low_stock_threshold", false, 0, domain::max_stock).value_or(0);
          if (in.error())
            return out->fail(*in.error());
          if (auto bad = domain::product::validate(d))
            return out->fail(*bad);
          auto sku = d.sku;
          call<actors::inventory_grain>(grains, out, sku,
                                        actors::product_create{std::move(d), meta_of(req), m->idem},
                                        product_answer(out, 201));
        });
  add_product_change<actors::product_change>(
      r, grains, "PUT", "/api/v1/products/{sku}",
      [](body_reader& in) {
        domain::product_update u;
        u.name = in.string("name", false);
        u.description = in.string("description", false);
        u.category = in.string("category", false);
        u.price_cents = in.integer("price_cents", false, 0, domain::max_price_cents);
        return u;
      },
      [](const responder_ptr& out) { return product_answer(out, 200); });
  add_product_change<actors::product_stock>(
      r, grains, "POST", "/api/v1/products/{sku}/stock",
      [](body_reader& in) {
        domain::stock_change c;
        c.delta = in.integer("delta", false, -domain::max_stock, domain::max_stock);
        c.set = in.integer("set", false, 0, domain::max_stock);
        return c;
      },
      [](const responder_ptr& out) {
        return [out](const domain::product& p) {
          out->json(200, json::object{{"sku", p.sku},
                                      {"stock", p.stock},
                                      {"reserved", p.reserved},
                                      {"available", p.available()}});
        };
      });
  add_bodiless_product_change<actors::product_deactivate>(r, grains,
                                                          "/api/v1/products/{sku}/deactivate");
  add_bodiless_product_change<actors::product_activate>(r, grains,
                                                        "/api/v1/products/{sku}/activate");
  r.add("GET", "/api/v1/products/{sku}", access::customer,
        [&grains](http_request& req, const responder_ptr& out) {
          const auto& sku = req.params[0];
          if (!product_path_sku(sku, out))
            return;
          call<actors::inventory_grain>(grains, out, sku, actors::product_get{},
                                        [out, sku](const domain::product& p) {
                                          if (p.exists)
                                            product_answer(out, 200)(p);
                                          else
                                            out->fail(domain::not_found("no product " + sku));
                                        });
        });
}

} // namespace bazaar::gateway
