#include "bazaar/persistence/projections.hpp"

#include "bazaar/core/time.hpp"

#include <boost/json.hpp>
#include <pqxx/pqxx>
#include <spdlog/spdlog.h>

#include <functional>
#include <map>
#include <stdexcept>

namespace bazaar::persistence {

namespace json = boost::json;

namespace {

/// An event whose data a projection cannot use.
struct bad_data : std::runtime_error {
  using std::runtime_error::runtime_error;
};

// -- reading data -------------------------------------------------------------------------

std::string text(const json::object& o, const char* name) {
  const auto* v = o.if_contains(name);
  if (v == nullptr || !v->is_string())
    throw bad_data(std::string{"data."} + name + " is missing or not a string");
  return std::string(v->as_string());
}

std::optional<std::string> maybe_text(const json::object& o, const char* name) {
  const auto* v = o.if_contains(name);
  if (v == nullptr || v->is_null())
    return std::nullopt;
  if (!v->is_string())
    throw bad_data(std::string{"data."} + name + " is not a string");
  return std::string(v->as_string());
}

std::optional<std::int64_t> maybe_integer(const json::object& o, const char* name) {
  const auto* v = o.if_contains(name);
  if (v == nullptr || v->is_null())
    return std::nullopt;
  if (v->is_int64())
    return v->as_int64();
  if (v->is_uint64() && v->as_uint64() <= static_cast<std::uint64_t>(INT64_MAX))
    return static_cast<std::int64_t>(v->as_uint64());
  throw bad_data(std::string{"data."} + name + " is not an integer");
}

std::int64_t integer(const json::object& o, const char* name) {
  auto v = maybe_integer(o, name);
  if (!v)
    throw bad_data(std::string{"data."} + name + " is missing");
  return *v;
}

/// The key of the event's subject: data.<field> if present, else the aggregate id.
std::string subject(const projected_event& e, const char* field) {
  auto v = maybe_text(e.data, field);
  std::string key = v ? *v : e.aggregate_id;
  if (key.empty())
    throw bad_data(std::string{"data."} + field + " and aggregate_id are empty");
  return key;
}

struct line {
  std::string sku;
  std::int64_t quantity = 0;
  std::int64_t total_cents = 0;
};

/// data.items: [{sku, quantity, line_total_cents (or quantity * unit_price_cents)}].
std::vector<line> lines(const json::object& data) {
  const auto* v = data.if_contains("items");
  if (v == nullptr || v->is_null())
    return {};
  if (!v->is_array())
    throw bad_data("data.items is not an array");
  std::vector<line> out;
  for (const auto& item : v->as_array()) {
    if (!item.is_object())
      throw bad_data("an item of data.items is not an object");
    const auto& o = item.as_object();
    line l;
    l.sku = text(o, "sku");
    l.quantity = integer(o, "quantity");
    auto total = maybe_integer(o, "line_total_cents");
    l.total_cents = total ? *total : l.quantity * maybe_integer(o, "unit_price_cents").value_or(0);
    out.push_back(std::move(l));
  }
  return out;
}

std::int64_t units(const std::vector<line>& ls) {
  std::int64_t n = 0;
  for (const auto& l : ls)
    n += l.quantity;
  return n;
}

std::string currency(const json::object& data) {
  return maybe_text(data, "currency").value_or("USD");
}

std::int64_t version_of(const projected_event& e) {
  if (e.version > static_cast<std::uint64_t>(INT64_MAX))
    throw bad_data("version out of range");
  return static_cast<std::int64_t>(e.version);
}

/// A parameter that may be NULL (libpqxx 6 takes a null `const char*` as NULL).
const char* nullable(const std::optional<std::string>& v) {
  return v ? v->c_str() : nullptr;
}

std::optional<std::string> as_text(const std::optional<std::int64_t>& v) {
  return v ? std::optional<std::string>{std::to_string(*v)} : std::nullopt;
}

// -- the projections -----------------------------------------------------------------------

using handler = std::function<void(pqxx::work&, const projected_event&)>;

/// The statements of every projection, prepared once per connection.
void prepare(pqxx::connection& c) {
  c.prepare("rm_applied", "INSERT INTO projection_applied (projection, event_id) VALUES ($1, $2) "
                          "ON CONFLICT DO NOTHING RETURNING 1");
  // catalog: each field (group) moves only with an event at least as new as the one that set
  // it (events of one product come on several topics).
  c.prepare("rm_product_created",
            "INSERT INTO read_products AS p (sku, name, description, category, price_cents, "
            " currency, active, stock, reserved, low_stock_threshold, created, version, name_v, "
            " description_v, category_v, price_v, stock_version) "
            "VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, true, $11, $11, $11, $11, $11, $11) "
            "ON CONFLICT (sku) DO UPDATE SET created = true, currency = EXCLUDED.currency, "
            " low_stock_threshold = EXCLUDED.low_stock_threshold, "
            " active = p.active AND EXCLUDED.active, "
            " name = CASE WHEN p.name_v <= $11 THEN EXCLUDED.name ELSE p.name END, "
            " description = CASE WHEN p.description_v <= $11 THEN EXCLUDED.description "
            "  ELSE p.description END, "
            " category = CASE WHEN p.category_v <= $11 THEN EXCLUDED.category ELSE p.category END, "
            " price_cents = CASE WHEN p.price_v <= $11 THEN EXCLUDED.price_cents "
            "  ELSE p.price_cents END, "
            " stock = CASE WHEN p.stock_version <= $11 THEN EXCLUDED.stock ELSE p.stock END, "
            " reserved = CASE WHEN p.stock_version <= $11 THEN EXCLUDED.reserved "
            "  ELSE p.reserved END, "
            " name_v = GREATEST(p.name_v, $11), description_v = GREATEST(p.description_v, $11), "
            " category_v = GREATEST(p.category_v, $11), price_v = GREATEST(p.price_v, $11), "
            " stock_version = GREATEST(p.stock_version, $11), version = GREATEST(p.version, $11)");
  c.prepare("rm_product_updated",
            "INSERT INTO read_products AS p (sku, name, description, category, price_cents, "
            " version, name_v, description_v, category_v, price_v) "
            "VALUES ($1, COALESCE($2::text, ''), COALESCE($3::text, ''), COALESCE($4::text, ''), "
            " COALESCE($5::bigint, 0), $6::bigint, "
            " CASE WHEN $2::text IS NULL THEN 0 ELSE $6::bigint END, "
            " CASE WHEN $3::text IS NULL THEN 0 ELSE $6::bigint END, "
            " CASE WHEN $4::text IS NULL THEN 0 ELSE $6::bigint END, "
            " CASE WHEN $5::bigint IS NULL THEN 0 ELSE $6::bigint END) "
            "ON CONFLICT (sku) DO UPDATE SET "
            " name = CASE WHEN $2::text IS NOT NULL AND p.name_v <= $6::bigint THEN $2::text "
            "  ELSE p.name END, "
            " name_v = CASE WHEN $2::text IS NOT NULL THEN GREATEST(p.name_v, $6::bigint) "
            "  ELSE p.name_v END, "
            " description = CASE WHEN $3::text IS NOT NULL AND p.description_v <= $6::bigint "
            "  THEN $3::text ELSE p.description END, "
            " description_v = CASE WHEN $3::text IS NOT NULL "
            "  THEN GREATEST(p.description_v, $6::bigint) ELSE p.description_v END, "
            " category = CASE WHEN $4::text IS NOT NULL AND p.category_v <= $6::bigint "
            "  THEN $4::text ELSE p.category END, "
            " category_v = CASE WHEN $4::text IS NOT NULL THEN GREATEST(p.category_v, $6::bigint) "
            "  ELSE p.category_v END, "
            " price_cents = CASE WHEN $5::bigint IS NOT NULL AND p.price_v <= $6::bigint "
            "  THEN $5::bigint ELSE p.price_cents END, "
            " price_v = CASE WHEN $5::bigint IS NOT NULL THEN GREATEST(p.price_v, $6::bigint) "
            "  ELSE p.price_v END, "
            " version = GREATEST(p.version, $6::bigint)");
  c.prepare("rm_stock_updated",
            "INSERT INTO read_products AS p (sku, stock, reserved, version, stock_version) "
            "VALUES ($1, $2, $3, $4, $4) ON CONFLICT (sku) DO UPDATE SET "
            " stock = CASE WHEN p.stock_version <= $4 THEN $2 ELSE p.stock END, "
            " reserved = CASE WHEN p.stock_version <= $4 THEN $3 ELSE p.reserved END, "
            " stock_version = GREATEST(p.stock_version, $4), version = GREATEST(p.version, $4)");
  // Activation and deactivation: the newer event wins (they come on different topics).
  c.prepare("rm_product_active",
            "INSERT INTO read_products AS p (sku, active, active_v, version) "
            "VALUES ($1, $2, $3, $3) ON CONFLICT (sku) DO UPDATE SET "
            " active = CASE WHEN p.active_v < $3 THEN EXCLUDED.active ELSE p.active END, "
            " active_v = GREATEST(p.active_v, $3), version = GREATEST(p.version, $3)");
  // orders: order-created makes the row (or dates back one a status change made first); a
  // status change moves it only when it is not older than what is there.
  c.prepare("rm_order_created",
            "INSERT INTO read_orders AS o (order_id, customer_id, status, total_cents, currency, "
            " item_count, created_at_ms, updated_at_ms, version) "
            "VALUES ($1, $2, 'pending', $3, $4, $5, $6, $6, $7) "
            "ON CONFLICT (order_id) DO UPDATE SET "
            " created_at_ms = LEAST(o.created_at_ms, EXCLUDED.created_at_ms)");
  c.prepare("rm_order_status",
            "INSERT INTO read_orders AS o (order_id, customer_id, status, total_cents, currency, "
            " item_count, created_at_ms, updated_at_ms, version, cancel_reason) "
            "VALUES ($1, $2, $3, $4, $5, $6, $7, $7, $8, $9) "
            "ON CONFLICT (order_id) DO UPDATE SET status = EXCLUDED.status, "
            " cancel_reason = EXCLUDED.cancel_reason, "
            " updated_at_ms = GREATEST(o.updated_at_ms, EXCLUDED.updated_at_ms), "
            " version = EXCLUDED.version WHERE o.version <= EXCLUDED.version");
  c.prepare("rm_notification",
            "INSERT INTO read_notifications (notification_id, customer_id, channel, template, "
            " order_id, sku, created_at_ms) VALUES ($1, $2, $3, $4, $5, $6, $7) "
            "ON CONFLICT DO NOTHING");
  c.prepare("rm_sale_confirmed",
            "INSERT INTO read_sales_orders AS s (order_id, total_cents, currency, confirmed_at_ms) "
            "VALUES ($1, $2, $3, $4) ON CONFLICT (order_id) DO UPDATE SET "
            " total_cents = EXCLUDED.total_cents, currency = EXCLUDED.currency, "
            " confirmed_at_ms = COALESCE(s.confirmed_at_ms, EXCLUDED.confirmed_at_ms)");
  c.prepare("rm_sale_line",
            "INSERT INTO read_sales_lines (order_id, line, sku, quantity, revenue_cents) "
            "VALUES ($1, $2, $3, $4, $5) ON CONFLICT DO NOTHING");
  c.prepare("rm_sale_cancelled",
            "INSERT INTO read_sales_orders AS s (order_id, total_cents, currency, cancelled_at_ms) "
            "VALUES ($1, $2, $3, $4) ON CONFLICT (order_id) DO UPDATE SET "
            " cancelled_at_ms = COALESCE(s.cancelled_at_ms, EXCLUDED.cancelled_at_ms)");
}

// catalog

void product_created(pqxx::work& w, const projected_event& e) {
  const auto& d = e.data;
  auto sku = subject(e, "sku");
  auto name = text(d, "name");
  auto description = maybe_text(d, "description").value_or("");
  auto category = maybe_text(d, "category").value_or("");
  auto price = integer(d, "price_cents");
  auto cur = currency(d);
  const auto* active_v = d.if_contains("active");
  bool active = active_v == nullptr || !active_v->is_bool() || active_v->as_bool();
  auto stock = maybe_integer(d, "stock").value_or(0);
  auto reserved = maybe_integer(d, "reserved").value_or(0);
  auto threshold = maybe_integer(d, "low_stock_threshold").value_or(0);
  w.exec_prepared("rm_product_created", sku, name, description, category, price, cur, active, stock,
                  reserved, threshold, version_of(e));
}

void product_updated(pqxx::work& w, const projected_event& e) {
  const auto& d = e.data;
  auto sku = subject(e, "sku");
  auto name = maybe_text(d, "name");
  auto description = maybe_text(d, "description");
  auto category = maybe_text(d, "category");
  auto price = as_text(maybe_integer(d, "price_cents"));
  w.exec_prepared("rm_product_updated", sku, nullable(name), nullable(description),
                  nullable(category), nullable(price), version_of(e));
}

void stock_updated(pqxx::work& w, const projected_event& e) {
  auto sku = subject(e, "sku");
  auto stock = integer(e.data, "stock");
  auto reserved = integer(e.data, "reserved");
  w.exec_prepared("rm_stock_updated", sku, stock, reserved, version_of(e));
}

void product_deactivated(pqxx::work& w, const projected_event& e) {
  auto sku = subject(e, "sku");
  w.exec_prepared("rm_product_active", sku, false, version_of(e));
}

void product_activated(pqxx::work& w, const projected_event& e) {
  auto sku = subject(e, "sku");
  w.exec_prepared("rm_product_active", sku, true, version_of(e));
}

// orders

void order_created(pqxx::work& w, const projected_event& e) {
  const auto& d = e.data;
  auto id = subject(e, "order_id");
  auto customer = text(d, "customer_id");
  auto items = lines(d);
  auto total = integer(d, "total_cents");
  auto cur = currency(d);
  w.exec_prepared("rm_order_created", id, customer, total, cur, units(items), e.occurred_at_ms,
                  version_of(e));
}

void order_status(pqxx::work& w, const projected_event& e) {
  const auto& d = e.data;
  auto id = subject(e, "order_id");
  auto customer = text(d, "customer_id");
  auto to = text(d, "to");
  if (to.empty())
    throw bad_data("data.to is empty");
  auto items = lines(d);
  auto total = maybe_integer(d, "total_cents").value_or(0);
  auto cur = currency(d);
  auto reason = to == "cancelled" ? maybe_text(d, "reason").value_or("") : std::string{};
  w.exec_prepared("rm_order_status", id, customer, to, total, cur, units(items), e.occurred_at_ms,
                  version_of(e), reason);
}

// notifications: customer_id "admin" for the shop's own (low stock).

void notify(pqxx::work& w, const projected_event& e, const std::string& customer,
            const char* channel, const std::string& template_name, const std::string& order_id,
            const std::string& sku = {}) {
  w.exec_prepared("rm_notification", "ntf-" + e.event_id, customer, channel, template_name,
                  order_id, sku, e.occurred_at_ms);
}

void notify_order_status(pqxx::work& w, const projected_event& e) {
  auto to = text(e.data, "to");
  if (to != "confirmed" && to != "shipped" && to != "delivered" && to != "cancelled")
    return;
  auto id = subject(e, "order_id");
  notify(w, e, text(e.data, "customer_id"), "email", "order_" + to, id);
}

void notify_payment(pqxx::work& w, const projected_event& e) {
  if (text(e.data, "status") != "declined")
    return;
  notify(w, e, text(e.data, "customer_id"), "sms", "payment_declined", text(e.data, "order_id"));
}

void notify_low_stock(pqxx::work& w, const projected_event& e) {
  notify(w, e, "admin", "email", "low_stock", "", subject(e, "sku"));
}

// sales

void sale(pqxx::work& w, const projected_event& e) {
  const auto& d = e.data;
  auto to = text(d, "to");
  if (to != "confirmed" && to != "cancelled")
    return;
  auto id = subject(e, "order_id");
  auto total = maybe_integer(d, "total_cents").value_or(0);
  auto cur = currency(d);
  if (to == "cancelled") {
    w.exec_prepared("rm_sale_cancelled", id, total, cur, e.occurred_at_ms);
    return;
  }
  auto items = lines(d);
  w.exec_prepared("rm_sale_confirmed", id, total, cur, e.occurred_at_ms);
  for (std::size_t i = 0; i < items.size(); ++i)
    w.exec_prepared("rm_sale_line", id, static_cast<int>(i), items[i].sku, items[i].quantity,
                    items[i].total_cents);
}

/// The handlers of each projection by event type.
const std::map<std::string, std::map<std::string, handler>>& handlers() {
  static const std::map<std::string, std::map<std::string, handler>> all = {
      {"catalog",
       {{"product-created", product_created},
        {"product-updated", product_updated},
        {"stock-updated", stock_updated},
        {"product-deactivated", product_deactivated},
        {"product-activated", product_activated}}},
      {"orders", {{"order-created", order_created}, {"order-status-changed", order_status}}},
      {"notifications",
       {{"order-status-changed", notify_order_status},
        {"payment-processed", notify_payment},
        {"product-low-stock", notify_low_stock}}},
      {"sales", {{"order-status-changed", sale}}},
  };
  return all;
}

/// Whether a database error blames the data (SQLSTATE classes 22, data exception, and 23,
/// integrity violation): applying the same event again would fail again. Anything else
/// (connection, timeout, missing table before the migrations ran, ...) is of the moment.
bool blames_data(const std::exception& e) {
  const auto* sql = dynamic_cast<const pqxx::sql_error*>(&e);
  if (sql == nullptr)
    return false;
  const auto& state = sql->sqlstate();
  return state.rfind("22", 0) == 0 || state.rfind("23", 0) == 0;
}

} // namespace

const std::vector<projection_spec>& projections() {
  static const std::vector<projection_spec> all = [] {
    std::vector<projection_spec> out;
    for (const char* name : {"catalog", "orders", "notifications", "sales"}) {
      projection_spec p{name, {}};
      for (const auto& [type, h] : handlers().at(name))
        p.event_types.push_back(type);
      out.push_back(std::move(p));
    }
    return out;
  }();
  return all;
}

projection_source pg_projections(pg_settings settings) {
  projection_source source;
  source.projections = projections();
  source.open = [settings = std::move(settings)](const std::string& name) {
    return std::make_unique<pg_projection_store>(settings, name);
  };
  return source;
}

pg_projection_store::pg_projection_store(pg_settings settings, std::string name)
    : settings_(std::move(settings)), name_(std::move(name)) {
  if (handlers().count(name_) == 0)
    throw std::invalid_argument("there is no projection \"" + name_ + "\"");
}

pg_projection_store::~pg_projection_store() = default;

bool pg_projection_store::connected(std::string& error) {
  if (conn_ && conn_->is_open())
    return true;
  try {
    conn_ = connect(settings_);
    prepare(*conn_);
    return true;
  } catch (const std::exception& e) {
    conn_.reset();
    error = e.what();
    return false;
  }
}

std::optional<apply_outcome> pg_projection_store::apply(const std::vector<projected_event>& events,
                                                        std::string& error) {
  if (!connected(error))
    return std::nullopt;
  const auto& mine = handlers().at(name_);
  // Runs `batch` in one transaction; throws what the database threw.
  auto run = [&](const std::vector<const projected_event*>& batch, apply_outcome& total) {
    apply_outcome out;
    pqxx::work w{*conn_};
    for (const auto* e : batch) {
      auto h = mine.find(e->event_type);
      if (h == mine.end()) {
        ++out.ignored;
        continue;
      }
      // A savepoint per event would cost a round trip each; instead an event's data is read
      // before anything of it is written (the handlers throw bad_data before their SQL).
      if (w.exec_prepared("rm_applied", name_, e->event_id).empty()) {
        ++out.duplicates;
        continue;
      }
      try {
        h->second(w, *e);
        ++out.applied;
      } catch (const bad_data& bad) {
        ++out.rejected;
        out.problems.push_back(e->event_id + " (" + e->event_type + "): " + bad.what());
      }
    }
    w.commit();
    total.applied += out.applied;
    total.duplicates += out.duplicates;
    total.ignored += out.ignored;
    total.rejected += out.rejected;
    for (auto& p : out.problems)
      total.problems.push_back(std::move(p));
  };
  std::vector<const projected_event*> all;
  all.reserve(events.size());
  for (const auto& e : events)
    all.push_back(&e);
  apply_outcome out;
  try {
    run(all, out);
    return out;
  } catch (const std::exception& e) {
    if (!blames_data(e)) {
      error = e.what();
      if (!conn_->is_open())
        conn_.reset();
      return std::nullopt;
    }
    spdlog::warn("projection {}: a batch of {} events was refused ({}); applying them one by one",
                 name_, events.size(), e.what());
  }
  // One by one: the events the database refuses are skipped.
  for (const auto* e : all) {
    try {
      run({e}, out);
    } catch (const std::exception& x) {
      if (!blames_data(x)) {
        error = x.what();
        if (!conn_->is_open())
          conn_.reset();
        return std::nullopt; // what was applied stays applied: the retry skips it
      }
      ++out.rejected;
      out.problems.push_back(e->event_id + " (" + e->event_type + "): " + x.what());
    }
  }
  return out;
}

} // namespace bazaar::persistence
