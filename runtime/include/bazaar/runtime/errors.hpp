#pragma once

/// Failures crossing actor boundaries travel as caf::error in the "bazaar" category, with the
/// code of domain::errc and the message and field as context. These helpers convert.

#include "bazaar/domain/failure.hpp"

#include <caf/atom.hpp>
#include <caf/error.hpp>

#include <optional>
#include <string>
#include <utility>

namespace bazaar::runtime {

/// The error category of Bazaar failures.
inline constexpr caf::atom_value error_category = caf::atom("bazaar");

caf::error to_error(const domain::failure& f);
caf::error make_failure(domain::errc code, std::string message, std::string field = {});

/// Any caf::error as a failure: Bazaar errors keep their code, CAF's own map to the nearest
/// API code (a dead or unreachable receiver is `unavailable`, a request timeout `timeout`).
domain::failure to_failure(const caf::error& e);

/// True when a request bounced because its receiver had already terminated, so the grain
/// can be resolved again and the request re-sent without any effect having happened.
bool is_receiver_down(const caf::error& e);

/// The category of a replayed answer: a request whose Idempotency-Key was seen before gets
/// the first answer (status and body) instead of a second effect. It travels as an error
/// so that every command can answer it, whatever its reply type.
inline constexpr caf::atom_value replay_category = caf::atom("replay");

caf::error make_replay(int status, std::string body);

/// The status and body of a replayed answer, or nullopt for any other error.
std::optional<std::pair<int, std::string>> as_replay(const caf::error& e);

/// Renders a Bazaar error for CAF's logging (actor_system_config::add_error_category).
std::string render_error(std::uint8_t code, caf::atom_value category, const caf::message& context);

} // namespace bazaar::runtime
