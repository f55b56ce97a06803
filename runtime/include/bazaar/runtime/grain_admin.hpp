#pragma once

/// Operators' access to grains (/admin/grains, bazaarctl): list the grains active on every
/// node, show one grain's state, deactivate one. Each node runs a local admin actor that does
/// this for the grains it hosts; grain_admin asks the node that owns a grain (or every live
/// node, for a listing) through the cluster's routers (grain_router.hpp), so that any node
/// gives the cluster-wide answer.
///
/// What the local admin actor answers (JSON text, so that it crosses nodes as a string):
/// - (inspect_atom, grain_id): `{"state", "version", "mailbox", "observers",
///   "writes_in_flight", "activated_at_ms", "idle_ms"}`; the grain is activated if it is not
///   active (like any call: a grain always exists), so its state is what its snapshot holds;
/// - (deactivate_atom, grain_id): `true` once the grain persisted and stopped, `false` when it
///   was not active;
/// - (list_atom, type, limit): `[{"type", "key", "idle_ms", "activated_at_ms", "version",
///   "observers", "mailbox"}]`, where `mailbox` is null for a grain that did not answer a probe
///   within a second (it is busy: waiting for a call or a load).

#include "bazaar/runtime/catalog.hpp"

#include <boost/json/value.hpp>
#include <caf/actor.hpp>
#include <caf/actor_system.hpp>
#include <caf/event_based_actor.hpp>
#include <caf/expected.hpp>

#include <chrono>
#include <cstddef>
#include <functional>
#include <memory>
#include <string>

namespace bazaar::runtime {

/// The local admin actor of a node (see above).
caf::behavior local_grain_admin(caf::event_based_actor* self, std::shared_ptr<catalog> grains);

class grain_admin {
 public:
  /// `node_id` names this node in answers (known once the node serves).
  grain_admin(caf::actor_system& sys, std::shared_ptr<catalog> grains,
              std::function<std::string()> node_id);
  ~grain_admin();

  grain_admin(const grain_admin&) = delete;
  grain_admin& operator=(const grain_admin&) = delete;

  /// This node's local admin actor: the router delegates other nodes' admin requests to it.
  const caf::actor& local() const { return local_; }

  using json_done = std::function<void(caf::expected<boost::json::value>)>;

  /// One grain, asked of the node that owns it: `{"type", "key", "node", "state", "version",
  /// "mailbox", "observers", "writes_in_flight", "activated_at_ms", "idle_ms"}`. Errors:
  /// not_found (unknown type), unavailable (owner unreachable or moving; retry).
  void inspect(const grain_id& id, json_done done) const;

  /// Persists and stops the grain on the node that owns it: `{"type", "key", "node",
  /// "deactivated"}` where deactivated is false when it was not active.
  void deactivate(const grain_id& id, json_done done) const;

  /// Grains active on every live node (or only on `node`, when not empty), at most `limit` in
  /// all: `{"nodes": [{"node", "ok", "active"|"error"}], "items": [... with "node"]}`. A node
  /// that does not answer is listed with its error; the others' grains are still shown.
  void list(const std::string& type, const std::string& node, std::size_t limit,
            json_done done) const;

 private:
  caf::actor_system& system_;
  std::shared_ptr<catalog> grains_;
  std::function<std::string()> node_id_;
  caf::actor local_;
};

} // namespace bazaar::runtime
