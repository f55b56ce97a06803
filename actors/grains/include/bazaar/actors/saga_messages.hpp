#pragma once

/// What the checkout saga is told by the grains around it with the grains transport
/// (saga.transport = grains): its order grain starts it, and the payment grain tells it a
/// slow gateway's answer. Apart from checkout_grain.hpp so that those grains can send them
/// without knowing the saga. Both are answered with a bool, like a Kafka record.

#include "bazaar/actors/domain_inspect.hpp"
#include "bazaar/domain/checkout.hpp"
#include "bazaar/runtime/command_meta.hpp"

#include <caf/meta/type_name.hpp>

#include <string>

namespace bazaar::actors {

/// The saga's grain type.
inline constexpr const char* checkout_grain_type = "checkout";

/// Starts the checkout of a committed order, or drives an unfinished one on from where it
/// stands (every participant's step is idempotent, so asking again changes nothing twice).
/// Sent by the order grain once the order is committed, and again by the order's reminder
/// until the order is confirmed or cancelled.
struct checkout_begin {
  static constexpr bool logged_at_info = true; ///< a step of a checkout (step_log.hpp)
  domain::checkout_start start;
  /// When the order was created (ms): the reservation wait counts from it.
  std::int64_t created_at = 0;
  runtime::command_meta meta;
};
BAZAAR_DESCRIBE(checkout_begin, (start, created_at, meta))

/// The payment of the saga's order was decided after its charge was answered `pending` (a
/// slow gateway): the saga asks the payment again and goes on.
struct checkout_payment_decided {
  static constexpr bool logged_at_info = true; ///< a step of a checkout (step_log.hpp)
  std::string order_id;
  runtime::command_meta meta;
};
BAZAAR_DESCRIBE(checkout_payment_decided, (order_id, meta))

} // namespace bazaar::actors
