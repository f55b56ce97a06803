// End-to-end tests of the HTTP API (docs/API.md: Authentication, Errors, Catalog, Basket) against a
// real node started in-process and spoken to over loopback, plus the Pistache hardening of
// docs/LIBRARIES.md. Every TEST_CASE starts its own node, so none depends on another.

#include "bazaar/gateway/jwt.hpp"
#include "support/api_checks.hpp"
#include "support/http_client.hpp"
#include "support/test_node.hpp"

#include <boost/json.hpp>
#include <catch2/catch.hpp>

#include <algorithm>
#include <chrono>
#include <set>
#include <string>
#include <thread>
#include <vector>

namespace json = boost::json;
using namespace std::chrono_literals;
using bazaar::test::add_item;
using bazaar::test::bearer;
using bazaar::test::check_no_internals;
using bazaar::test::create_product;
using bazaar::test::get_basket;
using bazaar::test::header_list;
using bazaar::test::http_connection;
using bazaar::test::http_response;
using bazaar::test::is_recent_rfc3339;
using bazaar::test::keys_of;
using bazaar::test::line_of;
using bazaar::test::num;
using bazaar::test::product_fields;
using bazaar::test::put_item;
using bazaar::test::raw_exchange;
using bazaar::test::require_basket;
using bazaar::test::require_error;
using bazaar::test::require_invalid_field;
using bazaar::test::test_node;

namespace {

/// A request of the table of /api/v1 routes.
struct route_call {
  std::string method;
  std::string path;
  std::string body;
};

/// Every implemented /api/v1 route, with a well-formed body where it takes one.
const std::vector<route_call>& api_routes() {
  static const std::vector<route_call> routes{
      {"GET", "/api/v1/products/sku-1", ""},
      {"POST", "/api/v1/products",
       R"({"sku":"sku-1","name":"A","category":"c","price_cents":100,"stock":1})"},
      {"GET", "/api/v1/basket", ""},
      {"POST", "/api/v1/basket/items", R"({"sku":"sku-1","quantity":1})"},
      {"PUT", "/api/v1/basket/items/sku-1", R"({"quantity":2})"},
      {"DELETE", "/api/v1/basket/items/sku-1", ""},
      {"DELETE", "/api/v1/basket", ""},
  };
  return routes;
}

/// The raw bytes of a request with the given head lines (no final blank line) and body.
std::string raw_request(const std::string& request_line, const std::vector<std::string>& lines,
                        const std::string& body = {}) {
  std::string out = request_line + "\r\n";
  for (const auto& l : lines)
    out += l + "\r\n";
  return out + "\r\n" + body;
}

/// Checks that the node still answers /healthz on a fresh connection.
void require_healthy(const test_node& node) {
  auto c = node.connect();
  auto r = c.request("GET", "/healthz");
  REQUIRE(r.status == 200);
}

/// Sends every /api/v1 route with the given headers and checks each gets a 401.
void require_all_unauthorized(test_node& node, const header_list& headers) {
  auto c = node.connect();
  for (const auto& call : api_routes()) {
    INFO(call.method << " " << call.path);
    auto r = c.request(call.method, call.path, call.body, headers);
    require_error(r, 401, "unauthorized");
  }
}

} // namespace

// -- health ----------------------------------------------------------------------------------

TEST_CASE("health and readiness answer 200 without a token") {
  test_node node;
  auto c = node.connect();
  auto health = c.request("GET", "/healthz");
  CHECK(health.status == 200);
  CHECK(health.json().as_object().at("status") == "ok");
  auto ready = c.request("GET", "/readyz");
  CHECK(ready.status == 200);
  CHECK(ready.json().as_object().at("status") == "ready");
}

// -- authentication --------------------------------------------------------------------------

TEST_CASE("every api route refuses a request without a token") {
  test_node node;
  require_all_unauthorized(node, {});
}

TEST_CASE("every api route refuses a token signed with another secret") {
  test_node node;
  require_all_unauthorized(node, bearer(node.wrong_secret_token("alice")));
  // None of the refused requests changed anything.
  auto c = node.connect();
  auto basket = get_basket(c, node.customer_token("alice"));
  CHECK(basket.at("items").as_array().empty());
  CHECK(num(basket.at("version")) == 0);
  auto product =
      c.request("GET", "/api/v1/products/sku-1", "", bearer(node.customer_token("alice")));
  require_error(product, 404, "not_found");
}

TEST_CASE("every api route refuses an unsigned alg none token") {
  test_node node;
  require_all_unauthorized(node, bearer(node.alg_none_token("alice", "customer")));
  require_all_unauthorized(node, bearer(node.alg_none_token("root", "admin")));
}

TEST_CASE("every api route refuses an expired token") {
  test_node node;
  require_all_unauthorized(node, bearer(node.expired_token("alice")));
}

TEST_CASE("a token accepted while valid is refused from the second of its exp on") {
  // The gateway remembers verified tokens: never past their exp.
  test_node node;
  using std::chrono::system_clock;
  auto exp =
      std::chrono::duration_cast<std::chrono::seconds>(system_clock::now().time_since_epoch())
          .count() +
      3;
  bazaar::auth::claims claims;
  claims.subject = "alice";
  claims.expires_at = exp;
  auto token = bazaar::auth::sign(claims, bazaar::test::test_jwt_secret);
  auto c = node.connect();
  for (int i = 0; i < 3; ++i)
    REQUIRE(c.request("GET", "/api/v1/basket", "", bearer(token)).status == 200);
  while (system_clock::now() < system_clock::time_point{std::chrono::seconds{exp}} + 100ms)
    std::this_thread::sleep_for(50ms);
  auto e =
      require_error(c.request("GET", "/api/v1/basket", "", bearer(token)), 401, "unauthorized");
  CHECK(std::string(e.at("message").as_string()).find("expired") != std::string::npos);
}

TEST_CASE("every api route refuses an authorization that is not a bearer token") {
  test_node node;
  auto valid = node.customer_token("alice");
  for (const auto& value :
       {std::string("Bearer garbage"), std::string("Bearer a.b.c"), std::string("Bearer "),
        std::string("Bearer"), std::string("Basic YWxpY2U6c2VjcmV0"), "Token " + valid,
        "Bearer " + valid + "x"}) {
    INFO("Authorization: " << value);
    require_all_unauthorized(node, {{"Authorization", value}});
  }
}

TEST_CASE("a customer token cannot create a product") {
  test_node node;
  auto c = node.connect();
  auto customer = node.customer_token("alice");
  auto r = c.request("POST", "/api/v1/products", json::serialize(product_fields("sku-1")),
                     bearer(customer));
  require_error(r, 403, "forbidden");
  auto get = c.request("GET", "/api/v1/products/sku-1", "", bearer(customer));
  require_error(get, 404, "not_found");
}

// -- catalog ---------------------------------------------------------------------------------

TEST_CASE("an admin creates a product and reads it back in the API shape") {
  test_node node;
  auto c = node.connect();
  auto admin = node.admin_token();
  auto r = c.request("POST", "/api/v1/products", json::serialize(product_fields("sku-1", 1999, 7)),
                     bearer(admin));
  INFO("body: " << r.body);
  REQUIRE(r.status == 201);
  auto created = r.json();
  REQUIRE(created.is_object());
  const auto& p = created.as_object();
  CHECK(keys_of(p) == std::set<std::string>{"sku", "name", "description", "category", "price_cents",
                                            "currency", "active", "stock", "reserved", "available",
                                            "low_stock_threshold", "version"});
  CHECK(p.at("sku") == "sku-1");
  CHECK(p.at("name") == "Product sku-1");
  CHECK(p.at("description") == "d");
  CHECK(p.at("category") == "tools");
  CHECK(num(p.at("price_cents")) == 1999);
  CHECK(p.at("currency") == "USD");
  CHECK(p.at("active") == true);
  CHECK(num(p.at("stock")) == 7);
  CHECK(num(p.at("reserved")) == 0);
  CHECK(num(p.at("available")) == num(p.at("stock")) - num(p.at("reserved")));
  CHECK(num(p.at("low_stock_threshold")) == 2);
  CHECK(num(p.at("version")) == 1);

  // A customer reads exactly what was created.
  auto get = c.request("GET", "/api/v1/products/sku-1", "", bearer(node.customer_token("bob")));
  REQUIRE(get.status == 200);
  CHECK(get.json() == created);
}

TEST_CASE("optional product fields take their defaults") {
  test_node node;
  auto c = node.connect();
  auto r = c.request("POST", "/api/v1/products",
                     R"({"sku":"min-1","name":"Minimal","category":"c","price_cents":5,"stock":0})",
                     bearer(node.admin_token()));
  INFO("body: " << r.body);
  REQUIRE(r.status == 201);
  const auto p = r.json().as_object();
  CHECK(p.at("description") == "");
  CHECK(p.at("currency") == "USD");
  CHECK(num(p.at("low_stock_threshold")) == 0);
  CHECK(num(p.at("available")) == 0);
  CHECK(num(p.at("version")) == 1);
}

TEST_CASE("creating a product with an existing sku is a conflict") {
  test_node node;
  auto c = node.connect();
  auto admin = node.admin_token();
  create_product(c, admin, "sku-1", 1000);
  auto again = c.request("POST", "/api/v1/products", json::serialize(product_fields("sku-1", 5)),
                         bearer(admin));
  require_error(again, 409, "conflict");
  auto get = c.request("GET", "/api/v1/products/sku-1", "", bearer(admin));
  REQUIRE(get.status == 200);
  CHECK(num(get.json().as_object().at("price_cents")) == 1000);
  CHECK(num(get.json().as_object().at("version")) == 1);
}

TEST_CASE("invalid product values are refused naming the field") {
  test_node node;
  auto c = node.connect();
  auto admin = node.admin_token();
  auto refuse = [&](const std::string& field, json::value value) {
    auto body = product_fields("valid-sku");
    body[field] = std::move(value);
    INFO("body: " << json::serialize(body));
    auto r = c.request("POST", "/api/v1/products", json::serialize(body), bearer(admin));
    require_invalid_field(r, field);
  };
  refuse("sku", "has space");
  refuse("sku", "");
  refuse("sku", json::string(65, 'a'));
  refuse("sku", "slash/sku");
  refuse("name", "");
  refuse("name", json::string(201, 'n'));
  refuse("category", "");
  refuse("price_cents", -1);
  refuse("currency", "usd");
  refuse("currency", "US");
  refuse("currency", "DOLLAR");
  refuse("stock", -5);
  refuse("low_stock_threshold", -1);
  // Nothing was created by the refused requests.
  auto get = c.request("GET", "/api/v1/products/valid-sku", "", bearer(admin));
  require_error(get, 404, "not_found");
}

TEST_CASE("product fields of the wrong type are a bad request") {
  test_node node;
  auto c = node.connect();
  auto admin = node.admin_token();
  auto refuse = [&](const std::string& field, json::value value) {
    auto body = product_fields("typed-sku");
    body[field] = std::move(value);
    INFO("body: " << json::serialize(body));
    auto r = c.request("POST", "/api/v1/products", json::serialize(body), bearer(admin));
    require_error(r, 400, "bad_request");
  };
  refuse("sku", 42);
  refuse("name", 5);
  refuse("name", json::array{"a"});
  refuse("category", true);
  refuse("price_cents", "12");
  refuse("price_cents", 12.5);
  refuse("stock", "ten");
  refuse("stock", json::object{});
  refuse("currency", 840);
  refuse("description", 1);
}

TEST_CASE("a product without a required field is refused naming it") {
  test_node node;
  auto c = node.connect();
  auto admin = node.admin_token();
  for (const char* field : {"sku", "name", "category", "price_cents", "stock"}) {
    auto body = product_fields("partial-sku");
    body.erase(field);
    INFO("body: " << json::serialize(body));
    auto r = c.request("POST", "/api/v1/products", json::serialize(body), bearer(admin));
    require_invalid_field(r, field);
  }
  auto empty = c.request("POST", "/api/v1/products", "{}", bearer(admin));
  require_error(empty, 422, "validation_failed");
}

TEST_CASE("a product body that is not a JSON object is a bad request") {
  test_node node;
  auto c = node.connect();
  auto admin = node.admin_token();
  for (const char* body : {"{not json", "[1,2,3]", R"(["sku","x"])", "\"text\"", "42", "null",
                           R"({"sku":"a",})", "{} {}"}) {
    INFO("body: " << body);
    auto r = c.request("POST", "/api/v1/products", body, bearer(admin));
    require_error(r, 400, "bad_request");
  }
  auto empty = c.request("POST", "/api/v1/products", "", bearer(admin));
  require_error(empty, 400, "bad_request");
}

TEST_CASE("a product body with another content type is refused as unsupported") {
  test_node node;
  auto c = node.connect();
  auto admin = node.admin_token();
  auto body = json::serialize(product_fields("typed-1"));
  for (const char* type : {"text/plain", "application/x-www-form-urlencoded", "text/json"}) {
    INFO("Content-Type: " << type);
    header_list headers = bearer(admin);
    headers.emplace_back("Content-Type", type);
    auto r = c.request("POST", "/api/v1/products", body, headers);
    require_error(r, 415, "unsupported_media_type");
  }
  // A charset parameter is still JSON.
  header_list headers = bearer(admin);
  headers.emplace_back("Content-Type", "application/json; charset=utf-8");
  auto ok = c.request("POST", "/api/v1/products", body, headers);
  CHECK(ok.status == 201);
}

TEST_CASE("an unknown product is not found") {
  test_node node;
  auto c = node.connect();
  auto token = node.customer_token("alice");
  require_error(c.request("GET", "/api/v1/products/no-such-sku", "", bearer(token)), 404,
                "not_found");
  require_error(c.request("GET", "/api/v1/products/bad%20sku", "", bearer(token)), 404,
                "not_found");
}

// -- basket ----------------------------------------------------------------------------------

TEST_CASE("a new customer has an empty basket") {
  test_node node;
  auto c = node.connect();
  auto basket = get_basket(c, node.customer_token("alice"));
  CHECK(basket.at("customer_id") == "alice");
  CHECK(basket.at("items").as_array().empty());
  CHECK(num(basket.at("total_cents")) == 0);
  CHECK(num(basket.at("version")) == 0);
  CHECK(basket.at("currency").is_string());
}

TEST_CASE("adding a product puts a line priced from the product into the basket") {
  test_node node;
  auto c = node.connect();
  auto admin = node.admin_token();
  create_product(c, admin, "apple", 250);
  create_product(c, admin, "pear", 1999);
  auto alice = node.customer_token("alice");

  auto first = require_basket(add_item(c, alice, "apple", 3));
  CHECK(first.at("customer_id") == "alice");
  REQUIRE(first.at("items").as_array().size() == 1);
  const auto* apple = line_of(first, "apple");
  REQUIRE(apple != nullptr);
  CHECK(apple->at("name") == "Product apple");
  CHECK(num(apple->at("quantity")) == 3);
  CHECK(num(apple->at("unit_price_cents")) == 250);
  CHECK(num(apple->at("line_total_cents")) == 750);
  CHECK(num(first.at("total_cents")) == 750);
  CHECK(first.at("currency") == "USD");

  auto second = require_basket(add_item(c, alice, "pear", 2));
  REQUIRE(second.at("items").as_array().size() == 2);
  CHECK(num(line_of(second, "pear")->at("line_total_cents")) == 3998);
  CHECK(num(second.at("total_cents")) == 750 + 3998);

  // GET shows the same state.
  CHECK(json::value(get_basket(c, alice)) == json::value(second));
}

TEST_CASE("adding the same product again sums the quantity") {
  test_node node;
  auto c = node.connect();
  create_product(c, node.admin_token(), "apple", 250);
  auto alice = node.customer_token("alice");
  require_basket(add_item(c, alice, "apple", 2));
  auto b = require_basket(add_item(c, alice, "apple", 5));
  REQUIRE(b.at("items").as_array().size() == 1);
  CHECK(num(line_of(b, "apple")->at("quantity")) == 7);
  CHECK(num(b.at("total_cents")) == 7 * 250);
}

TEST_CASE("putting a quantity sets the line and zero removes it") {
  test_node node;
  auto c = node.connect();
  auto admin = node.admin_token();
  create_product(c, admin, "apple", 250);
  create_product(c, admin, "pear", 100);
  auto alice = node.customer_token("alice");
  require_basket(add_item(c, alice, "apple", 5));
  require_basket(add_item(c, alice, "pear", 1));

  auto set = require_basket(put_item(c, alice, "apple", 2));
  CHECK(num(line_of(set, "apple")->at("quantity")) == 2);
  CHECK(num(set.at("total_cents")) == 2 * 250 + 100);

  auto removed = require_basket(put_item(c, alice, "apple", 0));
  CHECK(line_of(removed, "apple") == nullptr);
  REQUIRE(removed.at("items").as_array().size() == 1);
  CHECK(num(removed.at("total_cents")) == 100);
}

TEST_CASE("putting a quantity for a product not in the basket adds its line") {
  test_node node;
  auto c = node.connect();
  create_product(c, node.admin_token(), "apple", 250);
  auto alice = node.customer_token("alice");
  auto b = require_basket(put_item(c, alice, "apple", 4));
  const auto* line = line_of(b, "apple");
  REQUIRE(line != nullptr);
  CHECK(num(line->at("quantity")) == 4);
  CHECK(num(line->at("unit_price_cents")) == 250);
  CHECK(line->at("name") == "Product apple");
  CHECK(num(b.at("total_cents")) == 1000);

  // Zero for an absent line changes nothing.
  auto unchanged = require_basket(put_item(c, alice, "pear", 0));
  CHECK(unchanged.at("items").as_array().size() == 1);
}

TEST_CASE("deleting a line removes only that line") {
  test_node node;
  auto c = node.connect();
  auto admin = node.admin_token();
  create_product(c, admin, "apple", 250);
  create_product(c, admin, "pear", 100);
  auto alice = node.customer_token("alice");
  require_basket(add_item(c, alice, "apple", 1));
  require_basket(add_item(c, alice, "pear", 3));
  auto b = require_basket(c.request("DELETE", "/api/v1/basket/items/apple", "", bearer(alice)));
  CHECK(line_of(b, "apple") == nullptr);
  REQUIRE(line_of(b, "pear") != nullptr);
  CHECK(num(b.at("total_cents")) == 300);
  CHECK(json::value(get_basket(c, alice)) == json::value(b));
}

TEST_CASE("deleting the basket empties it") {
  test_node node;
  auto c = node.connect();
  auto admin = node.admin_token();
  create_product(c, admin, "apple", 250);
  create_product(c, admin, "pear", 100);
  auto alice = node.customer_token("alice");
  require_basket(add_item(c, alice, "apple", 1));
  require_basket(add_item(c, alice, "pear", 3));
  auto b = require_basket(c.request("DELETE", "/api/v1/basket", "", bearer(alice)));
  CHECK(b.at("items").as_array().empty());
  CHECK(num(b.at("total_cents")) == 0);
  CHECK(get_basket(c, alice).at("items").as_array().empty());
}

TEST_CASE("adding an unknown sku is refused naming the sku") {
  test_node node;
  auto c = node.connect();
  auto alice = node.customer_token("alice");
  require_invalid_field(add_item(c, alice, "no-such-sku", 1), "sku");
  require_invalid_field(put_item(c, alice, "no-such-sku", 1), "sku");
  require_invalid_field(add_item(c, alice, "bad sku!", 1), "sku");
  CHECK(get_basket(c, alice).at("items").as_array().empty());
}

TEST_CASE("basket quantities out of range or of the wrong type are refused") {
  test_node node;
  auto c = node.connect();
  create_product(c, node.admin_token(), "apple", 250);
  auto alice = node.customer_token("alice");
  auto add = [&](const std::string& quantity) {
    return c.request("POST", "/api/v1/basket/items",
                     R"({"sku":"apple","quantity":)" + quantity + "}", bearer(alice));
  };
  auto put = [&](const std::string& quantity) {
    return c.request("PUT", "/api/v1/basket/items/apple", R"({"quantity":)" + quantity + "}",
                     bearer(alice));
  };
  require_invalid_field(add("0"), "quantity");
  require_invalid_field(add("1000"), "quantity");
  require_invalid_field(add("-1"), "quantity");
  require_invalid_field(add("4294967297"), "quantity");
  require_error(add(R"("x")"), 400, "bad_request");
  require_error(add("2.5"), 400, "bad_request");
  require_error(add("true"), 400, "bad_request");
  require_invalid_field(
      c.request("POST", "/api/v1/basket/items", R"({"sku":"apple"})", bearer(alice)), "quantity");
  require_invalid_field(
      c.request("POST", "/api/v1/basket/items", R"({"quantity":1})", bearer(alice)), "sku");
  require_error(
      c.request("POST", "/api/v1/basket/items", R"({"sku":5,"quantity":1})", bearer(alice)), 400,
      "bad_request");
  require_invalid_field(put("1000"), "quantity");
  require_invalid_field(put("-1"), "quantity");
  require_error(put(R"("x")"), 400, "bad_request");
  require_error(put("2.5"), 400, "bad_request");
  require_error(c.request("PUT", "/api/v1/basket/items/apple", "[1]", bearer(alice)), 400,
                "bad_request");
  auto b = get_basket(c, alice);
  CHECK(b.at("items").as_array().empty());
  CHECK(num(b.at("version")) == 0);
}

TEST_CASE("a basket line holds at most 999 units") {
  test_node node;
  auto c = node.connect();
  create_product(c, node.admin_token(), "apple", 1);
  auto alice = node.customer_token("alice");
  require_basket(add_item(c, alice, "apple", 999));
  require_error(add_item(c, alice, "apple", 1), 422, "validation_failed");
  require_basket(put_item(c, alice, "apple", 500));
  require_error(add_item(c, alice, "apple", 500), 422, "validation_failed");
  auto ok = require_basket(add_item(c, alice, "apple", 499));
  CHECK(num(line_of(ok, "apple")->at("quantity")) == 999);
  CHECK(num(get_basket(c, alice).at("version")) == 3);
}

TEST_CASE("a basket holds at most 100 lines") {
  test_node node;
  auto c = node.connect();
  auto admin = node.admin_token();
  for (int i = 0; i < 101; ++i)
    create_product(c, admin, "sku-" + std::to_string(i), 10 + i);
  auto alice = node.customer_token("alice");
  for (int i = 0; i < 100; ++i) {
    auto r = add_item(c, alice, "sku-" + std::to_string(i), 1);
    INFO("line " << i << ": " << r.body);
    REQUIRE(r.status == 200);
  }
  require_error(add_item(c, alice, "sku-100", 1), 422, "validation_failed");
  require_error(put_item(c, alice, "sku-100", 1), 422, "validation_failed");
  // An existing line can still grow.
  require_basket(add_item(c, alice, "sku-0", 1));
  auto b = get_basket(c, alice);
  CHECK(b.at("items").as_array().size() == 100);
  CHECK(line_of(b, "sku-100") == nullptr);
}

TEST_CASE("a customer cannot see another customer's basket") {
  test_node node;
  auto c = node.connect();
  auto admin = node.admin_token();
  create_product(c, admin, "apple", 250);
  create_product(c, admin, "pear", 100);
  auto alice = node.customer_token("alice");
  auto bob = node.customer_token("bob");
  require_basket(add_item(c, alice, "apple", 3));

  auto bobs = get_basket(c, bob);
  CHECK(bobs.at("customer_id") == "bob");
  CHECK(bobs.at("items").as_array().empty());
  CHECK(num(bobs.at("version")) == 0);

  // Bob's changes touch only his basket.
  require_basket(c.request("DELETE", "/api/v1/basket/items/apple", "", bearer(bob)));
  require_basket(c.request("DELETE", "/api/v1/basket", "", bearer(bob)));
  require_basket(add_item(c, bob, "pear", 1));
  auto alices = get_basket(c, alice);
  CHECK(alices.at("customer_id") == "alice");
  REQUIRE(alices.at("items").as_array().size() == 1);
  CHECK(num(line_of(alices, "apple")->at("quantity")) == 3);
  bobs = get_basket(c, bob);
  REQUIRE(bobs.at("items").as_array().size() == 1);
  CHECK(line_of(bobs, "apple") == nullptr);
}

TEST_CASE("an unknown route is not found") {
  test_node node;
  auto c = node.connect();
  auto alice = node.customer_token("alice");
  require_error(c.request("GET", "/api/v1/nope", "", bearer(alice)), 404, "not_found");
  require_error(c.request("GET", "/api/v1/basket/items/apple/extra", "", bearer(alice)), 404,
                "not_found");
  require_error(c.request("GET", "/nope"), 404, "not_found");
  require_error(c.request("GET", "/"), 404, "not_found");
}

TEST_CASE("a wrong method on a known path is refused with 405 and an Allow header") {
  test_node node;
  auto c = node.connect();
  auto alice = node.customer_token("alice");
  auto r = c.request("POST", "/api/v1/basket", "{}", bearer(alice));
  require_error(r, 405, "method_not_allowed");
  REQUIRE(r.has_header("allow"));
  auto allow = r.header("allow");
  CHECK(allow.find("GET") != std::string::npos);
  CHECK(allow.find("DELETE") != std::string::npos);
  CHECK(allow.find("POST") == std::string::npos);

  auto items = c.request("GET", "/api/v1/basket/items", "", bearer(alice));
  require_error(items, 405, "method_not_allowed");
  CHECK(items.header("allow").find("POST") != std::string::npos);

  auto product = c.request("DELETE", "/api/v1/products/apple", "", bearer(alice));
  require_error(product, 405, "method_not_allowed");
  CHECK(product.header("allow").find("GET") != std::string::npos);

  auto health = c.request("DELETE", "/healthz");
  require_error(health, 405, "method_not_allowed");
  CHECK(health.header("allow") == "GET");
}

TEST_CASE("every basket change increments the version by one") {
  test_node node;
  auto c = node.connect();
  auto admin = node.admin_token();
  create_product(c, admin, "apple", 250);
  create_product(c, admin, "pear", 100);
  auto alice = node.customer_token("alice");
  std::vector<http_response> changes;
  changes.push_back(add_item(c, alice, "apple", 1));
  changes.push_back(add_item(c, alice, "apple", 1));
  changes.push_back(add_item(c, alice, "pear", 2));
  changes.push_back(put_item(c, alice, "pear", 5));
  changes.push_back(put_item(c, alice, "apple", 0));
  changes.push_back(c.request("DELETE", "/api/v1/basket/items/pear", "", bearer(alice)));
  changes.push_back(add_item(c, alice, "apple", 1));
  changes.push_back(c.request("DELETE", "/api/v1/basket", "", bearer(alice)));
  for (std::size_t i = 0; i < changes.size(); ++i) {
    INFO("change " << i + 1);
    CHECK(num(require_basket(changes[i]).at("version")) == static_cast<std::int64_t>(i + 1));
  }
  // A read and a refused change do not count.
  require_error(add_item(c, alice, "no-such-sku", 1), 422, "validation_failed");
  CHECK(num(get_basket(c, alice).at("version")) == static_cast<std::int64_t>(changes.size()));
}

TEST_CASE("a changed basket carries an RFC 3339 updated_at") {
  test_node node;
  auto c = node.connect();
  create_product(c, node.admin_token(), "apple", 250);
  auto alice = node.customer_token("alice");
  auto b = require_basket(add_item(c, alice, "apple", 1));
  REQUIRE(b.at("updated_at").is_string());
  std::string at(b.at("updated_at").as_string());
  INFO("updated_at: " << at);
  CHECK(is_recent_rfc3339(at));
  auto after_get = get_basket(c, alice);
  CHECK(after_get.at("updated_at") == b.at("updated_at"));
}

// -- errors and correlation ------------------------------------------------------------------

TEST_CASE("error bodies have exactly the code, message and details shape") {
  test_node node;
  auto c = node.connect();
  auto admin = node.admin_token();
  auto alice = node.customer_token("alice");
  create_product(c, admin, "apple", 250);
  require_error(c.request("GET", "/api/v1/basket"), 401, "unauthorized");
  require_error(c.request("POST", "/api/v1/products", "{}", bearer(alice)), 403, "forbidden");
  require_error(c.request("GET", "/api/v1/products/pear", "", bearer(alice)), 404, "not_found");
  require_error(c.request("PUT", "/healthz", "{}"), 405, "method_not_allowed");
  require_error(c.request("POST", "/api/v1/products", json::serialize(product_fields("apple")),
                          bearer(admin)),
                409, "conflict");
  header_list text = bearer(alice);
  text.emplace_back("Content-Type", "text/plain");
  require_error(c.request("POST", "/api/v1/basket/items", "apple", text), 415,
                "unsupported_media_type");
  require_error(c.request("POST", "/api/v1/basket/items", "{", bearer(alice)), 400, "bad_request");
  require_invalid_field(add_item(c, alice, "apple", 0), "quantity");
}

TEST_CASE("a correlation id is echoed when sent and generated when not") {
  test_node node;
  auto c = node.connect();
  auto sent = c.request("GET", "/healthz", "", {{"X-Correlation-Id", "e2e-corr-42"}});
  CHECK(sent.header("x-correlation-id") == "e2e-corr-42");

  auto alice = node.customer_token("alice");
  header_list headers = bearer(alice);
  headers.emplace_back("X-Correlation-Id", "e2e-corr-43");
  auto api = c.request("GET", "/api/v1/basket", "", headers);
  CHECK(api.status == 200);
  CHECK(api.header("x-correlation-id") == "e2e-corr-43");

  // Errors carry it too.
  auto error = c.request("GET", "/api/v1/basket", "", {{"X-Correlation-Id", "e2e-corr-44"}});
  CHECK(error.status == 401);
  CHECK(error.header("x-correlation-id") == "e2e-corr-44");

  auto first = c.request("GET", "/healthz");
  auto second = c.request("GET", "/healthz");
  REQUIRE(first.has_header("x-correlation-id"));
  REQUIRE(second.has_header("x-correlation-id"));
  CHECK(!first.header("x-correlation-id").empty());
  CHECK(first.header("x-correlation-id") != second.header("x-correlation-id"));
}

// -- concurrency and connections -------------------------------------------------------------

TEST_CASE("concurrent adds from twenty connections are all counted") {
  test_node node;
  {
    auto c = node.connect();
    create_product(c, node.admin_token(), "apple", 3);
  }
  auto alice = node.customer_token("alice");
  constexpr int threads = 20;
  constexpr int adds = 10;
  std::vector<std::vector<int>> statuses(threads);
  std::vector<std::string> errors(threads);
  std::vector<std::thread> workers;
  for (int t = 0; t < threads; ++t) {
    workers.emplace_back([&, t] {
      try {
        auto c = node.connect();
        for (int i = 0; i < adds; ++i)
          statuses[t].push_back(add_item(c, alice, "apple", 1).status);
      } catch (const std::exception& e) {
        errors[t] = e.what();
      }
    });
  }
  for (auto& w : workers)
    w.join();
  for (int t = 0; t < threads; ++t) {
    INFO("thread " << t);
    CHECK(errors[t].empty());
    CHECK(statuses[t] == std::vector<int>(adds, 200));
  }
  auto c = node.connect();
  auto b = get_basket(c, alice);
  REQUIRE(b.at("items").as_array().size() == 1);
  CHECK(num(line_of(b, "apple")->at("quantity")) == threads * adds);
  CHECK(num(b.at("version")) == threads * adds);
  CHECK(num(b.at("total_cents")) == threads * adds * 3);
}

TEST_CASE("a connection without a Connection header stays open for a hundred requests") {
  test_node node;
  {
    auto admin = node.connect();
    create_product(admin, node.admin_token(), "apple", 3);
  }
  auto alice = node.customer_token("alice");
  auto c = node.connect();
  auto port = c.local_port();
  REQUIRE(port != 0);
  for (int i = 0; i < 100; ++i) {
    INFO("request " << i);
    http_response r;
    switch (i % 3) {
    case 0:
      r = c.request("GET", "/healthz");
      break;
    case 1:
      r = add_item(c, alice, "apple", 1);
      break;
    default:
      r = c.request("GET", "/api/v1/basket", "", bearer(alice));
      break;
    }
    REQUIRE(r.status == 200);
    std::string connection = r.header("connection");
    std::transform(connection.begin(), connection.end(), connection.begin(),
                   [](unsigned char ch) { return static_cast<char>(std::tolower(ch)); });
    CHECK(connection != "close");
    REQUIRE_FALSE(r.server_closed);
    REQUIRE(c.local_port() == port);
  }
  CHECK_FALSE(c.wait_for_close(200ms));
  auto b = get_basket(c, alice);
  CHECK(num(line_of(b, "apple")->at("quantity")) == 33);
}

TEST_CASE("a request with Connection close is answered and then the connection is closed") {
  test_node node;
  auto c = node.connect();
  auto r = c.request("GET", "/healthz", "", {{"Connection", "close"}});
  CHECK(r.status == 200);
  CHECK(c.wait_for_close(5s));

  // The same for an API answer and an error answer.
  auto d = node.connect();
  auto api = d.request(
      "GET", "/api/v1/basket", "",
      {{"Authorization", "Bearer " + node.customer_token("alice")}, {"Connection", "close"}});
  CHECK(api.status == 200);
  CHECK(d.wait_for_close(5s));
  auto e = node.connect();
  auto error = e.request("GET", "/api/v1/basket", "", {{"Connection", "close"}});
  CHECK(error.status == 401);
  CHECK(e.wait_for_close(5s));
}

// -- hardening (docs/LIBRARIES.md, Pistache) -----------------------------------------------------

TEST_CASE("a body over the limit gets exactly one 413 and the connection is closed") {
  test_node node;
  REQUIRE(node.node().options().http.max_body_bytes == 64 * 1024);
  auto admin = node.admin_token();
  for (std::size_t size : {std::size_t{1} << 20, std::size_t{70} * 1024}) {
    INFO("body of " << size << " bytes");
    std::string body = R"({"sku":"big","name":")";
    body += std::string(size - body.size() - 2, 'x');
    body += "\"}";
    REQUIRE(body.size() == size);
    auto request = raw_request("POST /api/v1/products HTTP/1.1",
                               {"Host: 127.0.0.1", "Authorization: Bearer " + admin,
                                "Content-Type: application/json",
                                "Content-Length: " + std::to_string(body.size())},
                               body);
    auto result = raw_exchange(node.port(), request, 10s);
    INFO("received " << result.received.size() << " bytes: " << result.received.substr(0, 400));
    CHECK(result.closed);
    CHECK(result.response_count() == 1);
    require_error(result.first_response(), 413, "payload_too_large");
    require_healthy(node);
  }
  auto c = node.connect();
  require_error(c.request("GET", "/api/v1/products/big", "", bearer(admin)), 404, "not_found");
}

TEST_CASE("a garbage request line is refused or closed within 5 seconds") {
  test_node node;
  for (const char* garbage : {"THIS IS NOT HTTP\r\n\r\n", "GET\r\n\r\n",
                              "\x01\x02\x03\x04 / HTTP/1.1\r\n\r\n", "GET / HTTP/9.9\r\n\r\n"}) {
    INFO("request: " << garbage);
    auto result = raw_exchange(node.port(), garbage, 5s);
    INFO("received: " << result.received.substr(0, 400));
    auto answer = result.first_response();
    CHECK((result.closed || answer.status == 400));
    if (!result.received.empty())
      require_error(answer, 400, "bad_request");
    require_healthy(node);
  }
}

TEST_CASE("a negative Content-Length is a bad request without exception text") {
  test_node node;
  auto request =
      raw_request("POST /api/v1/basket/items HTTP/1.1",
                  {"Host: 127.0.0.1", "Authorization: Bearer " + node.customer_token("alice"),
                   "Content-Type: application/json", "Content-Length: -5"},
                  R"({"sku":"a","quantity":1})");
  auto result = raw_exchange(node.port(), request, 5s);
  INFO("received: " << result.received.substr(0, 400));
  require_error(result.first_response(), 400, "bad_request");
  check_no_internals(result.received);
  CHECK(result.response_count() == 1);
  require_healthy(node);
}

// RFC 9112 section 6.3: a Content-Length that is not a number is unrecoverable framing; the
// server must answer 400 and close, never guess a length and read the body as a new request.
TEST_CASE("a Content-Length that is not a number is a bad request") {
  test_node node;
  {
    auto c = node.connect();
    create_product(c, node.admin_token(), "apple", 3);
  }
  auto alice = node.customer_token("alice");
  for (const char* length : {"Content-Length: abc", "Content-Length: 99999999999999999999999",
                             "Content-Length: 12abc"}) {
    INFO(length);
    auto request = raw_request("POST /api/v1/basket/items HTTP/1.1",
                               {"Host: 127.0.0.1", "Authorization: Bearer " + alice,
                                "Content-Type: application/json", length},
                               R"({"sku":"apple","quantity":1})");
    auto result = raw_exchange(node.port(), request, 5s);
    INFO("received: " << result.received.substr(0, 600));
    CHECK(result.response_count() == 1);
    require_error(result.first_response(), 400, "bad_request");
    CHECK(result.closed);
    require_healthy(node);
  }
  auto c = node.connect();
  CHECK(get_basket(c, alice).at("items").as_array().empty());
}

TEST_CASE("a header line without a colon is refused or closed within 5 seconds") {
  test_node node;
  auto request = raw_request("GET /healthz HTTP/1.1", {"Host: 127.0.0.1", "ThisHeaderHasNoColon"});
  auto result = raw_exchange(node.port(), request, 5s);
  INFO("received: " << result.received.substr(0, 400));
  auto answer = result.first_response();
  CHECK((result.closed || answer.status == 400));
  if (!result.received.empty())
    require_error(answer, 400, "bad_request");
  require_healthy(node);
}

namespace {

/// A POST whose body stops 90 bytes short of its Content-Length.
std::string truncated_body_request(const std::string& token) {
  return raw_request("POST /api/v1/basket/items HTTP/1.1",
                     {"Host: 127.0.0.1", "Authorization: Bearer " + token,
                      "Content-Type: application/json", "Content-Length: 100"},
                     R"({"sku":"ap)");
}

/// Request headers that never end.
constexpr const char* unfinished_headers = "GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n";

} // namespace

TEST_CASE("a truncated body is closed within 5 seconds") {
  test_node node;
  REQUIRE(node.node().options().http.header_timeout_ms == 1000);
  auto result = raw_exchange(node.port(), truncated_body_request(node.customer_token("alice")), 5s);
  INFO("received: " << result.received.substr(0, 400));
  CHECK(result.closed);
  CHECK(result.response_count() <= 1);
  require_healthy(node);

  // Headers that never end are closed as well.
  auto partial = raw_exchange(node.port(), unfinished_headers, 5s);
  INFO("received: " << partial.received.substr(0, 400));
  CHECK(partial.closed);
  CHECK(partial.response_count() <= 1);
  require_healthy(node);
}

// options.hpp (http.header_timeout_ms) applies to every request, not only a connection's first.
TEST_CASE("a truncated request after a kept-alive answer is closed within 5 seconds") {
  test_node node;
  auto alice = node.customer_token("alice");
  for (const std::string& rest : {truncated_body_request(alice), std::string(unfinished_headers)}) {
    INFO("second request: " << rest);
    auto c = node.connect();
    REQUIRE(c.request("GET", "/healthz").status == 200);
    c.send_raw(rest);
    CHECK(c.wait_for_close(5s));
    require_healthy(node);
  }
}

// options.hpp (http.header_timeout_ms): "A request whose headers or body do not arrive in this
// time gets 400 and is closed"; docs/API.md: every non-2xx answer carries the error body.
TEST_CASE("a request that does not arrive in time is answered 400 with the error body") {
  test_node node;
  auto truncated =
      raw_exchange(node.port(), truncated_body_request(node.customer_token("alice")), 5s);
  auto partial = raw_exchange(node.port(), unfinished_headers, 5s);
  INFO("truncated body, received: " << truncated.received.substr(0, 400));
  INFO("unfinished headers, received: " << partial.received.substr(0, 400));
  CHECK(truncated.closed);
  CHECK(partial.closed);
  CHECK(truncated.first_response().status == 400);
  CHECK(partial.first_response().status == 400);
  require_error(truncated.first_response(), 400, "bad_request");
  require_error(partial.first_response(), 400, "bad_request");
}

TEST_CASE("clients that disconnect before their answer do not harm the node") {
  test_node node;
  {
    auto c = node.connect();
    create_product(c, node.admin_token(), "apple", 3);
  }
  auto alice = node.customer_token("alice");
  auto body = json::serialize(json::object{{"sku", "apple"}, {"quantity", 1}});
  auto request = raw_request("POST /api/v1/basket/items HTTP/1.1",
                             {"Host: 127.0.0.1", "Authorization: Bearer " + alice,
                              "Content-Type: application/json",
                              "Content-Length: " + std::to_string(body.size())},
                             body);
  for (int i = 0; i < 200; ++i) {
    http_connection c{node.port()};
    if (i % 4 == 3)
      c.send_raw(request.substr(0, request.size() / 2)); // gone in the middle of the request
    else
      c.send_raw(request);
    c.close(/*reset=*/i % 2 == 0);
  }
  require_healthy(node);
  auto c = node.connect();
  auto b = get_basket(c, alice);
  auto after = require_basket(add_item(c, alice, "apple", 1));
  // Every add that ran counted once: quantity and version move together.
  const auto* line = line_of(after, "apple");
  REQUIRE(line != nullptr);
  CHECK(num(line->at("quantity")) == num(after.at("version")));
  CHECK(num(after.at("version")) >= num(b.at("version")) + 1);
  CHECK(num(after.at("version")) <= 151);
}
