#pragma once

/// The node's answers to the runtime administration routes (gateway/admin_routes.hpp): grains
/// through the grain admin (every node), Kafka through the Kafka admin (the brokers), sagas
/// through the read side (PostgreSQL).

#include "bazaar/core/time.hpp"
#include "bazaar/gateway/admin_routes.hpp"
#include "bazaar/kafka/kafka_admin.hpp"
#include "bazaar/runtime/grain_admin.hpp"

#include <boost/json/value.hpp>

#include <functional>
#include <string>
#include <vector>

namespace bazaar {

struct admin_parts {
  /// A consumer group of the node's consumers, for its lag.
  struct consumer_group {
    std::string group_id;
    std::string role; ///< "bridge" or "projection <name>"
    std::vector<std::string> topics;
  };
  const runtime::grain_admin* grains = nullptr;
  /// Null when the node runs without storage (no bridge, no projections, no DLQ).
  kafka::kafka_admin* kafka = nullptr;
  /// This node's own view of Kafka: bootstrap, topics, relay, its assigned partitions.
  std::function<boost::json::value()> kafka_local;
  std::function<std::vector<consumer_group>()> groups;
  /// Stuck sagas and the outbox's backlog (PostgreSQL).
  domain::read_models* sagas = nullptr;
  std::function<boost::json::value()> cluster;
};

gateway::admin_hooks admin_hooks_for(admin_parts parts);

} // namespace bazaar
