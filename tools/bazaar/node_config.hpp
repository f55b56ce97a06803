#pragma once

/// The node's first stage: its options checked before anything starts, so that a bad key is a
/// configuration error naming the key rather than a node that half starts.

#include "bazaar/config/options.hpp"
#include "bazaar/grain_extension.hpp"
#include "bazaar/kafka/bridge.hpp"

#include <cstdint>
#include <string>
#include <vector>

namespace bazaar {

/// cluster.node_id, else "<host name>:<HTTP port>" (the bound one when the configured port is
/// 0, so that nodes on one machine differ).
std::string node_name(const config::node_options& opts, std::uint16_t bound_port = 0);

/// Checks what only the node can check (the loader checked each key alone) and returns the
/// Kafka bridge's routes. Throws std::invalid_argument naming the key when kafka.routes names
/// a grain type that does not exist or does not handle Kafka records, or when the cluster's
/// timeouts contradict each other.
std::vector<kafka::route> checked_bridge_routes(const config::node_options& opts,
                                                const std::vector<grain_extension>& extensions);

} // namespace bazaar
