#pragma once

/// The runtime administration routes (docs/API.md "Runtime administration"), what bazaarctl
/// calls. Every answer is cluster-wide: the node asks the others (grains) or reads what all
/// share (the membership table, Kafka, PostgreSQL). The node supplies the answers through
/// admin_hooks; these routes validate the request and answer. A hook that is null answers 404
/// (e.g. a node without storage has no cluster, no Kafka bridge, no sagas).

#include "bazaar/domain/failure.hpp"
#include "bazaar/domain/read_side.hpp"
#include "bazaar/gateway/router.hpp"

#include <boost/json/value.hpp>

#include <cstddef>
#include <cstdint>
#include <functional>
#include <string>
#include <variant>

namespace bazaar::gateway {

/// An admin answer: its JSON body (200), or the failure.
using admin_result = std::variant<domain::failure, boost::json::value>;
using admin_done = std::function<void(admin_result)>;

struct admin_hooks {
  /// GET /admin/cluster: the membership table as this node last read it, and its view.
  std::function<boost::json::value()> cluster;
  /// GET /admin/grains?type=&node=&limit=: active grains on every node (or one).
  std::function<void(const std::string& type, const std::string& node, std::size_t limit,
                     admin_done)>
      grains;
  /// GET /admin/grains/{type}/{key}: one grain's state and facts, from the node that owns it.
  std::function<void(const std::string& type, const std::string& key, admin_done)> grain;
  /// POST /admin/grains/{type}/{key}/deactivate: persists and stops it.
  std::function<void(const std::string& type, const std::string& key, admin_done)> deactivate;
  /// GET /admin/kafka: topics, partitions, the groups' lag, the outbox backlog, DLQ counts.
  std::function<void(admin_done)> kafka;
  /// GET /admin/kafka/dlq?topic=&limit=: dead letters with their error.
  std::function<void(const std::string& topic, std::size_t limit, admin_done)> dead_letters;
  /// POST /admin/kafka/dlq/replay {"topic","partition","offset"}: one dead letter back.
  std::function<void(const std::string& topic, std::int32_t partition, std::int64_t offset,
                     admin_done)>
      replay;
  /// POST /admin/kafka/dlq/replay {"all": true[, "topic"]}: every one not replayed yet.
  std::function<void(const std::string& topic, admin_done)> replay_all;
  /// GET /admin/sagas?stuck_ms=&limit=: reads the grains' snapshots.
  domain::read_models* sagas = nullptr;
};

void add_admin_routes(router& r, admin_hooks hooks);

} // namespace bazaar::gateway
