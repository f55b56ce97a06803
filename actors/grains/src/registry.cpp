#include "bazaar/actors/registry.hpp"

namespace bazaar::actors {

using shop_grain_types = decltype(shop_grains(std::declval<const config::node_options&>()));

void register_types(caf::actor_system_config& cfg) {
  runtime::register_runtime_types(cfg);
  runtime::register_message_types(cfg, static_cast<const shop_grain_types*>(nullptr));
}

void register_grains(runtime::catalog& grains, const config::node_options& opts,
                     const runtime::grain_services& services) {
  runtime::register_durable_grains(grains, opts.grains, services, shop_grains(opts));
}

} // namespace bazaar::actors
