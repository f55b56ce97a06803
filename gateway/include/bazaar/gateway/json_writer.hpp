#pragma once

/// JSON appended straight to a byte buffer (an answer's body), with exactly the bytes
/// boost::json::serialize gives for the same value: no intermediate string, and for the
/// basket, the answer of every basket route, no JSON tree either (strings, integers and time
/// stamps written by core::json_text and core::append_rfc3339).

#include <boost/json/value.hpp>

#include <string>
#include <string_view>

namespace bazaar::domain {
struct basket;
}

namespace bazaar::gateway {

/// Appends boost::json::serialize(v), serialized into `out` directly.
void append_json(std::string& out, const boost::json::value& v);

/// Appends boost::json::serialize(domain::to_json(b)) without building the tree.
void append_json(std::string& out, const domain::basket& b);

} // namespace bazaar::gateway
