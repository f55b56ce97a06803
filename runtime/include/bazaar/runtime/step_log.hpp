#pragma once

/// The log line of a durable grain's command (durable_grain.hpp): once the command committed
/// (or was refused) the grain logs what it handled and the events it emitted, e.g.
/// `handled record product-reservation(type=reserve): emits product-reserved(status=reserved),
/// stock-updated`, with the command's correlation id, the grain and the order id. Kafka
/// records, reminders and command types that say so (`static constexpr bool logged_at_info =
/// true;`: the steps of a checkout) are logged at info, other commands (basket writes) at
/// debug, so that a load of plain requests writes no line per request. Events are described by
/// their type and their `type`, `status`, `to` and `reason` fields only: never by what else
/// their data holds (a card token).

#include "bazaar/runtime/kafka_record.hpp"
#include "bazaar/runtime/reminders.hpp"

#include <boost/json/object.hpp>
#include <spdlog/common.h>

#include <string>
#include <string_view>
#include <type_traits>
#include <typeinfo>
#include <vector>

namespace bazaar::runtime {

/// `event_type(type=…, status=…, to=…, reason=…)` with the fields `data` has (as strings).
std::string describe_event(std::string_view event_type, const boost::json::object& data);

/// The field of `data` that names the log subject (logging.hpp, set_log_subject) when it is a
/// string, else "".
std::string subject_in(const boost::json::object& data);

/// An event envelope (JSON text) described as describe_event does; `subject` gets the
/// envelope's subject (subject_in of its data) unless it has one already.
std::string describe_envelope(std::string_view envelope, std::string& subject);

/// The unqualified name of a C++ type (`basket_add`), for log lines.
std::string type_name_of(const std::type_info& t);

namespace detail {

template <class T, class = void>
struct says_logged_at_info : std::false_type {};
template <class T>
struct says_logged_at_info<T, std::void_t<decltype(T::logged_at_info)>>
    : std::bool_constant<T::logged_at_info> {};

} // namespace detail

/// The level a command of message type Msg is logged at.
template <class Msg>
constexpr spdlog::level::level_enum step_level() {
  if constexpr (std::is_same<Msg, kafka_record>::value || std::is_same<Msg, reminder_due>::value ||
                detail::says_logged_at_info<Msg>::value)
    return spdlog::level::info;
  else
    return spdlog::level::debug;
}

/// What a command is, for its log line: "record <event>(…) <event id>", "reminder <name>" or
/// the message type's name.
template <class Msg>
std::string step_name(const Msg& msg) {
  if constexpr (std::is_same<Msg, kafka_record>::value)
    return "record " + (msg.detail.empty() ? msg.event_type : msg.detail) + " " + msg.event_id;
  else if constexpr (std::is_same<Msg, reminder_due>::value)
    return "reminder " + msg.name;
  else {
    static const std::string name = type_name_of(typeid(Msg));
    return name;
  }
}

/// The log line of the command a grain handles now; `on` is false when its level is not logged
/// (then nothing else is filled).
struct step_note {
  bool on = false;
  spdlog::level::level_enum level = spdlog::level::debug;
  std::string what;
  std::string subject; ///< known from the message (a record's subject: subject_in of its data)
};

} // namespace bazaar::runtime
