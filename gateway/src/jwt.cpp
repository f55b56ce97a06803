#include "bazaar/gateway/jwt.hpp"

#include <boost/json.hpp>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <array>
#include <climits>
#include <limits>

namespace bazaar::auth {
namespace {

/// Length of an HMAC-SHA256 tag in bytes.
constexpr std::size_t tag_size = 32;

/// The only header sign() produces.
constexpr std::string_view header_json = R"({"alg":"HS256","typ":"JWT"})";

/// The base64url alphabet of RFC 4648 section 5.
constexpr std::string_view alphabet =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

/// Encodes bytes as unpadded base64url.
std::string base64url_encode(std::string_view bytes) {
  std::string out;
  out.reserve((bytes.size() + 2) / 3 * 4);
  std::size_t i = 0;
  for (; i + 3 <= bytes.size(); i += 3) {
    const std::uint32_t n = static_cast<std::uint32_t>(static_cast<unsigned char>(bytes[i])) << 16 |
                            static_cast<std::uint32_t>(static_cast<unsigned char>(bytes[i + 1]))
                                << 8 |
                            static_cast<unsigned char>(bytes[i + 2]);
    out += alphabet[n >> 18 & 63];
    out += alphabet[n >> 12 & 63];
    out += alphabet[n >> 6 & 63];
    out += alphabet[n & 63];
  }
  const std::size_t rest = bytes.size() - i;
  if (rest == 1) {
    const std::uint32_t n = static_cast<std::uint32_t>(static_cast<unsigned char>(bytes[i])) << 16;
    out += alphabet[n >> 18 & 63];
    out += alphabet[n >> 12 & 63];
  } else if (rest == 2) {
    const std::uint32_t n = static_cast<std::uint32_t>(static_cast<unsigned char>(bytes[i])) << 16 |
                            static_cast<std::uint32_t>(static_cast<unsigned char>(bytes[i + 1]))
                                << 8;
    out += alphabet[n >> 18 & 63];
    out += alphabet[n >> 12 & 63];
    out += alphabet[n >> 6 & 63];
  }
  return out;
}

/// The 6-bit value of a base64url character, or -1.
int base64url_value(char c) {
  if (c >= 'A' && c <= 'Z')
    return c - 'A';
  if (c >= 'a' && c <= 'z')
    return c - 'a' + 26;
  if (c >= '0' && c <= '9')
    return c - '0' + 52;
  if (c == '-')
    return 62;
  if (c == '_')
    return 63;
  return -1;
}

/// Decodes strict unpadded base64url: no padding, no other characters, canonical trailing bits.
std::optional<std::string> base64url_decode(std::string_view text) {
  if (text.size() % 4 == 1)
    return std::nullopt;
  std::string out;
  out.reserve(text.size() * 3 / 4);
  std::uint32_t buffer = 0;
  int bits = 0;
  for (char c : text) {
    const int value = base64url_value(c);
    if (value < 0)
      return std::nullopt;
    buffer = (buffer << 6 | static_cast<std::uint32_t>(value)) & 0xffffff;
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out += static_cast<char>(buffer >> bits & 0xff);
    }
  }
  // Leftover bits must be zero, so that every byte string has exactly one encoding.
  if ((buffer & ((1u << bits) - 1)) != 0)
    return std::nullopt;
  return out;
}

/// HMAC-SHA256 of `data` under `secret`, or nullopt if OpenSSL fails.
std::optional<std::array<unsigned char, tag_size>> hmac_sha256(std::string_view secret,
                                                               std::string_view data) {
  static const unsigned char empty_key = 0;
  if (secret.size() > static_cast<std::size_t>(INT_MAX))
    return std::nullopt;
  std::array<unsigned char, tag_size> tag{};
  unsigned int length = 0;
  const void* key = secret.empty() ? static_cast<const void*>(&empty_key) : secret.data();
  if (HMAC(EVP_sha256(), key, static_cast<int>(secret.size()),
           reinterpret_cast<const unsigned char*>(data.data()), data.size(), tag.data(),
           &length) == nullptr ||
      length != tag_size)
    return std::nullopt;
  return tag;
}

/// Parses text that must be a JSON object.
std::optional<boost::json::object> parse_object(std::string_view text) {
  boost::json::error_code ec;
  boost::json::value value = boost::json::parse(text, ec);
  if (ec || !value.is_object())
    return std::nullopt;
  return std::move(value.as_object());
}

/// Reads and checks the claims of a payload object.
std::optional<claims> read_claims(const boost::json::object& payload) {
  claims out;
  const auto* sub = payload.if_contains("sub");
  if (sub == nullptr || !sub->is_string() || !is_valid_subject(sub->get_string()))
    return std::nullopt;
  out.subject = std::string(sub->get_string());

  const auto* role_value = payload.if_contains("role");
  if (role_value == nullptr || !role_value->is_string())
    return std::nullopt;
  const auto parsed_role = parse_role(role_value->get_string());
  if (!parsed_role)
    return std::nullopt;
  out.user_role = *parsed_role;

  const auto* exp = payload.if_contains("exp");
  if (exp == nullptr)
    return std::nullopt;
  if (exp->is_int64()) {
    out.expires_at = exp->get_int64();
  } else if (exp->is_uint64() &&
             exp->get_uint64() <=
                 static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max())) {
    out.expires_at = static_cast<std::int64_t>(exp->get_uint64());
  } else {
    return std::nullopt;
  }
  return out;
}

/// verify() without the exception barrier.
std::variant<claims, verify_error> verify_unguarded(std::string_view token, std::string_view secret,
                                                    std::int64_t now_seconds) {
  const auto first_dot = token.find('.');
  if (first_dot == std::string_view::npos)
    return verify_error::malformed;
  const auto second_dot = token.find('.', first_dot + 1);
  if (second_dot == std::string_view::npos ||
      token.find('.', second_dot + 1) != std::string_view::npos)
    return verify_error::malformed;

  const auto header_part = token.substr(0, first_dot);
  const auto payload_part = token.substr(first_dot + 1, second_dot - first_dot - 1);
  const auto signature_part = token.substr(second_dot + 1);
  const auto header_text = base64url_decode(header_part);
  const auto payload_text = base64url_decode(payload_part);
  const auto signature = base64url_decode(signature_part);
  if (!header_text || !payload_text || !signature)
    return verify_error::malformed;

  const auto header = parse_object(*header_text);
  if (!header)
    return verify_error::malformed;
  const auto* alg = header->if_contains("alg");
  if (alg == nullptr || !alg->is_string() || alg->get_string() != "HS256")
    return verify_error::unsupported_algorithm;
  // RFC 7515 4.1.11: extensions listed in "crit" must be understood; we understand none.
  if (header->contains("crit"))
    return verify_error::unsupported_algorithm;

  const auto expected = hmac_sha256(secret, token.substr(0, second_dot));
  if (!expected || signature->size() != tag_size ||
      CRYPTO_memcmp(expected->data(), signature->data(), tag_size) != 0)
    return verify_error::bad_signature;

  const auto payload = parse_object(*payload_text);
  if (!payload)
    return verify_error::malformed;
  auto result = read_claims(*payload);
  if (!result)
    return verify_error::invalid_claims;
  if (now_seconds >= result->expires_at)
    return verify_error::expired;
  return std::move(*result);
}

} // namespace

std::string_view to_string(verify_error error) {
  switch (error) {
  case verify_error::malformed:
    return "malformed";
  case verify_error::unsupported_algorithm:
    return "unsupported_algorithm";
  case verify_error::bad_signature:
    return "bad_signature";
  case verify_error::expired:
    return "expired";
  case verify_error::invalid_claims:
    return "invalid_claims";
  }
  return "unknown";
}

std::string_view to_string(role r) {
  switch (r) {
  case role::customer:
    return "customer";
  case role::admin:
    return "admin";
  }
  return "unknown";
}

std::optional<role> parse_role(std::string_view text) {
  if (text == "customer")
    return role::customer;
  if (text == "admin")
    return role::admin;
  return std::nullopt;
}

bool is_valid_subject(std::string_view text) {
  constexpr std::size_t max_length = 64;
  if (text.empty() || text.size() > max_length)
    return false;
  for (char c : text) {
    const bool ok = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
                    c == '.' || c == '_' || c == ':' || c == '-';
    if (!ok)
      return false;
  }
  return true;
}

std::string sign(const claims& c, std::string_view secret) {
  boost::json::object payload;
  payload["sub"] = c.subject;
  payload["role"] = to_string(c.user_role);
  payload["exp"] = c.expires_at;
  std::string token = base64url_encode(header_json);
  token += '.';
  token += base64url_encode(boost::json::serialize(payload));
  const auto tag = hmac_sha256(secret, token);
  if (!tag)
    return {};
  token += '.';
  token +=
      base64url_encode(std::string_view(reinterpret_cast<const char*>(tag->data()), tag->size()));
  return token;
}

std::variant<claims, verify_error> verify(std::string_view token, std::string_view secret,
                                          std::int64_t now_seconds) {
  try {
    return verify_unguarded(token, secret, now_seconds);
  } catch (...) {
    return verify_error::malformed;
  }
}

} // namespace bazaar::auth
