#pragma once

/// The node's answers to the runtime administration routes (gateway/admin_routes.hpp): grains
/// through the grain admin (every node), Kafka through this node's relay, bridge and
/// projections and through the Kafka admin (the brokers), sagas through the read side
/// (PostgreSQL), the cluster through its membership.

#include "bazaar/config/options.hpp"
#include "bazaar/gateway/admin_routes.hpp"
#include "bazaar/kafka/bridge.hpp"
#include "bazaar/kafka/kafka_admin.hpp"
#include "bazaar/kafka/outbox_relay.hpp"
#include "bazaar/kafka/projector.hpp"
#include "bazaar/runtime/cluster.hpp"
#include "bazaar/runtime/grain_admin.hpp"

#include <string>

namespace bazaar {

/// What the node's administration reads; each part lives until the node's HTTP server stopped.
struct admin_parts {
  const config::kafka_options* kafka_options = nullptr;
  /// The brokers' addresses, and whether they are the embedded Kafka of this process.
  std::string bootstrap;
  bool embedded_kafka = false;
  const runtime::grain_admin* grains = nullptr;
  /// Null when the node runs without storage (no relay, bridge, projections or DLQ), and the
  /// bridge when nothing is routed to grains.
  kafka::kafka_admin* kafka = nullptr;
  const kafka::outbox_relay* relay = nullptr;
  const kafka::bridge* bridge = nullptr;
  const kafka::projector* projector = nullptr;
  /// Stuck sagas and the outbox's backlog (PostgreSQL).
  domain::read_models* sagas = nullptr;
  /// Null when the node runs without storage (not a cluster member).
  const runtime::cluster* cluster = nullptr;
};

gateway::admin_hooks admin_hooks_for(admin_parts parts);

} // namespace bazaar
