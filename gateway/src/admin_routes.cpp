#include "bazaar/gateway/admin_routes.hpp"

#include "bazaar/gateway/http_codec.hpp"
#include "query_reader.hpp"

#include <boost/json.hpp>

namespace bazaar::gateway {

namespace json = boost::json;
using domain::errc;

namespace {

/// The most grains one listing shows.
constexpr std::int64_t max_grains_listed = 10000;
/// The most dead letters or sagas one answer lists.
constexpr std::int64_t max_listed = 1000;

/// Gives the admin answer to the client.
admin_done answer(const responder_ptr& out) {
  return [out](admin_result r) {
    if (auto* f = std::get_if<domain::failure>(&r))
      out->fail(*f);
    else
      out->json(200, std::get<json::value>(r));
  };
}

/// Answers 404 (and returns false) when the node has no such part.
template <class Hook>
bool have(const Hook& hook, const responder_ptr& out, const char* what) {
  if (hook)
    return true;
  out->fail(domain::not_found(std::string{"this node runs without "} + what));
  return false;
}

/// A path's grain type and key; answers 422 and returns false when they cannot name a grain.
bool grain_path(const http_request& req, const responder_ptr& out) {
  for (std::size_t i = 0; i < 2; ++i)
    if (!domain::is_identifier(req.params[i])) {
      out->fail(domain::validation_failed(i == 0 ? "type" : "key",
                                          "must be 1..64 characters of [A-Za-z0-9._:-]"));
      return false;
    }
  return true;
}

json::value saga_json(const domain::saga_view& s, std::int64_t now_ms) {
  return json::object{{"order_id", s.order_id},
                      {"customer_id", s.customer_id},
                      {"stage", s.stage},
                      {"payment", s.payment},
                      {"order_status", s.order_status},
                      {"amount_cents", s.amount_cents},
                      {"started_at", s.started_at_ms > 0
                                         ? json::value(core::format_rfc3339(s.started_at_ms))
                                         : json::value(nullptr)},
                      {"updated_at", core::format_rfc3339(s.updated_at_ms)},
                      {"stuck_ms", std::max<std::int64_t>(0, now_ms - s.updated_at_ms)},
                      {"version", s.version}};
}

void add_grain_routes(router& r, const admin_hooks& hooks) {
  r.add("GET", "/admin/grains", access::admin,
        [list = hooks.grains](http_request& req, const responder_ptr& out) {
          query_reader q{req};
          auto type = q.text("type");
          auto node = q.text("node");
          auto limit = q.integer("limit", 1, max_grains_listed).value_or(100);
          if (!type.empty() && !domain::is_identifier(type))
            q.fail("type", "type must be 1..64 characters of [A-Za-z0-9._:-]");
          if (q.error())
            return out->fail(*q.error());
          if (have(list, out, "grains"))
            list(type, node, static_cast<std::size_t>(limit), answer(out));
        });
  r.add("GET", "/admin/grains/{type}/{key}", access::admin,
        [grain = hooks.grain](http_request& req, const responder_ptr& out) {
          if (grain_path(req, out) && have(grain, out, "grains"))
            grain(req.params[0], req.params[1], answer(out));
        });
  r.add("POST", "/admin/grains/{type}/{key}/deactivate", access::admin,
        [deactivate = hooks.deactivate](http_request& req, const responder_ptr& out) {
          if (grain_path(req, out) && have(deactivate, out, "grains"))
            deactivate(req.params[0], req.params[1], answer(out));
        });
}

void add_kafka_routes(router& r, const admin_hooks& hooks) {
  r.add("GET", "/admin/kafka", access::admin,
        [kafka = hooks.kafka](http_request&, const responder_ptr& out) {
          if (have(kafka, out, "Kafka"))
            kafka(answer(out));
        });
  r.add("GET", "/admin/kafka/dlq", access::admin,
        [list = hooks.dead_letters](http_request& req, const responder_ptr& out) {
          query_reader q{req};
          auto topic = q.text("topic");
          auto limit = q.integer("limit", 1, max_listed).value_or(100);
          if (q.error())
            return out->fail(*q.error());
          if (have(list, out, "a Kafka bridge"))
            list(topic, static_cast<std::size_t>(limit), answer(out));
        });
  r.add(
      "POST", "/admin/kafka/dlq/replay", access::admin,
      [one = hooks.replay, all = hooks.replay_all](http_request& req, const responder_ptr& out) {
        auto parsed = parse_object(req.body);
        if (auto* bad = std::get_if<domain::failure>(&parsed))
          return out->fail(*bad);
        const auto& body = std::get<json::object>(parsed);
        if (!have(one, out, "a Kafka bridge"))
          return;
        const auto* topic = body.if_contains("topic");
        if (topic != nullptr && !topic->is_string())
          return out->fail(domain::validation_failed("topic", "topic must be a string"));
        std::string topic_name = topic != nullptr ? std::string{topic->get_string()} : "";
        if (const auto* a = body.if_contains("all"); a != nullptr) {
          if (!a->is_bool() || !a->get_bool())
            return out->fail(domain::validation_failed(
                "all", "all must be true (or leave it out and name one record)"));
          return all(topic_name, answer(out));
        }
        const auto* partition = body.if_contains("partition");
        const auto* offset = body.if_contains("offset");
        if (topic_name.empty())
          return out->fail(domain::validation_failed(
              "topic", "name the dead letter (topic, partition, offset) or send {\"all\": true}"));
        if (partition == nullptr || !partition->is_int64() || partition->get_int64() < 0 ||
            partition->get_int64() > 1000000)
          return out->fail(domain::validation_failed(
              "partition", "partition must be an integer from 0 to 1000000"));
        if (offset == nullptr || !offset->is_int64() || offset->get_int64() < 0)
          return out->fail(
              domain::validation_failed("offset", "offset must be a non-negative integer"));
        one(topic_name, static_cast<std::int32_t>(partition->get_int64()), offset->get_int64(),
            answer(out));
      });
}

void add_saga_route(router& r, domain::read_models* sagas) {
  r.add("GET", "/admin/sagas", access::admin, [sagas](http_request& req, const responder_ptr& out) {
    query_reader q{req};
    auto stuck_ms = q.integer("stuck_ms", 0, 365LL * 24 * 3600 * 1000).value_or(30000);
    auto limit = q.integer("limit", 1, max_listed).value_or(100);
    if (q.error())
      return out->fail(*q.error());
    if (sagas == nullptr)
      return out->fail(domain::not_found("this node runs without storage"));
    sagas->stuck_sagas(
        stuck_ms, static_cast<std::size_t>(limit),
        [out, stuck_ms](std::optional<std::vector<domain::saga_view>> found) {
          if (!found)
            return out->fail(
                domain::failure{errc::unavailable, "storage is unavailable; retry shortly", {}});
          auto now = std::chrono::duration_cast<std::chrono::milliseconds>(
                         std::chrono::system_clock::now().time_since_epoch())
                         .count();
          json::array items;
          for (const auto& s : *found)
            items.push_back(saga_json(s, now));
          out->json(200, json::object{{"stuck_ms", stuck_ms}, {"items", std::move(items)}});
        });
  });
}

} // namespace

void add_admin_routes(router& r, admin_hooks hooks) {
  r.add("GET", "/admin/cluster", access::admin,
        [cluster = hooks.cluster](http_request&, const responder_ptr& out) {
          if (!cluster)
            return out->fail(domain::not_found("this node is not in a cluster (no storage)"));
          out->json(200, cluster());
        });
  add_grain_routes(r, hooks);
  add_kafka_routes(r, hooks);
  add_saga_route(r, hooks.sagas);
}

} // namespace bazaar::gateway
