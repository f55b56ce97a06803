#pragma once

/// Why something was refused: the error codes of the API (docs/API.md "Errors") and a failure
/// value that carries one with a human sentence and the field to blame. Shared by the domain
/// (which refuses commands), the runtime (which carries failures between actors) and the
/// gateway (which alone maps codes to HTTP statuses).

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace bazaar::core {

/// The numbers are stored (a remembered idempotency answer keeps its code): never renumber one
/// or reuse a number. 6, 8 and 9 were HTTP-only codes (method_not_allowed, payload_too_large,
/// unsupported_media_type), which the gateway now answers itself (gateway::http_refusal).
enum class errc : std::uint8_t {
  bad_request = 1,
  validation_failed = 2,
  unauthorized = 3,
  forbidden = 4,
  not_found = 5,
  conflict = 7,
  unavailable = 10,
  timeout = 11,
  internal = 12,
};

/// The snake_case code of the API, e.g. "validation_failed".
std::string_view to_string(errc code);

/// True for failures of the moment (unavailable, timeout, internal): retrying may succeed, so
/// they are never remembered as the answer to an Idempotency-Key.
bool is_transient(errc code);

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

} // namespace bazaar::core
