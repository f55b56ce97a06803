// The inventory routes over HTTP (docs/API.md "Catalog": PUT /api/v1/products/{sku}, POST
// .../stock, POST .../deactivate) against a real node on real PostgreSQL over loopback: every
// acknowledged write is read back at once, bad input is refused clearly and changes nothing,
// keys make retries harmless, and a deactivated product cannot be added to a basket.

#include "support/api_checks.hpp"
#include "support/eventually.hpp"
#include "support/http_client.hpp"
#include "support/test_node.hpp"

#include <boost/json.hpp>
#include <catch2/catch.hpp>

#include <set>
#include <string>
#include <vector>

namespace json = boost::json;
using bazaar::test::add_item;
using bazaar::test::bearer;
using bazaar::test::create_product;
using bazaar::test::header_list;
using bazaar::test::http_connection;
using bazaar::test::http_response;
using bazaar::test::keys_of;
using bazaar::test::num;
using bazaar::test::require_error;
using bazaar::test::require_invalid_field;
using bazaar::test::test_node;

namespace {

header_list keyed(const std::string& token, const std::string& key) {
  auto h = bearer(token);
  h.emplace_back("Idempotency-Key", key);
  return h;
}

/// Checks docs/API.md's product shape exactly; returns the product.
json::object require_product(const http_response& r, int status = 200) {
  INFO("status " << r.status << ", body: " << r.body);
  REQUIRE(r.status == status);
  json::value v;
  REQUIRE_NOTHROW(v = r.json());
  REQUIRE(v.is_object());
  const auto& p = v.as_object();
  REQUIRE(keys_of(p) == std::set<std::string>{"sku", "name", "description", "category",
                                              "price_cents", "currency", "active", "stock",
                                              "reserved", "available", "low_stock_threshold",
                                              "version"});
  CHECK(num(p.at("available")) == num(p.at("stock")) - num(p.at("reserved")));
  return p;
}

/// Checks the answer of POST .../stock exactly: {"sku","stock","reserved","available"}.
json::object require_stock(const http_response& r, std::int64_t stock) {
  INFO("status " << r.status << ", body: " << r.body);
  REQUIRE(r.status == 200);
  json::value v;
  REQUIRE_NOTHROW(v = r.json());
  REQUIRE(v.is_object());
  const auto& s = v.as_object();
  REQUIRE(keys_of(s) == std::set<std::string>{"sku", "stock", "reserved", "available"});
  CHECK(num(s.at("stock")) == stock);
  CHECK(num(s.at("reserved")) == 0);
  CHECK(num(s.at("available")) == stock);
  return s;
}

json::object get_product(http_connection& c, const std::string& token, const std::string& sku) {
  return require_product(c.request("GET", "/api/v1/products/" + sku, "", bearer(token)));
}

/// The event types of an aggregate's history (GET /api/v1/admin/events/...), oldest first.
std::vector<std::string> event_types(http_connection& c, const std::string& admin,
                                     const std::string& sku) {
  auto r = c.request("GET", "/api/v1/admin/events/inventory/" + sku, "", bearer(admin));
  INFO("body: " << r.body);
  REQUIRE(r.status == 200);
  std::vector<std::string> out;
  auto body = r.json();
  for (const auto& e : body.at("items").as_array()) {
    CHECK(e.at("aggregate_type") == json::value("inventory"));
    out.emplace_back(e.at("event_type").as_string());
  }
  return out;
}

/// The data of the last event of `type` in an aggregate's history.
json::object last_data(http_connection& c, const std::string& admin, const std::string& sku,
                       const std::string& type) {
  auto r = c.request("GET", "/api/v1/admin/events/inventory/" + sku, "", bearer(admin));
  REQUIRE(r.status == 200);
  json::object data;
  auto body = r.json();
  for (const auto& e : body.at("items").as_array())
    if (e.at("event_type") == json::value(type))
      data = e.at("data").as_object();
  return data;
}

} // namespace

TEST_CASE("an admin updates, restocks and deactivates a product and every read shows each write") {
  test_node node;
  auto c = node.connect();
  auto admin = node.admin_token();
  auto alice = node.customer_token("alice");
  create_product(c, admin, "mug", 900); // stock 10, low_stock_threshold 2

  auto updated = require_product(c.request(
      "PUT", "/api/v1/products/mug", R"({"name":"Big mug","price_cents":1200})", bearer(admin)));
  CHECK(updated.at("name") == json::value("Big mug"));
  CHECK(num(updated.at("price_cents")) == 1200);
  CHECK(updated.at("category") == json::value("tools"));
  CHECK(updated.at("description") == json::value("d"));
  auto read = get_product(c, alice, "mug");
  CHECK(read == updated);
  CHECK(num(read.at("version")) == 2);

  require_stock(c.request("POST", "/api/v1/products/mug/stock", R"({"delta":5})", bearer(admin)),
                15);
  CHECK(num(get_product(c, alice, "mug").at("stock")) == 15);
  require_stock(c.request("POST", "/api/v1/products/mug/stock", R"({"delta":-3})", bearer(admin)),
                12);
  CHECK(num(get_product(c, alice, "mug").at("stock")) == 12);
  require_stock(c.request("POST", "/api/v1/products/mug/stock", R"({"set":2})", bearer(admin)), 2);
  auto restocked = get_product(c, alice, "mug");
  CHECK(num(restocked.at("stock")) == 2);
  CHECK(num(restocked.at("available")) == 2);

  // The basket prices a line from the updated product.
  auto line = add_item(c, alice, "mug", 1);
  REQUIRE(line.status == 200);
  CHECK(num(line.json().at("items").as_array().at(0).at("unit_price_cents")) == 1200);
  CHECK(line.json().at("items").as_array().at(0).at("name") == json::value("Big mug"));

  auto off =
      require_product(c.request("POST", "/api/v1/products/mug/deactivate", "", bearer(admin)));
  CHECK(off.at("active") == json::value(false));
  CHECK(get_product(c, alice, "mug") == off);
  // Deactivating again answers the product and changes nothing.
  CHECK(require_product(
            c.request("POST", "/api/v1/products/mug/deactivate", "{}", bearer(admin))) == off);

  // A deactivated product cannot be added to a basket (nor a new line set).
  require_invalid_field(add_item(c, node.customer_token("bob"), "mug", 1), "sku");
  require_invalid_field(c.request("PUT", "/api/v1/basket/items/mug", R"({"quantity":1})",
                                  bearer(node.customer_token("carol"))),
                        "sku");

  CHECK(event_types(c, admin, "mug") ==
        std::vector<std::string>{"product-created", "stock-updated", "product-updated",
                                 "stock-updated", "stock-updated", "stock-updated",
                                 "product-low-stock", "product-deactivated"});
  auto low = last_data(c, admin, "mug", "product-low-stock");
  CHECK(low == json::object{{"sku", "mug"}, {"available", 2}, {"threshold", 2}});
  auto stock = last_data(c, admin, "mug", "stock-updated");
  CHECK(stock == json::object{{"sku", "mug"}, {"stock", 2}, {"reserved", 0}});
  CHECK(last_data(c, admin, "mug", "product-deactivated") == json::object{{"sku", "mug"}});

  // On sale again: the product is active, baskets take it, and the catalog lists it again.
  auto on = require_product(c.request("POST", "/api/v1/products/mug/activate", "", bearer(admin)));
  CHECK(on.at("active") == json::value(true));
  CHECK(num(on.at("version")) == num(off.at("version")) + 1);
  CHECK(get_product(c, alice, "mug") == on);
  CHECK(require_product(c.request("POST", "/api/v1/products/mug/activate", "{}", bearer(admin))) ==
        on); // again: nothing changes
  REQUIRE(add_item(c, node.customer_token("bob"), "mug", 1).status == 200);
  CHECK(last_data(c, admin, "mug", "product-activated") == json::object{{"sku", "mug"}});
  CHECK(event_types(c, admin, "mug").back() == "product-activated");
  CHECK(bazaar::test::eventually([&] {
    auto listed = c.request("GET", "/api/v1/products?q=Big", "", bearer(alice));
    return listed.status == 200 && listed.json().at("items").as_array().size() == 1;
  }));
  require_error(c.request("POST", "/api/v1/products/nope/activate", "", bearer(admin)), 404,
                "not_found");
  require_error(c.request("POST", "/api/v1/products/mug/activate", "", bearer(alice)), 403,
                "forbidden");
}

TEST_CASE("bad product changes are refused with a clear 4xx and change nothing") {
  test_node node;
  auto c = node.connect();
  auto admin = node.admin_token();
  auto alice = node.customer_token("alice");
  create_product(c, admin, "mug", 900);
  auto before = get_product(c, admin, "mug");
  auto events_before = event_types(c, admin, "mug");

  auto put = [&](const std::string& body, const std::string& sku = "mug") {
    return c.request("PUT", "/api/v1/products/" + sku, body, bearer(admin));
  };
  auto stock = [&](const std::string& body, const std::string& sku = "mug") {
    return c.request("POST", "/api/v1/products/" + sku + "/stock", body, bearer(admin));
  };

  require_invalid_field(put(R"({"price_cents":-1})"), "price_cents");
  require_invalid_field(put(R"({"name":"ok","price_cents":100000000001})"), "price_cents");
  require_invalid_field(put(R"({"name":""})"), "name");
  require_invalid_field(put(R"({"category":""})"), "category");
  require_invalid_field(put(R"({"description":")" + std::string(4001, 'x') + "\"}"), "description");
  require_invalid_field(put(R"({})"), "name");
  require_invalid_field(put(R"({"currency":"EUR"})"), "name"); // not a field one can update
  require_error(put(R"({"name":5})"), 400, "bad_request");
  require_error(put(R"({"price_cents":"12"})"), 400, "bad_request");
  require_error(put("[1]"), 400, "bad_request");
  require_error(put("{"), 400, "bad_request");
  require_error(put(R"({"name":"x"})", "nope"), 404, "not_found");

  require_invalid_field(stock(R"({})"), "delta");
  require_invalid_field(stock(R"({"delta":1,"set":2})"), "delta");
  require_invalid_field(stock(R"({"set":-1})"), "set");
  require_invalid_field(stock(R"({"delta":-11})"), "delta"); // stock 10 would be -1
  require_invalid_field(stock(R"({"delta":1000000000})"), "delta");
  require_error(stock(R"({"delta":"5"})"), 400, "bad_request");
  require_error(stock(R"({"set":1.5})"), 400, "bad_request");
  require_error(stock("5"), 400, "bad_request");
  require_error(stock(R"({"delta":1})", "nope"), 404, "not_found");

  require_error(c.request("POST", "/api/v1/products/nope/deactivate", "", bearer(admin)), 404,
                "not_found");
  require_error(c.request("POST", "/api/v1/products/mug/deactivate", "not json", bearer(admin)),
                400, "bad_request");

  // Customers may not change products; requests without a token are unauthorized.
  require_error(c.request("PUT", "/api/v1/products/mug", R"({"name":"x"})", bearer(alice)), 403,
                "forbidden");
  require_error(c.request("POST", "/api/v1/products/mug/stock", R"({"delta":1})", bearer(alice)),
                403, "forbidden");
  require_error(c.request("POST", "/api/v1/products/mug/deactivate", "", bearer(alice)), 403,
                "forbidden");
  require_error(c.request("POST", "/api/v1/products/mug/stock", R"({"delta":1})", {}), 401,
                "unauthorized");

  CHECK(get_product(c, admin, "mug") == before);
  CHECK(event_types(c, admin, "mug") == events_before);
  CHECK(c.request("GET", "/api/v1/products/nope", "", bearer(admin)).status == 404);
}

TEST_CASE("product changes retried with their keys take effect once and answer the first reply") {
  test_node node;
  auto c = node.connect();
  auto admin = node.admin_token();
  create_product(c, admin, "mug", 900);

  auto first =
      c.request("POST", "/api/v1/products/mug/stock", R"({"delta":4})", keyed(admin, "restock-1"));
  require_stock(first, 14);
  auto again =
      c.request("POST", "/api/v1/products/mug/stock", R"({"delta":4})", keyed(admin, "restock-1"));
  CHECK(again.status == 200);
  CHECK(again.body == first.body);
  CHECK(num(get_product(c, admin, "mug").at("stock")) == 14);
  require_error(
      c.request("POST", "/api/v1/products/mug/stock", R"({"delta":5})", keyed(admin, "restock-1")),
      409, "conflict");

  auto put =
      c.request("PUT", "/api/v1/products/mug", R"({"price_cents":1000})", keyed(admin, "price-1"));
  auto put_again =
      c.request("PUT", "/api/v1/products/mug", R"({"price_cents":1000})", keyed(admin, "price-1"));
  require_product(put);
  CHECK(put_again.body == put.body);

  auto off = c.request("POST", "/api/v1/products/mug/deactivate", "", keyed(admin, "off-1"));
  auto off_again = c.request("POST", "/api/v1/products/mug/deactivate", "", keyed(admin, "off-1"));
  require_product(off);
  CHECK(off_again.body == off.body);

  // A refusal is remembered with its key too.
  auto refused =
      c.request("PUT", "/api/v1/products/nope", R"({"name":"x"})", keyed(admin, "nope-1"));
  require_error(refused, 404, "not_found");
  CHECK(c.request("PUT", "/api/v1/products/nope", R"({"name":"x"})", keyed(admin, "nope-1")).body ==
        refused.body);

  auto events = event_types(c, admin, "mug");
  CHECK(events == std::vector<std::string>{"product-created", "stock-updated", "stock-updated",
                                           "product-updated", "product-deactivated"});
}

namespace {

/// The keys of the grains of `type` active on the node (GET /admin/grains).
std::set<std::string> active_keys(http_connection& c, const std::string& admin,
                                  const std::string& type) {
  auto r = c.request("GET", "/admin/grains?type=" + type, "", bearer(admin));
  INFO("body: " << r.body);
  REQUIRE(r.status == 200);
  std::set<std::string> out;
  auto body = r.json();
  for (const auto& g : body.at("items").as_array())
    out.emplace(g.at("key").as_string());
  return out;
}

} // namespace

TEST_CASE("a read of an unknown product or order answers 404 and keeps no activation") {
  test_node node;
  auto c = node.connect();
  const auto admin = node.admin_token();
  const auto alice = node.customer_token("alice");
  create_product(c, admin, "known");
  REQUIRE(c.request("GET", "/api/v1/products/known", "", bearer(alice)).status == 200);

  // A client probing keys: every probe is answered 404, and none of them stays in memory.
  for (int i = 0; i < 50; ++i) {
    require_error(
        c.request("GET", "/api/v1/products/probe-" + std::to_string(i), "", bearer(alice)), 404,
        "not_found");
    require_error(
        c.request("GET", "/api/v1/orders/ord-probe-" + std::to_string(i), "", bearer(admin)), 404,
        "not_found");
  }
  // A refused change of an unknown product (with its key remembered) leaves too.
  auto keyed_refusal = [&] {
    return c.request("PUT", "/api/v1/products/probe-put", R"({"name":"x"})",
                     keyed(admin, "probe-put-1"));
  };
  auto refused = keyed_refusal();
  require_error(refused, 404, "not_found");

  std::set<std::string> products, orders;
  CHECK(bazaar::test::eventually([&] {
    products = active_keys(c, admin, "inventory");
    orders = active_keys(c, admin, "order");
    return products == std::set<std::string>{"known"} && orders.empty();
  }));
  INFO("inventory grains still active: " << products.size() << ", orders: " << orders.size());
  CHECK(products == std::set<std::string>{"known"}); // a product that exists stays
  CHECK(orders.empty());

  // What was remembered is still answered by the next activation.
  CHECK(keyed_refusal().body == refused.body);
  // And an unknown key can still be created afterwards.
  create_product(c, admin, "probe-1");
  CHECK(c.request("GET", "/api/v1/products/probe-1", "", bearer(alice)).status == 200);
}
