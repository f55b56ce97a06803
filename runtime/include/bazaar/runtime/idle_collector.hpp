#pragma once

/// The idle collector: one sweep of the catalog per node, every runtime.collection_interval_ms,
/// that asks each activation untouched for its type's idle timeout to deactivate, and answers
/// each grain-to-grain call past its deadline with a timeout error. No timer per message, per
/// grain or per call. A grain asked to deactivate re-checks that nobody used it since the
/// sweep looked (activation::idle_since), so a request racing the sweep keeps it alive.

#include "bazaar/runtime/catalog.hpp"

#include <caf/actor.hpp>

#include <chrono>
#include <memory>

namespace bazaar::runtime {

class idle_collector {
 public:
  struct sweep_result {
    std::size_t deactivations = 0; ///< deactivate requests sent
    std::size_t timeouts = 0;      ///< overdue calls answered with a timeout
  };

  explicit idle_collector(std::shared_ptr<catalog> grains) : grains_(std::move(grains)) {}
  ~idle_collector() { stop(); }

  idle_collector(const idle_collector&) = delete;
  idle_collector& operator=(const idle_collector&) = delete;

  /// One sweep of `grains` at its clock's now: the periodic step.
  static sweep_result sweep(catalog& grains);

  /// One sweep now (tests call it; the periodic one runs on its own).
  sweep_result sweep() { return sweep(*grains_); }

  /// Sweeps every `interval` from an actor of its own until stop().
  void start(std::chrono::milliseconds interval);

  /// Ends the periodic sweep; idempotent.
  void stop();

 private:
  std::shared_ptr<catalog> grains_;
  caf::actor ticker_;
};

} // namespace bazaar::runtime
