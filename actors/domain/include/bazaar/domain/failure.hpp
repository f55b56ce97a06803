#pragma once

/// The domain's rules about identifiers and currencies, and the failure vocabulary it refuses
/// commands with (bazaar/core), brought into the domain's namespace.

#include "bazaar/core/failure.hpp"
#include "bazaar/core/time.hpp"

#include <string_view>

namespace bazaar::domain {

using core::conflict;
using core::errc;
using core::failure;
using core::format_rfc3339;
using core::maybe_failure;
using core::not_found;
using core::timestamp_ms;
using core::validation_failed;

/// True for 1..64 characters of [A-Za-z0-9._:-], the identifier rule of the API.
bool is_identifier(std::string_view text);

/// True for three upper-case ASCII letters, e.g. "USD".
bool is_currency(std::string_view text);

} // namespace bazaar::domain
