#include "bazaar/domain/json_codec.hpp"

#include "bazaar/core/json_text.hpp"

#include <boost/json.hpp>

namespace bazaar::domain {

namespace json = boost::json;

namespace {

/// Typed field readers for snapshots: nullopt when the field is missing or of another type.
std::optional<std::string> get_string(const json::object& o, std::string_view key) {
  auto i = o.find(key);
  if (i == o.end() || !i->value().is_string())
    return std::nullopt;
  return std::string(i->value().get_string());
}

std::optional<std::int64_t> get_int(const json::object& o, std::string_view key) {
  auto i = o.find(key);
  if (i == o.end())
    return std::nullopt;
  if (i->value().is_int64())
    return i->value().get_int64();
  if (i->value().is_uint64() && i->value().get_uint64() <= INT64_MAX)
    return static_cast<std::int64_t>(i->value().get_uint64());
  return std::nullopt;
}

std::optional<bool> get_bool(const json::object& o, std::string_view key) {
  auto i = o.find(key);
  if (i == o.end() || !i->value().is_bool())
    return std::nullopt;
  return i->value().get_bool();
}

} // namespace

json::value to_json(const basket& b) {
  json::array items;
  items.reserve(b.lines.size());
  for (const auto& l : b.lines)
    items.push_back(json::object{{"sku", l.sku},
                                 {"name", l.name},
                                 {"quantity", l.quantity},
                                 {"unit_price_cents", l.unit_price_cents},
                                 {"line_total_cents", l.line_total_cents()}});
  json::object o;
  o["customer_id"] = b.customer_id;
  o["items"] = std::move(items);
  o["total_cents"] = b.total_cents();
  o["currency"] = b.currency;
  o["version"] = b.version;
  if (b.updated_at != 0)
    o["updated_at"] = format_rfc3339(b.updated_at);
  else
    o["updated_at"] = nullptr;
  return o;
}

json::value to_json(const product& p) {
  json::object o;
  o["sku"] = p.sku;
  o["name"] = p.name;
  o["description"] = p.description;
  o["category"] = p.category;
  o["price_cents"] = p.price_cents;
  o["currency"] = p.currency;
  o["active"] = p.active;
  o["stock"] = p.stock;
  o["reserved"] = p.reserved;
  o["available"] = p.available();
  o["low_stock_threshold"] = p.low_stock_threshold;
  o["version"] = p.version;
  return o;
}

json::value to_snapshot(const basket& b) {
  auto v = to_json(b);
  auto& o = v.get_object();
  o["updated_at_ms"] = b.updated_at;
  return v;
}

json::value to_snapshot(const product& p) {
  auto v = to_json(p);
  auto& o = v.get_object();
  o["updated_at_ms"] = p.updated_at;
  json::object reservations;
  for (const auto& [order_id, r] : p.reservations)
    reservations[order_id] = json::object{
        {"quantity", r.quantity}, {"status", to_string(r.status)}, {"reason", r.reason}};
  o["reservations"] = std::move(reservations);
  return v;
}

namespace {

namespace jt = core::json_text;

void field_str(std::string& out, std::string_view key, std::string_view text_value) {
  jt::append_key(out, key);
  jt::append_string(out, text_value);
}

void field_int(std::string& out, std::string_view key, std::int64_t v) {
  jt::append_key(out, key);
  jt::append_int(out, v);
}

void field_uint(std::string& out, std::string_view key, std::uint64_t v) {
  jt::append_key(out, key);
  jt::append_uint(out, v);
}

void field_bool(std::string& out, std::string_view key, bool v) {
  jt::append_key(out, key);
  out += v ? "true" : "false";
}

} // namespace

// The key order below is the one to_json/to_snapshot insert in (a JSON object keeps it).

void write_snapshot(const basket& b, std::string& out) {
  out.reserve(out.size() + 192 + b.customer_id.size() + 96 * b.lines.size());
  out += '{';
  field_str(out, "customer_id", b.customer_id);
  out += ",\"items\":[";
  bool first = true;
  for (const auto& l : b.lines) {
    out += first ? "{" : ",{";
    first = false;
    field_str(out, "sku", l.sku);
    out += ',';
    field_str(out, "name", l.name);
    out += ',';
    field_int(out, "quantity", static_cast<std::int64_t>(l.quantity));
    out += ',';
    field_int(out, "unit_price_cents", l.unit_price_cents);
    out += ',';
    field_int(out, "line_total_cents", l.line_total_cents());
    out += '}';
  }
  out += "],";
  field_int(out, "total_cents", b.total_cents());
  out += ',';
  field_str(out, "currency", b.currency);
  out += ',';
  field_uint(out, "version", b.version);
  out += ",\"updated_at\":";
  if (b.updated_at != 0) {
    out += '"';
    core::append_rfc3339(out, b.updated_at);
    out += '"';
  } else {
    out += "null";
  }
  out += ',';
  field_int(out, "updated_at_ms", b.updated_at);
  out += '}';
}

void write_snapshot(const product& p, std::string& out) {
  out.reserve(out.size() + 320 + p.sku.size() + p.name.size() + p.description.size() +
              p.category.size());
  out += '{';
  field_str(out, "sku", p.sku);
  out += ',';
  field_str(out, "name", p.name);
  out += ',';
  field_str(out, "description", p.description);
  out += ',';
  field_str(out, "category", p.category);
  out += ',';
  field_int(out, "price_cents", p.price_cents);
  out += ',';
  field_str(out, "currency", p.currency);
  out += ',';
  field_bool(out, "active", p.active);
  out += ',';
  field_int(out, "stock", p.stock);
  out += ',';
  field_int(out, "reserved", p.reserved);
  out += ',';
  field_int(out, "available", p.available());
  out += ',';
  field_int(out, "low_stock_threshold", p.low_stock_threshold);
  out += ',';
  field_uint(out, "version", p.version);
  out += ',';
  field_int(out, "updated_at_ms", p.updated_at);
  out += ',';
  jt::append_key(out, "reservations");
  out += '{';
  bool first = true;
  for (const auto& [order_id, r] : p.reservations) {
    if (!first)
      out += ',';
    first = false;
    jt::append_string(out, order_id); // escaped: a key that is data
    out += ":{";
    field_int(out, "quantity", r.quantity);
    out += ',';
    field_str(out, "status", to_string(r.status));
    out += ',';
    field_str(out, "reason", r.reason);
    out += '}';
  }
  out += "}}";
}

std::optional<basket> basket_from_json(const json::value& v) {
  if (!v.is_object())
    return std::nullopt;
  const auto& o = v.get_object();
  basket b;
  auto customer = get_string(o, "customer_id");
  auto currency = get_string(o, "currency");
  auto version = get_int(o, "version");
  auto updated = get_int(o, "updated_at_ms");
  auto items = o.find("items");
  if (!customer || !currency || !version || !updated || items == o.end() ||
      !items->value().is_array())
    return std::nullopt;
  b.customer_id = *customer;
  b.currency = *currency;
  b.version = static_cast<std::uint64_t>(*version);
  b.updated_at = *updated;
  for (const auto& item : items->value().get_array()) {
    if (!item.is_object())
      return std::nullopt;
    const auto& io = item.get_object();
    auto sku = get_string(io, "sku");
    auto name = get_string(io, "name");
    auto quantity = get_int(io, "quantity");
    auto price = get_int(io, "unit_price_cents");
    if (!sku || !name || !quantity || !price)
      return std::nullopt;
    b.lines.push_back(basket_line{*sku, *name, static_cast<int>(*quantity), *price});
  }
  return b;
}

json::array to_json(const std::vector<order_line>& lines) {
  json::array items;
  items.reserve(lines.size());
  for (const auto& l : lines)
    items.push_back(json::object{{"sku", l.sku},
                                 {"name", l.name},
                                 {"quantity", l.quantity},
                                 {"unit_price_cents", l.unit_price_cents},
                                 {"line_total_cents", l.line_total_cents()}});
  return items;
}

json::value to_json(const order& o) {
  auto items = to_json(o.items);
  json::array timeline;
  for (const auto& t : o.timeline)
    timeline.push_back(json::object{{"status", to_string(t.status)}, {"at", format_rfc3339(t.at)}});
  json::object out;
  out["order_id"] = o.order_id;
  out["customer_id"] = o.customer_id;
  out["status"] = to_string(o.status);
  out["items"] = std::move(items);
  out["total_cents"] = o.total_cents();
  out["currency"] = o.currency;
  if (!o.payment_id.empty())
    out["payment"] = json::object{{"payment_id", o.payment_id}, {"status", o.payment_status}};
  if (!o.tracking_number.empty())
    out["tracking_number"] = o.tracking_number;
  if (!o.cancel_reason.empty())
    out["cancel_reason"] = o.cancel_reason;
  // Kept as the JSON text the checkout was given (validated then): answered as that object.
  out["shipping_address"] = nullptr;
  if (!o.shipping_address.empty()) {
    boost::system::error_code ec;
    auto address = json::parse(o.shipping_address, ec);
    if (!ec)
      out["shipping_address"] = std::move(address);
  }
  out["timeline"] = std::move(timeline);
  out["version"] = o.version;
  return out;
}

json::value to_snapshot(const order& o) {
  auto v = to_json(o);
  auto& out = v.get_object();
  out["card_token"] = o.card_token;
  out["shipping_address"] = o.shipping_address;
  out["payment_id"] = o.payment_id;
  out["payment_status"] = o.payment_status;
  json::array at;
  for (const auto& t : o.timeline)
    at.push_back(t.at);
  out["timeline_ms"] = std::move(at);
  return v;
}

std::optional<order> order_from_json(const json::value& v) {
  if (!v.is_object())
    return std::nullopt;
  const auto& o = v.get_object();
  order out;
  auto id = get_string(o, "order_id");
  auto customer = get_string(o, "customer_id");
  auto status = get_string(o, "status");
  auto currency = get_string(o, "currency");
  auto card = get_string(o, "card_token");
  auto shipping = get_string(o, "shipping_address");
  auto version = get_int(o, "version");
  auto items = o.find("items");
  auto timeline = o.find("timeline");
  auto timeline_ms = o.find("timeline_ms");
  if (!id || !customer || !status || !currency || !card || !shipping || !version ||
      items == o.end() || !items->value().is_array() || timeline == o.end() ||
      !timeline->value().is_array() || timeline_ms == o.end() || !timeline_ms->value().is_array() ||
      timeline->value().get_array().size() != timeline_ms->value().get_array().size())
    return std::nullopt;
  auto parsed_status = parse_order_status(*status);
  if (!parsed_status)
    return std::nullopt;
  out.exists = true;
  out.order_id = *id;
  out.customer_id = *customer;
  out.status = *parsed_status;
  out.currency = *currency;
  out.card_token = *card;
  out.shipping_address = *shipping;
  out.cancel_reason = get_string(o, "cancel_reason").value_or("");
  out.payment_id = get_string(o, "payment_id").value_or("");
  out.payment_status = get_string(o, "payment_status").value_or("");
  out.tracking_number = get_string(o, "tracking_number").value_or("");
  out.version = static_cast<std::uint64_t>(*version);
  for (const auto& item : items->value().get_array()) {
    if (!item.is_object())
      return std::nullopt;
    const auto& io = item.get_object();
    auto sku = get_string(io, "sku");
    auto name = get_string(io, "name");
    auto quantity = get_int(io, "quantity");
    auto price = get_int(io, "unit_price_cents");
    if (!sku || !name || !quantity || !price)
      return std::nullopt;
    out.items.push_back(order_line{*sku, *name, static_cast<int>(*quantity), *price});
  }
  const auto& stamps = timeline_ms->value().get_array();
  const auto& steps = timeline->value().get_array();
  for (std::size_t i = 0; i < steps.size(); ++i) {
    if (!steps[i].is_object() || !stamps[i].is_int64())
      return std::nullopt;
    auto s = get_string(steps[i].get_object(), "status");
    auto st = s ? parse_order_status(*s) : std::nullopt;
    if (!st)
      return std::nullopt;
    out.timeline.push_back(status_change{*st, stamps[i].get_int64()});
  }
  return out;
}

std::optional<product> product_from_json(const json::value& v) {
  if (!v.is_object())
    return std::nullopt;
  const auto& o = v.get_object();
  product p;
  auto sku = get_string(o, "sku");
  auto name = get_string(o, "name");
  auto description = get_string(o, "description");
  auto category = get_string(o, "category");
  auto price = get_int(o, "price_cents");
  auto currency = get_string(o, "currency");
  auto active = get_bool(o, "active");
  auto stock = get_int(o, "stock");
  auto reserved = get_int(o, "reserved");
  auto threshold = get_int(o, "low_stock_threshold");
  auto version = get_int(o, "version");
  auto updated = get_int(o, "updated_at_ms");
  if (!sku || !name || !description || !category || !price || !currency || !active || !stock ||
      !reserved || !threshold || !version || !updated)
    return std::nullopt;
  p.exists = true;
  p.sku = *sku;
  p.name = *name;
  p.description = *description;
  p.category = *category;
  p.price_cents = *price;
  p.currency = *currency;
  p.active = *active;
  p.stock = *stock;
  p.reserved = *reserved;
  p.low_stock_threshold = *threshold;
  p.version = static_cast<std::uint64_t>(*version);
  p.updated_at = *updated;
  // A snapshot without reservations has none.
  if (auto it = o.find("reservations"); it != o.end()) {
    if (!it->value().is_object())
      return std::nullopt;
    for (const auto& [order_id, entry] : it->value().get_object()) {
      if (!entry.is_object())
        return std::nullopt;
      const auto& e = entry.get_object();
      auto quantity = get_int(e, "quantity");
      auto status_text = get_string(e, "status");
      auto reason = get_string(e, "reason");
      auto status = status_text ? parse_reservation_status(*status_text) : std::nullopt;
      if (!quantity || !status || !reason)
        return std::nullopt;
      reservation r{std::string(order_id), *quantity, *status, *reason};
      p.reservations.emplace(r.order_id, std::move(r));
    }
  }
  return p;
}

json::value to_snapshot(const checkout& c) {
  json::array lines;
  for (const auto& l : c.lines)
    lines.push_back(
        json::object{{"sku", l.sku}, {"quantity", l.quantity}, {"state", to_string(l.state)}});
  return json::object{{"order_id", c.order_id},      {"customer_id", c.customer_id},
                      {"lines", std::move(lines)},   {"amount_cents", c.amount_cents},
                      {"currency", c.currency},      {"card_token", c.card_token},
                      {"stage", to_string(c.stage)}, {"payment", to_string(c.payment)},
                      {"payment_id", c.payment_id},  {"cancel_reason", c.cancel_reason},
                      {"started_at", c.started_at},  {"updated_at", c.updated_at},
                      {"version", c.version},        {"correlation_id", c.correlation_id}};
}

json::value to_json(const checkout& c) {
  return to_snapshot(c);
}

std::optional<checkout> checkout_from_json(const json::value& v) {
  if (!v.is_object())
    return std::nullopt;
  const auto& o = v.get_object();
  checkout c;
  auto id = get_string(o, "order_id");
  auto stage = parse_checkout_stage(get_string(o, "stage").value_or(""));
  auto payment = parse_saga_payment(get_string(o, "payment").value_or(""));
  auto version = get_int(o, "version");
  auto lines = o.find("lines");
  if (!id || !stage || !payment || !version || lines == o.end() || !lines->value().is_array())
    return std::nullopt;
  c.order_id = *id;
  c.customer_id = get_string(o, "customer_id").value_or("");
  c.amount_cents = get_int(o, "amount_cents").value_or(0);
  c.currency = get_string(o, "currency").value_or("USD");
  c.card_token = get_string(o, "card_token").value_or("");
  c.stage = *stage;
  c.payment = *payment;
  c.payment_id = get_string(o, "payment_id").value_or("");
  c.cancel_reason = get_string(o, "cancel_reason").value_or("");
  c.started_at = get_int(o, "started_at").value_or(0);
  c.updated_at = get_int(o, "updated_at").value_or(0);
  c.version = static_cast<std::uint64_t>(*version);
  c.correlation_id = get_string(o, "correlation_id").value_or(""); // absent in older snapshots
  for (const auto& item : lines->value().get_array()) {
    if (!item.is_object())
      return std::nullopt;
    const auto& lo = item.get_object();
    auto sku = get_string(lo, "sku");
    auto quantity = get_int(lo, "quantity");
    auto state = parse_line_state(get_string(lo, "state").value_or(""));
    if (!sku || !quantity || !state)
      return std::nullopt;
    c.lines.push_back(checkout_line{*sku, *quantity, *state});
  }
  return c;
}

json::value to_snapshot(const payment& p) {
  return json::object{{"payment_id", p.payment_id},
                      {"order_id", p.order_id},
                      {"customer_id", p.customer_id},
                      {"amount_cents", p.amount_cents},
                      {"currency", p.currency},
                      {"card_token", p.card_token},
                      {"status", to_string(p.status)},
                      {"charges", p.charges},
                      {"refund_requested", p.refund_requested},
                      {"reason", p.reason},
                      {"created_at", p.created_at},
                      {"updated_at", p.updated_at},
                      {"version", p.version},
                      {"correlation_id", p.correlation_id}};
}

json::value to_json(const payment& p) {
  return to_snapshot(p);
}

std::optional<payment> payment_from_json(const json::value& v) {
  if (!v.is_object())
    return std::nullopt;
  const auto& o = v.get_object();
  payment p;
  auto id = get_string(o, "payment_id");
  auto status = parse_payment_status(get_string(o, "status").value_or(""));
  auto version = get_int(o, "version");
  if (!id || !status || !version)
    return std::nullopt;
  p.payment_id = *id;
  p.order_id = get_string(o, "order_id").value_or("");
  p.customer_id = get_string(o, "customer_id").value_or("");
  p.amount_cents = get_int(o, "amount_cents").value_or(0);
  p.currency = get_string(o, "currency").value_or("USD");
  p.card_token = get_string(o, "card_token").value_or("");
  p.status = *status;
  p.charges = static_cast<int>(get_int(o, "charges").value_or(0));
  p.refund_requested = get_bool(o, "refund_requested").value_or(false);
  p.reason = get_string(o, "reason").value_or("");
  p.created_at = get_int(o, "created_at").value_or(0);
  p.updated_at = get_int(o, "updated_at").value_or(0);
  p.version = static_cast<std::uint64_t>(*version);
  p.correlation_id = get_string(o, "correlation_id").value_or(""); // absent in older snapshots
  return p;
}

} // namespace bazaar::domain
