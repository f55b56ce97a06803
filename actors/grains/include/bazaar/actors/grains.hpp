#pragma once

/// The grain shells: thin CAF actors that load their state, apply domain commands one at a
/// time and save on deactivation.

#include "bazaar/actors/registry.hpp"

#include <caf/actor.hpp>
#include <caf/actor_system.hpp>

namespace bazaar::actors {

caf::actor spawn_basket(caf::actor_system& sys, const runtime::grain_context& ctx,
                        const grain_services& services);
caf::actor spawn_product(caf::actor_system& sys, const runtime::grain_context& ctx,
                         const grain_services& services);
caf::actor spawn_order(caf::actor_system& sys, const runtime::grain_context& ctx,
                       const grain_services& services);

} // namespace bazaar::actors
