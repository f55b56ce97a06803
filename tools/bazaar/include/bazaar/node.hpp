#pragma once

/// One Bazaar node: the actor system, the grain host with the shop's grain types, the Kafka
/// bridge into them (when kafka.routes routes anything) and the HTTP gateway. Started in that
/// order and stopped in reverse: the gateway stops accepting and answers what is in flight,
/// the bridge commits what grains handled and leaves its group, grains persist and
/// deactivate, then everything quits.

#include "bazaar/config/options.hpp"
#include "bazaar/grain_extension.hpp"

#include <cstdint>
#include <memory>
#include <vector>

namespace caf {
class actor_system;
}

namespace bazaar::runtime {
class host;
}

namespace bazaar {

class node {
 public:
  /// A node on PostgreSQL (postgres.url; with an empty url it serves but is never ready),
  /// hosting the shop's grain types and those of `extensions`. Throws std::invalid_argument
  /// naming the key when the options name a grain type that does not exist, or route Kafka
  /// records to a grain type that does not handle them.
  explicit node(config::node_options opts, std::vector<grain_extension> extensions = {});
  ~node();

  node(const node&) = delete;
  node& operator=(const node&) = delete;

  /// Starts serving; waits up to postgres.connect_timeout_ms for the migrations (a node whose
  /// database is unreachable serves anyway, answers 503 and is not ready). Throws
  /// std::runtime_error when the HTTP port cannot be bound.
  void start();

  /// True when storage and runtime are usable; otherwise `why` says what is wrong.
  bool ready(std::string& why) const;

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
