// The read side over HTTP (docs/API.md: GET /api/v1/products, /categories, /orders,
// /admin/notifications, /admin/reports/sales, and the projections of /admin/kafka) on a real
// node: events are produced into the node's embedded Kafka as the write side publishes them,
// the node's projector applies them to PostgreSQL, and the routes answer from there. The read
// side is eventually consistent: tests wait (bounded) for the answer they expect, then check
// it exactly.

#include "bazaar/config/loader.hpp"
#include "bazaar/gateway/jwt.hpp"

#include "support/api_checks.hpp"
#include "support/envelopes.hpp"
#include "support/eventually.hpp"
#include "support/http_client.hpp"
#include "support/raw_producer.hpp"
#include "support/test_node.hpp"

#include <boost/json.hpp>
#include <catch2/catch.hpp>

#include <set>
#include <string>
#include <vector>

using namespace bazaar;
using namespace std::chrono_literals;
namespace json = boost::json;
using test::bearer;
using test::eventually;
using test::http_connection;
using test::http_response;
using test::keys_of;
using test::num;
using test::require_error;
using test::require_invalid_field;
using test::test_node;

namespace {

core::timestamp_ms at_minute(int minutes) {
  return *core::parse_rfc3339("2026-11-21T09:00:00Z") + minutes * 60'000LL;
}

/// A test node, an admin token, and producing events into the node's embedded Kafka.
struct read_node {
  test_node node;
  http_connection http = node.connect();
  std::string admin = node.admin_token();
  std::map<std::string, std::string> topic = config::topic_map(node.node().options().kafka);

  std::string bootstrap() {
    auto r = get("/admin/kafka", admin);
    REQUIRE(r.status == 200);
    return std::string(r.json().at("bootstrap_servers").as_string());
  }

  void produce(const std::vector<test::test_event>& events) {
    test::raw_producer p{bootstrap()};
    for (const auto& e : events)
      p.send(e.topic, e.key, e.value);
    p.flush();
  }

  http_response get(const std::string& path, const std::string& token) {
    return http.request("GET", path, {}, bearer(token));
  }

  /// GET `path` as JSON (200 required).
  json::object get_json(const std::string& path, const std::string& token) {
    auto r = get(path, token);
    INFO(path << " -> " << r.status << " " << r.body);
    REQUIRE(r.status == 200);
    return r.json().as_object();
  }

  /// The projections of /admin/kafka by name.
  std::map<std::string, json::object> projections() {
    std::map<std::string, json::object> out;
    auto status = get_json("/admin/kafka", admin); // kept: the loop refers into it
    for (const auto& p : status.at("projections").as_array())
      out[std::string(p.as_object().at("name").as_string())] = p.as_object();
    return out;
  }

  /// Whether every projection has partitions, all committed to their end.
  bool caught_up() {
    for (const auto& [name, p] : projections()) {
      const auto& parts = p.at("partitions").as_array();
      if (parts.empty())
        return false;
      for (const auto& part : parts)
        if (part.as_object().at("lag").is_null() || num(part.as_object().at("lag")) != 0)
          return false;
    }
    return true;
  }
};

std::vector<std::string> skus_of(const json::object& page) {
  std::vector<std::string> out;
  for (const auto& p : page.at("items").as_array())
    out.emplace_back(p.as_object().at("sku").as_string());
  return out;
}

test::test_event low_stock(const std::string& topic, const std::string& event_id,
                           const std::string& sku) {
  return {topic, sku,
          test::envelope(event_id, "product-low-stock", "product", sku, 5, at_minute(30),
                         json::object{{"sku", sku}, {"available", 1}, {"threshold", 2}})};
}

test::test_event payment(const std::string& topic, const std::string& event_id,
                         const std::string& order_id, const std::string& customer,
                         const std::string& status) {
  return {topic, order_id,
          test::envelope(event_id, "payment-processed", "payment", "pay-" + order_id, 1,
                         at_minute(20),
                         json::object{{"payment_id", "pay-" + order_id},
                                      {"order_id", order_id},
                                      {"customer_id", customer},
                                      {"amount_cents", 1000},
                                      {"status", status},
                                      {"reason", status == "declined" ? "card_declined" : ""}})};
}

} // namespace

TEST_CASE("product search lists active products filtered by text, category and price, in pages, "
          "and categories count them",
          "[read_http]") {
  read_node n;
  const auto& topic = n.topic.at("product-created");
  std::vector<test::test_event> events;
  for (int i = 0; i < 12; ++i) {
    char sku[16];
    std::snprintf(sku, sizeof sku, "mug-%02d", i);
    events.push_back(test::product_created(topic, std::string("e-") + sku, sku,
                                           std::string("Mug ") + (sku + 4), "A ceramic mug",
                                           "kitchen", 1000 + i * 100, 5));
  }
  events.push_back(test::product_created(topic, "e-lamp", "lamp", "Desk lamp",
                                         "Bright LED, fits any MUG shelf", "lighting", 4500, 3));
  events.push_back(
      test::product_created(topic, "e-chair", "chair", "Chair", "Oak", "furniture", 9000, 2));
  events.push_back(
      test::product_created(topic, "e-gone", "gone", "Gone mug", "Retired", "kitchen", 500, 1));
  events.push_back({n.topic.at("product-deactivated"), "gone",
                    test::envelope("e-gone-off", "product-deactivated", "product", "gone", 2,
                                   at_minute(1), json::object{{"sku", "gone"}})});
  events.push_back(
      {n.topic.at("stock-updated"), "chair",
       test::envelope("e-chair-s", "stock-updated", "product", "chair", 2, at_minute(1),
                      json::object{{"sku", "chair"}, {"stock", 4}, {"reserved", 1}})});
  n.produce(events);
  const auto customer = n.node.customer_token("alice");
  REQUIRE(eventually([&] {
    auto r = n.get("/api/v1/products?q=chair", customer);
    return r.status == 200 && r.json().at("total") == 1 &&
           num(r.json().at("items").at(0).at("stock")) == 4 && n.caught_up();
  }));

  auto all = n.get_json("/api/v1/products", customer);
  CHECK(keys_of(all) == std::set<std::string>{"items", "page", "page_size", "total"});
  CHECK(num(all.at("total")) == 14); // "gone" is deactivated
  CHECK(num(all.at("page")) == 1);
  CHECK(num(all.at("page_size")) == 20);
  REQUIRE(all.at("items").as_array().size() == 14);
  for (const auto& item : all.at("items").as_array()) {
    const auto& p = item.as_object();
    CHECK(keys_of(p) == std::set<std::string>{"sku", "name", "description", "category",
                                              "price_cents", "currency", "active", "stock",
                                              "reserved", "available", "low_stock_threshold",
                                              "version"});
    CHECK(p.at("active") == true);
    CHECK(num(p.at("available")) == num(p.at("stock")) - num(p.at("reserved")));
  }
  // Ordered by name: "Chair", "Desk lamp", "Mug 00", "Mug 01", ...
  CHECK(skus_of(all)[0] == "chair");
  CHECK(skus_of(all)[1] == "lamp");

  // Text matches name or description, in any case.
  auto mugs = n.get_json("/api/v1/products?q=MUG&page_size=100", customer);
  CHECK(num(mugs.at("total")) == 13); // twelve mugs and the lamp's description
  CHECK(n.get_json("/api/v1/products?q=ceramic", customer).at("total") == 12);
  CHECK(n.get_json("/api/v1/products?category=kitchen", customer).at("total") == 12);
  CHECK(n.get_json("/api/v1/products?category=nothing", customer).at("total") == 0);
  auto priced = n.get_json("/api/v1/products?min_price_cents=1500&max_price_cents=4500", customer);
  CHECK(skus_of(priced) == std::vector<std::string>{"lamp", "mug-05", "mug-06", "mug-07", "mug-08",
                                                    "mug-09", "mug-10", "mug-11"});
  auto combined =
      n.get_json("/api/v1/products?q=mug&category=kitchen&max_price_cents=1100", customer);
  CHECK(skus_of(combined) == std::vector<std::string>{"mug-00", "mug-01"});

  // Pages: 14 products in pages of 5 -> 5, 5, 4, then none.
  std::vector<std::string> paged;
  for (int page = 1; page <= 4; ++page) {
    auto p = n.get_json("/api/v1/products?page_size=5&page=" + std::to_string(page), customer);
    CHECK(num(p.at("total")) == 14);
    CHECK(num(p.at("page")) == page);
    CHECK(num(p.at("page_size")) == 5);
    CHECK(p.at("items").as_array().size() == (page < 3 ? 5u : page == 3 ? 4u : 0u));
    for (auto& s : skus_of(p))
      paged.push_back(s);
  }
  CHECK(paged == skus_of(all));
  CHECK(num(n.get_json("/api/v1/products?page_size=1000", customer).at("page_size")) == 100);

  // Bad numbers are 422 naming the parameter, and change nothing.
  require_invalid_field(n.get("/api/v1/products?page_size=0", customer), "page_size");
  require_invalid_field(n.get("/api/v1/products?page=0", customer), "page");
  require_invalid_field(n.get("/api/v1/products?page=two", customer), "page");
  require_invalid_field(n.get("/api/v1/products?min_price_cents=-1", customer), "min_price_cents");
  require_invalid_field(n.get("/api/v1/products?max_price_cents=12x", customer), "max_price_cents");
  require_error(n.http.request("GET", "/api/v1/products"), 401, "unauthorized");

  auto categories = n.get_json("/api/v1/categories", customer);
  CHECK(json::serialize(categories.at("items")) ==
        R"([{"name":"furniture","product_count":1},{"name":"kitchen","product_count":12},)"
        R"({"name":"lighting","product_count":1}])");
}

TEST_CASE("a product created and changed through the API shows in the search", "[read_http]") {
  read_node n;
  auto c = n.node.connect();
  test::create_product(c, n.admin, "teapot", 2500);
  auto r =
      c.request("PUT", "/api/v1/products/teapot", R"({"name":"Blue teapot"})", bearer(n.admin));
  REQUIRE(r.status == 200);
  const auto customer = n.node.customer_token("bob");
  REQUIRE(eventually([&] {
    auto found = n.get("/api/v1/products?q=blue", customer);
    return found.status == 200 && found.json().at("total") == 1;
  }));
  auto item = n.get_json("/api/v1/products?q=blue", customer).at("items").at(0).as_object();
  CHECK(item.at("sku") == "teapot");
  CHECK(item.at("name") == "Blue teapot");
  CHECK(num(item.at("price_cents")) == 2500);
  // Query values arrive percent-decoded.
  CHECK(n.get_json("/api/v1/products?q=BLUE%20tea", customer).at("total") == 1);
}

TEST_CASE("events delivered twice change nothing in any projection", "[read_http]") {
  read_node n;
  const auto& t = n.topic;
  json::array items{test::order_line("mug", 2, 1500), test::order_line("lamp", 1, 4500)};
  std::vector<test::test_event> once = {
      test::product_created(t.at("product-created"), "e-mug", "mug", "Mug", "", "kitchen", 1500, 5),
      test::order_created(t.at("order-created"), "e-o1", "o-1", "alice", items, at_minute(0)),
      test::order_status(t.at("order-status-changed"), "e-o1-r", "o-1", "alice", items, "pending",
                         "stock_reserved", 2, at_minute(1)),
      test::order_status(t.at("order-status-changed"), "e-o1-p", "o-1", "alice", items,
                         "stock_reserved", "paid", 3, at_minute(2)),
      test::order_status(t.at("order-status-changed"), "e-o1-c", "o-1", "alice", items, "paid",
                         "confirmed", 4, at_minute(3)),
      test::order_created(t.at("order-created"), "e-o2", "o-2", "alice", items, at_minute(4)),
      payment(t.at("payment-processed"), "e-pay2", "o-2", "alice", "declined"),
      low_stock(t.at("product-low-stock"), "e-low", "mug"),
  };
  auto twice = once;
  twice.insert(twice.end(), once.begin(), once.end());
  n.produce(twice);
  // Every copy has been read and committed: each projection saw its events twice.
  REQUIRE(eventually([&] {
    auto p = n.projections();
    return n.caught_up() && num(p.at("catalog").at("duplicates")) == 1 &&
           num(p.at("orders").at("duplicates")) == 5 &&
           num(p.at("notifications").at("duplicates")) == 5 &&
           num(p.at("sales").at("duplicates")) == 3;
  }));
  auto p = n.projections();
  CHECK(num(p.at("catalog").at("applied")) == 1);
  CHECK(num(p.at("orders").at("applied")) == 5);
  // notifications: the confirmation, the declined payment, the low stock (the other status
  // changes and an approved payment would need none, but are applied as seen).
  CHECK(num(p.at("notifications").at("applied")) == 5);
  CHECK(num(p.at("sales").at("applied")) == 3);

  auto notes = n.get_json("/api/v1/admin/notifications", n.admin).at("items").as_array();
  REQUIRE(notes.size() == 3);
  std::multiset<std::string> templates;
  for (const auto& note : notes)
    templates.emplace(note.at("template").as_string());
  CHECK(templates ==
        std::multiset<std::string>{"order_confirmed", "payment_declined", "low_stock"});
  auto report = n.get_json("/api/v1/admin/reports/sales", n.admin);
  CHECK(num(report.at("orders_confirmed")) == 1);
  CHECK(num(report.at("revenue_cents")) == 7500);
  CHECK(json::serialize(report.at("top_products")) ==
        R"([{"sku":"mug","quantity":2,"revenue_cents":3000},)"
        R"({"sku":"lamp","quantity":1,"revenue_cents":4500}])");
  auto orders = n.get_json("/api/v1/orders", n.node.customer_token("alice")).at("items").as_array();
  REQUIRE(orders.size() == 2);
  CHECK(num(orders[1].at("item_count")) == 3);
  CHECK(n.get_json("/api/v1/products", n.admin).at("total") == 1);
}

TEST_CASE("the sales report counts an order when confirmed, moves it to cancelled when cancelled "
          "later, and counts orders cancelled unconfirmed as cancelled",
          "[read_http]") {
  read_node n;
  const auto& topic = n.topic.at("order-status-changed");
  json::array a{test::order_line("mug", 2, 1000)};
  json::array b{test::order_line("lamp", 1, 5000), test::order_line("mug", 1, 1000)};
  json::array c{test::order_line("chair", 3, 2000)};
  n.produce({
      test::order_status(topic, "e-a-c", "o-a", "alice", a, "paid", "confirmed", 4, at_minute(10)),
      test::order_status(topic, "e-b-c", "o-b", "bob", b, "paid", "confirmed", 4, at_minute(11)),
      test::order_status(topic, "e-c-x", "o-c", "carol", c, "pending", "cancelled", 2,
                         at_minute(12), "out_of_stock"),
      // Confirmed outside the window below.
      test::order_status(topic, "e-d-c", "o-d", "dave", c, "paid", "confirmed", 4, at_minute(90)),
  });
  const std::string window =
      "/api/v1/admin/reports/sales?from=2026-11-21T09:00:00Z&to=2026-11-21T10:00:00Z";
  REQUIRE(eventually([&] {
    auto r = n.get_json(window, n.admin);
    return num(r.at("orders_confirmed")) == 2 && num(r.at("orders_cancelled")) == 1;
  }));
  auto before = n.get_json(window, n.admin);
  CHECK(keys_of(before) == std::set<std::string>{"orders_confirmed", "orders_cancelled",
                                                 "revenue_cents", "top_products"});
  CHECK(num(before.at("revenue_cents")) == 2000 + 6000);
  CHECK(json::serialize(before.at("top_products")) ==
        R"([{"sku":"mug","quantity":3,"revenue_cents":3000},)"
        R"({"sku":"lamp","quantity":1,"revenue_cents":5000}])");

  // o-a is cancelled after its confirmation (later than the window even): it moves.
  n.produce({test::order_status(topic, "e-a-x", "o-a", "alice", a, "confirmed", "cancelled", 5,
                                at_minute(70), "customer_request")});
  REQUIRE(eventually([&] { return num(n.get_json(window, n.admin).at("orders_cancelled")) == 2; }));
  auto after = n.get_json(window, n.admin);
  CHECK(num(after.at("orders_confirmed")) == 1);
  CHECK(num(after.at("revenue_cents")) == 6000);
  CHECK(json::serialize(after.at("top_products")) ==
        R"([{"sku":"lamp","quantity":1,"revenue_cents":5000},)"
        R"({"sku":"mug","quantity":1,"revenue_cents":1000}])");
  // Without bounds: o-d too.
  auto everything = n.get_json("/api/v1/admin/reports/sales", n.admin);
  CHECK(num(everything.at("orders_confirmed")) == 2);
  CHECK(num(everything.at("revenue_cents")) == 6000 + 6000);
  // The window is [from, to): o-b confirmed at 09:11 is out of [09:11:00.001, ...).
  auto later = n.get_json("/api/v1/admin/reports/sales?from=2026-11-21T09:11:00.001Z", n.admin);
  CHECK(num(later.at("orders_confirmed")) == 1); // o-d

  require_invalid_field(n.get("/api/v1/admin/reports/sales?from=yesterday", n.admin), "from");
  require_invalid_field(n.get("/api/v1/admin/reports/sales?to=2026-13-01T00:00:00Z", n.admin),
                        "to");
  require_invalid_field(
      n.get("/api/v1/admin/reports/sales?from=2026-11-22T00:00:00Z&to=2026-11-21T00:00:00Z",
            n.admin),
      "to");
  require_error(n.get(window, n.node.customer_token("alice")), 403, "forbidden");
}

TEST_CASE("a product put on sale again is listed again, whatever order its events arrive in",
          "[read_http]") {
  read_node n;
  const auto& created = n.topic.at("product-created");
  auto toggle = [&](const char* type, const std::string& sku, std::uint64_t version) {
    const auto& topic = n.topic.at(type);
    return test::test_event{topic, sku,
                            test::envelope("e-" + sku + "-" + std::to_string(version), type,
                                           "product", sku, version, at_minute(1),
                                           json::object{{"sku", sku}})};
  };
  n.produce({
      // In order: off (v2), on again (v3).
      test::product_created(created, "e-again", "again", "Again", "d", "kitchen", 100, 1),
      toggle("product-deactivated", "again", 2),
      toggle("product-activated", "again", 3),
      // The activation (v3) first, the older deactivation (v2, another topic) late.
      test::product_created(created, "e-late", "late", "Late", "d", "kitchen", 100, 1),
      toggle("product-activated", "late", 3),
      toggle("product-deactivated", "late", 2),
      // Off for good: on (v2) and then off (v3).
      test::product_created(created, "e-off", "off", "Off", "d", "kitchen", 100, 1),
      toggle("product-activated", "off", 2),
      toggle("product-deactivated", "off", 3),
  });
  const auto customer = n.node.customer_token("alice");
  REQUIRE(eventually([&] {
    return n.caught_up() && num(n.get_json("/api/v1/products", customer).at("total")) == 2;
  }));
  CHECK(skus_of(n.get_json("/api/v1/products", customer)) ==
        std::vector<std::string>{"again", "late"});
}

TEST_CASE("a customer's order list is theirs only, newest first, and filters by status",
          "[read_http]") {
  read_node n;
  const auto& t = n.topic;
  json::array one{test::order_line("mug", 1, 1000)};
  json::array three{test::order_line("mug", 2, 1000), test::order_line("lamp", 1, 4000)};
  n.produce({
      test::order_created(t.at("order-created"), "e-a1", "o-a1", "alice", one, at_minute(1)),
      test::order_created(t.at("order-created"), "e-a2", "o-a2", "alice", three, at_minute(2)),
      test::order_created(t.at("order-created"), "e-a3", "o-a3", "alice", one, at_minute(3)),
      test::order_created(t.at("order-created"), "e-b1", "o-b1", "bob", one, at_minute(4)),
      test::order_status(t.at("order-status-changed"), "e-a1-c", "o-a1", "alice", one, "paid",
                         "confirmed", 4, at_minute(5)),
      test::order_status(t.at("order-status-changed"), "e-a3-x", "o-a3", "alice", one, "pending",
                         "cancelled", 2, at_minute(6), "payment_declined"),
      // An older status change arriving late changes nothing.
      test::order_status(t.at("order-status-changed"), "e-a1-p", "o-a1", "alice", one,
                         "stock_reserved", "paid", 3, at_minute(4)),
  });
  const auto alice = n.node.customer_token("alice");
  REQUIRE(eventually([&] {
    auto items = n.get_json("/api/v1/orders", alice).at("items").as_array();
    return items.size() == 3 && items[2].at("status") == "confirmed" &&
           items[0].at("status") == "cancelled" && n.caught_up();
  }));
  auto items = n.get_json("/api/v1/orders", alice).at("items").as_array();
  REQUIRE(items.size() == 3);
  CHECK(keys_of(items[0].as_object()) ==
        std::set<std::string>{"order_id", "customer_id", "status", "total_cents", "currency",
                              "item_count", "cancel_reason", "created_at", "updated_at"});
  CHECK(items[0].at("order_id") == "o-a3");
  CHECK(items[0].at("customer_id") == "alice");
  CHECK(items[0].at("cancel_reason") == "payment_declined");
  CHECK(items[1].at("cancel_reason").is_null());
  CHECK(items[2].at("cancel_reason").is_null());
  CHECK(items[1].at("order_id") == "o-a2");
  CHECK(items[2].at("order_id") == "o-a1");
  CHECK(items[1].at("status") == "pending");
  CHECK(num(items[1].at("item_count")) == 3);
  CHECK(num(items[1].at("total_cents")) == 6000);
  CHECK(items[1].at("currency") == "USD");
  CHECK(items[2].at("status") == "confirmed");
  CHECK(items[2].at("created_at") == "2026-11-21T09:01:00.000Z");
  CHECK(items[2].at("updated_at") == "2026-11-21T09:05:00.000Z");

  auto confirmed = n.get_json("/api/v1/orders?status=confirmed", alice).at("items").as_array();
  REQUIRE(confirmed.size() == 1);
  CHECK(confirmed[0].at("order_id") == "o-a1");
  CHECK(n.get_json("/api/v1/orders?status=shipped", alice).at("items").as_array().empty());
  require_invalid_field(n.get("/api/v1/orders?status=lost", alice), "status");

  auto bobs = n.get_json("/api/v1/orders", n.node.customer_token("bob")).at("items").as_array();
  REQUIRE(bobs.size() == 1);
  CHECK(bobs[0].at("order_id") == "o-b1");
  CHECK(
      n.get_json("/api/v1/orders", n.node.customer_token("carol")).at("items").as_array().empty());
  // An admin's own list is theirs too (none): every customer's is /api/v1/admin/orders.
  CHECK(n.get_json("/api/v1/orders", n.admin).at("items").as_array().empty());
}

namespace {

std::vector<std::string> order_ids(const json::object& answer) {
  std::vector<std::string> out;
  for (const auto& o : answer.at("items").as_array())
    out.emplace_back(o.at("order_id").as_string());
  return out;
}

} // namespace

TEST_CASE("an admin searches every customer's orders by customer, status and time, page by page",
          "[read_http]") {
  read_node n;
  const auto& t = n.topic;
  json::array one{test::order_line("mug", 1, 1000)};
  std::vector<test::test_event> events;
  // Seven orders of three customers, one a minute; o-2 and o-5 are cancelled.
  const char* customers[] = {"alice", "bob", "carol"};
  for (int i = 1; i <= 7; ++i)
    events.push_back(test::order_created(t.at("order-created"), "e-" + std::to_string(i),
                                         "o-" + std::to_string(i), customers[i % 3], one,
                                         at_minute(i)));
  events.push_back(test::order_status(t.at("order-status-changed"), "e-2-x", "o-2", "carol", one,
                                      "pending", "cancelled", 2, at_minute(10), "out_of_stock"));
  events.push_back(test::order_status(t.at("order-status-changed"), "e-5-x", "o-5", "carol", one,
                                      "pending", "cancelled", 2, at_minute(11),
                                      "customer_request"));
  n.produce(events);
  REQUIRE(eventually([&] {
    auto all = n.get_json("/api/v1/admin/orders", n.admin);
    return all.at("items").as_array().size() == 7 &&
           n.get_json("/api/v1/admin/orders?status=cancelled", n.admin)
                   .at("items")
                   .as_array()
                   .size() == 2 &&
           n.caught_up();
  }));
  auto all = n.get_json("/api/v1/admin/orders", n.admin);
  CHECK(keys_of(all) == std::set<std::string>{"items", "next"});
  CHECK(all.at("next").is_null());
  CHECK(order_ids(all) ==
        std::vector<std::string>{"o-7", "o-6", "o-5", "o-4", "o-3", "o-2", "o-1"}); // newest first
  const auto& o5 = all.at("items").as_array()[2].as_object();
  CHECK(o5.at("customer_id") == "carol");
  CHECK(o5.at("status") == "cancelled");
  CHECK(o5.at("cancel_reason") == "customer_request");

  CHECK(order_ids(n.get_json("/api/v1/admin/orders?customer_id=bob", n.admin)) ==
        std::vector<std::string>{"o-7", "o-4", "o-1"});
  CHECK(order_ids(n.get_json("/api/v1/admin/orders?status=cancelled&customer_id=carol", n.admin)) ==
        std::vector<std::string>{"o-5", "o-2"});
  // Created in [09:03, 09:06).
  CHECK(
      order_ids(n.get_json("/api/v1/admin/orders?from=2026-11-21T09:03:00Z&to=2026-11-21T09:06:00Z",
                           n.admin)) == std::vector<std::string>{"o-5", "o-4", "o-3"});

  // Pages of three: the cursor of each answer leads to the next, and the last has none.
  std::vector<std::string> paged;
  std::string path = "/api/v1/admin/orders?limit=3";
  int pages = 0;
  for (;;) {
    auto page = n.get_json(path, n.admin);
    ++pages;
    for (auto& id : order_ids(page))
      paged.push_back(id);
    if (page.at("next").is_null())
      break;
    REQUIRE(pages < 10);
    path = "/api/v1/admin/orders?limit=3&before=" + std::string(page.at("next").as_string());
  }
  CHECK(pages == 3);
  CHECK(paged == order_ids(all));

  require_invalid_field(n.get("/api/v1/admin/orders?status=lost", n.admin), "status");
  require_invalid_field(n.get("/api/v1/admin/orders?customer_id=a%20b", n.admin), "customer_id");
  require_invalid_field(n.get("/api/v1/admin/orders?from=yesterday", n.admin), "from");
  require_invalid_field(
      n.get("/api/v1/admin/orders?from=2026-11-22T00:00:00Z&to=2026-11-21T00:00:00Z", n.admin),
      "to");
  require_invalid_field(n.get("/api/v1/admin/orders?limit=0", n.admin), "limit");
  require_invalid_field(n.get("/api/v1/admin/orders?limit=501", n.admin), "limit");
  require_invalid_field(n.get("/api/v1/admin/orders?before=nonsense", n.admin), "before");
  require_error(n.get("/api/v1/admin/orders", n.node.customer_token("alice")), 403, "forbidden");
}

TEST_CASE("notifications are listed per customer with their channel and template", "[read_http]") {
  read_node n;
  const auto& t = n.topic;
  json::array one{test::order_line("mug", 1, 1000)};
  const auto& status = t.at("order-status-changed");
  n.produce({
      test::order_status(status, "e-1", "o-1", "alice", one, "paid", "confirmed", 4, at_minute(1)),
      test::order_status(status, "e-2", "o-1", "alice", one, "confirmed", "shipped", 5,
                         at_minute(2)),
      test::order_status(status, "e-3", "o-1", "alice", one, "shipped", "delivered", 6,
                         at_minute(3)),
      test::order_status(status, "e-4", "o-2", "bob", one, "pending", "cancelled", 2, at_minute(4),
                         "out_of_stock"),
      test::order_status(status, "e-5", "o-3", "bob", one, "pending", "stock_reserved", 2,
                         at_minute(5)),
      payment(t.at("payment-processed"), "e-6", "o-4", "bob", "declined"),
      payment(t.at("payment-processed"), "e-7", "o-5", "bob", "approved"),
      low_stock(t.at("product-low-stock"), "e-8", "mug"),
  });
  REQUIRE(eventually([&] {
    return n.get_json("/api/v1/admin/notifications", n.admin).at("items").as_array().size() == 6 &&
           n.caught_up();
  }));
  auto alice =
      n.get_json("/api/v1/admin/notifications?customer_id=alice", n.admin).at("items").as_array();
  REQUIRE(alice.size() == 3);
  // Newest first.
  CHECK(alice[0].at("template") == "order_delivered");
  CHECK(alice[1].at("template") == "order_shipped");
  CHECK(alice[2].at("template") == "order_confirmed");
  CHECK(keys_of(alice[0].as_object()) == std::set<std::string>{"notification_id", "customer_id",
                                                               "channel", "template", "order_id",
                                                               "sku", "created_at"});
  CHECK(alice[0].at("sku").is_null());
  CHECK(alice[0].at("channel") == "email");
  CHECK(alice[0].at("order_id") == "o-1");
  CHECK(alice[0].at("notification_id") == "ntf-e-3");
  CHECK(alice[0].at("created_at") == "2026-11-21T09:03:00.000Z");
  auto bob =
      n.get_json("/api/v1/admin/notifications?customer_id=bob", n.admin).at("items").as_array();
  REQUIRE(bob.size() == 2);
  std::set<std::pair<std::string, std::string>> bobs;
  for (const auto& note : bob)
    bobs.emplace(note.at("template").as_string(), note.at("channel").as_string());
  CHECK(bobs == std::set<std::pair<std::string, std::string>>{{"order_cancelled", "email"},
                                                              {"payment_declined", "sms"}});
  auto admin =
      n.get_json("/api/v1/admin/notifications?customer_id=admin", n.admin).at("items").as_array();
  REQUIRE(admin.size() == 1);
  CHECK(admin[0].at("template") == "low_stock");
  CHECK(admin[0].at("order_id").is_null());
  CHECK(admin[0].at("sku") == "mug"); // which product runs low
  require_invalid_field(n.get("/api/v1/admin/notifications?customer_id=a%20b", n.admin),
                        "customer_id");
  require_error(n.get("/api/v1/admin/notifications", n.node.customer_token("alice")), 403,
                "forbidden");
}

TEST_CASE("/admin/kafka shows each projection's consumer group, partitions and lag",
          "[read_http]") {
  read_node n;
  REQUIRE(eventually([&] { return n.caught_up(); }));
  auto p = n.projections();
  REQUIRE(p.size() == 4);
  const auto group = n.node.node().options().kafka.group_id;
  for (const char* name : {"catalog", "orders", "notifications", "sales"}) {
    INFO(name);
    REQUIRE(p.count(name) == 1);
    const auto& s = p.at(name);
    CHECK(s.at("group_id").as_string() == group + "." + name);
    CHECK(s.at("running") == true);
    CHECK(num(s.at("lag")) == 0);
    for (const auto& part : s.at("partitions").as_array())
      CHECK(keys_of(part.as_object()) ==
            std::set<std::string>{"topic", "partition", "committed", "high_watermark", "lag"});
  }
  auto topics = p.at("catalog").at("topics").as_array();
  CHECK(json::serialize(topics) == R"(["product-deactivated","product-events","stock-updated"])");
  // Records produced are counted in the lag until the projection commits past them.
  n.produce({low_stock(n.topic.at("product-low-stock"), "e-lag", "mug")});
  REQUIRE(eventually([&] {
    auto s = n.projections().at("notifications");
    std::int64_t high = 0;
    for (const auto& part : s.at("partitions").as_array())
      high += num(part.at("high_watermark"));
    return high == 1 && num(s.at("lag")) == 0 && num(s.at("applied")) == 1;
  }));
}

TEST_CASE("the read routes answer 503 with Retry-After while the database cannot be reached",
          "[read_http]") {
  // A node whose PostgreSQL is a loopback port nobody listens on.
  auto opts = test::test_node_options();
  opts.postgres.url = "postgresql://bazaar:bazaar@127.0.0.1:1/bazaar";
  opts.postgres.connect_timeout_ms = 500;
  bazaar::node node{opts};
  node.start();
  http_connection http{node.http_port()};
  auth::claims c;
  c.subject = "admin";
  c.user_role = auth::role::admin;
  c.expires_at = std::chrono::duration_cast<std::chrono::seconds>(
                     std::chrono::system_clock::now().time_since_epoch())
                     .count() +
                 3600;
  const auto token = auth::sign(c, test::test_jwt_secret);
  for (const char* path : {"/api/v1/products", "/api/v1/categories", "/api/v1/orders",
                           "/api/v1/admin/notifications", "/api/v1/admin/reports/sales"}) {
    INFO(path);
    auto r = http.request("GET", path, {}, bearer(token));
    require_error(r, 503, "unavailable");
    CHECK(r.has_header("Retry-After"));
  }
  // Bad input is still refused as such, before storage is asked.
  require_invalid_field(http.request("GET", "/api/v1/products?page=0", {}, bearer(token)), "page");
  node.stop();
}
