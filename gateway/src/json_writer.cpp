#include "bazaar/gateway/json_writer.hpp"

#include "bazaar/core/json_text.hpp"
#include "bazaar/core/time.hpp"
#include "bazaar/domain/basket.hpp"

namespace bazaar::gateway {

namespace jt = core::json_text;

void append_json(std::string& out, const boost::json::value& v) {
  jt::append_value(out, v);
}

void append_json(std::string& out, const domain::basket& b) {
  std::size_t estimate = 160 + b.customer_id.size();
  for (const auto& l : b.lines)
    estimate += 112 + l.sku.size() + l.name.size();
  out.reserve(out.size() + estimate);

  // The fields in the order domain::to_json inserts them.
  out += "{\"customer_id\":";
  jt::append_string(out, b.customer_id);
  out += ",\"items\":[";
  bool first = true;
  for (const auto& l : b.lines) {
    if (!first)
      out += ',';
    first = false;
    out += "{\"sku\":";
    jt::append_string(out, l.sku);
    out += ",\"name\":";
    jt::append_string(out, l.name);
    out += ",\"quantity\":";
    jt::append_int(out, l.quantity);
    out += ",\"unit_price_cents\":";
    jt::append_int(out, l.unit_price_cents);
    out += ",\"line_total_cents\":";
    jt::append_int(out, l.line_total_cents());
    out += '}';
  }
  out += "],\"total_cents\":";
  jt::append_int(out, b.total_cents());
  out += ",\"currency\":";
  jt::append_string(out, b.currency);
  out += ",\"version\":";
  jt::append_uint(out, b.version);
  out += ",\"updated_at\":";
  if (b.updated_at != 0) {
    out += '"';
    core::append_rfc3339(out, b.updated_at);
    out += '"';
  } else {
    out += "null";
  }
  out += '}';
}

} // namespace bazaar::gateway
