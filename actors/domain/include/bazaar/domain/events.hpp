#pragma once

/// The shop's events, named once. Each is written to the outbox by one grain type (its
/// producer) and published to a topic: `topic` is the default, `kafka.topics.<name>` changes
/// it, and an empty one means the event is only journaled. Grains name their events from this
/// table; tests/unit/events_test.cpp checks the configuration's topics and routes, the read
/// side's projections and docs/API.md's "Events" table against it, so that adding an event is
/// one line here (and its producer's emit).

#include <array>
#include <string_view>

namespace bazaar::domain::events {

struct kind {
  const char* name;
  /// The grain type that writes it.
  const char* producer;
  /// Its default topic; "" when it is journaled only.
  const char* topic;
};

// The inventory grain's.
inline constexpr kind product_created{"product-created", "inventory", "product-events"};
inline constexpr kind product_updated{"product-updated", "inventory", "product-events"};
inline constexpr kind stock_updated{"stock-updated", "inventory", "stock-updated"};
inline constexpr kind product_low_stock{"product-low-stock", "inventory", "product-low-stock"};
inline constexpr kind product_deactivated{"product-deactivated", "inventory",
                                          "product-deactivated"};
inline constexpr kind product_activated{"product-activated", "inventory", "product-events"};
inline constexpr kind product_reserved{"product-reserved", "inventory", "product-reserved"};
// The basket grain's.
inline constexpr kind basket_item_added{"basket-item-added", "basket", "basket-events"};
inline constexpr kind basket_item_updated{"basket-item-updated", "basket", "basket-events"};
inline constexpr kind basket_item_removed{"basket-item-removed", "basket", "basket-events"};
inline constexpr kind basket_cleared{"basket-cleared", "basket", "basket-events"};
inline constexpr kind basket_expired{"basket-expired", "basket", "basket-events"};
inline constexpr kind basket_checked_out{"basket-checked-out", "basket", "basket-checked-out"};
// The order grain's.
inline constexpr kind order_created{"order-created", "order", "order-created"};
inline constexpr kind order_status_changed{"order-status-changed", "order", "order-status-changed"};
/// The payment changed without a status change (a refund after cancelling).
inline constexpr kind order_payment_updated{"order-payment-updated", "order", ""};
// The checkout saga's commands, with saga.transport = kafka.
inline constexpr kind product_reservation{"product-reservation", "checkout", "product-reservation"};
inline constexpr kind payment_pending{"payment-pending", "checkout", "payment-pending"};
// The payment grain's.
inline constexpr kind payment_processed{"payment-processed", "payment", "payment-processed"};

/// Every event above, in docs/API.md's order.
inline constexpr std::array<kind, 19> all{
    product_created,     product_updated,     stock_updated,        product_low_stock,
    product_deactivated, product_activated,   product_reserved,     basket_item_added,
    basket_item_updated, basket_item_removed, basket_cleared,       basket_expired,
    basket_checked_out,  order_created,       order_status_changed, order_payment_updated,
    product_reservation, payment_pending,     payment_processed};

/// The event named `name`, or nullptr.
inline const kind* find(std::string_view name) {
  for (const auto& k : all)
    if (name == k.name)
      return &k;
  return nullptr;
}

/// The field of the shop's event data that says which order a step is about. Log lines carry
/// it under this key (the node names it the runtime's log subject: runtime::set_log_subject).
inline constexpr const char* log_subject = "order_id";

} // namespace bazaar::domain::events
