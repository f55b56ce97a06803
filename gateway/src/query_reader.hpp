#pragma once

/// Reads a request's query parameters, remembering the first problem (422 naming the
/// parameter), for routes that take several.

#include "bazaar/core/time.hpp"
#include "bazaar/domain/failure.hpp"
#include "bazaar/gateway/http_request.hpp"

#include <charconv>
#include <cstdint>
#include <optional>
#include <string>

namespace bazaar::gateway {

/// Reads query parameters, remembering the first problem (422 naming the parameter).
class query_reader {
 public:
  explicit query_reader(const http_request& req) : req_(req) {}

  /// An integer parameter within [min, max]; nullopt when absent or bad.
  std::optional<std::int64_t> integer(const std::string& name, std::int64_t min, std::int64_t max) {
    auto i = req_.query.find(name);
    if (i == req_.query.end())
      return std::nullopt;
    const auto& text = i->second;
    std::int64_t v = 0;
    auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
    if (text.empty() || ec != std::errc{} || end != text.data() + text.size() || v < min ||
        v > max) {
      fail(name,
           name + " must be an integer from " + std::to_string(min) + " to " + std::to_string(max));
      return std::nullopt;
    }
    return v;
  }

  /// The longest text parameter accepted.
  static constexpr std::size_t max_filter_length = 200;

  /// A text parameter of at most max_filter_length characters; "" when absent.
  std::string text(const std::string& name) {
    auto v = req_.query_or(name);
    if (v.size() > max_filter_length) {
      fail(name, name + " must be at most " + std::to_string(max_filter_length) + " characters");
      return {};
    }
    return v;
  }

  /// An RFC 3339 time parameter; nullopt when absent or bad.
  std::optional<std::int64_t> time(const std::string& name) {
    auto i = req_.query.find(name);
    if (i == req_.query.end() || i->second.empty())
      return std::nullopt;
    auto at = core::parse_rfc3339(i->second);
    if (!at)
      fail(name, name + " must be an RFC 3339 time, e.g. 2026-11-21T09:04:08Z");
    return at;
  }

  void fail(const std::string& field, std::string message) {
    if (!error_)
      error_ = domain::validation_failed(field, std::move(message));
  }

  const std::optional<domain::failure>& error() const { return error_; }

 private:
  const http_request& req_;
  std::optional<domain::failure> error_;
};

} // namespace bazaar::gateway
