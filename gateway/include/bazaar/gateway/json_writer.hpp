#pragma once

/// JSON appended straight to a byte buffer (an answer's body), with exactly the bytes
/// boost::json::serialize gives for the same value: no intermediate string, and for the
/// basket, the answer of every basket route, no JSON tree either.

#include <boost/json/value.hpp>

#include <string>
#include <string_view>

namespace bazaar::domain {
struct basket;
}

namespace bazaar::gateway {

/// Appends `text` as a JSON string, quoted and escaped as Boost.JSON escapes: `"` and `\`,
/// \b \f \n \r \t, other bytes below 0x20 as \u00xx; every other byte as it is.
void append_json_string(std::string& out, std::string_view text);

/// Appends boost::json::serialize(v), serialized into `out` directly.
void append_json(std::string& out, const boost::json::value& v);

/// Appends boost::json::serialize(domain::to_json(b)) without building the tree.
void append_json(std::string& out, const domain::basket& b);

} // namespace bazaar::gateway
