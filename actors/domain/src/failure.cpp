#include "bazaar/domain/failure.hpp"

#include <ctime>

namespace bazaar::domain {

std::string_view to_string(errc code) {
  switch (code) {
  case errc::bad_request:
    return "bad_request";
  case errc::validation_failed:
    return "validation_failed";
  case errc::unauthorized:
    return "unauthorized";
  case errc::forbidden:
    return "forbidden";
  case errc::not_found:
    return "not_found";
  case errc::method_not_allowed:
    return "method_not_allowed";
  case errc::conflict:
    return "conflict";
  case errc::payload_too_large:
    return "payload_too_large";
  case errc::unsupported_media_type:
    return "unsupported_media_type";
  case errc::unavailable:
    return "unavailable";
  case errc::timeout:
    return "timeout";
  case errc::internal:
    break;
  }
  return "internal";
}

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
  case errc::method_not_allowed:
    return 405;
  case errc::conflict:
    return 409;
  case errc::payload_too_large:
    return 413;
  case errc::unsupported_media_type:
    return 415;
  case errc::unavailable:
    return 503;
  case errc::timeout:
    return 504;
  case errc::internal:
    break;
  }
  return 500;
}

bool is_identifier(std::string_view text) {
  if (text.empty() || text.size() > 64)
    return false;
  for (char c : text) {
    bool ok = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
              c == '.' || c == '_' || c == ':' || c == '-';
    if (!ok)
      return false;
  }
  return true;
}

bool is_currency(std::string_view text) {
  if (text.size() != 3)
    return false;
  for (char c : text)
    if (c < 'A' || c > 'Z')
      return false;
  return true;
}

std::string format_rfc3339(timestamp_ms at) {
  std::time_t secs = static_cast<std::time_t>(at / 1000);
  int millis = static_cast<int>(at % 1000);
  if (millis < 0) {
    millis += 1000;
    secs -= 1;
  }
  std::tm parts{};
  gmtime_r(&secs, &parts);
  char buf[64];
  std::snprintf(buf, sizeof buf, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", parts.tm_year + 1900,
                parts.tm_mon + 1, parts.tm_mday, parts.tm_hour, parts.tm_min, parts.tm_sec, millis);
  return buf;
}

} // namespace bazaar::domain
