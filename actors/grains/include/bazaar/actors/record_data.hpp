#pragma once

/// Reading the `data` of a Kafka record's event envelope (docs/API.md "Events"), for grains
/// that consume records: a record that is not what the grain expects is refused with a
/// bad_request naming what is wrong (the bridge retries it, then dead-letters it).

#include "bazaar/domain/failure.hpp"
#include "bazaar/runtime/kafka_record.hpp"

#include <boost/json.hpp>

#include <optional>
#include <string>
#include <variant>

namespace bazaar::actors {

/// The envelope's data object of record `r`, or why there is none.
inline std::variant<domain::failure, boost::json::object>
record_data(const runtime::kafka_record& r) {
  boost::system::error_code ec;
  auto envelope = boost::json::parse(r.envelope, ec);
  if (ec || !envelope.is_object())
    return domain::failure{
        domain::errc::bad_request, "a " + r.event_type + " record needs a JSON envelope", {}};
  auto& o = envelope.get_object();
  auto d = o.find("data");
  if (d == o.end() || !d->value().is_object())
    return domain::failure{domain::errc::bad_request,
                           "a " + r.event_type + " record needs an envelope with a data object",
                           {}};
  return std::move(d->value().get_object());
}

/// A string field of `data`, or nullopt when missing or of another type.
inline std::optional<std::string> data_text(const boost::json::object& data, const char* key) {
  auto it = data.find(key);
  if (it == data.end() || !it->value().is_string())
    return std::nullopt;
  return std::string(it->value().get_string());
}

/// An integer field of `data`, or nullopt when missing or of another type.
inline std::optional<std::int64_t> data_int(const boost::json::object& data, const char* key) {
  auto it = data.find(key);
  if (it == data.end())
    return std::nullopt;
  if (it->value().is_int64())
    return it->value().get_int64();
  if (it->value().is_uint64() && it->value().get_uint64() <= INT64_MAX)
    return static_cast<std::int64_t>(it->value().get_uint64());
  return std::nullopt;
}

/// A refusal of a record that does not carry what its handler needs.
inline domain::failure bad_record(std::string why) {
  return domain::failure{domain::errc::bad_request, std::move(why), {}};
}

} // namespace bazaar::actors
