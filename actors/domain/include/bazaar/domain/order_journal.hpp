#pragma once

/// The order's events (their `data`, docs/API.md "Events") and the order folded back from them:
/// both directions in one place, so that what the journal says and what the snapshot holds
/// stay the same thing.

#include "bazaar/domain/order.hpp"

#include <boost/json/object.hpp>
#include <boost/json/value.hpp>

#include <optional>
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

} // namespace bazaar::domain
