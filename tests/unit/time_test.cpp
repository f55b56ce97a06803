// RFC 3339 time stamps (core/time.hpp): what the read side parses from events' occurred_at
// and from the sales report's from/to, and how it formats them back.

#include "bazaar/core/time.hpp"

#include <catch2/catch.hpp>

using bazaar::core::format_rfc3339;
using bazaar::core::parse_rfc3339;

TEST_CASE("an RFC 3339 time parses to the milliseconds it formats from", "[time]") {
  CHECK(parse_rfc3339("1970-01-01T00:00:00Z") == 0);
  CHECK(parse_rfc3339("2026-11-21T09:04:08.123Z") == 1795251848123LL);
  CHECK(format_rfc3339(*parse_rfc3339("2026-11-21T09:04:08.123Z")) == "2026-11-21T09:04:08.123Z");
  for (long long ms : {0LL, 951782400000LL, 1795251848123LL, 4102444799999LL})
    CHECK(parse_rfc3339(format_rfc3339(ms)) == ms);
  // Offsets, lower-case separators, fractions of any length (milliseconds kept).
  CHECK(parse_rfc3339("2026-11-21T10:04:08.123+01:00") == 1795251848123LL);
  CHECK(parse_rfc3339("2026-11-21T04:34:08.123-04:30") == 1795251848123LL);
  CHECK(parse_rfc3339("2026-11-21t09:04:08.1234567z") == 1795251848123LL);
  CHECK(parse_rfc3339("2026-11-21T09:04:08.1Z") == 1795251848100LL);
  CHECK(parse_rfc3339("2024-02-29T00:00:00Z").has_value());
}

TEST_CASE("anything but an RFC 3339 time is refused", "[time]") {
  for (const char* bad :
       {"", "yesterday", "2026-11-21", "2026-11-21T09:04:08", "2026-11-21 09:04:08Z",
        "2026-13-01T00:00:00Z", "2026-02-29T00:00:00Z", "2026-04-31T00:00:00Z",
        "2026-11-21T24:00:00Z", "2026-11-21T09:60:00Z", "2026-11-21T09:04:60Z",
        "2026-11-21T09:04:08.Z", "2026-11-21T09:04:08+0100", "2026-11-21T09:04:08+01:00x",
        "2026-11-21T09:04:08ZZ", "+2026-11-21T09:04:08Z", "2026-1a-21T09:04:08Z"}) {
    INFO(bad);
    CHECK_FALSE(parse_rfc3339(bad).has_value());
  }
}
