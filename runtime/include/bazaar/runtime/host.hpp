#pragma once

/// The grain host of one node: the catalog, the idle collector and the grain client, started
/// after the grain types are registered and stopped in reverse order.

#include "bazaar/config/options.hpp"
#include "bazaar/runtime/catalog.hpp"
#include "bazaar/runtime/grain_client.hpp"
#include "bazaar/runtime/idle_collector.hpp"

#include <caf/actor_system_config.hpp>

#include <memory>
#include <optional>

namespace bazaar::runtime {

/// Applies runtime options to CAF (worker threads, scheduler policy). Call before the
/// actor_system is constructed.
void configure(caf::actor_system_config& cfg, const config::runtime_options& opts);

/// Worker threads that `configure` chose (the core count when the option is 0).
int effective_threads(const config::runtime_options& opts);

class host {
 public:
  host(caf::actor_system& sys, const clock& clk, const config::runtime_options& opts,
       std::chrono::milliseconds request_timeout);
  ~host();

  host(const host&) = delete;
  host& operator=(const host&) = delete;

  catalog& grains() { return *catalog_; }
  const std::shared_ptr<catalog>& grains_ptr() { return catalog_; }
  grain_client& client() { return *client_; }
  idle_collector& collector() { return collector_; }

  /// Starts the idle collector; grain types must be registered before.
  void start();

  /// Refuses new activations, asks every grain to persist and deactivate, waits up to
  /// `grace` for them to leave, then stops the collector and the dispatchers. Idempotent.
  void stop(std::chrono::milliseconds grace);

 private:
  caf::actor_system& system_;
  config::runtime_options opts_;
  std::shared_ptr<catalog> catalog_;
  std::unique_ptr<grain_client> client_;
  idle_collector collector_;
  bool stopped_ = false;
};

} // namespace bazaar::runtime
