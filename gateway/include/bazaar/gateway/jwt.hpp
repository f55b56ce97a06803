#pragma once

/// HS256 JSON Web Tokens (RFC 7519 / RFC 7515, compact serialisation) for the bearer
/// authentication of the HTTP API: signing for bazaarctl and tests, verification for the gateway.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <variant>

namespace bazaar::auth {

/// What a token's holder may do: customers touch their own baskets and orders, admins everything.
enum class role { customer, admin };

/// The claims Bazaar puts in a token.
struct claims {
  /// The `sub` claim: the customer id, 1..64 characters from [A-Za-z0-9._:-].
  std::string subject;
  /// The `role` claim.
  role user_role = role::customer;
  /// The `exp` claim: seconds since the Unix epoch from which the token is rejected.
  std::int64_t expires_at = 0;
};

/// Why verify() rejected a token.
enum class verify_error {
  /// Not three unpadded base64url segments, or a header or payload that is not a JSON object.
  malformed,
  /// The header's `alg` is not exactly "HS256" (or it carries a `crit` extension).
  unsupported_algorithm,
  /// The HMAC-SHA256 signature does not match the secret.
  bad_signature,
  /// The token is past its `exp`.
  expired,
  /// `sub`, `role` or `exp` is missing or invalid.
  invalid_claims,
};

/// The name of an error, e.g. "bad_signature", for logs and problem details.
std::string_view to_string(verify_error error);

/// The claim value of a role: "customer" or "admin".
std::string_view to_string(role r);

/// The role named by a claim value ("customer" or "admin", case-sensitive), if any.
std::optional<role> parse_role(std::string_view text);

/// Whether `text` is acceptable as a `sub` claim: 1..64 characters from [A-Za-z0-9._:-].
bool is_valid_subject(std::string_view text);

/// A compact HS256 token with header {"alg":"HS256","typ":"JWT"} and the claims sub, role, exp.
/// The claims are not validated (use is_valid_subject first); returns an empty string only if
/// OpenSSL fails to compute the HMAC.
std::string sign(const claims& c, std::string_view secret);

/// Checks a compact token in this order: shape and base64url, header and algorithm, signature,
/// claims, expiry (`now_seconds >= exp` is expired). Never throws.
std::variant<claims, verify_error> verify(std::string_view token, std::string_view secret,
                                          std::int64_t now_seconds);

} // namespace bazaar::auth
