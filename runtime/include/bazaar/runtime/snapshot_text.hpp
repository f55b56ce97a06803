#pragma once

/// The stored JSON text of a durable grain's state. A state type gives its snapshot form by
/// `to_snapshot(const T&)` (a JSON value, found by ADL); it may also give
/// `write_snapshot(const T&, std::string& out)`, which appends the same text written directly
/// (no JSON value built and thrown away per command). The direct form is used when it exists.

#include <boost/json/serialize.hpp>

#include <string>
#include <type_traits>
#include <utility>

namespace bazaar::runtime {

namespace detail {

template <class T, class = void>
struct has_write_snapshot : std::false_type {};
template <class T>
struct has_write_snapshot<T, std::void_t<decltype(write_snapshot(std::declval<const T&>(),
                                                                 std::declval<std::string&>()))>>
    : std::true_type {};

} // namespace detail

template <class T>
std::string snapshot_text(const T& state) {
  if constexpr (detail::has_write_snapshot<T>::value) {
    std::string out;
    write_snapshot(state, out); // ADL: the state type's own
    return out;
  } else {
    return boost::json::serialize(to_snapshot(state)); // ADL: the state type's own
  }
}

} // namespace bazaar::runtime
