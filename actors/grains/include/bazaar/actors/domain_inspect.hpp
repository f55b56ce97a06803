#pragma once

/// How described types (bazaar/domain/described.hpp) travel in CAF messages, locally and
/// between nodes: one `inspect`, derived from the type's description, that hands CAF every data
/// member in order under the type's name ("bazaar.<type>"). It lives beside the grains because
/// the domain knows no CAF; the grains' messages are described the same way.

#include "bazaar/domain/described.hpp"

#include <caf/error.hpp>
#include <caf/meta/load_callback.hpp>
#include <caf/meta/type_name.hpp>

#include <optional>
#include <tuple>

namespace bazaar::domain {

namespace inspect_detail {

/// A std::optional travels as a flag and a value (CAF 0.17 has no std::optional support).
template <class T>
struct optional_part {
  std::optional<T>* ref;
};

template <class Inspector, class T>
typename Inspector::result_type inspect(Inspector& f, optional_part<T>& x) {
  bool has = x.ref->has_value();
  T value = x.ref->value_or(T{});
  auto load = [&]() -> caf::error {
    if (has)
      *x.ref = std::move(value);
    else
      x.ref->reset();
    return caf::none;
  };
  return f(has, value, caf::meta::load_callback(load));
}

template <class V>
V& part(V& v) {
  return v;
}
template <class V>
optional_part<V> part(std::optional<V>& v) {
  return {&v};
}

template <class Inspector, class T, template <class...> class List, class... Ds>
typename Inspector::result_type inspect_members(Inspector& f, T& x, List<Ds...>) {
  std::tuple<decltype(part(x.*Ds::pointer))...> parts{part(x.*Ds::pointer)...};
  return std::apply([&](auto&... p) { return f(caf::meta::type_name(described_name(&x)), p...); },
                    parts);
}

} // namespace inspect_detail

template <class Inspector, class T, std::enable_if_t<is_described_v<T>, int> = 0>
typename Inspector::result_type inspect(Inspector& f, T& x) {
  return inspect_detail::inspect_members(f, x, data_members<T>{});
}

} // namespace bazaar::domain

namespace bazaar::actors {
// The grains' messages are described in this namespace; CAF finds their inspect here.
using domain::inspect;
} // namespace bazaar::actors
