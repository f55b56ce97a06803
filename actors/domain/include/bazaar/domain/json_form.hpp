#pragma once

/// The JSON forms of described types (described.hpp), derived from their descriptions:
///   - the snapshot form: every data member under its own name, then the derived values;
///     timestamps as integer milliseconds, enums as their names;
///   - the API form (docs/API.md): the snapshot form, except where the type's `api_shape` says
///     otherwise (hidden members, renamed keys, times as RFC 3339 text, ...).
/// Both are written as JSON text straight into a string. The reader takes the data members back
/// from a JSON value: a member the JSON lacks keeps its default (snapshots written before the
/// member existed), one of another JSON type refuses the whole value.

#include "bazaar/core/json_text.hpp"
#include "bazaar/core/time.hpp"
#include "bazaar/domain/described.hpp"

#include <boost/json/value.hpp>

#include <cstdint>
#include <limits>
#include <map>
#include <string>
#include <vector>

namespace bazaar::domain {

/// Where a type's API form differs from its snapshot form. Each specialization derives from
/// this and hides what it changes; every question is asked of a member's name at compile time.
struct api_shape_base {
  /// Not shown in the API.
  static constexpr bool hidden(std::string_view) { return false; }
  /// The API's key for a member.
  static constexpr std::string_view key(std::string_view member) { return member; }
  /// A timestamp, shown as RFC 3339 text (null when 0).
  static constexpr bool time(std::string_view) { return false; }
  /// A text member left out when empty.
  static constexpr bool omit_empty(std::string_view) { return false; }
  /// A text member holding JSON text, shown as that JSON (null when empty or not JSON).
  static constexpr bool json_text(std::string_view) { return false; }
  /// Members the API adds, written after the described ones with `field(key)` opening each.
  template <class T, class Field>
  static void extra(const T&, Field&&) {}
};

/// The primary template: the API shows the snapshot form.
template <class T>
struct api_shape : api_shape_base {};

namespace json_form {

/// Writes the snapshot form (`Shape` = plain_shape) or the API form (`Shape` = api_shape).
template <class T>
using plain_shape = api_shape_base;

namespace detail {

template <class>
inline constexpr bool always_false = false;
template <class V>
struct is_vector : std::false_type {};
template <class V, class A>
struct is_vector<std::vector<V, A>> : std::true_type {};
template <class V>
struct is_string_map : std::false_type {};
template <class V, class C, class A>
struct is_string_map<std::map<std::string, V, C, A>> : std::true_type {};
template <class V>
struct is_optional : std::false_type {};
template <class V>
struct is_optional<std::optional<V>> : std::true_type {};

/// The JSON text `text` as a JSON value written into `out`, or null when it is not JSON.
void append_json_text(std::string& out, std::string_view text);

} // namespace detail

template <template <class> class Shape, class T>
void append_object(std::string& out, const T& x);

/// Appends one value of a supported type as JSON text.
template <template <class> class Shape, class V>
void append_value(std::string& out, const V& v) {
  namespace jt = core::json_text;
  if constexpr (std::is_same_v<V, bool>) {
    out += v ? "true" : "false";
  } else if constexpr (std::is_enum_v<V>) {
    jt::append_string(out, to_string(v));
  } else if constexpr (std::is_integral_v<V> && std::is_signed_v<V>) {
    jt::append_int(out, v);
  } else if constexpr (std::is_integral_v<V>) {
    jt::append_uint(out, v);
  } else if constexpr (std::is_same_v<V, std::string>) {
    jt::append_string(out, v);
  } else if constexpr (detail::is_vector<V>::value) {
    out += '[';
    for (std::size_t i = 0; i < v.size(); ++i) {
      if (i != 0)
        out += ',';
      append_value<Shape>(out, v[i]);
    }
    out += ']';
  } else if constexpr (detail::is_string_map<V>::value) {
    out += '{';
    bool first = true;
    for (const auto& [key, item] : v) {
      if (!first)
        out += ',';
      first = false;
      jt::append_string(out, key); // escaped: a key that is data
      out += ':';
      append_value<Shape>(out, item);
    }
    out += '}';
  } else if constexpr (detail::is_optional<V>::value) {
    if (v)
      append_value<Shape>(out, *v);
    else
      out += "null";
  } else if constexpr (is_described_v<V>) {
    append_object<Shape>(out, v);
  } else {
    static_assert(detail::always_false<V>, "no JSON form for this member type");
  }
}

/// Appends a described value as a JSON object: its data members, its derived values, and what
/// its shape adds.
template <template <class> class Shape, class T>
void append_object(std::string& out, const T& x) {
  using shape = Shape<T>;
  out += '{';
  bool first = true;
  auto field = [&](std::string_view key) {
    if (!first)
      out += ',';
    first = false;
    core::json_text::append_key(out, key);
  };
  boost::mp11::mp_for_each<data_members<T>>([&](auto d) {
    using D = decltype(d);
    constexpr std::string_view name = D::name;
    const auto& v = x.*D::pointer;
    using V = std::decay_t<decltype(v)>;
    if constexpr (!shape::hidden(name)) {
      if constexpr (shape::omit_empty(name)) {
        if (v.empty())
          return;
      }
      field(shape::key(name));
      if constexpr (shape::time(name)) {
        static_assert(std::is_same_v<V, core::timestamp_ms>, "a time is a timestamp_ms");
        if (v == 0) {
          out += "null";
        } else {
          out += '"';
          core::append_rfc3339(out, v);
          out += '"';
        }
      } else if constexpr (shape::json_text(name)) {
        static_assert(std::is_same_v<V, std::string>, "JSON text is a string");
        detail::append_json_text(out, v);
      } else {
        append_value<Shape>(out, v);
      }
    }
  });
  boost::mp11::mp_for_each<derived_values<T>>([&](auto d) {
    using D = decltype(d);
    constexpr std::string_view name = D::name;
    if constexpr (!shape::hidden(name)) {
      field(shape::key(name));
      append_value<Shape>(out, (x.*D::pointer)());
    }
  });
  shape::extra(x, [&](std::string_view key) -> std::string& {
    field(key);
    return out;
  });
  out += '}';
}

template <class T>
bool read_value(const boost::json::value& j, T& v);

/// Reads the data members of a described value from a JSON object (see the file comment).
template <class T>
bool read_members(const boost::json::object& o, T& x) {
  bool ok = true;
  boost::mp11::mp_for_each<data_members<T>>([&](auto d) {
    using D = decltype(d);
    if (!ok)
      return;
    if (auto it = o.find(D::name); it != o.end())
      ok = read_value(it->value(), x.*D::pointer);
  });
  return ok;
}

/// read_members of a JSON value that must be an object.
template <class T>
bool read_object(const boost::json::value& j, T& x) {
  return j.is_object() && read_members(j.get_object(), x);
}

/// Reads one value of a supported type; false when the JSON is of another type or range.
template <class V>
bool read_value(const boost::json::value& j, V& v) {
  if constexpr (std::is_same_v<V, bool>) {
    if (!j.is_bool())
      return false;
    v = j.get_bool();
    return true;
  } else if constexpr (std::is_enum_v<V>) {
    if (!j.is_string())
      return false;
    auto e = parse_enum<V>(std::string_view(j.get_string()));
    if (e)
      v = *e;
    return e.has_value();
  } else if constexpr (std::is_integral_v<V>) {
    using limits = std::numeric_limits<V>;
    if (j.is_int64()) {
      auto n = j.get_int64();
      if (n < 0 && !std::is_signed_v<V>)
        return false;
      if constexpr (std::is_signed_v<V>) {
        if (n < static_cast<std::int64_t>(limits::min()) ||
            n > static_cast<std::int64_t>(limits::max()))
          return false;
      } else if (static_cast<std::uint64_t>(n) > static_cast<std::uint64_t>(limits::max())) {
        return false;
      }
      v = static_cast<V>(n);
      return true;
    }
    if (j.is_uint64()) {
      auto n = j.get_uint64();
      if (n > static_cast<std::uint64_t>(limits::max()))
        return false;
      v = static_cast<V>(n);
      return true;
    }
    return false;
  } else if constexpr (std::is_same_v<V, std::string>) {
    if (!j.is_string())
      return false;
    v.assign(j.get_string().data(), j.get_string().size());
    return true;
  } else if constexpr (detail::is_vector<V>::value) {
    if (!j.is_array())
      return false;
    V items;
    items.reserve(j.get_array().size());
    for (const auto& item : j.get_array()) {
      typename V::value_type one{};
      if (!read_value(item, one))
        return false;
      items.push_back(std::move(one));
    }
    v = std::move(items);
    return true;
  } else if constexpr (detail::is_string_map<V>::value) {
    if (!j.is_object())
      return false;
    V items;
    for (const auto& [key, item] : j.get_object()) {
      typename V::mapped_type one{};
      if (!read_value(item, one))
        return false;
      items.emplace(std::string(key), std::move(one));
    }
    v = std::move(items);
    return true;
  } else if constexpr (detail::is_optional<V>::value) {
    if (j.is_null()) {
      v.reset();
      return true;
    }
    typename V::value_type one{};
    if (!read_value(j, one))
      return false;
    v = std::move(one);
    return true;
  } else if constexpr (is_described_v<V>) {
    return read_object(j, v);
  } else {
    static_assert(detail::always_false<V>, "no JSON form for this member type");
  }
}

/// The snapshot form of a described value, as JSON text appended to `out`.
template <class T>
void append_snapshot(std::string& out, const T& x) {
  append_object<plain_shape>(out, x);
}

/// The API form of a described value (or a vector of them), as JSON text appended to `out`.
template <class T>
void append_api(std::string& out, const T& x) {
  append_value<api_shape>(out, x);
}

} // namespace json_form

} // namespace bazaar::domain
