#include "bazaar/core/time.hpp"

#include <cstdio>
#include <ctime>

namespace bazaar::core {

namespace {

/// The civil date (proleptic Gregorian) of a day count since 1970-01-01 (H. Hinnant's
/// civil_from_days).
void civil_from_days(std::int64_t z, std::int64_t& y, unsigned& m, unsigned& d) {
  z += 719468;
  const std::int64_t era = (z >= 0 ? z : z - 146096) / 146097;
  const auto doe = static_cast<unsigned>(z - era * 146097);
  const unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  const unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  const unsigned mp = (5 * doy + 2) / 153;
  d = doy - (153 * mp + 2) / 5 + 1;
  m = mp < 10 ? mp + 3 : mp - 9;
  y = static_cast<std::int64_t>(yoe) + era * 400 + (m <= 2);
}

void put2(char* p, unsigned v) {
  p[0] = static_cast<char>('0' + v / 10);
  p[1] = static_cast<char>('0' + v % 10);
}

} // namespace

void append_rfc3339(std::string& out, timestamp_ms at) {
  std::int64_t secs = at / 1000;
  auto millis = static_cast<int>(at % 1000);
  if (millis < 0) {
    millis += 1000;
    secs -= 1;
  }
  std::int64_t days = secs / 86400;
  std::int64_t rem = secs % 86400;
  if (rem < 0) {
    rem += 86400;
    days -= 1;
  }
  std::int64_t year = 0;
  unsigned month = 0, day = 0;
  civil_from_days(days, year, month, day);
  auto sec_of_day = static_cast<unsigned>(rem);
  if (year < 0 || year > 9999) {
    // Outside four-digit years: as printf writes them.
    std::time_t t = static_cast<std::time_t>(secs);
    std::tm parts{};
    gmtime_r(&t, &parts);
    char buf[64];
    int n = std::snprintf(buf, sizeof buf, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ",
                          parts.tm_year + 1900, parts.tm_mon + 1, parts.tm_mday, parts.tm_hour,
                          parts.tm_min, parts.tm_sec, millis);
    out.append(buf, static_cast<std::size_t>(n));
    return;
  }
  char buf[25] = "0000-00-00T00:00:00.000Z";
  auto y = static_cast<unsigned>(year);
  put2(buf, y / 100);
  put2(buf + 2, y % 100);
  put2(buf + 5, month);
  put2(buf + 8, day);
  put2(buf + 11, sec_of_day / 3600);
  put2(buf + 14, sec_of_day / 60 % 60);
  put2(buf + 17, sec_of_day % 60);
  buf[20] = static_cast<char>('0' + millis / 100);
  put2(buf + 21, static_cast<unsigned>(millis % 100));
  out.append(buf, 24);
}

std::string format_rfc3339(timestamp_ms at) {
  std::string out;
  append_rfc3339(out, at);
  return out;
}

} // namespace bazaar::core
