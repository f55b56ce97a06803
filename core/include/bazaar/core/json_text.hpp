#pragma once

/// Writing JSON text straight into a string, without building a JSON value first: for the
/// hot paths that write the same JSON for every command (snapshots, event envelopes). The
/// text is byte for byte what Boost.JSON's serializer writes for the same value: strings
/// escape `"`, `\` and the control characters (\b \f \n \r \t, others as \u00xx), and
/// everything else, UTF-8 included, is copied as it is.

#include <boost/json/fwd.hpp>

#include <cstdint>
#include <string>
#include <string_view>

namespace bazaar::core::json_text {

/// Appends `s` as a JSON string, quotes included.
void append_string(std::string& out, std::string_view s);

/// Appends boost::json::serialize(v), serialized into `out` directly (no intermediate string).
void append_value(std::string& out, const boost::json::value& v);
void append_value(std::string& out, const boost::json::object& o);

/// Appends an integer in decimal.
void append_int(std::string& out, std::int64_t v);
void append_uint(std::string& out, std::uint64_t v);

/// Appends `"key":` (the key must need no escaping, e.g. a field name).
inline void append_key(std::string& out, std::string_view key) {
  out += '"';
  out += key;
  out += "\":";
}

} // namespace bazaar::core::json_text
