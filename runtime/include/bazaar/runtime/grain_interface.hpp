#pragma once

/// Grain interfaces: each grain type declares the messages it handles and what each answers as
/// a CAF typed-actor signature list,
///
///     using interface = caf::typed_actor<caf::replies_to<basket_get>::with<domain::basket>,
///                                        caf::replies_to<basket_add>::with<domain::basket>>;
///
/// and everything else is derived from it: callers learn a message's reply type from it (a
/// message the grain does not handle is a compile error), the grain's behavior is generated
/// from it (a message without a handler is a compile error), and the message types are
/// registered with CAF from it, named by their `inspect` functions.

#include <caf/actor_system_config.hpp>
#include <caf/detail/type_list.hpp>
#include <caf/meta/type_name.hpp>
#include <caf/replies_to.hpp>
#include <caf/type_nr.hpp>
#include <caf/typed_actor.hpp>

#include <string>
#include <type_traits>

namespace bazaar::runtime {

namespace detail {

template <class Msg, class Signatures>
struct find_reply {
  static constexpr bool found = false;
  using type = void;
};

template <class Msg, class In, class Out, class... Rest>
struct find_reply<
    Msg, caf::detail::type_list<caf::typed_mpi<caf::detail::type_list<In>, caf::output_tuple<Out>>,
                                Rest...>> {
  using next = find_reply<Msg, caf::detail::type_list<Rest...>>;
  static constexpr bool found = std::is_same<Msg, In>::value || next::found;
  using type = std::conditional_t<std::is_same<Msg, In>::value, Out, typename next::type>;
};

/// An inspector that only records the name an `inspect` function gives its type.
struct type_name_probe {
  using result_type = void;
  static constexpr bool reads_state = true;
  static constexpr bool writes_state = false;
  const char* name = nullptr;

  template <class... Ts>
  void operator()(Ts&&... xs) {
    (take(xs), ...);
  }
  void take(const caf::meta::type_name_t& x) { name = x.value; }
  template <class T>
  void take(const T&) {}
};

} // namespace detail

/// Whether the grain interface `Interface` handles `Msg`.
template <class Interface, class Msg>
inline constexpr bool handles_v =
    detail::find_reply<std::decay_t<Msg>, typename Interface::signatures>::found;

/// What grain interface `Interface` answers to `Msg`; a message it does not handle does not
/// compile.
template <class Interface, class Msg>
struct reply_of {
  using lookup = detail::find_reply<std::decay_t<Msg>, typename Interface::signatures>;
  static_assert(lookup::found, "this grain interface does not handle this message type");
  using type = typename lookup::type;
};

template <class Interface, class Msg>
using reply_t = typename reply_of<Interface, Msg>::type;

/// The name `inspect` gives a type, e.g. "bazaar.basket_add".
template <class T>
std::string inspect_name() {
  T value{};
  detail::type_name_probe probe;
  inspect(probe, value);
  return probe.name != nullptr ? probe.name : "";
}

/// Registers one message type with CAF under its `inspect` name (CAF's builtin types need no
/// registration).
template <class T>
void register_message_type(caf::actor_system_config& cfg) {
  if constexpr (caf::type_nr<T>::value == 0 && !caf::is_atom_constant<T>::value)
    cfg.add_message_type<T>(inspect_name<T>());
}

namespace detail {

template <class In, class Out>
void register_signature(caf::actor_system_config& cfg,
                        caf::typed_mpi<caf::detail::type_list<In>, caf::output_tuple<Out>>) {
  register_message_type<In>(cfg);
  if constexpr (!std::is_void<Out>::value)
    register_message_type<Out>(cfg);
}

template <class... Sigs>
void register_signatures(caf::actor_system_config& cfg, caf::detail::type_list<Sigs...>) {
  (register_signature(cfg, Sigs{}), ...);
}

} // namespace detail

/// Registers every message type of a grain interface, and every answer type, with CAF.
template <class Interface>
void register_interface(caf::actor_system_config& cfg) {
  detail::register_signatures(cfg, typename Interface::signatures{});
}

} // namespace bazaar::runtime
