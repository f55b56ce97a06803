#pragma once

/// The node's Kafka stage: which Kafka it talks to, and the bridge that turns its records into
/// grain calls.

#include "bazaar/config/options.hpp"
#include "bazaar/kafka/bridge.hpp"
#include "bazaar/kafka/embedded_kafka.hpp"
#include "bazaar/node_metrics.hpp"
#include "bazaar/runtime/grain_client.hpp"

#include <memory>
#include <string>
#include <vector>

namespace bazaar {

struct node_kafka {
  /// librdkafka's mock cluster in this process, when kafka.bootstrap_servers is empty (the
  /// README says what it cannot do); null otherwise.
  std::unique_ptr<kafka::embedded_kafka> embedded;
  /// The brokers' addresses: the embedded Kafka's or kafka.bootstrap_servers.
  std::string bootstrap;
};

/// The Kafka of `opts`: an embedded one starts here, with every topic created.
node_kafka make_node_kafka(const config::node_options& opts);

/// The bridge of `routes` into `grains`, or null when nothing is routed or the node has no
/// storage (grains could not handle records durably; said in a warning).
std::unique_ptr<kafka::bridge> make_bridge(const config::node_options& opts,
                                           const node_kafka& kafka, bool storage,
                                           std::vector<kafka::route> routes,
                                           runtime::grain_client& grains, node_metrics& metrics);

} // namespace bazaar
