#include "bazaar/core/json_text.hpp"

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

} // namespace bazaar::core::json_text
