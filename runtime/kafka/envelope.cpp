#include "bazaar/kafka/envelope.hpp"

#include "bazaar/core/time.hpp"

#include <boost/json.hpp>

#include <optional>

namespace bazaar::kafka {

namespace json = boost::json;
using persistence::projected_event;

std::variant<projected_event, std::string> decode_envelope(std::string_view value) {
  boost::system::error_code ec;
  auto v = json::parse(json::string_view{value.data(), value.size()}, ec);
  if (ec)
    return "the value is not JSON: " + ec.message();
  if (!v.is_object())
    return std::string{"the value is not a JSON object"};
  const auto& o = v.as_object();
  projected_event e;
  const auto* id = o.if_contains("event_id");
  const auto* type = o.if_contains("event_type");
  if (id == nullptr || !id->is_string() || id->as_string().empty() || type == nullptr ||
      !type->is_string() || type->as_string().empty())
    return std::string{"the envelope has no event_id or event_type"};
  e.event_id = std::string(id->as_string());
  e.event_type = std::string(type->as_string());
  if (const auto* agg = o.if_contains("aggregate_id"); agg != nullptr && agg->is_string())
    e.aggregate_id = std::string(agg->as_string());
  const auto* version = o.if_contains("version");
  if (version == nullptr ||
      !(version->is_uint64() || (version->is_int64() && version->as_int64() >= 0)))
    return std::string{"the envelope's version is not an integer >= 0"};
  e.version =
      version->is_uint64() ? version->as_uint64() : static_cast<std::uint64_t>(version->as_int64());
  const auto* at = o.if_contains("occurred_at");
  std::optional<core::timestamp_ms> at_ms;
  if (at != nullptr && at->is_string())
    at_ms = core::parse_rfc3339(std::string_view{at->as_string().data(), at->as_string().size()});
  if (!at_ms)
    return std::string{"the envelope's occurred_at is not an RFC 3339 time"};
  e.occurred_at_ms = *at_ms;
  const auto* data = o.if_contains("data");
  if (data == nullptr || !data->is_object())
    return std::string{"the envelope's data is not an object"};
  e.data = data->as_object();
  return e;
}

} // namespace bazaar::kafka
