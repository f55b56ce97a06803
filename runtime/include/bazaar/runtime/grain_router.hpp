#pragma once

/// The actor a node publishes on its cluster port: it takes the calls other nodes' remote
/// stubs (grain_stub.hpp) route to the grains this node owns. (route_atom, grain_id, message)
/// is delegated to the grain's activation here, which answers the caller directly; a grain
/// this node does not own now (the views differ for a moment, or the node is leaving) is
/// answered not_owner_error(), and the stub sends again. (view_atom) from a leaving peer makes
/// the node look at the membership table at once. Admin requests (inspect, deactivate, list:
/// grain_admin.hpp) go to the node's local admin actor, the first two only while this node owns
/// the grain.

#include "bazaar/runtime/catalog.hpp"

#include <caf/event_based_actor.hpp>

#include <functional>
#include <memory>
#include <string>

namespace bazaar::runtime {

caf::behavior grain_router(caf::event_based_actor* self, std::shared_ptr<catalog> grains,
                           caf::actor admin, std::function<void()> on_view_change,
                           std::function<void(const std::string&, const caf::actor&)> on_hello);

} // namespace bazaar::runtime
