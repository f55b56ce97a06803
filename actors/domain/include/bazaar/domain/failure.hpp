#pragma once

/// Why a command was refused. The codes are API.md's error codes; the gateway maps them to
/// HTTP statuses, the runtime carries them as caf::error between actors.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace bazaar::domain {

enum class errc : std::uint8_t {
  bad_request = 1,
  validation_failed,
  unauthorized,
  forbidden,
  not_found,
  method_not_allowed,
  conflict,
  payload_too_large,
  unsupported_media_type,
  unavailable,
  timeout,
  internal,
};

/// The snake_case code of API.md, e.g. "validation_failed".
std::string_view to_string(errc code);

/// The HTTP status of an API error code (API.md "Errors").
int http_status(errc code);

/// A refused command: code, a human sentence, and the offending field if one is to blame.
struct failure {
  errc code = errc::internal;
  std::string message;
  std::string field;
};

inline failure validation_failed(std::string field, std::string message) {
  return failure{errc::validation_failed, std::move(message), std::move(field)};
}

inline failure not_found(std::string message) {
  return failure{errc::not_found, std::move(message), {}};
}

inline failure conflict(std::string message) {
  return failure{errc::conflict, std::move(message), {}};
}

/// The outcome of a command that changes state: nothing on success.
using maybe_failure = std::optional<failure>;

/// True for 1..64 characters of [A-Za-z0-9._:-], the identifier rule of API.md.
bool is_identifier(std::string_view text);

/// True for three upper-case ASCII letters, e.g. "USD".
bool is_currency(std::string_view text);

/// Milliseconds since the Unix epoch; the domain takes time as an argument, never reads a clock.
using timestamp_ms = std::int64_t;

/// RFC 3339 in UTC with milliseconds, e.g. "2026-11-21T09:04:08.123Z".
std::string format_rfc3339(timestamp_ms at);

} // namespace bazaar::domain
