#pragma once

/// Wall-clock time stamps as they travel in state, events and answers.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace bazaar::core {

/// Milliseconds since the Unix epoch. Domain rules take time as an argument, never read a clock.
using timestamp_ms = std::int64_t;

/// RFC 3339 in UTC with milliseconds, e.g. "2026-11-21T09:04:08.123Z".
std::string format_rfc3339(timestamp_ms at);

/// Appends format_rfc3339(at) to `out`.
void append_rfc3339(std::string& out, timestamp_ms at);

/// Parses an RFC 3339 date-time (years 0000..9999, `T` or `t`, seconds 00..59, any fraction
/// of which milliseconds are kept, `Z` or a numeric offset), e.g. "2026-11-21T09:04:08.123Z"
/// or "2026-11-21T10:04:08+01:00"; nullopt for anything else.
std::optional<timestamp_ms> parse_rfc3339(std::string_view text);

} // namespace bazaar::core
