#pragma once

/// The HTTP side of the API (docs/API.md): the status of each error code, the error body, and
/// typed reading of JSON request bodies (wrong types are 400, invalid or missing values 422).
/// Only the gateway knows HTTP statuses; everything behind it speaks in error codes.

#include "bazaar/domain/failure.hpp"
#include "bazaar/domain/json_codec.hpp"

#include <boost/json.hpp>

#include <optional>
#include <string>
#include <string_view>
#include <variant>

namespace bazaar::gateway {

/// The HTTP status of an API error code (docs/API.md "Errors").
int http_status(domain::errc code);

/// The API error body: `{"error": {"code", "message", "details": {"field"?}}}`.
std::string error_body(const domain::failure& f);

/// What the HTTP layer refuses itself, before a request reaches anything behind it: API error
/// codes that no domain or runtime failure has (docs/API.md "Errors").
enum class http_refusal { method_not_allowed, payload_too_large, unsupported_media_type };

/// 405, 413 or 415.
int http_status(http_refusal r);
/// "method_not_allowed", "payload_too_large" or "unsupported_media_type".
std::string_view to_string(http_refusal r);
/// The API error body of a refusal.
std::string error_body(http_refusal r, const std::string& message);

/// A request body as a JSON object: 400 when it is not JSON or not an object.
std::variant<boost::json::object, domain::failure> parse_object(std::string_view body);

/// Reads fields of a JSON object body, remembering the first problem. Unknown fields are
/// ignored (docs/API.md).
class body_reader {
 public:
  explicit body_reader(const boost::json::object& body) : body_(body) {}

  /// A string field; nullopt when absent (422 if required) or not a string (400).
  std::optional<std::string> string(std::string_view key, bool required);

  /// An integer field within [min, max]; a non-integer is 400, out of range 422.
  std::optional<std::int64_t> integer(std::string_view key, bool required, std::int64_t min,
                                      std::int64_t max);

  /// True when the field is present (and not null).
  bool has(std::string_view key) const;

  /// The first problem met, if any.
  const std::optional<domain::failure>& error() const { return error_; }

 private:
  void fail(domain::failure f);

  const boost::json::object& body_;
  std::optional<domain::failure> error_;
};

} // namespace bazaar::gateway
