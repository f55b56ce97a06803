#include "bazaar/gateway/json_writer.hpp"

#include "bazaar/domain/basket.hpp"

#include <boost/json/serializer.hpp>

#include <algorithm>
#include <charconv>
#include <cstdint>
#include <cstring>

namespace bazaar::gateway {

namespace {

template <typename Int>
void append_int(std::string& out, Int n) {
  char digits[24];
  auto end = std::to_chars(digits, digits + sizeof digits, n).ptr;
  out.append(digits, static_cast<std::size_t>(end - digits));
}

/// The short escape of a byte below 0x20, or 0 when it takes \u00xx.
char short_escape(unsigned char c) {
  switch (c) {
  case '\b':
    return 'b';
  case '\f':
    return 'f';
  case '\n':
    return 'n';
  case '\r':
    return 'r';
  case '\t':
    return 't';
  default:
    return 0;
  }
}

} // namespace

void append_json_string(std::string& out, std::string_view text) {
  static constexpr char hex[] = "0123456789abcdef";
  out += '"';
  std::size_t run = 0; // start of the bytes not appended yet
  for (std::size_t i = 0; i < text.size(); ++i) {
    auto c = static_cast<unsigned char>(text[i]);
    if (c >= 0x20 && c != '"' && c != '\\')
      continue;
    out.append(text.data() + run, i - run);
    run = i + 1;
    out += '\\';
    if (c == '"' || c == '\\') {
      out += static_cast<char>(c);
    } else if (auto e = short_escape(c)) {
      out += e;
    } else {
      out += "u00";
      out += hex[c >> 4];
      out += hex[c & 15];
    }
  }
  out.append(text.data() + run, text.size() - run);
  out += '"';
}

void append_json(std::string& out, const boost::json::value& v) {
  // One serializer per thread: reset() keeps the memory it grew for nesting.
  thread_local boost::json::serializer sr;
  sr.reset(&v);
  while (!sr.done()) {
    auto used = out.size();
    if (out.capacity() - used < 512)
      out.reserve(used + 512 + out.capacity() / 2);
    out.resize(out.capacity());
    auto written = sr.read(out.data() + used, out.size() - used);
    out.resize(used + written.size());
  }
}

namespace {

/// Writes JSON into memory reserved for it beforehand (no bounds checks: the caller reserves
/// the most the text can take).
class raw_writer {
 public:
  explicit raw_writer(char* at) : p_(at) {}

  char* end() const { return p_; }

  template <std::size_t N>
  void literal(const char (&text)[N]) {
    std::memcpy(p_, text, N - 1);
    p_ += N - 1;
  }

  /// At most 6 * text.size() + 2 bytes.
  void string(std::string_view text) {
    static constexpr char hex[] = "0123456789abcdef";
    *p_++ = '"';
    std::size_t run = 0;
    for (std::size_t i = 0; i < text.size(); ++i) {
      auto c = static_cast<unsigned char>(text[i]);
      if (c >= 0x20 && c != '"' && c != '\\')
        continue;
      std::memcpy(p_, text.data() + run, i - run);
      p_ += i - run;
      run = i + 1;
      *p_++ = '\\';
      if (c == '"' || c == '\\') {
        *p_++ = static_cast<char>(c);
      } else if (auto e = short_escape(c)) {
        *p_++ = e;
      } else {
        *p_++ = 'u';
        *p_++ = '0';
        *p_++ = '0';
        *p_++ = hex[c >> 4];
        *p_++ = hex[c & 15];
      }
    }
    std::memcpy(p_, text.data() + run, text.size() - run);
    p_ += text.size() - run;
    *p_++ = '"';
  }

  /// At most 20 bytes.
  template <typename Int>
  void integer(Int n) {
    p_ = std::to_chars(p_, p_ + 24, n).ptr;
  }

 private:
  char* p_;
};

constexpr std::size_t max_integer = 24;

std::size_t string_bound(std::string_view text) {
  return 6 * text.size() + 2;
}

/// Two decimal digits.
char* two(char* p, int n) {
  p[0] = static_cast<char>('0' + n / 10);
  p[1] = static_cast<char>('0' + n % 10);
  return p + 2;
}

/// core::format_rfc3339(at) ("YYYY-MM-DDThh:mm:ss.mmmZ") into `buf` (64 bytes); its length.
/// Computed here for years 1970..9999 (the civil-from-days algorithm of H. Hinnant), which
/// saves the snprintf of every answer; other times are left to format_rfc3339.
std::size_t rfc3339(char* buf, std::int64_t at) {
  constexpr std::int64_t year_10000 = 253'402'300'800'000;
  if (at < 0 || at >= year_10000) {
    auto text = domain::format_rfc3339(at);
    auto n = std::min<std::size_t>(text.size(), 63);
    std::memcpy(buf, text.data(), n);
    return n;
  }
  auto secs = at / 1000;
  auto millis = static_cast<int>(at % 1000);
  auto days = secs / 86400;
  auto rest = static_cast<int>(secs % 86400);
  // Days since 1970-01-01 to year, month, day (proleptic Gregorian).
  auto z = days + 719468;
  auto era = z / 146097;
  auto doe = z - era * 146097;
  auto yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  auto year = yoe + era * 400;
  auto doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  auto mp = (5 * doy + 2) / 153;
  auto day = static_cast<int>(doy - (153 * mp + 2) / 5 + 1);
  auto month = static_cast<int>(mp < 10 ? mp + 3 : mp - 9);
  if (month <= 2)
    ++year;
  char* p = buf;
  p = two(p, static_cast<int>(year / 100));
  p = two(p, static_cast<int>(year % 100));
  *p++ = '-';
  p = two(p, month);
  *p++ = '-';
  p = two(p, day);
  *p++ = 'T';
  p = two(p, rest / 3600);
  *p++ = ':';
  p = two(p, rest / 60 % 60);
  *p++ = ':';
  p = two(p, rest % 60);
  *p++ = '.';
  *p++ = static_cast<char>('0' + millis / 100);
  p = two(p, millis % 100);
  *p++ = 'Z';
  return static_cast<std::size_t>(p - buf);
}

} // namespace

void append_json(std::string& out, const domain::basket& b) {
  char updated[64];
  std::size_t updated_size = b.updated_at != 0 ? rfc3339(updated, b.updated_at) : 0;
  std::string_view updated_at{updated, updated_size};

  std::size_t bound = 128 + string_bound(b.customer_id) + string_bound(b.currency) +
                      string_bound(updated_at) + 2 * max_integer;
  for (const auto& l : b.lines)
    bound += 96 + string_bound(l.sku) + string_bound(l.name) + 3 * max_integer;
  const auto used = out.size();
  out.resize(used + bound);

  // The fields in the order domain::to_json inserts them.
  raw_writer w{out.data() + used};
  w.literal("{\"customer_id\":");
  w.string(b.customer_id);
  w.literal(",\"items\":[");
  bool first = true;
  for (const auto& l : b.lines) {
    if (!first)
      w.literal(",");
    first = false;
    w.literal("{\"sku\":");
    w.string(l.sku);
    w.literal(",\"name\":");
    w.string(l.name);
    w.literal(",\"quantity\":");
    w.integer(static_cast<std::int64_t>(l.quantity));
    w.literal(",\"unit_price_cents\":");
    w.integer(l.unit_price_cents);
    w.literal(",\"line_total_cents\":");
    w.integer(l.line_total_cents());
    w.literal("}");
  }
  w.literal("],\"total_cents\":");
  w.integer(b.total_cents());
  w.literal(",\"currency\":");
  w.string(b.currency);
  w.literal(",\"version\":");
  w.integer(b.version);
  w.literal(",\"updated_at\":");
  if (b.updated_at != 0)
    w.string(updated_at);
  else
    w.literal("null");
  w.literal("}");
  out.resize(static_cast<std::size_t>(w.end() - out.data()));
}

} // namespace bazaar::gateway
