#pragma once

/// Registering durable grain types with a node, from one list of definitions: their message
/// types with CAF (before the actor system exists) and their activation with the catalog.

#include "bazaar/config/options.hpp"
#include "bazaar/runtime/durable_grain.hpp"
#include "bazaar/runtime/errors.hpp"

#include <set>
#include <stdexcept>
#include <string>
#include <tuple>

namespace bazaar::runtime {

namespace detail {

template <class G, class = void>
struct default_idle_timeout {
  static constexpr int value = 0;
};
template <class G>
struct default_idle_timeout<G, std::void_t<decltype(G::idle_timeout_ms)>> {
  static constexpr int value = G::idle_timeout_ms;
};

} // namespace detail

/// Registers the runtime's own types (its error category) with CAF.
inline void register_runtime_types(caf::actor_system_config& cfg) {
  cfg.add_error_category(error_category, render_error);
}

/// Registers every message and answer type of the interfaces of grain definitions Gs.
template <class... Gs>
void register_message_types(caf::actor_system_config& cfg, const std::tuple<Gs...>*) {
  (register_interface<typename Gs::interface>(cfg), ...);
}

/// Makes each definition an activatable durable grain type. Its idle timeout is
/// grains.<type>.idle_timeout_ms if set, else the definition's own `idle_timeout_ms` if it has
/// one, else grains.idle_timeout_ms. Throws std::invalid_argument naming the key when the
/// options set something for a grain type that is not among the definitions.
template <class... Gs>
void register_durable_grains(catalog& grains, const config::grains_options& opts,
                             const grain_services& services, std::tuple<Gs...> definitions) {
  std::set<std::string> known{Gs::type...};
  for (const auto& [type, settings] : opts.types)
    if (!known.count(type))
      throw std::invalid_argument("grains." + type + ": there is no grain type \"" + type + "\"");
  std::apply(
      [&](auto&... def) {
        (register_durable_grain(
             grains, std::move(def), services,
             std::chrono::milliseconds{opts.idle_timeout_of(
                 std::decay_t<decltype(def)>::type,
                 detail::default_idle_timeout<std::decay_t<decltype(def)>>::value)}),
         ...);
      },
      definitions);
}

} // namespace bazaar::runtime
