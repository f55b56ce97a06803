#include "bazaar/core/time.hpp"

#include <cstdio>
#include <ctime>

namespace bazaar::core {

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

} // namespace bazaar::core
