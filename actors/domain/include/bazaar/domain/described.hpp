#pragma once

/// One description per type (Boost.Describe). A domain type, command or event payload is
/// described once, beside its definition, with `BAZAAR_DESCRIBE(type, (member, ...))`; its
/// enums are defined with BOOST_DEFINE_FIXED_ENUM_CLASS. Everything that lists a type's members
/// derives from that description:
///   - the snapshot and API JSON forms (json_form.hpp; where the API differs, api_shape says so),
///   - remote serialization (the CAF `inspect` of bazaar/actors/described_inspect.hpp),
///   - the names of enumerators (to_string / parse_enum below).
///
/// A description lists the public data members, then the derived values a form shows (const
/// member functions without arguments, e.g. `total_cents`): forms write them, readers skip them.

#include <boost/describe/class.hpp>
#include <boost/describe/enum.hpp>
#include <boost/describe/enumerators.hpp>
#include <boost/describe/members.hpp>
#include <boost/describe/modifiers.hpp>
#include <boost/mp11/algorithm.hpp>

#include <optional>
#include <string_view>
#include <type_traits>

/// Describes `T` (data members and derived values) and names it "bazaar.<T>" for the wire.
#define BAZAAR_DESCRIBE(T, Members)                                                                \
  BOOST_DESCRIBE_STRUCT(T, (), Members)                                                            \
  inline constexpr const char* described_name(const T*) {                                          \
    return "bazaar." #T;                                                                           \
  }

namespace bazaar::domain {

template <class T>
inline constexpr bool is_described_v = boost::describe::has_describe_members<T>::value;

template <class E>
inline constexpr bool is_described_enum_v = boost::describe::has_describe_enumerators<E>::value;

/// The data members of a described type, in their order.
template <class T>
using data_members = boost::describe::describe_members<T, boost::describe::mod_public>;

/// The derived values of a described type (const member functions without arguments).
template <class T>
using derived_values = boost::describe::describe_members<T, boost::describe::mod_public |
                                                                boost::describe::mod_function>;

/// The name of an enumerator ("" for a value that is none).
template <class E, std::enable_if_t<is_described_enum_v<E>, int> = 0>
std::string_view to_string(E e) {
  std::string_view name;
  boost::mp11::mp_for_each<boost::describe::describe_enumerators<E>>([&](auto d) {
    if (d.value == e)
      name = d.name;
  });
  return name;
}

/// The enumerator of a name; nullopt for any other text.
template <class E>
std::optional<E> parse_enum(std::string_view text) {
  static_assert(is_described_enum_v<E>, "describe the enum with BOOST_DEFINE_FIXED_ENUM_CLASS");
  std::optional<E> found;
  boost::mp11::mp_for_each<boost::describe::describe_enumerators<E>>([&](auto d) {
    if (!found && text == d.name)
      found = d.value;
  });
  return found;
}

} // namespace bazaar::domain
