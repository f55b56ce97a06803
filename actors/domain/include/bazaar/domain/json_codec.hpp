#pragma once

/// JSON forms of the domain state: the API form of docs/API.md, and the snapshot form, which is
/// the API form plus what the API does not show (exact timestamps), so what an admin
/// inspects is what is stored.

#include "bazaar/domain/basket.hpp"
#include "bazaar/domain/checkout.hpp"
#include "bazaar/domain/order.hpp"
#include "bazaar/domain/payment.hpp"
#include "bazaar/domain/product.hpp"

#include <boost/json/array.hpp>
#include <boost/json/value.hpp>

#include <optional>
#include <string>

namespace bazaar::domain {

boost::json::value to_json(const basket& b);
boost::json::value to_json(const product& p);
boost::json::value to_json(const order& o);
/// Order lines as the API shows them (with line_total_cents).
boost::json::array to_json(const std::vector<order_line>& lines);

boost::json::value to_snapshot(const basket& b);
boost::json::value to_snapshot(const product& p);
boost::json::value to_snapshot(const order& o);

/// Appends the snapshot form as JSON text, written directly: the same text as
/// `boost::json::serialize(to_snapshot(x))`, without building the JSON value. Durable grains
/// use it (found by ADL) when a state type has it.
void write_snapshot(const basket& b, std::string& out);
void write_snapshot(const product& p, std::string& out);

/// Reads a snapshot form back; nullopt if the JSON is not a basket/product of this form.
std::optional<basket> basket_from_json(const boost::json::value& v);
std::optional<product> product_from_json(const boost::json::value& v);
std::optional<order> order_from_json(const boost::json::value& v);

/// The checkout saga and the payment: their snapshot form is also what admins see.
boost::json::value to_json(const checkout& c);
boost::json::value to_snapshot(const checkout& c);
std::optional<checkout> checkout_from_json(const boost::json::value& v);
boost::json::value to_json(const payment& p);
boost::json::value to_snapshot(const payment& p);
std::optional<payment> payment_from_json(const boost::json::value& v);

} // namespace bazaar::domain
