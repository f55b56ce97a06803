#pragma once

/// The one place where the API form of a domain type (docs/API.md) differs from its
/// description (json_form.hpp). A member not named here is shown under its own name; a type not
/// named here (checkout, payment: admins see them) is shown as it is stored.

#include "bazaar/domain/basket.hpp"
#include "bazaar/domain/json_form.hpp"
#include "bazaar/domain/order.hpp"
#include "bazaar/domain/product.hpp"

namespace bazaar::domain {

/// A basket shows its lines as `items` and when it changed as text.
template <>
struct api_shape<basket> : api_shape_base {
  static constexpr std::string_view key(std::string_view m) { return m == "lines" ? "items" : m; }
  static constexpr bool time(std::string_view m) { return m == "updated_at"; }
};

/// A product shows neither its reservations nor when it changed.
template <>
struct api_shape<product> : api_shape_base {
  static constexpr bool hidden(std::string_view m) {
    return m == "exists" || m == "reservations" || m == "updated_at";
  }
};

/// A status change shows when as text.
template <>
struct api_shape<status_change> : api_shape_base {
  static constexpr bool time(std::string_view m) { return m == "at"; }
};

/// An order hides the card token; shows its payment as an object (when there is one), its
/// cancel reason and tracking number when set, and its shipping address as the JSON it was.
template <>
struct api_shape<order> : api_shape_base {
  static constexpr bool hidden(std::string_view m) {
    return m == "exists" || m == "card_token" || m == "payment_id" || m == "payment_status";
  }
  static constexpr bool omit_empty(std::string_view m) {
    return m == "cancel_reason" || m == "tracking_number";
  }
  static constexpr bool json_text(std::string_view m) { return m == "shipping_address"; }
  template <class Field>
  static void extra(const order& o, Field&& field) {
    if (o.payment_id.empty())
      return;
    auto& out = field("payment");
    out += "{\"payment_id\":";
    core::json_text::append_string(out, o.payment_id);
    out += ",\"status\":";
    core::json_text::append_string(out, o.payment_status);
    out += '}';
  }
};

} // namespace bazaar::domain
