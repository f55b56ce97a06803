#include "bazaar/gateway/routes.hpp"

#include "bazaar/actors/basket_grain.hpp"
#include "bazaar/actors/checkout_grain.hpp"
#include "bazaar/actors/inventory_grain.hpp"
#include "bazaar/actors/order_grain.hpp"
#include "bazaar/domain/json_codec.hpp"
#include "bazaar/domain/order_journal.hpp"
#include "bazaar/gateway/admin_routes.hpp"
#include "bazaar/gateway/http_codec.hpp"
#include "bazaar/gateway/json_writer.hpp"
#include "bazaar/gateway/metrics_route.hpp"
#include "bazaar/gateway/openapi.hpp"
#include "bazaar/gateway/order_stream.hpp"
#include "bazaar/gateway/read_routes.hpp"
#include "bazaar/runtime/errors.hpp"

namespace bazaar::gateway {

namespace json = boost::json;
using domain::errc;

namespace {

/// Calls grain `key` of type G and answers with `render(reply)` or the failure; 503 when
/// overloaded. A request answered before (same Idempotency-Key) gets its first reply again,
/// rendered the same way.
template <class G, class Msg, class Render>
void call(runtime::grain_client& grains, const responder_ptr& out, std::string key, Msg msg,
          Render render) {
  using reply_type = runtime::reply_t<typename G::interface, Msg>;
  bool admitted =
      grains.ask<G>(std::move(key), std::move(msg), [out, render](caf::expected<reply_type> reply) {
        if (reply)
          render(*reply);
        else
          out->fail(runtime::to_failure(reply.error()));
      });
  if (!admitted)
    out->fail(domain::failure{errc::unavailable, "too many requests in flight", {}});
}

/// Parses the body as a JSON object, or answers 400 and returns nullopt.
std::optional<json::object> object_body(const http_request& req, const responder_ptr& out) {
  auto parsed = parse_object(req.body);
  if (auto* bad = std::get_if<domain::failure>(&parsed)) {
    out->fail(*bad);
    return std::nullopt;
  }
  return std::get<json::object>(std::move(parsed));
}

bool valid_sku(const std::string& sku, const responder_ptr& out) {
  if (domain::is_identifier(sku))
    return true;
  out->fail(domain::validation_failed("sku", "sku must be 1..64 characters of [A-Za-z0-9._:-]"));
  return false;
}

/// Who asked, for the events a command produces.
runtime::command_meta meta_of(const http_request& req) {
  return runtime::command_meta{req.correlation_id, req.principal.subject};
}

/// The request's Idempotency-Key, scoped to the customer; a malformed key answers 400.
std::optional<runtime::idempotency> idempotency_of(const http_request& req,
                                                   const responder_ptr& out) {
  runtime::idempotency idem;
  if (req.idempotency_key.empty())
    return idem;
  if (!domain::is_identifier(req.idempotency_key)) {
    out->fail(domain::failure{
        errc::bad_request, "Idempotency-Key must be 1..64 characters of [A-Za-z0-9._:-]", {}});
    return std::nullopt;
  }
  idem.scope = req.principal.subject;
  idem.key = req.idempotency_key;
  idem.fingerprint = domain::fingerprint(req.method + ' ' + req.path + '\n' + req.body);
  return idem;
}

/// What every mutating route with a JSON body reads first: the Idempotency-Key and the body.
struct mutation {
  runtime::idempotency idem;
  json::object body;
};

/// The request's key and JSON object body, or nullopt once the request was answered 400.
std::optional<mutation> read_mutation(const http_request& req, const responder_ptr& out) {
  auto idem = idempotency_of(req, out);
  if (!idem)
    return std::nullopt;
  auto body = object_body(req, out);
  if (!body)
    return std::nullopt;
  return mutation{std::move(*idem), std::move(*body)};
}

/// The Idempotency-Key of a mutation that needs no body (a body that is given must be a JSON
/// object, and is ignored), or nullopt once the request was answered 400.
std::optional<runtime::idempotency> bodiless_mutation(const http_request& req,
                                                      const responder_ptr& out) {
  auto idem = idempotency_of(req, out);
  if (!idem || (!req.body.empty() && !object_body(req, out)))
    return std::nullopt;
  return idem;
}

/// The caller's basket: the basket grain keyed by the token's subject.
const std::string& basket_of(const http_request& req) {
  return req.principal.subject;
}

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
  r.add("PUT", "/api/v1/products/{sku}", access::admin,
        [&grains](http_request& req, const responder_ptr& out) {
          const auto& sku = req.params[0];
          auto m = read_mutation(req, out);
          if (!m)
            return;
          body_reader in{m->body};
          domain::product_update u;
          u.name = in.string("name", false);
          u.description = in.string("description", false);
          u.category = in.string("category", false);
          u.price_cents = in.integer("price_cents", false, 0, domain::max_price_cents);
          if (in.error())
            return out->fail(*in.error());
          if (auto bad = domain::product::validate(u))
            return out->fail(*bad);
          if (!product_path_sku(sku, out))
            return;
          call<actors::inventory_grain>(grains, out, sku,
                                        actors::product_change{std::move(u), meta_of(req), m->idem},
                                        product_answer(out, 200));
        });
  r.add("POST", "/api/v1/products/{sku}/stock", access::admin,
        [&grains](http_request& req, const responder_ptr& out) {
          const auto& sku = req.params[0];
          auto m = read_mutation(req, out);
          if (!m)
            return;
          body_reader in{m->body};
          domain::stock_change c;
          c.delta = in.integer("delta", false, -domain::max_stock, domain::max_stock);
          c.set = in.integer("set", false, 0, domain::max_stock);
          if (in.error())
            return out->fail(*in.error());
          if (auto bad = domain::product::validate(c))
            return out->fail(*bad);
          if (!product_path_sku(sku, out))
            return;
          call<actors::inventory_grain>(
              grains, out, sku, actors::product_stock{c, meta_of(req), m->idem},
              [out](const domain::product& p) {
                out->json(200, json::object{{"sku", p.sku},
                                            {"stock", p.stock},
                                            {"reserved", p.reserved},
                                            {"available", p.available()}});
              });
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

/// The order of a path, or 404 (no grain is asked for an id that cannot name one).
bool order_path_id(const std::string& id, const responder_ptr& out) {
  if (domain::is_identifier(id))
    return true;
  out->fail(domain::not_found("no order " + id));
  return false;
}

/// Asks for the order and goes on with `then(order)` when the caller may see it: its owner or
/// an admin. Anyone else gets 404, never learning that it exists.
template <class Then>
void with_visible_order(runtime::grain_client& grains, const http_request& req,
                        const responder_ptr& out, const std::string& id, Then then) {
  bool admin = req.principal.user_role == auth::role::admin;
  call<actors::order_grain>(grains, out, id, actors::order_get{},
                            [out, id, admin, who = req.principal.subject,
                             then = std::move(then)](const domain::order& o) {
                              if (!o.exists || (!admin && o.customer_id != who))
                                out->fail(domain::not_found("no order " + id));
                              else
                                then(o);
                            });
}

auto order_answer(const responder_ptr& out) {
  return [out](const domain::order& o) {
    out->json_with(200, [&o](std::string& body) { domain::json_form::append_api(body, o); });
  };
}

void add_order_routes(router& r, runtime::grain_client& grains) {
  r.add("GET", "/api/v1/orders/{id}", access::customer,
        [&grains](http_request& req, const responder_ptr& out) {
          const auto& id = req.params[0];
          if (!order_path_id(id, out))
            return;
          with_visible_order(grains, req, out, id, order_answer(out));
        });
  // The checkout saga cancels: it knows what to give back (stock, payment) and is the one
  // writer of the order's status until it is confirmed.
  r.add("POST", "/api/v1/orders/{id}/cancel", access::customer,
        [&grains](http_request& req, const responder_ptr& out) {
          const auto& id = req.params[0];
          auto idem = bodiless_mutation(req, out);
          if (!idem || !order_path_id(id, out))
            return;
          with_visible_order(
              grains, req, out, id,
              [&grains, out, id,
               cmd = actors::checkout_cancel{domain::cancel_reasons::customer_request, meta_of(req),
                                             *idem}](const domain::order&) {
                call<actors::checkout_grain>(grains, out, id, cmd, order_answer(out));
              });
        });
  r.add("POST", "/api/v1/admin/orders/{id}/ship", access::admin,
        [&grains](http_request& req, const responder_ptr& out) {
          const auto& id = req.params[0];
          auto m = read_mutation(req, out);
          if (!m)
            return;
          body_reader in{m->body};
          auto tracking = in.string("tracking_number", true);
          if (in.error())
            return out->fail(*in.error());
          if (tracking->empty() || tracking->size() > 128)
            return out->fail(domain::validation_failed(
                "tracking_number", "tracking_number must be 1..128 characters"));
          if (!order_path_id(id, out))
            return;
          with_visible_order(
              grains, req, out, id,
              [&grains, out, id,
               cmd = actors::order_ship{*tracking, meta_of(req), m->idem}](const domain::order&) {
                call<actors::order_grain>(grains, out, id, cmd, order_answer(out));
              });
        });
  r.add("POST", "/api/v1/admin/orders/{id}/deliver", access::admin,
        [&grains](http_request& req, const responder_ptr& out) {
          const auto& id = req.params[0];
          auto idem = bodiless_mutation(req, out);
          if (!idem || !order_path_id(id, out))
            return;
          with_visible_order(grains, req, out, id,
                             [&grains, out, id, cmd = actors::order_deliver{meta_of(req), *idem}](
                                 const domain::order&) {
                               call<actors::order_grain>(grains, out, id, std::move(cmd),
                                                         order_answer(out));
                             });
        });
}

/// The order folded from its journal beside its snapshot (the grain's committed state), and
/// whether they agree: `{"replayed", "snapshot", "agree", "events"}`.
void replay_order(const runtime::event_history& history, runtime::grain_client& grains,
                  const std::string& id, const responder_ptr& out) {
  history.read(
      actors::order_grain::type, id,
      [&grains, id, out](std::optional<std::vector<std::string>> events) {
        if (!events)
          return out->fail(domain::failure{errc::unavailable, "storage is unavailable", {}});
        std::vector<json::value> envelopes;
        for (const auto& e : *events)
          envelopes.push_back(json::parse(e));
        auto folded = domain::order_from_events(envelopes);
        call<actors::order_grain>(
            grains, out, id, actors::order_get{},
            [out, id, folded, count = envelopes.size()](const domain::order& o) {
              if (!o.exists && !folded)
                return out->fail(domain::not_found("no order " + id));
              auto snapshot = o.exists ? to_json(o) : json::value(nullptr);
              auto replayed = folded ? to_json(*folded) : json::value(nullptr);
              bool agree = snapshot == replayed;
              out->json(200, json::object{{"replayed", std::move(replayed)},
                                          {"snapshot", std::move(snapshot)},
                                          {"agree", agree},
                                          {"events", count}});
            });
      });
}

void add_event_routes(router& r, runtime::grain_client* grains,
                      const runtime::event_history* history) {
  r.add("GET", "/api/v1/admin/events/{aggregate_type}/{aggregate_id}", access::admin,
        [grains, history](http_request& req, const responder_ptr& out) {
          const auto& type = req.params[0];
          const auto& id = req.params[1];
          if (!domain::is_identifier(type) || !domain::is_identifier(id))
            return out->fail(domain::validation_failed(
                domain::is_identifier(type) ? "aggregate_id" : "aggregate_type",
                "must be 1..64 characters of [A-Za-z0-9._:-]"));
          auto replay = req.query_or("replay");
          if (!replay.empty() && replay != "true" && replay != "false")
            return out->fail(domain::validation_failed("replay", "replay must be true or false"));
          if (replay == "true") {
            if (type != actors::order_grain::type)
              return out->fail(
                  domain::validation_failed("replay", "replay is supported for orders"));
            return replay_order(*history, *grains, id, out);
          }
          history->read(type, id, [out](std::optional<std::vector<std::string>> events) {
            if (!events)
              return out->fail(domain::failure{errc::unavailable, "storage is unavailable", {}});
            // The envelopes are stored JSON already: splice them instead of re-encoding.
            std::string body = "{\"items\":[";
            for (std::size_t i = 0; i < events->size(); ++i) {
              if (i > 0)
                body += ',';
              body += (*events)[i];
            }
            body += "]}";
            out->send(200, body);
          });
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
  return r;
}

} // namespace bazaar::gateway
