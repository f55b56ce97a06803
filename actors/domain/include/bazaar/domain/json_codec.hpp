#pragma once

/// The JSON forms of the domain's state, derived from each type's description (described.hpp,
/// json_form.hpp): the snapshot form a durable grain stores, and the API form of docs/API.md,
/// which differs only where api_shapes.hpp says so.

#include "bazaar/domain/api_shapes.hpp"
#include "bazaar/domain/checkout.hpp"
#include "bazaar/domain/payment.hpp"

#include <boost/json/array.hpp>
#include <boost/json/value.hpp>

#include <optional>
#include <string>

namespace bazaar::domain {

/// Appends the snapshot form as JSON text. Durable grains find it by ADL (snapshot_text.hpp).
template <class T, std::enable_if_t<is_described_v<T>, int> = 0>
void write_snapshot(const T& x, std::string& out) {
  json_form::append_snapshot(out, x);
}

/// The snapshot form as a JSON value.
boost::json::value parse_form(const std::string& text);
template <class T, std::enable_if_t<is_described_v<T>, int> = 0>
boost::json::value to_snapshot(const T& x) {
  std::string text;
  write_snapshot(x, text);
  return parse_form(text);
}

/// The API form as a JSON value (answers write it as text: json_form::append_api).
template <class T, std::enable_if_t<is_described_v<T>, int> = 0>
boost::json::value to_json(const T& x) {
  std::string text;
  json_form::append_api(text, x);
  return parse_form(text);
}
/// Order lines as the API shows them (with line_total_cents).
boost::json::array to_json(const std::vector<order_line>& lines);

/// Snapshots written before the forms were derived from descriptions (up to 9a05171): the
/// basket, the product and the order stored their API form plus extras. These give such a
/// snapshot in today's form; nullopt for a snapshot of today's form (read as it is, uncopied).
std::optional<boost::json::object> upgraded(const boost::json::object& stored, const basket*);
std::optional<boost::json::object> upgraded(const boost::json::object& stored, const product*);
std::optional<boost::json::object> upgraded(const boost::json::object& stored, const order*);
template <class T>
std::optional<boost::json::object> upgraded(const boost::json::object&, const T*) {
  return std::nullopt;
}

/// Reads a stored snapshot back; nullopt when it is not a JSON object with a `version`, or a
/// member has a value of another type.
template <class T>
std::optional<T> from_snapshot(const boost::json::value& v) {
  if (!v.is_object() || !v.get_object().contains("version"))
    return std::nullopt;
  const auto& stored = v.get_object();
  auto old = upgraded(stored, static_cast<const T*>(nullptr));
  T x;
  if (!json_form::read_members(old ? *old : stored, x))
    return std::nullopt;
  return x;
}

} // namespace bazaar::domain
