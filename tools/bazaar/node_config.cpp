#include "node_config.hpp"

#include "bazaar/actors/registry.hpp"
#include "bazaar/config/loader.hpp"

#include <map>
#include <stdexcept>
#include <tuple>
#include <unistd.h>

namespace bazaar {

namespace {

/// Every grain type the node hosts, each with whether it handles Kafka records.
std::map<std::string, bool> grain_types(const config::node_options& opts,
                                        const std::vector<grain_extension>& extensions) {
  std::map<std::string, bool> types = std::apply(
      [](const auto&... g) {
        return std::map<std::string, bool>{
            {std::decay_t<decltype(g)>::type, handles_kafka_records<std::decay_t<decltype(g)>>}...};
      },
      actors::shop_grains(opts));
  for (const auto& e : extensions)
    types.insert(e.types.begin(), e.types.end());
  return types;
}

} // namespace

std::string node_name(const config::node_options& opts, std::uint16_t bound_port) {
  if (!opts.cluster.node_id.empty())
    return opts.cluster.node_id;
  char host[256] = {0};
  gethostname(host, sizeof host - 1);
  return std::string{host} + ":" + std::to_string(bound_port != 0 ? bound_port : opts.http.port);
}

std::vector<kafka::route> checked_bridge_routes(const config::node_options& opts,
                                                const std::vector<grain_extension>& extensions) {
  auto types = grain_types(opts, extensions);
  std::vector<kafka::route> out;
  for (const auto& r : config::topic_routes(opts.kafka)) {
    auto t = types.find(r.grain_type);
    if (t == types.end() || !t->second) {
      std::string known;
      for (const auto& [name, kafka] : types)
        if (kafka)
          known += (known.empty() ? "" : ", ") + name;
      throw std::invalid_argument(
          "kafka.routes." + r.events.front() + ".grain_type: " +
          (t == types.end() ? "there is no grain type \"" + r.grain_type + "\""
                            : "grain type \"" + r.grain_type + "\" does not handle Kafka records") +
          " (types that do: " + (known.empty() ? std::string{"none"} : known) + ")");
    }
    out.push_back(kafka::route{r.topic, r.grain_type, r.key_field});
  }
  if (opts.cluster.failure_timeout_ms < 2 * opts.cluster.heartbeat_ms)
    throw std::invalid_argument(
        "cluster.failure_timeout_ms: " + std::to_string(opts.cluster.failure_timeout_ms) +
        " must be at least twice cluster.heartbeat_ms (" +
        std::to_string(opts.cluster.heartbeat_ms) +
        "), or every node would declare the others dead between two heartbeats");
  return out;
}

} // namespace bazaar
