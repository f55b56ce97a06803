#pragma once

/// JSON appended straight to a byte buffer (an answer's body), with exactly the bytes
/// boost::json::serialize gives for the same value, without an intermediate string. (Domain
/// state is written as text by domain::json_form::append_api, without a JSON tree at all.)

#include <boost/json/value.hpp>

#include <string>
#include <string_view>

namespace bazaar::gateway {

/// Appends boost::json::serialize(v), serialized into `out` directly.
void append_json(std::string& out, const boost::json::value& v);

} // namespace bazaar::gateway
