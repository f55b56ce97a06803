#pragma once

/// Failures crossing actor boundaries travel as caf::error in the "bazaar" category, with the
/// code of core::errc and the message and field as context. These helpers convert.

#include "bazaar/core/failure.hpp"

#include <caf/atom.hpp>
#include <caf/error.hpp>

#include <optional>
#include <string>
#include <utility>

namespace bazaar::runtime {

/// The error category of Bazaar failures.
inline constexpr caf::atom_value error_category = caf::atom("bazaar");

caf::error to_error(const core::failure& f);
caf::error make_failure(core::errc code, std::string message, std::string field = {});

/// Any caf::error as a failure: Bazaar errors keep their code, CAF's own map to the nearest
/// API code (a dead or unreachable receiver is `unavailable`, a request timeout `timeout`).
core::failure to_failure(const caf::error& e);

/// True when a request bounced because its receiver had already terminated, so the grain
/// can be resolved again and the request re-sent without any effect having happened.
bool is_receiver_down(const caf::error& e);

/// Renders a Bazaar error for CAF's logging (actor_system_config::add_error_category).
std::string render_error(std::uint8_t code, caf::atom_value category, const caf::message& context);

} // namespace bazaar::runtime
