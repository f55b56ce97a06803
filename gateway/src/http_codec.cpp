#include "bazaar/gateway/http_codec.hpp"

#include <utility>

namespace bazaar::gateway {

namespace json = boost::json;
using domain::errc;

int http_status(errc code) {
  switch (code) {
  case errc::bad_request:
    return 400;
  case errc::validation_failed:
    return 422;
  case errc::unauthorized:
    return 401;
  case errc::forbidden:
    return 403;
  case errc::not_found:
    return 404;
  case errc::conflict:
    return 409;
  case errc::unavailable:
    return 503;
  case errc::timeout:
    return 504;
  case errc::internal:
    break;
  }
  return 500;
}

namespace {

std::string error_body(std::string_view code, const std::string& message,
                       const std::string& field) {
  json::object details;
  if (!field.empty())
    details["field"] = field;
  json::object error{{"code", code}, {"message", message}, {"details", std::move(details)}};
  return json::serialize(json::object{{"error", std::move(error)}});
}

} // namespace

std::string error_body(const domain::failure& f) {
  return error_body(to_string(f.code), f.message, f.field);
}

namespace {

/// A refusal's status and code, in one place.
std::pair<int, std::string_view> refusal_row(http_refusal r) {
  switch (r) {
  case http_refusal::method_not_allowed:
    return {405, "method_not_allowed"};
  case http_refusal::payload_too_large:
    return {413, "payload_too_large"};
  case http_refusal::unsupported_media_type:
    break;
  }
  return {415, "unsupported_media_type"};
}

} // namespace

int http_status(http_refusal r) {
  return refusal_row(r).first;
}

std::string_view to_string(http_refusal r) {
  return refusal_row(r).second;
}

std::string error_body(http_refusal r, const std::string& message) {
  return error_body(to_string(r), message, {});
}

std::variant<json::object, domain::failure> parse_object(std::string_view body) {
  json::error_code ec;
  auto value = json::parse(body, ec);
  if (ec)
    return domain::failure{errc::bad_request, "the body is not valid JSON: " + ec.message(), {}};
  if (!value.is_object())
    return domain::failure{errc::bad_request, "the body must be a JSON object", {}};
  return std::move(value.get_object());
}

void body_reader::fail(domain::failure f) {
  if (!error_)
    error_ = std::move(f);
}

bool body_reader::has(std::string_view key) const {
  auto i = body_.find(key);
  return i != body_.end() && !i->value().is_null();
}

std::optional<std::string> body_reader::string(std::string_view key, bool required) {
  auto i = body_.find(key);
  if (i == body_.end() || i->value().is_null()) {
    if (required)
      fail(domain::validation_failed(std::string(key), std::string(key) + " is required"));
    return std::nullopt;
  }
  if (!i->value().is_string()) {
    fail(domain::failure{errc::bad_request, std::string(key) + " must be a string",
                         std::string(key)});
    return std::nullopt;
  }
  return std::string(i->value().get_string());
}

std::optional<std::int64_t> body_reader::integer(std::string_view key, bool required,
                                                 std::int64_t min, std::int64_t max) {
  auto i = body_.find(key);
  if (i == body_.end() || i->value().is_null()) {
    if (required)
      fail(domain::validation_failed(std::string(key), std::string(key) + " is required"));
    return std::nullopt;
  }
  const auto& v = i->value();
  auto out_of_range = [&] {
    fail(domain::validation_failed(std::string(key), std::string(key) + " must be between " +
                                                         std::to_string(min) + " and " +
                                                         std::to_string(max)));
    return std::nullopt;
  };
  std::int64_t n = 0;
  if (v.is_int64()) {
    n = v.get_int64();
  } else if (v.is_uint64()) {
    return out_of_range();
  } else if (v.is_double() &&
             v.get_double() == static_cast<double>(static_cast<std::int64_t>(v.get_double())) &&
             std::abs(v.get_double()) < 9e15) {
    // 3.0 is an integer written as a float; 3.5 is not.
    n = static_cast<std::int64_t>(v.get_double());
  } else {
    fail(domain::failure{errc::bad_request, std::string(key) + " must be an integer",
                         std::string(key)});
    return std::nullopt;
  }
  if (n < min || n > max)
    return out_of_range();
  return n;
}

} // namespace bazaar::gateway
