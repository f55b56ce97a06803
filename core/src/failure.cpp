#include "bazaar/core/failure.hpp"

namespace bazaar::core {

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
  case errc::conflict:
    return "conflict";
  case errc::unavailable:
    return "unavailable";
  case errc::timeout:
    return "timeout";
  case errc::internal:
    break;
  }
  return "internal";
}

bool is_transient(errc code) {
  return code == errc::unavailable || code == errc::timeout || code == errc::internal;
}

} // namespace bazaar::core
