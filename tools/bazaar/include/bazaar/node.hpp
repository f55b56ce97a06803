#pragma once

/// One Bazaar node: the actor system, the grain host with the shop's grain types, and the
/// HTTP gateway. Started in that order and stopped in reverse: the gateway stops accepting
/// and answers what is in flight, grains persist and deactivate, then everything quits.

#include "bazaar/config/options.hpp"

#include <cstdint>
#include <memory>

namespace caf {
class actor_system;
}

namespace bazaar::runtime {
class host;
}

namespace bazaar {

class node {
 public:
  explicit node(config::node_options opts);
  ~node();

  node(const node&) = delete;
  node& operator=(const node&) = delete;

  /// Starts serving. Throws std::runtime_error when the HTTP port cannot be bound.
  void start();

  /// Stops as described above; idempotent. Returns within the request timeout plus ~2 s.
  void stop();

  /// The bound HTTP port (the configured one, or the ephemeral one chosen for port 0).
  std::uint16_t http_port() const;

  const config::node_options& options() const;
  runtime::host& grains();
  caf::actor_system& system();

 private:
  struct impl;
  std::unique_ptr<impl> impl_;
};

} // namespace bazaar
