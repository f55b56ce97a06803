#pragma once

/// The shop's grain types, in one list: adding a grain type is adding its definition here.

#include "bazaar/actors/basket_grain.hpp"
#include "bazaar/actors/checkout_grain.hpp"
#include "bazaar/actors/inventory_grain.hpp"
#include "bazaar/actors/order_grain.hpp"
#include "bazaar/actors/payment_grain.hpp"
#include "bazaar/config/options.hpp"
#include "bazaar/runtime/grain_types.hpp"

#include <caf/actor_system_config.hpp>

#include <tuple>

namespace bazaar::actors {

/// Every grain type of the shop, each definition with its settings.
inline auto shop_grains(const config::node_options& opts) {
  const bool by_calls = opts.saga.transport == "grains";
  checkout_grain checkout;
  checkout.reservation_timeout = std::chrono::milliseconds{opts.saga.reservation_timeout_ms};
  checkout.payment_timeout = std::chrono::milliseconds{opts.saga.payment_timeout_ms};
  checkout.by_calls = by_calls;
  checkout.retry_after = std::chrono::milliseconds{opts.saga.resume_after_ms};
  order_grain order;
  order.starts_saga = by_calls;
  order.resume_after = std::chrono::milliseconds{opts.saga.resume_after_ms};
  payment_grain payment;
  payment.decline_rate = opts.payment.decline_rate;
  payment.seed = static_cast<std::uint64_t>(opts.payment.seed);
  payment.tells_saga = by_calls;
  inventory_grain inventory;
  inventory.keep_closed = std::chrono::seconds{opts.inventory.reservation_retention_s};
  return std::make_tuple(basket_grain{std::chrono::seconds{opts.basket.ttl_s}}, inventory, order,
                         checkout, payment);
}

/// Registers the message types of every shop grain, and the runtime's, with CAF. Call before
/// the actor_system exists.
void register_types(caf::actor_system_config& cfg);

/// Makes every shop grain type activatable in `grains`. Throws std::invalid_argument naming
/// the key when the options name a grain type that does not exist.
void register_grains(runtime::catalog& grains, const config::node_options& opts,
                     const runtime::grain_services& services);

} // namespace bazaar::actors
