#include "admin_hooks.hpp"

#include "bazaar/runtime/errors.hpp"

#include <memory>
#include <utility>

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

/// GET /admin/kafka, put together: this node's view, then each consumer group's lag as the
/// brokers hold it, then the dead-letter topics, one Kafka call after the other.
struct kafka_overview : std::enable_shared_from_this<kafka_overview> {
  kafka::kafka_admin* kafka = nullptr;
  domain::read_models* outbox = nullptr;
  std::vector<admin_parts::consumer_group> groups;
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
  h.cluster = std::move(parts.cluster);
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
  h.kafka = [kafka, outbox = parts.sagas, local = std::move(parts.kafka_local),
             groups = std::move(parts.groups)](gateway::admin_done done) {
    auto overview = std::make_shared<kafka_overview>();
    overview->kafka = kafka;
    overview->outbox = outbox;
    overview->groups = groups();
    overview->body = local().as_object();
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
