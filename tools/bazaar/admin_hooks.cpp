#include "admin_hooks.hpp"

#include "bazaar/config/loader.hpp"
#include "bazaar/core/time.hpp"
#include "bazaar/runtime/errors.hpp"

#include <memory>
#include <utility>
#include <vector>

namespace bazaar {

namespace json = boost::json;

namespace {

/// Kafka's answer to the admin as the routes want it.
template <class T, class Render>
kafka::kafka_admin::callback<T> kafka_answer(gateway::admin_done done, Render render) {
  return [done = std::move(done), render](std::optional<T> answer, const core::failure& error) {
    if (!answer)
      return done(error);
    done(render(*answer));
  };
}

json::value dead_letter_json(const kafka::dead_letter& d) {
  return json::object{{"topic", d.topic},
                      {"partition", d.partition},
                      {"offset", d.offset},
                      {"source_topic", d.source_topic},
                      {"source_partition", d.source_partition},
                      {"source_offset", d.source_offset},
                      {"key", d.key},
                      {"event_id", d.event_id},
                      {"event_type", d.event_type},
                      {"error", d.error},
                      {"attempts", d.attempts},
                      {"failed_at", d.failed_at_ms > 0
                                        ? json::value(core::format_rfc3339(d.failed_at_ms))
                                        : json::value(nullptr)},
                      {"replayed", d.replayed}};
}

json::value partition_json(const kafka::group_partition& p) {
  return json::object{{"topic", p.topic},
                      {"partition", p.partition},
                      {"committed", p.committed >= 0 ? json::value(p.committed) : nullptr},
                      {"low_watermark", p.low_watermark},
                      {"high_watermark", p.high_watermark},
                      {"lag", p.lag}};
}

/// A consumer group of this node's consumers, for its lag.
struct consumer_group {
  std::string group_id;
  std::string role; ///< "bridge" or "projection <name>"
  std::vector<std::string> topics;
};

std::vector<consumer_group> consumer_groups(const admin_parts& parts) {
  std::vector<consumer_group> groups;
  if (parts.bridge) {
    std::vector<std::string> routed;
    for (const auto& r : config::topic_routes(*parts.kafka_options))
      if (!r.grain_type.empty())
        routed.push_back(r.topic);
    groups.push_back({parts.kafka_options->group_id, "bridge", routed});
  }
  if (parts.projector)
    for (const auto& s : parts.projector->status())
      groups.push_back({s.group_id, "projection " + s.name, s.topics});
  return groups;
}

/// A partition's committed offset and lag as this node's consumer last saw them.
template <class Partition>
json::value local_partition_json(const Partition& p) {
  return json::object{{"topic", p.topic},
                      {"partition", p.partition},
                      {"committed", p.committed},
                      {"high_watermark", p.high_watermark},
                      {"lag", p.lag < 0 ? json::value(nullptr) : json::value(p.lag)}};
}

/// The projections: counters and the group lag of each partition.
json::array projections_json(const kafka::projector* projector) {
  json::array out;
  if (projector == nullptr)
    return out;
  for (const auto& s : projector->status()) {
    json::array topics, partitions;
    for (const auto& t : s.topics)
      topics.emplace_back(t);
    for (const auto& p : s.partitions)
      partitions.push_back(local_partition_json(p));
    out.push_back(json::object{{"name", s.name},
                               {"group_id", s.group_id},
                               {"topics", std::move(topics)},
                               {"running", s.running},
                               {"consumed", s.consumed},
                               {"applied", s.applied},
                               {"duplicates", s.duplicates},
                               {"ignored", s.ignored},
                               {"undecodable", s.undecodable},
                               {"rejected", s.rejected},
                               {"retries", s.retries},
                               {"waiting_for", s.waiting_for},
                               {"lag", s.lag},
                               {"partitions", std::move(partitions)}});
  }
  return out;
}

json::object bridge_json(const admin_parts& parts) {
  const auto* bridge = parts.bridge;
  json::object out{{"running", bridge != nullptr && bridge->running()},
                   {"group_id", parts.kafka_options->group_id},
                   {"assignment", bridge != nullptr && bridge->sole_consumer() ? "every_partition"
                                                                               : "consumer_group"}};
  json::array routes;
  for (const auto& r : config::topic_routes(*parts.kafka_options)) {
    json::array events;
    for (const auto& e : r.events)
      events.emplace_back(e);
    routes.push_back(json::object{
        {"topic", r.topic},
        {"events", std::move(events)},
        {"grain_type", r.grain_type},
        {"key_field", r.key_field.empty() ? json::value(nullptr) : json::value(r.key_field)}});
  }
  out["routes"] = std::move(routes);
  if (bridge == nullptr)
    return out;
  const auto& s = bridge->stats();
  out["consumed"] = s.consumed.load();
  out["handled"] = s.handled.load();
  out["retried"] = s.retried.load();
  out["dead_lettered"] = s.dead_lettered.load();
  out["committed"] = s.committed.load();
  out["in_flight"] = s.in_flight.load();
  out["pauses"] = s.pauses.load();
  json::array partitions;
  for (const auto& p : bridge->partitions())
    partitions.push_back(local_partition_json(p));
  out["partitions"] = std::move(partitions);
  return out;
}

/// This node's own view of Kafka: bootstrap, topics, relay, bridge, projections.
json::object kafka_local_json(const admin_parts& parts) {
  json::array topics;
  for (const auto& t : config::topics_with_dead_letters(*parts.kafka_options))
    topics.emplace_back(t);
  json::object relay{{"running", parts.relay != nullptr}};
  if (parts.relay) {
    relay["leading"] = parts.relay->leading();
    relay["published"] = parts.relay->published();
    relay["outbox_backlog"] = parts.relay->backlog();
  }
  return json::object{{"bootstrap_servers", parts.bootstrap},
                      {"embedded", parts.embedded_kafka},
                      {"partitions", parts.kafka_options->partitions},
                      {"topics", std::move(topics)},
                      {"relay", std::move(relay)},
                      {"bridge", bridge_json(parts)},
                      {"projections", projections_json(parts.projector)}};
}

/// GET /admin/cluster: the membership table as this node last read it, and its view.
json::value cluster_json(const runtime::cluster& c) {
  auto view = c.view();
  json::array nodes;
  for (const auto& m : c.members())
    nodes.push_back(
        json::object{{"id", m.member.id},
                     {"address", m.member.host + ":" + std::to_string(m.member.cluster_port)},
                     {"http_port", m.member.http_port},
                     {"status", m.status},
                     {"incarnation", m.member.incarnation},
                     {"started_at", core::format_rfc3339(m.started_at_ms)},
                     {"last_heartbeat", core::format_rfc3339(m.heartbeat_at_ms)},
                     {"heartbeat_age_ms", m.heartbeat_age_ms},
                     {"activations", m.activations},
                     {"in_view", view->find(m.member.id) != nullptr},
                     {"linked", m.connected}});
  return json::object{{"node_id", c.node_id()},
                      {"joined", c.joined()},
                      {"view_epoch", view->epoch()},
                      {"alive", view->members().size()},
                      {"nodes", std::move(nodes)}};
}

/// GET /admin/kafka, put together: this node's view, then each consumer group's lag as the
/// brokers hold it, then the dead-letter topics, one Kafka call after the other.
struct kafka_overview : std::enable_shared_from_this<kafka_overview> {
  kafka::kafka_admin* kafka = nullptr;
  domain::read_models* outbox = nullptr;
  std::vector<consumer_group> groups;
  json::object body;
  json::array group_rows;
  std::size_t next = 0;
  std::optional<core::failure> failed;
  gateway::admin_done done;

  /// First the outbox (PostgreSQL), then Kafka.
  void start() {
    if (outbox == nullptr)
      return step();
    auto self = shared_from_this();
    outbox->outbox([self](std::optional<domain::outbox_status> s) {
      if (s)
        self->body["outbox"] = json::object{{"backlog", s->backlog}, {"oldest_ms", s->oldest_ms}};
      else
        self->body["outbox"] = json::object{{"error", "storage is unavailable"}};
      self->step();
    });
  }

  void step() {
    auto self = shared_from_this();
    // Once Kafka failed to answer, the other groups are not asked: each would wait as long.
    while (next < groups.size() && failed) {
      add_group(std::nullopt, *failed);
      ++next;
    }
    if (next < groups.size()) {
      const auto& g = groups[next];
      kafka->group_lag(g.group_id, g.topics,
                       [self](std::optional<std::vector<kafka::group_partition>> parts,
                              const core::failure& error) {
                         self->add_group(std::move(parts), error);
                         ++self->next;
                         self->step();
                       });
      return;
    }
    if (failed) {
      body["groups"] = std::move(group_rows);
      body["dead_letters"] = json::object{{"error", failed->message}};
      return done(json::value(std::move(body)));
    }
    kafka->dead_letter_topics([self](std::optional<std::vector<kafka::dead_letter_topic>> topics,
                                     const core::failure& error) {
      self->body["groups"] = std::move(self->group_rows);
      if (!topics) {
        self->body["dead_letters"] = json::object{{"error", error.message}};
      } else {
        json::array rows;
        std::int64_t total = 0;
        for (const auto& t : *topics) {
          total += t.records;
          rows.push_back(json::object{
              {"topic", t.topic}, {"records", t.records}, {"not_replayed", t.not_replayed}});
        }
        self->body["dead_letters"] = json::object{{"records", total}, {"topics", rows}};
      }
      self->done(json::value(std::move(self->body)));
    });
  }

  void add_group(std::optional<std::vector<kafka::group_partition>> parts,
                 const core::failure& error) {
    const auto& g = groups[next];
    json::object row{{"group_id", g.group_id}, {"role", g.role}};
    if (!parts) {
      row["error"] = error.message;
      if (error.code == core::errc::unavailable)
        failed = error;
    } else {
      json::array rows;
      std::int64_t lag = 0;
      for (const auto& p : *parts) {
        lag += p.lag;
        rows.push_back(partition_json(p));
      }
      row["lag"] = lag;
      row["partitions"] = std::move(rows);
    }
    group_rows.push_back(std::move(row));
  }
};

} // namespace

gateway::admin_hooks admin_hooks_for(admin_parts parts) {
  gateway::admin_hooks h;
  if (const auto* cluster = parts.cluster)
    h.cluster = [cluster] { return cluster_json(*cluster); };
  h.sagas = parts.sagas;
  auto* grains = parts.grains;
  auto to_admin = [](gateway::admin_done done) {
    return [done = std::move(done)](caf::expected<json::value> r) {
      if (!r)
        return done(runtime::to_failure(r.error()));
      done(std::move(*r));
    };
  };
  h.grains = [grains, to_admin](const std::string& type, const std::string& node, std::size_t limit,
                                gateway::admin_done done) {
    grains->list(type, node, limit, to_admin(std::move(done)));
  };
  h.grain = [grains, to_admin](const std::string& type, const std::string& key,
                               gateway::admin_done done) {
    grains->inspect(runtime::grain_id{type, key}, to_admin(std::move(done)));
  };
  h.deactivate = [grains, to_admin](const std::string& type, const std::string& key,
                                    gateway::admin_done done) {
    grains->deactivate(runtime::grain_id{type, key}, to_admin(std::move(done)));
  };
  auto* kafka = parts.kafka;
  if (kafka == nullptr)
    return h;
  h.kafka = [kafka, parts](gateway::admin_done done) {
    auto overview = std::make_shared<kafka_overview>();
    overview->kafka = kafka;
    overview->outbox = parts.sagas;
    overview->groups = consumer_groups(parts);
    overview->body = kafka_local_json(parts);
    overview->done = std::move(done);
    overview->start();
  };
  h.dead_letters = [kafka](const std::string& topic, std::size_t limit, gateway::admin_done done) {
    kafka->dead_letters(topic, limit,
                        kafka_answer<std::vector<kafka::dead_letter>>(
                            std::move(done), [](const std::vector<kafka::dead_letter>& found) {
                              json::array items;
                              for (const auto& d : found)
                                items.push_back(dead_letter_json(d));
                              return json::value{{"items", std::move(items)}};
                            }));
  };
  h.replay = [kafka](const std::string& topic, std::int32_t partition, std::int64_t offset,
                     gateway::admin_done done) {
    kafka->replay(
        topic, partition, offset,
        kafka_answer<kafka::dead_letter>(std::move(done), [](const kafka::dead_letter& d) {
          return json::value{{"replayed", 1}, {"record", dead_letter_json(d)}};
        }));
  };
  h.replay_all = [kafka](const std::string& topic, gateway::admin_done done) {
    kafka->replay_all(topic, kafka_answer<std::int64_t>(std::move(done), [](std::int64_t n) {
                        return json::value{{"replayed", n}};
                      }));
  };
  return h;
}

} // namespace bazaar
