// Orders and their journal: /api/v1/orders, /api/v1/admin/orders, /api/v1/admin/events (docs/API.md
// "Orders").

#include "shop_routes.hpp"

#include "bazaar/actors/checkout_grain.hpp"
#include "bazaar/actors/order_grain.hpp"
#include "bazaar/domain/json_codec.hpp"
#include "bazaar/domain/order_journal.hpp"
#include "bazaar/gateway/route_kit.hpp"

#include <boost/json.hpp>

namespace bazaar::gateway {

namespace json = boost::json;
using domain::errc;

namespace {

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

} // namespace

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

} // namespace bazaar::gateway
