#include "bazaar/domain/product.hpp"

namespace bazaar::domain {

namespace {

maybe_failure check_name(const std::string& name) {
  if (name.empty() || name.size() > max_name_length)
    return validation_failed("name", "name must be 1..200 characters");
  return std::nullopt;
}

maybe_failure check_description(const std::string& description) {
  if (description.size() > max_description_length)
    return validation_failed("description", "description must be at most 4000 characters");
  return std::nullopt;
}

maybe_failure check_category(const std::string& category) {
  if (category.empty() || category.size() > max_name_length)
    return validation_failed("category", "category must be 1..200 characters");
  return std::nullopt;
}

maybe_failure check_price(std::int64_t price_cents) {
  if (price_cents < 0 || price_cents > max_price_cents)
    return validation_failed("price_cents", "price_cents must be between 0 and 100000000000");
  return std::nullopt;
}

maybe_failure no_product(const std::string& sku) {
  return not_found("no product " + sku);
}

} // namespace

maybe_failure product::validate(const product_draft& d) {
  if (!is_identifier(d.sku))
    return validation_failed("sku", "sku must be 1..64 characters of [A-Za-z0-9._:-]");
  if (auto bad = check_name(d.name))
    return bad;
  if (auto bad = check_description(d.description))
    return bad;
  if (auto bad = check_category(d.category))
    return bad;
  if (auto bad = check_price(d.price_cents))
    return bad;
  if (!is_currency(d.currency))
    return validation_failed("currency", "currency must be an ISO 4217 code such as USD");
  if (d.stock < 0 || d.stock > max_stock)
    return validation_failed("stock", "stock must be between 0 and 1000000000");
  if (d.low_stock_threshold < 0 || d.low_stock_threshold > max_stock)
    return validation_failed("low_stock_threshold",
                             "low_stock_threshold must be between 0 and 1000000000");
  return std::nullopt;
}

maybe_failure product::create(const product_draft& d, timestamp_ms now) {
  if (exists)
    return conflict("product " + d.sku + " already exists");
  if (auto bad = validate(d))
    return bad;
  exists = true;
  sku = d.sku;
  name = d.name;
  description = d.description;
  category = d.category;
  price_cents = d.price_cents;
  currency = d.currency;
  active = true;
  stock = d.stock;
  reserved = 0;
  low_stock_threshold = d.low_stock_threshold;
  ++version;
  updated_at = now;
  return std::nullopt;
}

maybe_failure product::validate(const product_update& u) {
  if (!u.name && !u.description && !u.category && !u.price_cents)
    return validation_failed("name",
                             "give at least one of name, description, category, price_cents");
  if (u.name)
    if (auto bad = check_name(*u.name))
      return bad;
  if (u.description)
    if (auto bad = check_description(*u.description))
      return bad;
  if (u.category)
    if (auto bad = check_category(*u.category))
      return bad;
  if (u.price_cents)
    if (auto bad = check_price(*u.price_cents))
      return bad;
  return std::nullopt;
}

maybe_failure product::update(const product_update& u, timestamp_ms now) {
  if (!exists)
    return no_product(sku);
  if (auto bad = validate(u))
    return bad;
  bool changed = false;
  auto take = [&changed](auto& field, const auto& value) {
    if (value && field != *value) {
      field = *value;
      changed = true;
    }
  };
  take(name, u.name);
  take(description, u.description);
  take(category, u.category);
  take(price_cents, u.price_cents);
  if (changed) {
    ++version;
    updated_at = now;
  }
  return std::nullopt;
}

maybe_failure product::validate(const stock_change& c) {
  if (c.delta.has_value() == c.set.has_value())
    return validation_failed("delta", "give exactly one of delta and set");
  if (c.set && (*c.set < 0 || *c.set > max_stock))
    return validation_failed("set", "set must be between 0 and 1000000000");
  if (c.delta && (*c.delta < -max_stock || *c.delta > max_stock))
    return validation_failed("delta", "delta must be between -1000000000 and 1000000000");
  return std::nullopt;
}

maybe_failure product::change_stock(const stock_change& c, timestamp_ms now) {
  if (!exists)
    return no_product(sku);
  if (auto bad = validate(c))
    return bad;
  auto field = c.set ? "set" : "delta";
  auto next = c.set ? *c.set : stock + *c.delta;
  if (next < 0 || next > max_stock)
    return validation_failed(field, "stock would be " + std::to_string(next) +
                                        "; it must stay between 0 and 1000000000");
  if (next < reserved)
    return conflict("stock would be " + std::to_string(next) + ", below the " +
                    std::to_string(reserved) + " units reserved");
  if (next != stock) {
    stock = next;
    ++version;
    updated_at = now;
  }
  return std::nullopt;
}

maybe_failure product::deactivate(timestamp_ms now) {
  if (!exists)
    return no_product(sku);
  if (active) {
    active = false;
    ++version;
    updated_at = now;
  }
  return std::nullopt;
}

maybe_failure product::activate(timestamp_ms now) {
  if (!exists)
    return no_product(sku);
  if (!active) {
    active = true;
    ++version;
    updated_at = now;
  }
  return std::nullopt;
}

maybe_failure product::validate_reservation(const std::string& order_id, std::int64_t quantity) {
  if (!is_identifier(order_id))
    return validation_failed("order_id", "order_id must be 1..64 characters of [A-Za-z0-9._:-]");
  if (quantity < 1 || quantity > max_stock)
    return validation_failed("quantity", "quantity must be between 1 and 1000000000");
  return std::nullopt;
}

reservation product::reserve(const std::string& order_id, std::int64_t quantity, timestamp_ms now) {
  if (!exists)
    return reservation{order_id, quantity, reservation_status::rejected,
                       std::string(reason_unknown_product)};
  if (auto known = reservations.find(order_id); known != reservations.end())
    return known->second;
  reservation r{order_id, quantity, reservation_status::reserved, {}, now};
  if (!active) {
    r.status = reservation_status::rejected;
    r.reason = reason_product_inactive;
  } else if (available() < quantity) {
    r.status = reservation_status::rejected;
    r.reason = reason_out_of_stock;
  } else {
    reserved += quantity;
  }
  reservations.emplace(order_id, r);
  ++version;
  updated_at = now;
  return r;
}

maybe_failure product::release(const std::string& order_id, timestamp_ms now, std::int64_t sold) {
  auto r = reservations.find(order_id);
  if (r == reservations.end()) {
    if (!exists)
      return std::nullopt;
    if (sold > 0) {
      stock += sold;
      reservations.emplace(
          order_id, reservation{order_id, sold, reservation_status::returned, std::string{}, now});
    } else {
      reservations.emplace(
          order_id, reservation{order_id, 0, reservation_status::released, std::string{}, now});
    }
    ++version;
    updated_at = now;
    return std::nullopt;
  }
  switch (r->second.status) {
  case reservation_status::reserved:
    reserved -= r->second.quantity;
    r->second.status = reservation_status::released;
    break;
  case reservation_status::committed:
    stock += r->second.quantity;
    r->second.status = reservation_status::returned;
    break;
  case reservation_status::rejected:
  case reservation_status::released:
  case reservation_status::returned:
    return std::nullopt;
  }
  r->second.at = now;
  ++version;
  updated_at = now;
  return std::nullopt;
}

maybe_failure product::commit(const std::string& order_id, timestamp_ms now) {
  auto r = reservations.find(order_id);
  if (r == reservations.end())
    return conflict("order " + order_id + " holds no reservation of " + sku);
  switch (r->second.status) {
  case reservation_status::reserved:
    reserved -= r->second.quantity;
    stock -= r->second.quantity;
    r->second.status = reservation_status::committed;
    r->second.at = now;
    ++version;
    updated_at = now;
    return std::nullopt;
  case reservation_status::committed:
    return std::nullopt;
  case reservation_status::rejected:
    return conflict("the reservation of order " + order_id + " was rejected");
  case reservation_status::released:
  case reservation_status::returned:
    return conflict("the reservation of order " + order_id + " was released");
  }
  return std::nullopt;
}

std::size_t product::forget_closed(timestamp_ms now, std::chrono::milliseconds keep) {
  std::size_t forgotten = 0;
  for (auto r = reservations.begin(); r != reservations.end();) {
    if (r->second.status != reservation_status::reserved && r->second.at == 0) {
      // Ended before its time was kept: its age counts from now. (Its order's saga may not
      // say that it sold, so the product must remember the sale for a while yet.)
      r->second.at = now;
      ++r;
    } else if (r->second.status != reservation_status::reserved &&
               r->second.at <= now - keep.count()) {
      r = reservations.erase(r);
      ++forgotten;
    } else {
      ++r;
    }
  }
  return forgotten;
}

} // namespace bazaar::domain
