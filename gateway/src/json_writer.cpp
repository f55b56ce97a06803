#include "bazaar/gateway/json_writer.hpp"

#include "bazaar/domain/basket.hpp"

#include <boost/json/serializer.hpp>

#include <charconv>
#include <cstdint>

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

void append_json(std::string& out, const domain::basket& b) {
  // The fields in the order domain::to_json inserts them.
  out += "{\"customer_id\":";
  append_json_string(out, b.customer_id);
  out += ",\"items\":[";
  bool first = true;
  for (const auto& l : b.lines) {
    out += first ? "{\"sku\":" : ",{\"sku\":";
    first = false;
    append_json_string(out, l.sku);
    out += ",\"name\":";
    append_json_string(out, l.name);
    out += ",\"quantity\":";
    append_int(out, static_cast<std::int64_t>(l.quantity));
    out += ",\"unit_price_cents\":";
    append_int(out, l.unit_price_cents);
    out += ",\"line_total_cents\":";
    append_int(out, l.line_total_cents());
    out += '}';
  }
  out += "],\"total_cents\":";
  append_int(out, b.total_cents());
  out += ",\"currency\":";
  append_json_string(out, b.currency);
  out += ",\"version\":";
  append_int(out, b.version);
  out += ",\"updated_at\":";
  if (b.updated_at != 0)
    append_json_string(out, domain::format_rfc3339(b.updated_at));
  else
    out += "null";
  out += '}';
}

} // namespace bazaar::gateway
