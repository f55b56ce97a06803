#include "node_kafka.hpp"

#include "bazaar/config/loader.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>

namespace bazaar {

namespace {

/// What the bridge consumes with. librdkafka's mock broker (the embedded Kafka) holds a fetch
/// that finds nothing for its whole wait, even when a record arrives meanwhile (a real broker
/// answers at once). Where the bridge is on the checkout's waiting path (saga.transport =
/// kafka) on the embedded Kafka, it waits at most 2 ms: about 4 ms less per hop at half load,
/// for about 6 % of a core more while idle (docs/BENCHMARKS.md, issue 20).
config::kafka_options bridge_kafka_options(const config::node_options& opts, bool embedded) {
  auto k = opts.kafka;
  if (embedded && opts.saga.transport == "kafka")
    k.fetch_wait_max_ms = std::min(k.fetch_wait_max_ms, 2);
  return k;
}

} // namespace

node_kafka make_node_kafka(const config::node_options& opts) {
  node_kafka k;
  k.bootstrap = opts.kafka.bootstrap_servers;
  if (!k.bootstrap.empty())
    return k;
  k.embedded = std::make_unique<kafka::embedded_kafka>(opts.kafka.mock_brokers);
  k.bootstrap = k.embedded->bootstrap();
  k.embedded->create_topics(config::topics_with_dead_letters(opts.kafka), opts.kafka.partitions);
  spdlog::info("embedded Kafka (mock, {} brokers, {} partitions per topic) at {}",
               opts.kafka.mock_brokers, opts.kafka.partitions, k.bootstrap);
  return k;
}

std::unique_ptr<kafka::bridge> make_bridge(const config::node_options& opts,
                                           const node_kafka& kafka, bool storage,
                                           std::vector<kafka::route> routes,
                                           runtime::grain_client& grains, node_metrics& metrics) {
  if (routes.empty())
    return nullptr;
  if (!storage) {
    spdlog::warn("kafka.routes are configured but postgres.url is not: the Kafka bridge "
                 "does not run (grains could not handle records durably)");
    return nullptr;
  }
  auto bridge = std::make_unique<kafka::bridge>(
      grains, kafka.bootstrap, bridge_kafka_options(opts, kafka.embedded != nullptr),
      std::move(routes));
  bridge->on_handled(metrics.bridge_timings());
  // The embedded Kafka is this node's alone: no consumer group to wait for.
  if (kafka.embedded)
    bridge->take_every_partition(opts.kafka.partitions);
  return bridge;
}

} // namespace bazaar
