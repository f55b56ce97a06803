// End-to-end flows over HTTP (docs/API.md: Idempotency, Basket checkout, Orders, the admin event
// history, Events metadata) against a real node started in-process on real PostgreSQL and
// spoken to over loopback. Every TEST_CASE starts its own node, so none depends on another.

#include "support/api_checks.hpp"
#include "support/http_client.hpp"
#include "support/test_node.hpp"

#include "bazaar/runtime/host.hpp"

#include <boost/json.hpp>
#include <catch2/catch.hpp>

#include <algorithm>
#include <chrono>
#include <regex>
#include <set>
#include <string>
#include <thread>
#include <vector>

namespace json = boost::json;
using namespace std::chrono_literals;
using bazaar::test::add_item;
using bazaar::test::bearer;
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
using bazaar::test::require_basket;
using bazaar::test::require_error;
using bazaar::test::require_invalid_field;
using bazaar::test::require_priced_lines;
using bazaar::test::test_node;

namespace {

/// The usual checkout body.
const std::string checkout_body = R"({"payment":{"card_token":"tok_ok"}})";

/// Bearer `token`, plus `Idempotency-Key: key` unless key is empty, plus
/// `X-Correlation-Id: correlation` unless that is empty.
header_list headers(const std::string& token, const std::string& key = {},
                    const std::string& correlation = {}) {
  header_list h = bearer(token);
  if (!key.empty())
    h.emplace_back("Idempotency-Key", key);
  if (!correlation.empty())
    h.emplace_back("X-Correlation-Id", correlation);
  return h;
}

/// The body of POST /api/v1/basket/items.
std::string item_body(const std::string& sku, std::int64_t quantity) {
  return json::serialize(json::object{{"sku", sku}, {"quantity", quantity}});
}

/// POST /api/v1/basket/items with an Idempotency-Key.
http_response add_keyed(http_connection& c, const std::string& token, const std::string& key,
                        const std::string& sku, std::int64_t quantity) {
  return c.request("POST", "/api/v1/basket/items", item_body(sku, quantity), headers(token, key));
}

/// POST /api/v1/basket/checkout with an Idempotency-Key (none when key is empty).
http_response checkout(http_connection& c, const std::string& token, const std::string& key,
                       const std::string& body = checkout_body) {
  return c.request("POST", "/api/v1/basket/checkout", body, headers(token, key));
}

/// Checks a 202 checkout answer {"order_id", "status": "pending"} exactly; returns the order id.
std::string require_accepted(const http_response& r) {
  INFO("status " << r.status << ", body: " << r.body);
  REQUIRE(r.status == 202);
  json::value v;
  REQUIRE_NOTHROW(v = r.json());
  REQUIRE(v.is_object());
  const auto& o = v.as_object();
  REQUIRE(keys_of(o) == std::set<std::string>{"order_id", "status"});
  CHECK(o.at("status") == json::value("pending"));
  REQUIRE(o.at("order_id").is_string());
  std::string id(o.at("order_id").as_string());
  CHECK(std::regex_match(id, std::regex{"^[A-Za-z0-9._:-]{1,64}$"}));
  return id;
}

/// Checks docs/API.md's order shape exactly; returns the order. A pending order has no payment,
/// tracking_number or cancel_reason; the checkout saga runs meanwhile, so an order read a moment
/// later may have moved on, and then has the members of its status.
json::object require_order(const http_response& r) {
  INFO("status " << r.status << ", body: " << r.body);
  REQUIRE(r.status == 200);
  json::value v;
  REQUIRE_NOTHROW(v = r.json());
  REQUIRE(v.is_object());
  const auto& o = v.as_object();
  const std::set<std::string> always{"order_id",    "customer_id", "status",           "items",
                                     "total_cents", "currency",    "shipping_address", "timeline",
                                     "version"};
  std::set<std::string> may = always;
  if (o.at("status") != json::value("pending"))
    may.insert("payment"); // once the saga asked for the payment
  if (o.at("status") == json::value("cancelled"))
    may.insert("cancel_reason");
  auto keys = keys_of(o);
  INFO("status " << json::serialize(o.at("status")));
  REQUIRE(std::includes(keys.begin(), keys.end(), always.begin(), always.end()));
  REQUIRE(std::includes(may.begin(), may.end(), keys.begin(), keys.end()));
  require_priced_lines(o);
  REQUIRE(o.at("timeline").is_array());
  for (const auto& entry : o.at("timeline").as_array()) {
    REQUIRE(entry.is_object());
    REQUIRE(keys_of(entry.as_object()) == std::set<std::string>{"status", "at"});
    REQUIRE(entry.as_object().at("at").is_string());
    CHECK(is_recent_rfc3339(std::string(entry.as_object().at("at").as_string())));
  }
  return o;
}

/// GET /api/v1/orders/{id}.
http_response get_order(http_connection& c, const std::string& token, const std::string& id) {
  return c.request("GET", "/api/v1/orders/" + id, "", bearer(token));
}

/// GET /api/v1/admin/events/{type}/{id} as `token`, checked to be 200 with every envelope in
/// docs/API.md's shape; returns the envelopes, oldest first as served.
std::vector<json::object> history(http_connection& c, const std::string& token,
                                  const std::string& type, const std::string& id) {
  auto r = c.request("GET", "/api/v1/admin/events/" + type + "/" + id, "", bearer(token));
  INFO("history of " << type << "/" << id << ": " << r.status << " " << r.body);
  REQUIRE(r.status == 200);
  json::value v;
  REQUIRE_NOTHROW(v = r.json());
  REQUIRE(v.is_object());
  REQUIRE(keys_of(v.as_object()) == std::set<std::string>{"items"});
  REQUIRE(v.as_object().at("items").is_array());
  std::vector<json::object> out;
  std::set<std::string> event_ids;
  for (const auto& item : v.as_object().at("items").as_array()) {
    REQUIRE(item.is_object());
    const auto& e = item.as_object();
    for (const char* field : {"event_id", "event_type", "aggregate_type", "aggregate_id", "version",
                              "occurred_at", "data", "metadata"}) {
      INFO("field " << field);
      REQUIRE(e.contains(field));
    }
    REQUIRE(e.at("event_id").is_string());
    CHECK(!e.at("event_id").as_string().empty());
    CHECK(event_ids.emplace(e.at("event_id").as_string()).second);
    REQUIRE(e.at("event_type").is_string());
    CHECK(e.at("aggregate_type") == json::value(type));
    CHECK(e.at("aggregate_id") == json::value(id));
    CHECK(num(e.at("version")) >= 1);
    REQUIRE(e.at("occurred_at").is_string());
    CHECK(is_recent_rfc3339(std::string(e.at("occurred_at").as_string())));
    REQUIRE(e.at("data").is_object());
    REQUIRE(e.at("metadata").is_object());
    const auto& m = e.at("metadata").as_object();
    for (const char* field : {"correlation_id", "causation_id", "user_id", "source"}) {
      INFO("metadata field " << field);
      REQUIRE(m.contains(field));
      REQUIRE(m.at(field).is_string());
      CHECK(!m.at(field).as_string().empty());
    }
    out.push_back(e);
  }
  return out;
}

/// The event types of envelopes, in their order.
std::vector<std::string> types_of(const std::vector<json::object>& events) {
  std::vector<std::string> out;
  for (const auto& e : events)
    out.emplace_back(e.at("event_type").as_string());
  return out;
}

/// A metadata field of an envelope.
std::string meta(const json::object& event, const char* field) {
  return std::string(event.at("metadata").as_object().at(field).as_string());
}

/// The quantity of a sku's line in a basket; 0 when the basket has no such line.
std::int64_t quantity_of(const json::object& basket, const std::string& sku) {
  const auto* line = line_of(basket, sku);
  return line == nullptr ? 0 : num(line->at("quantity"));
}

/// Asks the node to deactivate a grain and waits (bounded) until it left memory, so the next
/// request activates it again from PostgreSQL.
void deactivate(test_node& node, const std::string& type, const std::string& key) {
  auto& catalog = node.node().grains().grains();
  REQUIRE(catalog.deactivate(bazaar::runtime::grain_id{type, key}));
  auto active = [&] {
    for (const auto& a : catalog.list(type, 1000))
      if (a.id.key == key)
        return true;
    return false;
  };
  for (int i = 0; i < 500 && active(); ++i)
    std::this_thread::sleep_for(10ms);
  REQUIRE_FALSE(active());
}

} // namespace

// -- checkout --------------------------------------------------------------------------------

TEST_CASE("checkout turns the basket into a pending order and empties the basket") {
  test_node node;
  auto c = node.connect();
  auto admin = node.admin_token();
  auto alice = node.customer_token("alice");
  create_product(c, admin, "apple", 250);
  create_product(c, admin, "pear", 1999);
  require_basket(add_item(c, alice, "apple", 3));
  auto before = require_basket(add_item(c, alice, "pear", 1));

  auto order_id = require_accepted(checkout(c, alice, "chk-1"));

  auto after = get_basket(c, alice);
  CHECK(after.at("items").as_array().empty());
  CHECK(num(after.at("total_cents")) == 0);
  CHECK(num(after.at("version")) > num(before.at("version")));

  auto o = require_order(get_order(c, alice, order_id));
  CHECK(o.at("order_id") == json::value(order_id));
  CHECK(o.at("customer_id") == json::value("alice"));
  CHECK(o.at("status") == json::value("pending"));
  CHECK(o.at("currency") == json::value("USD"));
  CHECK(num(o.at("total_cents")) == 3 * 250 + 1999);
  CHECK(num(o.at("total_cents")) == num(before.at("total_cents")));
  CHECK(num(o.at("version")) >= 1);
  // The order's lines are the basket's lines, names and prices included.
  std::set<std::string> lines;
  for (const auto& item : o.at("items").as_array()) {
    const auto& line = item.as_object();
    std::string sku(line.at("sku").as_string());
    const auto* in_basket = line_of(before, sku);
    INFO("order line " << sku);
    REQUIRE(in_basket != nullptr);
    CHECK(line.at("name") == in_basket->at("name"));
    CHECK(num(line.at("quantity")) == num(in_basket->at("quantity")));
    CHECK(num(line.at("unit_price_cents")) == num(in_basket->at("unit_price_cents")));
    lines.insert(sku);
  }
  CHECK(lines == std::set<std::string>{"apple", "pear"});
  const auto& timeline = o.at("timeline").as_array();
  REQUIRE(timeline.size() == 1);
  CHECK(timeline[0].as_object().at("status") == json::value("pending"));
  CHECK(o.at("shipping_address").is_null()); // none was given

  // The shipping address given at checkout is the order's, as given.
  const json::object address{{"name", "Ada"}, {"street", "Domkloster 4"}, {"city", "Köln"}};
  require_basket(add_item(c, alice, "pear", 1));
  auto shipped_to = require_accepted(
      checkout(c, alice, "chk-2",
               json::serialize(json::object{{"payment", {{"card_token", "tok_ok"}}},
                                            {"shipping_address", address}})));
  auto addressed = require_order(get_order(c, alice, shipped_to));
  CHECK(addressed.at("shipping_address") == address);
  CHECK(require_order(get_order(c, admin, shipped_to)).at("shipping_address") == address);
}

TEST_CASE("a checkout retried with the same key and body gets the same answer and no second "
          "order") {
  test_node node;
  auto c = node.connect();
  auto admin = node.admin_token();
  auto alice = node.customer_token("alice");
  create_product(c, admin, "apple", 250);
  require_basket(add_item(c, alice, "apple", 2));

  auto first = checkout(c, alice, "chk-retry");
  auto order_id = require_accepted(first);
  auto emptied = get_basket(c, alice);

  auto again = checkout(c, alice, "chk-retry");
  CHECK(again.status == first.status);
  CHECK(again.body == first.body);
  CHECK(get_basket(c, alice).at("version") == emptied.at("version"));

  // With the basket filled again, the retry still answers the first order and leaves the basket.
  auto refilled = require_basket(add_item(c, alice, "apple", 5));
  auto later = checkout(c, alice, "chk-retry");
  CHECK(later.status == 202);
  CHECK(later.body == first.body);
  auto still = get_basket(c, alice);
  CHECK(still.at("version") == refilled.at("version"));
  REQUIRE(line_of(still, "apple") != nullptr);
  CHECK(quantity_of(still, "apple") == 5);

  // The journal holds one checkout and one order creation.
  auto basket_events = types_of(history(c, admin, "basket", "alice"));
  CHECK(std::count(basket_events.begin(), basket_events.end(), "basket-checked-out") == 1);
  // (The saga moves the order on meanwhile: its status changes follow the one creation.)
  auto order_events = types_of(history(c, admin, "order", order_id));
  REQUIRE_FALSE(order_events.empty());
  CHECK(order_events.front() == "order-created");
  CHECK(std::count(order_events.begin(), order_events.end(), "order-created") == 1);
  auto o = require_order(get_order(c, alice, order_id));
  CHECK(num(o.at("total_cents")) == 2 * 250);

  // A new key is a new checkout, of the refilled basket, into another order.
  auto second_id = require_accepted(checkout(c, alice, "chk-next"));
  CHECK(second_id != order_id);
  CHECK(num(require_order(get_order(c, alice, second_id)).at("total_cents")) == 5 * 250);
  CHECK(get_basket(c, alice).at("items").as_array().empty());
}

TEST_CASE("a checkout key used again with another body is a conflict and changes nothing") {
  test_node node;
  auto c = node.connect();
  auto alice = node.customer_token("alice");
  create_product(c, node.admin_token(), "apple", 250);
  require_basket(add_item(c, alice, "apple", 1));
  auto first = checkout(c, alice, "chk-k");
  auto order_id = require_accepted(first);
  auto refilled = require_basket(add_item(c, alice, "apple", 4));

  for (const std::string& other :
       {std::string(R"({"payment":{"card_token":"tok_other"}})"),
        std::string(R"({"payment":{"card_token":"tok_ok"},"shipping_address":{"city":"X"}})")}) {
    INFO("body " << other);
    require_error(checkout(c, alice, "chk-k", other), 409, "conflict");
  }
  // The key of the checkout on another basket route is another request too.
  require_error(add_keyed(c, alice, "chk-k", "apple", 1), 409, "conflict");

  auto b = get_basket(c, alice);
  CHECK(b.at("version") == refilled.at("version"));
  CHECK(quantity_of(b, "apple") == 4);
  // The first answer is still the one remembered.
  auto replay = checkout(c, alice, "chk-k");
  CHECK(replay.status == 202);
  CHECK(replay.body == first.body);
  CHECK(require_order(get_order(c, alice, order_id)).at("items").as_array().size() == 1);
}

TEST_CASE("checkout of an empty basket is a conflict that its key remembers") {
  test_node node;
  auto c = node.connect();
  auto admin = node.admin_token();
  auto alice = node.customer_token("alice");
  create_product(c, admin, "apple", 250);

  auto refused = checkout(c, alice, "chk-empty");
  require_error(refused, 409, "conflict");
  CHECK(get_basket(c, alice).at("items").as_array().empty());

  // Filled afterwards, the retry with the same key and body still gets the remembered 409.
  auto filled = require_basket(add_item(c, alice, "apple", 2));
  auto retry = checkout(c, alice, "chk-empty");
  CHECK(retry.status == 409);
  CHECK(retry.body == refused.body);
  auto b = get_basket(c, alice);
  CHECK(b.at("version") == filled.at("version"));
  CHECK(quantity_of(b, "apple") == 2);
  auto events = types_of(history(c, admin, "basket", "alice"));
  CHECK(std::count(events.begin(), events.end(), "basket-checked-out") == 0);

  // A new key checks the filled basket out.
  require_accepted(checkout(c, alice, "chk-full"));
  CHECK(get_basket(c, alice).at("items").as_array().empty());
}

TEST_CASE("checkout without a valid Idempotency-Key is a bad request and changes nothing") {
  test_node node;
  auto c = node.connect();
  auto alice = node.customer_token("alice");
  create_product(c, node.admin_token(), "apple", 250);
  auto filled = require_basket(add_item(c, alice, "apple", 2));

  require_error(checkout(c, alice, ""), 400, "bad_request");
  header_list empty_key = bearer(alice);
  empty_key.emplace_back("Idempotency-Key", "");
  require_error(c.request("POST", "/api/v1/basket/checkout", checkout_body, empty_key), 400,
                "bad_request");
  for (const std::string& key : {std::string("has space"), std::string(65, 'k'),
                                 std::string("slash/key"), std::string("q?x")}) {
    INFO("key '" << key << "'");
    require_error(checkout(c, alice, key), 400, "bad_request");
  }
  auto b = get_basket(c, alice);
  CHECK(b.at("version") == filled.at("version"));
  CHECK(quantity_of(b, "apple") == 2);
  // A key of 64 characters is valid.
  require_accepted(checkout(c, alice, std::string(64, 'k')));
}

TEST_CASE("a malformed checkout body is refused naming what is wrong and changes nothing") {
  test_node node;
  auto c = node.connect();
  auto alice = node.customer_token("alice");
  create_product(c, node.admin_token(), "apple", 250);
  auto filled = require_basket(add_item(c, alice, "apple", 2));

  int n = 0;
  auto key = [&n] { return "chk-bad-" + std::to_string(++n); };
  // Not JSON, or not an object, or a payment of the wrong type: 400.
  for (const std::string& body :
       {std::string("{"), std::string("[]"), std::string(R"("payment")"),
        std::string(R"({"payment":"tok_ok"})"), std::string(R"({"payment":["tok_ok"]})"),
        std::string(R"({"payment":{"card_token":5}})"),
        std::string(R"({"payment":{"card_token":"tok_ok"},"shipping_address":"street"})")}) {
    INFO("body " << body);
    require_error(checkout(c, alice, key(), body), 400, "bad_request");
  }
  // Well-formed but missing or invalid values: 422 naming the field.
  require_invalid_field(checkout(c, alice, key(), "{}"), "payment");
  require_invalid_field(checkout(c, alice, key(), R"({"payment":null})"), "payment");
  require_invalid_field(checkout(c, alice, key(), R"({"payment":{}})"), "payment.card_token");
  require_invalid_field(checkout(c, alice, key(), R"({"payment":{"card_token":""}})"),
                        "payment.card_token");
  require_invalid_field(
      checkout(c, alice, key(),
               json::serialize(
                   json::object{{"payment", json::object{{"card_token", std::string(129, 't')}}}})),
      "payment.card_token");

  auto b = get_basket(c, alice);
  CHECK(b.at("version") == filled.at("version"));
  CHECK(quantity_of(b, "apple") == 2);
  auto events = types_of(history(c, node.admin_token(), "basket", "alice"));
  CHECK(events == std::vector<std::string>{"basket-item-added"});
  // Unknown fields are ignored and a null shipping address is none.
  require_accepted(checkout(c, alice, key(),
                            R"({"payment":{"card_token":"tok_ok","x":1},"shipping_address":null,)"
                            R"("gift":true})"));
}

// -- orders ----------------------------------------------------------------------------------

TEST_CASE("an order is shown to its customer and to an admin and is not found for others") {
  test_node node;
  auto c = node.connect();
  auto admin = node.admin_token();
  auto alice = node.customer_token("alice");
  auto bob = node.customer_token("bob");
  create_product(c, admin, "apple", 250);
  require_basket(add_item(c, alice, "apple", 1));
  auto order_id = require_accepted(checkout(c, alice, "chk-1"));

  auto own = get_order(c, alice, order_id);
  auto o = require_order(own);
  CHECK(o.at("customer_id") == json::value("alice"));
  auto as_admin = get_order(c, admin, order_id);
  auto a = require_order(as_admin);
  // The same order (its status may have moved on between the two reads).
  for (const char* k : {"order_id", "customer_id", "items", "total_cents", "currency"})
    CHECK(a.at(k) == o.at(k));

  // Another customer learns nothing: the same 404 as for an order that does not exist.
  auto other = get_order(c, bob, order_id);
  auto missing = get_order(c, bob, "ord-0000000000000000");
  require_error(other, 404, "not_found");
  require_error(missing, 404, "not_found");
  CHECK(other.body.find("alice") == std::string::npos);
  CHECK(other.json().at("error").at("details") == missing.json().at("error").at("details"));
  // bob has a basket and an order of his own; that changes nothing.
  require_basket(add_item(c, bob, "apple", 1));
  auto bobs = require_accepted(checkout(c, bob, "chk-1"));
  CHECK(bobs != order_id);
  require_error(get_order(c, bob, order_id), 404, "not_found");
  require_error(get_order(c, alice, bobs), 404, "not_found");

  // Unknown and malformed ids are not found, for the admin too.
  require_error(get_order(c, alice, "ord-0000000000000000"), 404, "not_found");
  require_error(get_order(c, admin, "ord-0000000000000000"), 404, "not_found");
  require_error(get_order(c, admin, std::string(65, 'o')), 404, "not_found");
  require_error(get_order(c, admin, "ord%20x"), 404, "not_found");
  // And without a token there is no order at all.
  require_error(c.request("GET", "/api/v1/orders/" + order_id), 401, "unauthorized");
}

// -- idempotency on every mutating route -----------------------------------------------------

TEST_CASE("an add retried with its key adds once and answers the first basket") {
  test_node node;
  auto c = node.connect();
  auto admin = node.admin_token();
  auto alice = node.customer_token("alice");
  create_product(c, admin, "apple", 250);

  auto first = add_keyed(c, alice, "add-1", "apple", 2);
  auto b = require_basket(first);
  auto again = add_keyed(c, alice, "add-1", "apple", 2);
  CHECK(again.status == 200);
  CHECK(again.body == first.body);
  CHECK(again.header("content-type") == first.header("content-type"));
  auto now = get_basket(c, alice);
  CHECK(now.at("version") == b.at("version"));
  CHECK(quantity_of(now, "apple") == 2);

  // The same key with another body, or on another route, is a conflict.
  require_error(add_keyed(c, alice, "add-1", "apple", 3), 409, "conflict");
  require_error(
      c.request("PUT", "/api/v1/basket/items/apple", R"({"quantity":2})", headers(alice, "add-1")),
      409, "conflict");
  require_error(c.request("DELETE", "/api/v1/basket", "", headers(alice, "add-1")), 409,
                "conflict");
  now = get_basket(c, alice);
  CHECK(now.at("version") == b.at("version"));
  CHECK(quantity_of(now, "apple") == 2);
  CHECK(types_of(history(c, admin, "basket", "alice")) ==
        std::vector<std::string>{"basket-item-added"});

  // Another key adds again.
  auto third = require_basket(add_keyed(c, alice, "add-2", "apple", 2));
  CHECK(quantity_of(third, "apple") == 4);
}

TEST_CASE("putting and deleting basket lines retried with their keys have no second effect") {
  test_node node;
  auto c = node.connect();
  auto admin = node.admin_token();
  auto alice = node.customer_token("alice");
  create_product(c, admin, "apple", 250);
  create_product(c, admin, "pear", 400);

  SECTION("PUT /api/v1/basket/items/{sku}") {
    auto put = c.request("PUT", "/api/v1/basket/items/apple", R"({"quantity":3})",
                         headers(alice, "put-1"));
    require_basket(put);
    auto changed = require_basket(add_item(c, alice, "apple", 1)); // 4 now
    auto replay = c.request("PUT", "/api/v1/basket/items/apple", R"({"quantity":3})",
                            headers(alice, "put-1"));
    CHECK(replay.status == 200);
    CHECK(replay.body == put.body);
    auto b = get_basket(c, alice);
    CHECK(b.at("version") == changed.at("version"));
    CHECK(quantity_of(b, "apple") == 4);
    require_error(c.request("PUT", "/api/v1/basket/items/apple", R"({"quantity":5})",
                            headers(alice, "put-1")),
                  409, "conflict");
    require_error(
        c.request("PUT", "/api/v1/basket/items/pear", R"({"quantity":3})", headers(alice, "put-1")),
        409, "conflict");
    CHECK(get_basket(c, alice).at("version") == changed.at("version"));
  }

  SECTION("DELETE /api/v1/basket/items/{sku}") {
    require_basket(add_item(c, alice, "apple", 1));
    require_basket(add_item(c, alice, "pear", 1));
    auto del = c.request("DELETE", "/api/v1/basket/items/apple", "", headers(alice, "del-1"));
    CHECK(line_of(require_basket(del), "apple") == nullptr);
    auto changed = require_basket(add_item(c, alice, "apple", 2));
    auto replay = c.request("DELETE", "/api/v1/basket/items/apple", "", headers(alice, "del-1"));
    CHECK(replay.status == 200);
    CHECK(replay.body == del.body);
    auto b = get_basket(c, alice);
    CHECK(b.at("version") == changed.at("version"));
    REQUIRE(line_of(b, "apple") != nullptr);
    CHECK(quantity_of(b, "apple") == 2);
    require_error(c.request("DELETE", "/api/v1/basket/items/pear", "", headers(alice, "del-1")),
                  409, "conflict");
    CHECK(line_of(get_basket(c, alice), "pear") != nullptr);
  }

  SECTION("DELETE /api/v1/basket") {
    require_basket(add_item(c, alice, "apple", 1));
    auto clear = c.request("DELETE", "/api/v1/basket", "", headers(alice, "clr-1"));
    CHECK(require_basket(clear).at("items").as_array().empty());
    auto changed = require_basket(add_item(c, alice, "pear", 3));
    auto replay = c.request("DELETE", "/api/v1/basket", "", headers(alice, "clr-1"));
    CHECK(replay.status == 200);
    CHECK(replay.body == clear.body);
    auto b = get_basket(c, alice);
    CHECK(b.at("version") == changed.at("version"));
    REQUIRE(line_of(b, "pear") != nullptr);
    CHECK(quantity_of(b, "pear") == 3);
    require_error(c.request("DELETE", "/api/v1/basket/items/pear", "", headers(alice, "clr-1")),
                  409, "conflict");
    auto events = types_of(history(c, admin, "basket", "alice"));
    CHECK(std::count(events.begin(), events.end(), "basket-cleared") == 1);
  }
}

TEST_CASE("creating a product retried with its key creates it once") {
  test_node node;
  auto c = node.connect();
  auto admin = node.admin_token();
  auto body = json::serialize(product_fields("apple", 250));
  auto first = c.request("POST", "/api/v1/products", body, headers(admin, "prod-1"));
  REQUIRE(first.status == 201);
  auto again = c.request("POST", "/api/v1/products", body, headers(admin, "prod-1"));
  CHECK(again.status == 201);
  CHECK(again.body == first.body);
  CHECK(types_of(history(c, admin, "inventory", "apple")) ==
        std::vector<std::string>{"product-created", "stock-updated"});

  // The same key with another body for the same sku is a conflict, and nothing changes.
  auto other = product_fields("apple", 999);
  other["name"] = "Other";
  require_error(
      c.request("POST", "/api/v1/products", json::serialize(other), headers(admin, "prod-1")), 409,
      "conflict");
  auto p = c.request("GET", "/api/v1/products/apple", "", bearer(admin));
  REQUIRE(p.status == 200);
  CHECK(p.json().at("price_cents") == json::value(250));
  CHECK(p.json().at("name") == json::value("Product apple"));

  // Without the key, or with a new one, creating the sku again is the 409 of an existing sku;
  // with a key that answer is remembered and given again.
  require_error(c.request("POST", "/api/v1/products", body, bearer(admin)), 409, "conflict");
  auto exists = c.request("POST", "/api/v1/products", body, headers(admin, "prod-2"));
  require_error(exists, 409, "conflict");
  auto exists_again = c.request("POST", "/api/v1/products", body, headers(admin, "prod-2"));
  CHECK(exists_again.status == 409);
  CHECK(exists_again.body == exists.body);
  CHECK(types_of(history(c, admin, "inventory", "apple")).size() == 2);
}

TEST_CASE("a refused add is remembered with its key even after the product exists") {
  test_node node;
  auto c = node.connect();
  auto admin = node.admin_token();
  auto alice = node.customer_token("alice");

  auto refused = add_keyed(c, alice, "add-pear", "pear", 1);
  require_invalid_field(refused, "sku");
  create_product(c, admin, "pear", 400);

  auto retry = add_keyed(c, alice, "add-pear", "pear", 1);
  CHECK(retry.status == 422);
  CHECK(retry.body == refused.body);
  CHECK(get_basket(c, alice).at("items").as_array().empty());
  // Another body with that key is a conflict; a new key adds.
  require_error(add_keyed(c, alice, "add-pear", "pear", 2), 409, "conflict");
  auto added = require_basket(add_keyed(c, alice, "add-pear-2", "pear", 1));
  CHECK(quantity_of(added, "pear") == 1);
}

TEST_CASE("remembered answers outlive the grain leaving memory") {
  test_node node;
  auto c = node.connect();
  auto admin = node.admin_token();
  auto alice = node.customer_token("alice");
  auto refused = add_keyed(c, alice, "add-plum", "plum", 1);
  require_invalid_field(refused, "sku");
  create_product(c, admin, "plum", 300);
  auto added = add_keyed(c, alice, "add-1", "plum", 2);
  require_basket(added);
  auto accepted = checkout(c, alice, "chk-1");
  require_accepted(accepted);
  auto refilled = require_basket(add_item(c, alice, "plum", 1));

  deactivate(node, "basket", "alice");

  auto b = get_basket(c, alice);
  CHECK(b.at("version") == refilled.at("version"));
  for (const auto& [replay, first] : std::vector<std::pair<http_response, http_response>>{
           {add_keyed(c, alice, "add-plum", "plum", 1), refused},
           {add_keyed(c, alice, "add-1", "plum", 2), added},
           {checkout(c, alice, "chk-1"), accepted}}) {
    INFO("first answer " << first.status << " " << first.body);
    CHECK(replay.status == first.status);
    CHECK(replay.body == first.body);
  }
  require_error(checkout(c, alice, "chk-1", R"({"payment":{"card_token":"tok_x"}})"), 409,
                "conflict");
  b = get_basket(c, alice);
  CHECK(b.at("version") == refilled.at("version"));
  CHECK(quantity_of(b, "plum") == 1);
}

TEST_CASE("concurrent requests with one key have one effect and one answer") {
  test_node node;
  auto admin = node.admin_token();
  auto alice = node.customer_token("alice");
  {
    auto c = node.connect();
    create_product(c, admin, "apple", 250);
  }
  constexpr int clients = 8;
  // Each round: every client sends the same keyed request at once on its own connection.
  auto round = [&](const std::string& method, const std::string& path, const std::string& body,
                   const std::string& key) {
    std::vector<http_response> answers(clients);
    std::vector<std::string> errors(clients);
    std::vector<std::thread> workers;
    for (int i = 0; i < clients; ++i)
      workers.emplace_back([&, i] {
        try {
          auto c = node.connect();
          answers[i] = c.request(method, path, body, headers(alice, key));
        } catch (const std::exception& e) {
          errors[i] = e.what();
        }
      });
    for (auto& w : workers)
      w.join();
    for (int i = 0; i < clients; ++i) {
      INFO(method << " " << path << ", client " << i << ": " << errors[i] << " "
                  << answers[i].status << " " << answers[i].body);
      CHECK(errors[i].empty());
      CHECK(answers[i].status == answers[0].status);
      CHECK(answers[i].body == answers[0].body);
    }
    return answers[0];
  };

  auto added = round("POST", "/api/v1/basket/items", item_body("apple", 3), "same-add");
  CHECK(quantity_of(require_basket(added), "apple") == 3);
  auto accepted = round("POST", "/api/v1/basket/checkout", checkout_body, "same-chk");
  auto order_id = require_accepted(accepted);

  auto c = node.connect();
  CHECK(get_basket(c, alice).at("items").as_array().empty());
  CHECK(types_of(history(c, admin, "basket", "alice")) ==
        std::vector<std::string>{"basket-item-added", "basket-checked-out"});
  auto order_events = types_of(history(c, admin, "order", order_id)); // the saga's follow it
  REQUIRE_FALSE(order_events.empty());
  CHECK(order_events.front() == "order-created");
  CHECK(std::count(order_events.begin(), order_events.end(), "order-created") == 1);
  CHECK(num(require_order(get_order(c, alice, order_id)).at("total_cents")) == 3 * 250);
}

TEST_CASE("idempotency keys are scoped to the customer") {
  test_node node;
  auto c = node.connect();
  auto admin = node.admin_token("admin-1");
  auto alice = node.customer_token("alice");
  auto bob = node.customer_token("bob");
  auto body = json::serialize(product_fields("apple", 250));
  REQUIRE(c.request("POST", "/api/v1/products", body, headers(admin, "shared")).status == 201);
  // Another admin with the same key and body is a new request: the sku exists now.
  require_error(
      c.request("POST", "/api/v1/products", body, headers(node.admin_token("admin-2"), "shared")),
      409, "conflict");

  auto alices = require_basket(add_keyed(c, alice, "shared", "apple", 1));
  // bob's use of the same key string is his own, with any body.
  auto bobs = require_basket(add_keyed(c, bob, "shared", "apple", 7));
  CHECK(bobs.at("customer_id") == json::value("bob"));
  CHECK(quantity_of(bobs, "apple") == 7);
  auto alice_now = get_basket(c, alice);
  CHECK(alice_now.at("version") == alices.at("version"));
  CHECK(quantity_of(alice_now, "apple") == 1);
  // And each one's replay still answers their own first answer.
  auto alice_replay = add_keyed(c, alice, "shared", "apple", 1);
  CHECK(alice_replay.status == 200);
  CHECK(alice_replay.json() == json::value(alices));
  auto bob_checkout = checkout(c, bob, "shared-chk");
  auto bobs_order = require_accepted(bob_checkout);
  // alice checking out with bob's checkout key gets an order of her own.
  auto alices_order = require_accepted(checkout(c, alice, "shared-chk"));
  CHECK(alices_order != bobs_order);
  CHECK(require_order(get_order(c, alice, alices_order)).at("customer_id") == json::value("alice"));
}

TEST_CASE("a malformed Idempotency-Key is a bad request on every mutating route") {
  test_node node;
  auto c = node.connect();
  auto admin = node.admin_token();
  auto alice = node.customer_token("alice");
  create_product(c, admin, "apple", 250);
  auto filled = require_basket(add_item(c, alice, "apple", 2));

  struct call {
    std::string method, path, body, token;
  };
  const std::vector<call> calls{
      {"POST", "/api/v1/products", json::serialize(product_fields("pear")), admin},
      {"POST", "/api/v1/basket/items", item_body("apple", 1), alice},
      {"PUT", "/api/v1/basket/items/apple", R"({"quantity":9})", alice},
      {"DELETE", "/api/v1/basket/items/apple", "", alice},
      {"DELETE", "/api/v1/basket", "", alice},
      {"POST", "/api/v1/basket/checkout", checkout_body, alice},
  };
  for (const auto& k : {std::string("has space"), std::string(65, 'k'), std::string("a/b"),
                        std::string("caf\xc3\xa9")}) {
    for (const auto& call : calls) {
      INFO(call.method << " " << call.path << " with key '" << k << "'");
      require_error(c.request(call.method, call.path, call.body, headers(call.token, k)), 400,
                    "bad_request");
    }
  }
  auto b = get_basket(c, alice);
  CHECK(b.at("version") == filled.at("version"));
  CHECK(quantity_of(b, "apple") == 2);
  require_error(c.request("GET", "/api/v1/products/pear", "", bearer(admin)), 404, "not_found");
}

// -- the admin event history -----------------------------------------------------------------

TEST_CASE("the admin event history lists a basket's events oldest first as envelopes") {
  test_node node;
  auto c = node.connect();
  auto admin = node.admin_token();
  auto alice = node.customer_token("alice");
  create_product(c, admin, "apple", 250);
  create_product(c, admin, "pear", 400);
  require_basket(add_item(c, alice, "apple", 1));
  require_basket(add_item(c, alice, "pear", 2));
  require_basket(add_item(c, alice, "apple", 3));
  require_basket(c.request("PUT", "/api/v1/basket/items/pear", R"({"quantity":5})", bearer(alice)));
  require_basket(c.request("DELETE", "/api/v1/basket/items/apple", "", bearer(alice)));

  auto events = history(c, admin, "basket", "alice");
  REQUIRE(types_of(events) == std::vector<std::string>{"basket-item-added", "basket-item-added",
                                                       "basket-item-added", "basket-item-updated",
                                                       "basket-item-removed"});
  const std::vector<std::pair<std::string, std::int64_t>> expected{
      {"apple", 1}, {"pear", 2}, {"apple", 3}, {"pear", 5}};
  for (std::size_t i = 0; i < events.size(); ++i) {
    INFO("event " << i << ": " << json::serialize(events[i]));
    // Each change made one version, and its event carries it.
    CHECK(num(events[i].at("version")) == static_cast<std::int64_t>(i + 1));
    const auto& data = events[i].at("data").as_object();
    CHECK(data.at("customer_id") == json::value("alice"));
    CHECK(meta(events[i], "user_id") == "alice");
    if (i < expected.size()) {
      CHECK(data.at("sku") == json::value(expected[i].first));
      CHECK(num(data.at("quantity")) == expected[i].second);
    } else {
      CHECK(data.at("sku") == json::value("apple"));
    }
  }
  CHECK(num(events[2].at("data").at("line_quantity")) == 4);
  CHECK(num(events[0].at("data").at("unit_price_cents")) == 250);
  CHECK(std::string(events.back().at("occurred_at").as_string()) >=
        std::string(events.front().at("occurred_at").as_string()));

  // Other aggregates have histories of their own; an unknown one has none.
  auto product = history(c, admin, "inventory", "apple");
  REQUIRE(types_of(product) == std::vector<std::string>{"product-created", "stock-updated"});
  CHECK(product[0].at("data").at("sku") == json::value("apple"));
  CHECK(meta(product[0], "user_id") == "admin");
  CHECK(history(c, admin, "basket", "nobody").empty());
  CHECK(history(c, admin, "basket", "bob").empty());
}

TEST_CASE("the admin event history is refused to customers and to requests without a token") {
  test_node node;
  auto c = node.connect();
  auto alice = node.customer_token("alice");
  create_product(c, node.admin_token(), "apple", 250);
  require_basket(add_item(c, alice, "apple", 1));
  // Not even the customer's own basket.
  require_error(c.request("GET", "/api/v1/admin/events/basket/alice", "", bearer(alice)), 403,
                "forbidden");
  require_error(c.request("GET", "/api/v1/admin/events/product/apple", "", bearer(alice)), 403,
                "forbidden");
  require_error(c.request("GET", "/api/v1/admin/events/basket/alice"), 401, "unauthorized");
  require_error(c.request("GET", "/api/v1/admin/events/basket/alice", "",
                          bearer(node.expired_token("admin"))),
                401, "unauthorized");
  // An admin asking with a malformed aggregate gets a 422 naming it.
  require_invalid_field(c.request("GET", "/api/v1/admin/events/basket/" + std::string(65, 'a'), "",
                                  bearer(node.admin_token())),
                        "aggregate_id");
  require_invalid_field(
      c.request("GET", "/api/v1/admin/events/bas%20ket/alice", "", bearer(node.admin_token())),
      "aggregate_type");
  CHECK(history(c, node.admin_token(), "basket", "alice").size() == 1);
}

TEST_CASE("the correlation id of a request is in the metadata of the events it caused") {
  test_node node;
  auto c = node.connect();
  auto admin = node.admin_token();
  auto alice = node.customer_token("alice");
  REQUIRE(c.request("POST", "/api/v1/products", json::serialize(product_fields("apple", 250)),
                    headers(admin, "", "corr-product"))
              .status == 201);
  require_basket(c.request("POST", "/api/v1/basket/items", item_body("apple", 1),
                           headers(alice, "", "corr-add")));
  // Without the header the node makes one up, answers it and journals the same one.
  auto generated = add_item(c, alice, "apple", 1);
  require_basket(generated);
  auto made_up = generated.header("x-correlation-id");
  REQUIRE(!made_up.empty());
  auto accepted = c.request("POST", "/api/v1/basket/checkout", checkout_body,
                            headers(alice, "chk-1", "corr-checkout"));
  CHECK(accepted.header("x-correlation-id") == "corr-checkout");
  auto order_id = require_accepted(accepted);

  // The product's own events carry its request's id; the checkout's reservation (the saga's
  // call, made on behalf of the checkout) carries the checkout's.
  for (const auto& e : history(c, admin, "inventory", "apple")) {
    INFO(json::serialize(e));
    bool by_checkout =
        e.at("event_type") == "product-reserved" ||
        (e.at("event_type") == "stock-updated" && e.at("data").at("reserved") != json::value(0));
    CHECK(meta(e, "correlation_id") == (by_checkout ? "corr-checkout" : "corr-product"));
    CHECK(meta(e, "user_id") == (by_checkout ? "alice" : "admin"));
  }
  auto basket = history(c, admin, "basket", "alice");
  REQUIRE(types_of(basket) ==
          std::vector<std::string>{"basket-item-added", "basket-item-added", "basket-checked-out"});
  CHECK(meta(basket[0], "correlation_id") == "corr-add");
  CHECK(meta(basket[1], "correlation_id") == made_up);
  CHECK(meta(basket[2], "correlation_id") == "corr-checkout");
  CHECK(basket[2].at("data").at("order_id") == json::value(order_id));
  // The order made by the checkout carries the checkout's correlation id too.
  // (So do the saga's steps of it, which follow the creation.)
  auto order = history(c, admin, "order", order_id);
  REQUIRE_FALSE(order.empty());
  REQUIRE(types_of(order).front() == "order-created");
  for (const auto& e : order)
    CHECK(meta(e, "correlation_id") == "corr-checkout");
  CHECK(meta(order[0], "correlation_id") == "corr-checkout");
  CHECK(meta(order[0], "user_id") == "alice");
  CHECK(order[0].at("data").at("order_id") == json::value(order_id));
  CHECK(order[0].at("data").at("customer_id") == json::value("alice"));
  CHECK(num(order[0].at("data").at("total_cents")) == 500);
  for (const auto& e : basket)
    CHECK(meta(e, "source") == meta(order[0], "source"));
}
