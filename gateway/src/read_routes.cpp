#include "bazaar/gateway/read_routes.hpp"

#include "bazaar/domain/json_codec.hpp"
#include "bazaar/domain/order.hpp"
#include "bazaar/domain/product.hpp"
#include "query_reader.hpp"

#include <boost/json.hpp>

#include <charconv>
#include <optional>
#include <string>

namespace bazaar::gateway {

namespace json = boost::json;
using domain::errc;

namespace {

/// The most orders and notifications one answer lists (the newest).
constexpr std::size_t max_listed = 100;
/// The largest page_size; larger ones are clamped to it (docs/API.md).
constexpr std::int64_t max_page_size = 100;
domain::failure unavailable() {
  return domain::failure{errc::unavailable, "the read models are unavailable; retry shortly", {}};
}

/// Whether the read models exist; answers 503 if not.
bool have(domain::read_models* models, const responder_ptr& out) {
  if (models != nullptr)
    return true;
  out->fail(unavailable());
  return false;
}

void add_catalog_routes(router& r, domain::read_models* models) {
  r.add("GET", "/api/v1/products", access::customer,
        [models](http_request& req, const responder_ptr& out) {
          query_reader in{req};
          domain::product_query q;
          q.text = in.text("q");
          q.category = in.text("category");
          q.min_price_cents = in.integer("min_price_cents", 0, domain::max_price_cents);
          q.max_price_cents = in.integer("max_price_cents", 0, domain::max_price_cents);
          q.page = in.integer("page", 1, 1'000'000).value_or(1);
          q.page_size =
              std::min(max_page_size, in.integer("page_size", 1, 1'000'000'000).value_or(20));
          if (in.error())
            return out->fail(*in.error());
          if (!have(models, out))
            return;
          auto page = q.page, page_size = q.page_size;
          models->products(std::move(q),
                           [out, page, page_size](std::optional<domain::product_page> found) {
                             if (!found)
                               return out->fail(unavailable());
                             out->json_with(200, [&](std::string& body) {
                               body += "{\"items\":";
                               domain::json_form::append_api(body, found->items);
                               body += ",\"page\":" + std::to_string(page) +
                                       ",\"page_size\":" + std::to_string(page_size) +
                                       ",\"total\":" + std::to_string(found->total) + '}';
                             });
                           });
        });
  r.add("GET", "/api/v1/categories", access::customer,
        [models](http_request&, const responder_ptr& out) {
          if (!have(models, out))
            return;
          models->categories([out](std::optional<std::vector<domain::category_count>> found) {
            if (!found)
              return out->fail(unavailable());
            json::array items;
            for (const auto& c : *found)
              items.push_back(json::object{{"name", c.name}, {"product_count", c.product_count}});
            out->json(200, json::object{{"items", std::move(items)}});
          });
        });
}

/// docs/API.md `order summary`.
json::value summary_json(const domain::order_summary& o) {
  return json::object{{"order_id", o.order_id},
                      {"customer_id", o.customer_id},
                      {"status", o.status},
                      {"total_cents", o.total_cents},
                      {"currency", o.currency},
                      {"item_count", o.item_count},
                      {"cancel_reason", o.cancel_reason.empty() ? json::value(nullptr)
                                                                : json::value(o.cancel_reason)},
                      {"created_at", core::format_rfc3339(o.created_at_ms)},
                      {"updated_at", core::format_rfc3339(o.updated_at_ms)}};
}

/// The cursor of the next page after `o`: "<created_at_ms>:<order_id>".
std::string cursor_after(const domain::order_summary& o) {
  return std::to_string(o.created_at_ms) + ":" + o.order_id;
}

/// Reads a cursor of cursor_after(); nullopt (and the reader's error) when it is not one.
std::optional<domain::order_query::position> read_cursor(query_reader& in,
                                                         const std::string& text) {
  const auto colon = text.find(':');
  if (colon != std::string::npos) {
    domain::order_query::position p;
    p.order_id = text.substr(colon + 1);
    const auto* first = text.data();
    auto [end, ec] = std::from_chars(first, first + colon, p.created_at_ms);
    if (colon > 0 && ec == std::errc{} && end == first + colon && p.created_at_ms >= 0 &&
        domain::is_identifier(p.order_id))
      return p;
  }
  in.fail("before", "before must be the \"next\" cursor of an earlier answer");
  return std::nullopt;
}

/// A status filter: "" or one of the order statuses; 422 otherwise.
std::string status_filter(query_reader& in) {
  auto status = in.text("status");
  if (!status.empty() && !domain::parse_enum<domain::order_status>(status))
    in.fail("status", "status must be one of pending, stock_reserved, paid, confirmed, shipped, "
                      "delivered, cancelled");
  return status;
}

/// The greatest page of an admin's order search.
constexpr std::int64_t max_orders_page = 500;

void add_order_list_routes(router& r, domain::read_models* models) {
  r.add("GET", "/api/v1/orders", access::customer,
        [models](http_request& req, const responder_ptr& out) {
          query_reader in{req};
          domain::order_query q;
          q.status = status_filter(in);
          if (in.error())
            return out->fail(*in.error());
          if (!have(models, out))
            return;
          // A customer's own orders (the token's subject), whoever asks; an admin searches
          // every customer's at /api/v1/admin/orders.
          q.customer_id = req.principal.subject;
          q.limit = max_listed;
          models->orders(std::move(q),
                         [out](std::optional<std::vector<domain::order_summary>> found) {
                           if (!found)
                             return out->fail(unavailable());
                           json::array items;
                           for (const auto& o : *found)
                             items.push_back(summary_json(o));
                           out->json(200, json::object{{"items", std::move(items)}});
                         });
        });
  r.add(
      "GET", "/api/v1/admin/orders", access::admin,
      [models](http_request& req, const responder_ptr& out) {
        query_reader in{req};
        domain::order_query q;
        q.customer_id = in.text("customer_id");
        if (!q.customer_id.empty() && !domain::is_identifier(q.customer_id))
          in.fail("customer_id", "customer_id must be 1..64 characters of [A-Za-z0-9._:-]");
        q.status = status_filter(in);
        q.from_ms = in.time("from");
        q.to_ms = in.time("to");
        if (!in.error() && q.from_ms && q.to_ms && *q.from_ms > *q.to_ms)
          in.fail("to", "to must not be before from");
        const auto limit =
            in.integer("limit", 1, max_orders_page).value_or(static_cast<std::int64_t>(max_listed));
        if (auto before = in.text("before"); !before.empty())
          q.before = read_cursor(in, before);
        if (in.error())
          return out->fail(*in.error());
        if (!have(models, out))
          return;
        // One more than asked for tells whether there is a next page.
        q.limit = static_cast<std::size_t>(limit) + 1;
        models->orders(
            std::move(q), [out, limit](std::optional<std::vector<domain::order_summary>> found) {
              if (!found)
                return out->fail(unavailable());
              const bool more = found->size() > static_cast<std::size_t>(limit);
              if (more)
                found->resize(static_cast<std::size_t>(limit));
              json::array items;
              for (const auto& o : *found)
                items.push_back(summary_json(o));
              out->json(200, json::object{{"items", std::move(items)},
                                          {"next", more ? json::value(cursor_after(found->back()))
                                                        : json::value(nullptr)}});
            });
      });
}

void add_report_routes(router& r, domain::read_models* models) {
  r.add("GET", "/api/v1/admin/notifications", access::admin,
        [models](http_request& req, const responder_ptr& out) {
          auto customer = req.query_or("customer_id");
          if (!customer.empty() && !domain::is_identifier(customer))
            return out->fail(domain::validation_failed(
                "customer_id", "customer_id must be 1..64 characters of [A-Za-z0-9._:-]"));
          if (!have(models, out))
            return;
          models->notifications(
              customer, max_listed,
              [out](std::optional<std::vector<domain::notification_view>> found) {
                if (!found)
                  return out->fail(unavailable());
                json::array items;
                for (const auto& n : *found)
                  items.push_back(json::object{
                      {"notification_id", n.notification_id},
                      {"customer_id", n.customer_id},
                      {"channel", n.channel},
                      {"template", n.template_name},
                      {"order_id",
                       n.order_id.empty() ? json::value(nullptr) : json::value(n.order_id)},
                      {"sku", n.sku.empty() ? json::value(nullptr) : json::value(n.sku)},
                      {"created_at", core::format_rfc3339(n.created_at_ms)}});
                out->json(200, json::object{{"items", std::move(items)}});
              });
        });
  r.add("GET", "/api/v1/admin/reports/sales", access::admin,
        [models](http_request& req, const responder_ptr& out) {
          query_reader in{req};
          auto from = in.time("from");
          auto to = in.time("to");
          if (!in.error() && from && to && *from > *to)
            in.fail("to", "to must not be before from");
          if (in.error())
            return out->fail(*in.error());
          if (!have(models, out))
            return;
          models->sales(from, to, [out](std::optional<domain::sales_report> found) {
            if (!found)
              return out->fail(unavailable());
            json::array top;
            for (const auto& p : found->top_products)
              top.push_back(json::object{
                  {"sku", p.sku}, {"quantity", p.quantity}, {"revenue_cents", p.revenue_cents}});
            out->json(200, json::object{{"orders_confirmed", found->orders_confirmed},
                                        {"orders_cancelled", found->orders_cancelled},
                                        {"revenue_cents", found->revenue_cents},
                                        {"top_products", std::move(top)}});
          });
        });
}

} // namespace

void add_read_routes(router& r, domain::read_models* models) {
  add_catalog_routes(r, models);
  add_order_list_routes(r, models);
  add_report_routes(r, models);
}

} // namespace bazaar::gateway
