#include "bazaar/domain/order_journal.hpp"

#include "bazaar/domain/events.hpp"
#include "bazaar/domain/json_codec.hpp"

#include <boost/json.hpp>

namespace bazaar::domain {

namespace json = boost::json;

namespace {

json::value shipping_value(const std::string& text) {
  if (text.empty())
    return nullptr;
  boost::system::error_code ec;
  auto v = json::parse(text, ec);
  return ec ? json::value(text) : v;
}

std::string text_of(const json::object& o, std::string_view key) {
  auto i = o.find(key);
  return i != o.end() && i->value().is_string() ? std::string(i->value().get_string())
                                                : std::string{};
}

std::int64_t int_of(const json::object& o, std::string_view key) {
  auto i = o.find(key);
  if (i == o.end())
    return 0;
  if (i->value().is_int64())
    return i->value().get_int64();
  if (i->value().is_uint64())
    return static_cast<std::int64_t>(i->value().get_uint64());
  return 0;
}

} // namespace

json::object order_created_data(const order& o) {
  return json::object{{"order_id", o.order_id},
                      {"customer_id", o.customer_id},
                      {"items", to_json(o.items)},
                      {"total_cents", o.total_cents()},
                      {"currency", o.currency},
                      {"card_token", o.card_token},
                      {"shipping_address", shipping_value(o.shipping_address)},
                      {"at", o.timeline.empty() ? 0 : o.timeline.back().at}};
}

json::object status_changed_data(const order& o, order_status from) {
  return json::object{{"order_id", o.order_id},
                      {"customer_id", o.customer_id},
                      {"from", to_string(from)},
                      {"to", to_string(o.status)},
                      {"reason", o.status == order_status::cancelled ? o.cancel_reason : ""},
                      {"total_cents", o.total_cents()},
                      {"currency", o.currency},
                      {"items", to_json(o.items)},
                      {"at", o.timeline.empty() ? 0 : o.timeline.back().at},
                      {"payment_id", o.payment_id},
                      {"payment_status", o.payment_status},
                      {"tracking_number", o.tracking_number}};
}

json::object payment_data(const order& o) {
  return json::object{
      {"order_id", o.order_id}, {"payment_id", o.payment_id}, {"payment_status", o.payment_status}};
}

std::optional<order> order_from_events(const std::vector<json::value>& envelopes) {
  std::optional<order> out;
  for (const auto& e : envelopes) {
    if (!e.is_object())
      return std::nullopt;
    const auto& env = e.get_object();
    auto d = env.find("data");
    if (d == env.end() || !d->value().is_object())
      return std::nullopt;
    const auto& data = d->value().get_object();
    auto type = text_of(env, "event_type");
    auto version = static_cast<std::uint64_t>(int_of(env, "version"));
    if (type == events::order_created.name) {
      auto items = data.find("items");
      if (out || items == data.end() || !items->value().is_array())
        return std::nullopt;
      order o;
      o.exists = true;
      o.order_id = text_of(data, "order_id");
      o.customer_id = text_of(data, "customer_id");
      o.currency = text_of(data, "currency");
      o.card_token = text_of(data, "card_token");
      if (auto s = data.find("shipping_address"); s != data.end() && !s->value().is_null())
        o.shipping_address =
            s->value().is_string() ? std::string(s->value().get_string()) : serialize(s->value());
      for (const auto& item : items->value().get_array()) {
        if (!item.is_object())
          return std::nullopt;
        const auto& line = item.get_object();
        o.items.push_back(order_line{text_of(line, "sku"), text_of(line, "name"),
                                     static_cast<int>(int_of(line, "quantity")),
                                     int_of(line, "unit_price_cents")});
      }
      o.timeline = {status_change{order_status::pending, int_of(data, "at")}};
      o.version = version;
      out = std::move(o);
    } else if (type == events::order_status_changed.name) {
      auto to = parse_enum<order_status>(text_of(data, "to"));
      if (!out || !to)
        return std::nullopt;
      out->status = *to;
      out->timeline.push_back(status_change{*to, int_of(data, "at")});
      if (*to == order_status::cancelled)
        out->cancel_reason = text_of(data, "reason");
      out->payment_id = text_of(data, "payment_id");
      out->payment_status = text_of(data, "payment_status");
      out->tracking_number = text_of(data, "tracking_number");
      out->version = version;
    } else if (type == events::order_payment_updated.name) {
      if (!out)
        return std::nullopt;
      out->payment_id = text_of(data, "payment_id");
      out->payment_status = text_of(data, "payment_status");
      out->version = version;
    }
  }
  return out;
}

std::optional<saga_ending> saga_ending_of(std::string_view event_type, std::string_view envelope,
                                          std::string_view snapshot) {
  if (event_type != events::order_status_changed.name)
    return std::nullopt;
  boost::system::error_code ec;
  auto v = json::parse(envelope, ec);
  const json::object* data = nullptr;
  if (!ec && v.is_object())
    if (auto* d = v.get_object().if_contains("data"); d != nullptr && d->is_object())
      data = &d->get_object();
  if (data == nullptr)
    return std::nullopt;
  auto to = parse_enum<order_status>(text_of(*data, "to"));
  auto from = parse_enum<order_status>(text_of(*data, "from"));
  saga_ending end;
  if (to == order_status::confirmed) {
    end.confirmed = true;
  } else if (to == order_status::cancelled && from != order_status::confirmed &&
             from != order_status::shipped && from != order_status::delivered) {
    end.reason = text_of(*data, "reason");
  } else {
    return std::nullopt;
  }
  auto at = int_of(*data, "at");
  if (!snapshot.empty()) {
    auto state = json::parse(snapshot, ec);
    auto o = ec ? std::nullopt : from_snapshot<order>(state);
    if (o && !o->timeline.empty() && at > 0 && at >= o->timeline.front().at)
      end.duration_ms = at - o->timeline.front().at;
  }
  return end;
}

} // namespace bazaar::domain
