#pragma once

/// The runtime's own message atoms (CAF 0.17: at most 10 characters each).

#include <caf/atom.hpp>

namespace bazaar::runtime {

/// Asks a grain to persist and deactivate itself: (deactivate_atom, observed touch count).
using deactivate_atom = caf::atom_constant<caf::atom("deactivate")>;
/// A periodic sweep of the collector or of a dispatcher's timeouts.
using tick_atom = caf::atom_constant<caf::atom("tick")>;
/// Hands a pending call to a dispatcher.
using dispatch_atom = caf::atom_constant<caf::atom("dispatch")>;
/// Makes a runtime actor fail what it still holds and quit.
using stop_atom = caf::atom_constant<caf::atom("stop")>;

/// Touch count that makes a deactivate request unconditional (node shutdown, admin).
inline constexpr std::uint64_t force_deactivation = ~std::uint64_t{0};

} // namespace bazaar::runtime
