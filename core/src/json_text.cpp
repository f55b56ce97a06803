#include "bazaar/core/json_text.hpp"

#include <boost/json/serializer.hpp>
#include <boost/json/value.hpp>

#include <charconv>

namespace bazaar::core::json_text {

namespace {

/// What follows the backslash for a byte that needs escaping: 0 for none, 'u' for \u00xx.
constexpr char escape_of(unsigned char c) {
  switch (c) {
  case '"':
    return '"';
  case '\\':
    return '\\';
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
    return c < 0x20 ? 'u' : 0;
  }
}

struct escape_table {
  char of[256];
  constexpr escape_table() : of() {
    for (int c = 0; c < 256; ++c)
      of[c] = escape_of(static_cast<unsigned char>(c));
  }
};

constexpr escape_table escapes{};

} // namespace

void append_string(std::string& out, std::string_view s) {
  static constexpr char hex[] = "0123456789abcdef";
  out += '"';
  std::size_t run = 0; // start of the bytes not copied yet
  for (std::size_t i = 0; i < s.size(); ++i) {
    auto c = static_cast<unsigned char>(s[i]);
    char e = escapes.of[c];
    if (e == 0)
      continue;
    out.append(s.data() + run, i - run);
    run = i + 1;
    out += '\\';
    if (e != 'u') {
      out += e;
      continue;
    }
    out += "u00";
    out += hex[c >> 4];
    out += hex[c & 0xf];
  }
  out.append(s.data() + run, s.size() - run);
  out += '"';
}

void append_int(std::string& out, std::int64_t v) {
  char buf[24];
  auto r = std::to_chars(buf, buf + sizeof buf, v);
  out.append(buf, r.ptr);
}

void append_uint(std::string& out, std::uint64_t v) {
  char buf[24];
  auto r = std::to_chars(buf, buf + sizeof buf, v);
  out.append(buf, r.ptr);
}

namespace {

/// Runs `sr` (reset to a value) to its end, appending what it writes to `out`.
void drain(boost::json::serializer& sr, std::string& out) {
  while (!sr.done()) {
    auto used = out.size();
    if (out.capacity() - used < 512)
      out.reserve(used + 512 + out.capacity() / 2);
    out.resize(out.capacity());
    auto written = sr.read(out.data() + used, out.size() - used);
    out.resize(used + written.size());
  }
}

/// One serializer per thread: reset() keeps the memory it grew for nesting.
boost::json::serializer& serializer() {
  thread_local boost::json::serializer sr;
  return sr;
}

} // namespace

void append_value(std::string& out, const boost::json::value& v) {
  auto& sr = serializer();
  sr.reset(&v);
  drain(sr, out);
}

void append_value(std::string& out, const boost::json::object& o) {
  auto& sr = serializer();
  sr.reset(&o);
  drain(sr, out);
}

} // namespace bazaar::core::json_text
