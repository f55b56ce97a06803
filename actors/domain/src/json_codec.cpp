#include "bazaar/domain/json_codec.hpp"

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>

namespace bazaar::domain {

namespace json = boost::json;

json::value parse_form(const std::string& text) {
  json::parse_options options;
  options.allow_invalid_utf8 = true; // text is kept as the bytes it was given
  return json::parse(text, {}, options);
}

json::array to_json(const std::vector<order_line>& lines) {
  std::string text;
  json_form::append_api(text, lines);
  return parse_form(text).as_array();
}

void json_form::detail::append_json_text(std::string& out, std::string_view text) {
  boost::system::error_code ec;
  auto v = text.empty() ? json::value() : json::parse(text, ec);
  if (ec)
    v = nullptr;
  core::json_text::append_value(out, v);
}

namespace {

/// Moves `from` to `to` (replacing it) when `from` is there.
void move_key(json::object& o, std::string_view from, std::string_view to) {
  if (auto it = o.find(from); it != o.end()) {
    json::value v = std::move(it->value());
    o.erase(it);
    o[to] = std::move(v);
  }
}

} // namespace

// The old forms had `updated_at_ms` (basket, product) or `timeline_ms` (order) beside the API's
// text timestamps; today's forms never have these keys.

std::optional<json::object> upgraded(const json::object& stored, const basket*) {
  if (!stored.contains("updated_at_ms"))
    return std::nullopt;
  json::object o = stored;
  move_key(o, "updated_at_ms", "updated_at");
  move_key(o, "items", "lines");
  return o;
}

std::optional<json::object> upgraded(const json::object& stored, const product*) {
  if (!stored.contains("updated_at_ms"))
    return std::nullopt;
  json::object o = stored;
  move_key(o, "updated_at_ms", "updated_at");
  o["exists"] = true;
  // A reservation was stored under its order id only.
  if (auto it = o.find("reservations"); it != o.end() && it->value().is_object())
    for (auto& [order_id, r] : it->value().get_object())
      if (r.is_object())
        r.get_object()["order_id"] = json::string(order_id);
  return o;
}

std::optional<json::object> upgraded(const json::object& stored, const order*) {
  if (!stored.contains("timeline_ms"))
    return std::nullopt;
  json::object o = stored;
  auto stamps = o.find("timeline_ms");
  auto steps = o.find("timeline");
  json::array timeline;
  if (steps != o.end() && steps->value().is_array() && stamps->value().is_array() &&
      steps->value().get_array().size() == stamps->value().get_array().size()) {
    const auto& at = stamps->value().get_array();
    const auto& was = steps->value().get_array();
    for (std::size_t i = 0; i < was.size(); ++i) {
      const auto* status = was[i].is_object() ? was[i].get_object().if_contains("status") : nullptr;
      timeline.push_back(json::object{{"status", status ? *status : json::value()}, {"at", at[i]}});
    }
    o["timeline"] = std::move(timeline);
  } else {
    o["timeline"] = nullptr; // refused by the reader: the two lists do not match
  }
  o.erase("timeline_ms");
  o.erase("payment"); // the API's payment object; payment_id and payment_status are kept
  o["exists"] = true; // last: adding a key may move the others (the iterators above)
  return o;
}

} // namespace bazaar::domain
