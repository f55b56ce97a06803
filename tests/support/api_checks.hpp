#pragma once

/// Checks and calls shared by the HTTP end-to-end tests: docs/API.md's error, basket and product
/// shapes, and the few requests every flow needs. Catch2 assertions, so only for test sources.

#include "support/http_client.hpp"
#include "support/test_node.hpp"

#include <boost/json.hpp>
#include <catch2/catch.hpp>

#include <cstdint>
#include <ctime>
#include <regex>
#include <set>
#include <string>

namespace bazaar::test {

/// The members of a JSON object, sorted.
inline std::set<std::string> keys_of(const boost::json::object& o) {
  std::set<std::string> keys;
  for (const auto& kv : o)
    keys.emplace(kv.key());
  return keys;
}

/// An integer JSON value (whether parsed as signed or unsigned).
inline std::int64_t num(const boost::json::value& v) {
  return v.to_number<std::int64_t>();
}

/// Checks that a body shows nothing of the implementation: no exception text, no stack.
inline void check_no_internals(const std::string& body) {
  INFO("body: " << body);
  for (const char* leak : {"std::", "exception", "what()", "terminate", ".cpp", "Pistache", "stoul",
                           "stoi", "invalid_argument", "out_of_range"})
    CHECK(body.find(leak) == std::string::npos);
}

/// Checks the status and docs/API.md's error body {"error":{"code","message","details"}} exactly;
/// returns the error object.
inline boost::json::object require_error(const http_response& r, int status,
                                         const std::string& code) {
  INFO("status " << r.status << ", body: " << r.body);
  REQUIRE(r.status == status);
  boost::json::value v;
  REQUIRE_NOTHROW(v = r.json());
  REQUIRE(v.is_object());
  REQUIRE(keys_of(v.as_object()) == std::set<std::string>{"error"});
  const auto& error = v.as_object().at("error");
  REQUIRE(error.is_object());
  const auto& e = error.as_object();
  REQUIRE(keys_of(e) == std::set<std::string>{"code", "message", "details"});
  REQUIRE(e.at("code").is_string());
  CHECK(e.at("code").as_string() == code);
  REQUIRE(e.at("message").is_string());
  CHECK(!e.at("message").as_string().empty());
  REQUIRE(e.at("details").is_object());
  check_no_internals(r.body);
  return e;
}

/// Checks a 422 naming `field` in details.field.
inline void require_invalid_field(const http_response& r, const std::string& field) {
  auto e = require_error(r, 422, "validation_failed");
  const auto& details = e.at("details").as_object();
  INFO("body: " << r.body);
  REQUIRE(details.contains("field"));
  CHECK(details.at("field") == boost::json::value(field));
}

/// The body of a valid product creation.
inline boost::json::object product_fields(const std::string& sku, std::int64_t price_cents = 1250,
                                          std::int64_t stock = 10) {
  return boost::json::object{
      {"sku", sku},          {"name", "Product " + sku},   {"description", "d"},
      {"category", "tools"}, {"price_cents", price_cents}, {"currency", "USD"},
      {"stock", stock},      {"low_stock_threshold", 2}};
}

/// Creates a product as admin, failing the test unless the answer is 201.
inline void create_product(http_connection& c, const std::string& admin_token,
                           const std::string& sku, std::int64_t price_cents = 1250) {
  auto r = c.request("POST", "/api/v1/products",
                     boost::json::serialize(product_fields(sku, price_cents)), bearer(admin_token));
  INFO("creating " << sku << ": " << r.body);
  REQUIRE(r.status == 201);
}

/// POST /api/v1/basket/items.
inline http_response add_item(http_connection& c, const std::string& token, const std::string& sku,
                              std::int64_t quantity) {
  return c.request(
      "POST", "/api/v1/basket/items",
      boost::json::serialize(boost::json::object{{"sku", sku}, {"quantity", quantity}}),
      bearer(token));
}

/// PUT /api/v1/basket/items/{sku}.
inline http_response put_item(http_connection& c, const std::string& token, const std::string& sku,
                              std::int64_t quantity) {
  return c.request("PUT", "/api/v1/basket/items/" + sku,
                   boost::json::serialize(boost::json::object{{"quantity", quantity}}),
                   bearer(token));
}

/// Checks the `items` of a basket or an order exactly (sku, name, quantity, unit_price_cents,
/// line_total_cents, each line's total its quantity times its price) and that `total_cents`
/// is their sum.
inline void require_priced_lines(const boost::json::object& o) {
  REQUIRE(o.at("items").is_array());
  std::int64_t sum = 0;
  for (const auto& item : o.at("items").as_array()) {
    REQUIRE(item.is_object());
    const auto& line = item.as_object();
    REQUIRE(keys_of(line) == std::set<std::string>{"sku", "name", "quantity", "unit_price_cents",
                                                   "line_total_cents"});
    CHECK(num(line.at("line_total_cents")) ==
          num(line.at("quantity")) * num(line.at("unit_price_cents")));
    sum += num(line.at("line_total_cents"));
  }
  CHECK(num(o.at("total_cents")) == sum);
}

/// Checks docs/API.md's basket shape exactly; returns the basket.
inline boost::json::object require_basket(const http_response& r) {
  INFO("status " << r.status << ", body: " << r.body);
  REQUIRE(r.status == 200);
  boost::json::value v;
  REQUIRE_NOTHROW(v = r.json());
  REQUIRE(v.is_object());
  const auto& b = v.as_object();
  REQUIRE(keys_of(b) == std::set<std::string>{"customer_id", "items", "total_cents", "currency",
                                              "version", "updated_at"});
  require_priced_lines(b);
  return b;
}

/// GET /api/v1/basket, checked.
inline boost::json::object get_basket(http_connection& c, const std::string& token) {
  return require_basket(c.request("GET", "/api/v1/basket", "", bearer(token)));
}

/// The line of a sku in a basket, or nullptr.
inline const boost::json::object* line_of(const boost::json::object& basket,
                                          const std::string& sku) {
  for (const auto& item : basket.at("items").as_array())
    if (item.as_object().at("sku") == boost::json::value(sku))
      return &item.as_object();
  return nullptr;
}

/// Whether `text` is an RFC 3339 date-time within a day of now.
inline bool is_recent_rfc3339(const std::string& text) {
  static const std::regex shape{
      R"(^(\d{4})-(\d{2})-(\d{2})[Tt](\d{2}):(\d{2}):(\d{2})(\.\d+)?([Zz]|[+-]\d{2}:\d{2})$)"};
  std::smatch m;
  if (!std::regex_match(text, m, shape))
    return false;
  std::tm parts{};
  parts.tm_year = std::stoi(m[1]) - 1900;
  parts.tm_mon = std::stoi(m[2]) - 1;
  parts.tm_mday = std::stoi(m[3]);
  parts.tm_hour = std::stoi(m[4]);
  parts.tm_min = std::stoi(m[5]);
  parts.tm_sec = std::stoi(m[6]);
  auto at = timegm(&parts);
  auto now = std::time(nullptr);
  return at > now - 86400 && at < now + 86400;
}

} // namespace bazaar::test
