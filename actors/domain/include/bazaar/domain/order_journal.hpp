#pragma once

/// The order's events (their `data`, docs/API.md "Events") and the order folded back from them:
/// both directions in one place, so that what the journal says and what the snapshot holds
/// stay the same thing.

#include "bazaar/domain/order.hpp"

#include <boost/json/object.hpp>
#include <boost/json/value.hpp>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace bazaar::domain {

/// order-created: order_id, customer_id, items, total_cents, currency, card_token,
/// shipping_address (an object or null), at (ms).
boost::json::object order_created_data(const order& o);

/// order-status-changed: order_id, customer_id, from, to, reason, total_cents, currency, items,
/// at (ms), and payment_id, payment_status, tracking_number.
boost::json::object status_changed_data(const order& o, order_status from);

/// order-payment-updated: order_id, payment_id, payment_status.
boost::json::object payment_data(const order& o);

/// The order its journal describes: `envelopes` are its events, oldest first (each with
/// event_type, version and data). nullopt when they do not start with an order-created.
std::optional<order> order_from_events(const std::vector<boost::json::value>& envelopes);

/// How a committed event ends its order's checkout saga: an order confirmed, or cancelled
/// before it was (cancelled after its confirmation, its saga had ended already).
struct saga_ending {
  bool confirmed = false;
  /// The cancel reason as the event gives it (cancel_reasons, or a customer's free text);
  /// empty when confirmed.
  std::string reason;
  /// From the order's creation to the event; -1 when unknown.
  std::int64_t duration_ms = -1;
};

/// The saga ending that the event `event_type` with `envelope` says, given the order's
/// snapshot committed with it (empty: not known); nullopt for every other event, and for one
/// that cannot be read.
std::optional<saga_ending> saga_ending_of(std::string_view event_type, std::string_view envelope,
                                          std::string_view snapshot);

} // namespace bazaar::domain
