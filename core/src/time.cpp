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

/// Days since 1970-01-01 of a civil date (H. Hinnant's days_from_civil).
std::int64_t days_from_civil(std::int64_t y, unsigned m, unsigned d) {
  y -= m <= 2;
  const std::int64_t era = (y >= 0 ? y : y - 399) / 400;
  const auto yoe = static_cast<unsigned>(y - era * 400);
  const unsigned doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
  const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + static_cast<std::int64_t>(doe) - 719468;
}

/// The value of `n` digits at `text[at]`, or -1 when they are not all digits.
int digits(std::string_view text, std::size_t at, std::size_t n) {
  if (at + n > text.size())
    return -1;
  int v = 0;
  for (std::size_t i = at; i < at + n; ++i) {
    if (text[i] < '0' || text[i] > '9')
      return -1;
    v = v * 10 + (text[i] - '0');
  }
  return v;
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

std::optional<timestamp_ms> parse_rfc3339(std::string_view text) {
  // YYYY-MM-DDTHH:MM:SS
  if (text.size() < 20 || text[4] != '-' || text[7] != '-' ||
      (text[10] != 'T' && text[10] != 't') || text[13] != ':' || text[16] != ':')
    return std::nullopt;
  int year = digits(text, 0, 4), month = digits(text, 5, 2), day = digits(text, 8, 2);
  int hour = digits(text, 11, 2), minute = digits(text, 14, 2), second = digits(text, 17, 2);
  if (year < 0 || month < 1 || month > 12 || day < 1 || hour < 0 || hour > 23 || minute < 0 ||
      minute > 59 || second < 0 || second > 59)
    return std::nullopt;
  static const int month_days[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  bool leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;
  if (day > month_days[month - 1] + (month == 2 && leap ? 1 : 0))
    return std::nullopt;
  std::size_t i = 19;
  int millis = 0;
  if (i < text.size() && text[i] == '.') {
    ++i;
    std::size_t first = i;
    while (i < text.size() && text[i] >= '0' && text[i] <= '9') {
      if (i - first < 3)
        millis = millis * 10 + (text[i] - '0');
      ++i;
    }
    if (i == first)
      return std::nullopt;
    for (auto n = i - first; n < 3; ++n)
      millis *= 10;
  }
  if (i >= text.size())
    return std::nullopt;
  std::int64_t offset_s = 0;
  if (text[i] == 'Z' || text[i] == 'z') {
    ++i;
  } else if (text[i] == '+' || text[i] == '-') {
    int oh = digits(text, i + 1, 2), om = digits(text, i + 4, 2);
    if (oh < 0 || om < 0 || oh > 23 || om > 59 || text[i + 3] != ':')
      return std::nullopt;
    offset_s = (text[i] == '-' ? -1 : 1) * (oh * 3600 + om * 60);
    i += 6;
  } else {
    return std::nullopt;
  }
  if (i != text.size())
    return std::nullopt;
  std::int64_t secs =
      days_from_civil(year, static_cast<unsigned>(month), static_cast<unsigned>(day)) * 86400 +
      hour * 3600 + minute * 60 + second - offset_s;
  return secs * 1000 + millis;
}

std::string format_rfc3339(timestamp_ms at) {
  std::string out;
  append_rfc3339(out, at);
  return out;
}

} // namespace bazaar::core
