#include "bazaar/runtime/grain_router.hpp"

#include "bazaar/runtime/atoms.hpp"
#include "bazaar/runtime/placement.hpp"

namespace bazaar::runtime {

namespace {

/// Whether this node serves `id` now: no placement, or the placement puts it here.
bool owned_here(const catalog& grains, const grain_id& id) {
  const auto* placement = grains.placement();
  return placement == nullptr || placement->owner_elsewhere(id).empty();
}

} // namespace

caf::behavior grain_router(caf::event_based_actor* self, std::shared_ptr<catalog> grains,
                           caf::actor admin, std::function<void()> on_view_change,
                           std::function<void(const std::string&, const caf::actor&)> on_hello) {
  return {
      [self, grains](route_atom, const grain_id& id,
                     caf::message& msg) -> caf::result<caf::message> {
        const auto* placement = grains->placement();
        if (placement != nullptr && !placement->owner_elsewhere(id).empty())
          return not_owner_error();
        auto target = grains->resolve_here(id);
        if (!target)
          return std::move(target.error());
        return self->delegate(*target, std::move(msg));
      },
      [self, grains, admin](inspect_atom a, const grain_id& id) -> caf::result<caf::message> {
        if (!owned_here(*grains, id))
          return not_owner_error();
        return self->delegate(admin, a, id);
      },
      [self, grains, admin](deactivate_atom a, const grain_id& id) -> caf::result<caf::message> {
        if (!owned_here(*grains, id))
          return not_owner_error();
        return self->delegate(admin, a, id);
      },
      [self, admin](list_atom a, const std::string& type, std::uint64_t limit) {
        return self->delegate(admin, a, type, limit);
      },
      [on_view_change](view_atom) { on_view_change(); },
      [on_hello](hello_atom, const std::string& node, const caf::actor& router) {
        on_hello(node, router);
      },
  };
}

} // namespace bazaar::runtime
