#pragma once

/// What the platform reads off a grain message type: its Idempotency-Key, who asked, and
/// whether a grain definition answers it as a query (from the committed state, changing
/// nothing).

#include "bazaar/runtime/command_meta.hpp"
#include "bazaar/runtime/kafka_record.hpp"
#include "bazaar/runtime/reminders.hpp"

#include <type_traits>
#include <utility>

namespace bazaar::runtime {

namespace detail {

template <class T, class = void>
struct has_idem : std::false_type {};
template <class T>
struct has_idem<T, std::void_t<decltype(std::declval<const T&>().idem)>> : std::true_type {};

template <class T, class = void>
struct has_meta : std::false_type {};
template <class T>
struct has_meta<T, std::void_t<decltype(std::declval<const T&>().meta)>> : std::true_type {};

template <class G, class Msg, class = void>
struct is_query : std::false_type {};
template <class G, class Msg>
struct is_query<G, Msg,
                std::void_t<decltype(std::declval<const G&>().on(
                    std::declval<const typename G::state&>(), std::declval<const Msg&>()))>>
    : std::true_type {};

} // namespace detail

/// The Idempotency-Key of a message: its `idem` member, a Kafka record's event id, or none.
template <class Msg>
idempotency idempotency_of(const Msg& msg) {
  if constexpr (detail::has_idem<Msg>::value)
    return msg.idem;
  else if constexpr (std::is_same<Msg, kafka_record>::value)
    return idempotency{"kafka", msg.event_id, 0};
  else
    return idempotency{};
}

/// Who asked: a message's `meta` member (a Kafka record's is its envelope's metadata);
/// reminders are the system's.
template <class Msg>
command_meta meta_of(const Msg& msg) {
  if constexpr (detail::has_meta<Msg>::value)
    return msg.meta;
  else if constexpr (std::is_same<Msg, reminder_due>::value)
    return command_meta{{}, "system"};
  else
    return command_meta{};
}

} // namespace bazaar::runtime
