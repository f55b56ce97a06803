#pragma once

/// The inventory grain (key = sku): a catalog product, its stock, and the reservations of its
/// units per order. Admins create, update, restock and deactivate it; the checkout saga
/// reserves, releases and commits units through `product-reservation` records (or the typed
/// calls), and learns the outcome of a reserve from the `product-reserved` event. Reads
/// reflect every acknowledged write at once.

#include "bazaar/actors/domain_inspect.hpp"
#include "bazaar/actors/record_data.hpp"
#include "bazaar/domain/events.hpp"
#include "bazaar/domain/json_codec.hpp"
#include "bazaar/runtime/durable_grain.hpp"

#include <boost/json.hpp>

#include <optional>
#include <string>
#include <variant>

namespace bazaar::actors {

// -- messages --------------------------------------------------------------------------------

/// Answers the product, with `exists == false` for a sku never created.
struct product_get {};
BAZAAR_DESCRIBE(product_get, ())

/// Creates the product; `conflict` when it exists.
struct product_create {
  domain::product_draft draft;
  runtime::command_meta meta;
  runtime::idempotency idem;
};
BAZAAR_DESCRIBE(product_create, (draft, meta, idem))

/// Changes name, description, category or price; answers the product.
struct product_change {
  domain::product_update update;
  runtime::command_meta meta;
  runtime::idempotency idem;
};
BAZAAR_DESCRIBE(product_change, (update, meta, idem))

/// Adds to or sets the stock; answers the product.
struct product_stock {
  domain::stock_change change;
  runtime::command_meta meta;
  runtime::idempotency idem;
};
BAZAAR_DESCRIBE(product_stock, (change, meta, idem))

/// Takes the product off sale; answers the product.
struct product_deactivate {
  runtime::command_meta meta;
  runtime::idempotency idem;
};
BAZAAR_DESCRIBE(product_deactivate, (meta, idem))

/// Puts a deactivated product on sale again; answers the product.
struct product_activate {
  runtime::command_meta meta;
  runtime::idempotency idem;
};
BAZAAR_DESCRIBE(product_activate, (meta, idem))

/// Reserves units for an order; answers the order's reservation (its first answer).
struct product_reserve {
  std::string order_id;
  std::int64_t quantity = 0;
  runtime::command_meta meta;
  runtime::idempotency idem;
};
BAZAAR_DESCRIBE(product_reserve, (order_id, quantity, meta, idem))

/// Gives an order's units back; answers the product. `sold`: the units the order bought
/// (domain::sold_of), returned even when the product has forgotten the sale.
struct product_release {
  std::string order_id;
  runtime::command_meta meta;
  runtime::idempotency idem;
  std::int64_t sold = 0;
};
BAZAAR_DESCRIBE(product_release, (order_id, meta, idem, sold))

/// Turns an order's reservation into a sale; answers the product.
struct product_commit {
  std::string order_id;
  runtime::command_meta meta;
  runtime::idempotency idem;
};
BAZAAR_DESCRIBE(product_commit, (order_id, meta, idem))

// -- the grain -------------------------------------------------------------------------------

struct inventory_grain {
  static constexpr const char* type = "inventory";
  /// Products are read by every basket that adds them: they stay longer than the default.
  static constexpr int idle_timeout_ms = 30 * 60 * 1000;
  using state = domain::product;
  using command = runtime::command<domain::product>;
  using result = runtime::outcome<domain::product>;
  /// How long a product remembers an ended reservation (inventory.reservation_retention_s).
  std::chrono::milliseconds keep_closed = std::chrono::hours{7 * 24};
  using interface = caf::typed_actor<caf::replies_to<product_get>::with<domain::product>,
                                     caf::replies_to<product_create>::with<domain::product>,
                                     caf::replies_to<product_change>::with<domain::product>,
                                     caf::replies_to<product_stock>::with<domain::product>,
                                     caf::replies_to<product_deactivate>::with<domain::product>,
                                     caf::replies_to<product_activate>::with<domain::product>,
                                     caf::replies_to<product_reserve>::with<domain::reservation>,
                                     caf::replies_to<product_release>::with<domain::product>,
                                     caf::replies_to<product_commit>::with<domain::product>,
                                     caf::replies_to<runtime::kafka_record>::with<bool>>;

  static domain::product initial(const std::string& sku) {
    domain::product p;
    p.sku = sku;
    return p;
  }
  static std::optional<domain::product> from_snapshot(const boost::json::value& v) {
    return domain::from_snapshot<domain::product>(v);
  }

  domain::product on(const domain::product& p, const product_get&) const { return p; }

  result on(command& c, const product_create& cmd) const {
    auto& p = c.state();
    if (cmd.draft.sku != p.sku)
      return domain::validation_failed("sku", "sku does not name this product");
    if (auto bad = p.create(cmd.draft, c.now()))
      return *bad;
    c.emit(domain::events::product_created.name, domain::to_json(p).as_object());
    c.emit(domain::events::stock_updated.name,
           {{"sku", p.sku}, {"stock", p.stock}, {"reserved", p.reserved}});
    return p;
  }

  result on(command& c, const product_change& cmd) const {
    auto& p = c.state();
    auto before = p.version;
    if (auto bad = p.update(cmd.update, c.now()))
      return *bad;
    if (p.version != before) {
      boost::json::object data{{"sku", p.sku}};
      if (cmd.update.name)
        data["name"] = p.name;
      if (cmd.update.description)
        data["description"] = p.description;
      if (cmd.update.category)
        data["category"] = p.category;
      if (cmd.update.price_cents)
        data["price_cents"] = p.price_cents;
      c.emit(domain::events::product_updated.name, std::move(data));
    }
    return p;
  }

  result on(command& c, const product_stock& cmd) const {
    auto& p = c.state();
    auto was = counts(p);
    if (auto bad = p.change_stock(cmd.change, c.now()))
      return *bad;
    stock_events(c, was);
    return p;
  }

  result on(command& c, const product_deactivate&) const {
    auto& p = c.state();
    bool was_active = p.active;
    if (auto bad = p.deactivate(c.now()))
      return *bad;
    if (was_active)
      c.emit(domain::events::product_deactivated.name, {{"sku", p.sku}});
    return p;
  }

  result on(command& c, const product_activate&) const {
    auto& p = c.state();
    bool was_active = p.active;
    if (auto bad = p.activate(c.now()))
      return *bad;
    if (!was_active)
      c.emit(domain::events::product_activated.name, {{"sku", p.sku}});
    return p;
  }

  runtime::outcome<domain::reservation> on(command& c, const product_reserve& cmd) const {
    if (auto bad = domain::product::validate_reservation(cmd.order_id, cmd.quantity))
      return *bad;
    return reserve(c, cmd.order_id, cmd.quantity);
  }

  result on(command& c, const product_release& cmd) const {
    if (auto bad = domain::product::validate_reservation(cmd.order_id, 1))
      return *bad;
    if (cmd.sold < 0 || cmd.sold > domain::max_stock)
      return domain::validation_failed("sold",
                                       "sold must be 0.." + std::to_string(domain::max_stock));
    if (auto bad = release(c, cmd.order_id, cmd.sold))
      return *bad;
    return c.state();
  }

  result on(command& c, const product_commit& cmd) const {
    if (auto bad = domain::product::validate_reservation(cmd.order_id, 1))
      return *bad;
    if (auto bad = commit(c, cmd.order_id))
      return *bad;
    return c.state();
  }

  /// A `product-reservation` record: data {order_id, sku, quantity, type reserve|release|
  /// commit}. A reserve is answered with a `product-reserved` event. A record that is not such
  /// a request is refused (the bridge retries it, then dead-letters it).
  runtime::outcome<bool> on(command& c, const runtime::kafka_record& r) const {
    auto request = reservation_request_of(r, c.state().sku);
    if (auto* bad = std::get_if<domain::failure>(&request))
      return *bad;
    const auto& req = std::get<reservation_request>(request);
    if (auto bad = domain::product::validate_reservation(req.order_id, req.quantity))
      return *bad;
    if (req.type == "reserve") {
      reserve(c, req.order_id, req.quantity);
    } else if (req.type == "release") {
      if (auto bad = release(c, req.order_id, req.sold))
        return *bad;
    } else if (auto bad = commit(c, req.order_id)) {
      return *bad;
    }
    return true;
  }

 private:
  struct stock_counts {
    std::int64_t stock;
    std::int64_t reserved;
  };
  static stock_counts counts(const domain::product& p) { return {p.stock, p.reserved}; }

  /// `stock-updated` when stock or reserved changed, and `product-low-stock` when available
  /// units just fell to or below the threshold.
  static void stock_events(command& c, stock_counts was) {
    const auto& p = c.state();
    if (p.stock == was.stock && p.reserved == was.reserved)
      return;
    c.emit(domain::events::stock_updated.name,
           {{"sku", p.sku}, {"stock", p.stock}, {"reserved", p.reserved}});
    if (p.crossed_low_stock(was.stock - was.reserved))
      c.emit(domain::events::product_low_stock.name,
             {{"sku", p.sku}, {"available", p.available()}, {"threshold", p.low_stock_threshold}});
  }

  /// The `status` of a product-reserved event: rejected, released (a release came first), or
  /// reserved.
  static const char* reserved_status(const domain::reservation& r) {
    if (!r.accepted())
      return "rejected";
    bool given_back = r.status == domain::reservation_status::released ||
                      r.status == domain::reservation_status::returned;
    return given_back ? "released" : "reserved";
  }

  /// Reserves, and answers with `product-reserved` (the first answer for the order again when
  /// it asked before).
  domain::reservation reserve(command& c, const std::string& order_id,
                              std::int64_t quantity) const {
    auto& p = c.state();
    auto was = counts(p);
    auto r = p.reserve(order_id, quantity, c.now());
    p.forget_closed(c.now(), keep_closed);
    c.emit(domain::events::product_reserved.name, {{"order_id", order_id},
                                                   {"sku", p.sku},
                                                   {"quantity", r.quantity},
                                                   {"status", reserved_status(r)},
                                                   {"reason", r.reason}});
    stock_events(c, was);
    return r;
  }

  domain::maybe_failure release(command& c, const std::string& order_id, std::int64_t sold) const {
    auto& p = c.state();
    auto was = counts(p);
    if (auto bad = p.release(order_id, c.now(), sold))
      return bad;
    p.forget_closed(c.now(), keep_closed);
    stock_events(c, was);
    return std::nullopt;
  }

  domain::maybe_failure commit(command& c, const std::string& order_id) const {
    auto& p = c.state();
    auto was = counts(p);
    if (auto bad = p.commit(order_id, c.now()))
      return bad;
    p.forget_closed(c.now(), keep_closed);
    stock_events(c, was);
    return std::nullopt;
  }

  struct reservation_request {
    std::string order_id;
    std::string type;
    std::int64_t quantity = 1;
    std::int64_t sold = 0;
  };

  /// The request a `product-reservation` record carries for product `sku`, or why it is none.
  static std::variant<domain::failure, reservation_request>
  reservation_request_of(const runtime::kafka_record& r, const std::string& sku) {
    if (r.event_type != domain::events::product_reservation.name)
      return bad_record("the inventory grain handles product-reservation records, not '" +
                        r.event_type + "'");
    auto parsed = record_data(r);
    if (auto* bad = std::get_if<domain::failure>(&parsed))
      return *bad;
    const auto& data = std::get<boost::json::object>(parsed);
    reservation_request req;
    auto order_id = data_text(data, "order_id");
    auto type = data_text(data, "type");
    auto record_sku = data_text(data, "sku");
    if (!order_id || !type || !record_sku)
      return bad_record("a product-reservation needs the strings order_id, sku and type");
    if (*record_sku != sku)
      return bad_record("the record is for sku '" + *record_sku + "', not '" + sku + "'");
    if (*type != "reserve" && *type != "release" && *type != "commit")
      return bad_record("type must be reserve, release or commit, not '" + *type + "'");
    req.order_id = *order_id;
    req.type = *type;
    if (req.type == "reserve") {
      auto q = data_int(data, "quantity");
      if (!q)
        return bad_record("a reserve needs an integer quantity");
      req.quantity = *q;
    }
    if (req.type == "release" && data.contains("sold")) {
      auto sold = data_int(data, "sold");
      if (!sold || *sold < 0 || *sold > domain::max_stock)
        return bad_record("a release's sold must be an integer 0.." +
                          std::to_string(domain::max_stock));
      req.sold = *sold;
    }
    return req;
  }
};

} // namespace bazaar::actors
