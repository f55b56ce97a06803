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
/// Asks a durable grain to be observed: (observe_atom, observer actor), answered with the
/// committed state (observer_list.hpp).
using observe_atom = caf::atom_constant<caf::atom("observe")>;
/// Ends an observation before the observer goes down: (unobserve_atom, observer actor).
using unobserve_atom = caf::atom_constant<caf::atom("unobserve")>;
/// A grain's committed state, sent to its observers after a commit: (observed_atom, state).
using observed_atom = caf::atom_constant<caf::atom("observed")>;

/// A call routed to the node that owns its grain: (route_atom, grain_id, message), answered
/// by the grain (grain_router.hpp, grain_stub.hpp).
using route_atom = caf::atom_constant<caf::atom("route")>;
/// A stub's call due to be sent again: (retry_atom, key).
using retry_atom = caf::atom_constant<caf::atom("retry")>;
/// Tells a node's cluster that the membership changed (a peer left): (view_atom).
using view_atom = caf::atom_constant<caf::atom("view")>;
/// A peer introducing its router to a node it connected to: (hello_atom, node id, router).
using hello_atom = caf::atom_constant<caf::atom("hello")>;
/// Operators look inside a grain: (inspect_atom) to a grain answers its committed state and
/// facts as JSON text; (inspect_atom, grain_id) to a node's grain admin (grain_admin.hpp)
/// answers the same with the activation's facts.
using inspect_atom = caf::atom_constant<caf::atom("inspect")>;
/// (probe_atom) to a grain answers its mailbox depth (std::uint64_t).
using probe_atom = caf::atom_constant<caf::atom("probe")>;
/// (list_atom, type, limit) to a node's grain admin answers the grains active there as JSON.
using list_atom = caf::atom_constant<caf::atom("list")>;
/// Touch count that makes a deactivate request unconditional (node shutdown, admin).
inline constexpr std::uint64_t force_deactivation = ~std::uint64_t{0};
/// Touch count of a grain's request to itself after it answered a read of a state that was
/// never stored (an unknown product or order): it leaves if it is still unborn and unused,
/// so that probing unknown keys does not fill memory until idle collection.
inline constexpr std::uint64_t if_never_stored = ~std::uint64_t{0} - 1;

} // namespace bazaar::runtime
