#include "bazaar/domain/basket.hpp"
#include "bazaar/domain/json_codec.hpp"
#include "bazaar/domain/product.hpp"

#include <catch2/catch.hpp>

using namespace bazaar::domain;

namespace {

product make_product(std::string sku, std::int64_t price = 250, std::string currency = "USD") {
  product p;
  product_draft d;
  d.sku = std::move(sku);
  d.name = "Item " + d.sku;
  d.category = "misc";
  d.price_cents = price;
  d.currency = std::move(currency);
  d.stock = 10;
  REQUIRE_FALSE(p.create(d, 1000));
  return p;
}

} // namespace

TEST_CASE("adding a product prices the line and sums the basket") {
  basket b;
  REQUIRE_FALSE(b.add(make_product("A", 250), 2, 10));
  REQUIRE_FALSE(b.add(make_product("B", 100), 3, 20));
  REQUIRE(b.lines.size() == 2);
  CHECK(b.find("A")->line_total_cents() == 500);
  CHECK(b.total_cents() == 800);
  CHECK(b.version == 2);
  CHECK(b.updated_at == 20);
}

TEST_CASE("adding a sku that is already in the basket adds to its line") {
  basket b;
  auto a = make_product("A");
  REQUIRE_FALSE(b.add(a, 2, 1));
  REQUIRE_FALSE(b.add(a, 5, 2));
  REQUIRE(b.lines.size() == 1);
  CHECK(b.lines[0].quantity == 7);
}

TEST_CASE("a quantity outside 1..999 per add is refused and changes nothing") {
  basket b;
  auto a = make_product("A");
  for (int q : {0, -1, 1000}) {
    auto bad = b.add(a, q, 1);
    REQUIRE(bad);
    CHECK(bad->code == errc::validation_failed);
    CHECK(bad->field == "quantity");
  }
  CHECK(b.lines.empty());
  CHECK(b.version == 0);
}

TEST_CASE("a line never holds more than 999 units") {
  basket b;
  auto a = make_product("A");
  REQUIRE_FALSE(b.add(a, 999, 1));
  auto bad = b.add(a, 1, 2);
  REQUIRE(bad);
  CHECK(bad->field == "quantity");
  CHECK(b.lines[0].quantity == 999);
  CHECK(b.version == 1);
}

TEST_CASE("a basket never holds more than 100 lines") {
  basket b;
  for (int i = 0; i < 100; ++i)
    REQUIRE_FALSE(b.add(make_product("S" + std::to_string(i)), 1, i));
  auto bad = b.add(make_product("S100"), 1, 200);
  REQUIRE(bad);
  CHECK(bad->code == errc::validation_failed);
  CHECK(b.lines.size() == 100);
}

TEST_CASE("unknown and inactive products cannot be added") {
  basket b;
  product unknown;
  unknown.sku = "X";
  auto bad = b.add(unknown, 1, 1);
  REQUIRE(bad);
  CHECK(bad->field == "sku");
  auto inactive = make_product("Y");
  inactive.active = false;
  REQUIRE(b.add(inactive, 1, 1));
  CHECK(b.lines.empty());
}

TEST_CASE("a product in another currency than the basket is refused") {
  basket b;
  REQUIRE_FALSE(b.add(make_product("A", 100, "USD"), 1, 1));
  auto bad = b.add(make_product("B", 100, "EUR"), 1, 2);
  REQUIRE(bad);
  CHECK(bad->field == "sku");
  CHECK(b.lines.size() == 1);
}

TEST_CASE("setting a quantity replaces the line and zero removes it") {
  basket b;
  auto a = make_product("A");
  REQUIRE_FALSE(b.add(a, 2, 1));
  REQUIRE_FALSE(b.set("A", 7, nullptr, 2));
  CHECK(b.lines[0].quantity == 7);
  REQUIRE_FALSE(b.set("A", 0, nullptr, 3));
  CHECK(b.lines.empty());
  CHECK(b.version == 3);
}

TEST_CASE("setting an absent line adds it when the product is known") {
  basket b;
  auto a = make_product("A");
  auto missing = b.set("A", 4, nullptr, 1);
  REQUIRE(missing);
  CHECK(missing->field == "sku");
  REQUIRE_FALSE(b.set("A", 4, &a, 2));
  CHECK(b.lines[0].quantity == 4);
  REQUIRE(b.set("A", 1000, &a, 3));
  CHECK(b.lines[0].quantity == 4);
}

TEST_CASE("setting the same quantity again is not a change") {
  basket b;
  REQUIRE_FALSE(b.add(make_product("A"), 2, 1));
  REQUIRE_FALSE(b.set("A", 2, nullptr, 2));
  CHECK(b.version == 1);
}

TEST_CASE("removing and clearing change the version only when something changed") {
  basket b;
  b.remove("A", 1);
  b.clear(2);
  CHECK(b.version == 0);
  REQUIRE_FALSE(b.add(make_product("A"), 1, 3));
  b.remove("A", 4);
  CHECK(b.version == 2);
  REQUIRE_FALSE(b.add(make_product("A"), 1, 5));
  b.clear(6);
  CHECK(b.lines.empty());
  CHECK(b.version == 4);
}

TEST_CASE("a product draft is validated field by field") {
  product_draft d;
  d.sku = "SKU-1";
  d.name = "Mug";
  d.category = "kitchen";
  d.price_cents = 100;
  d.stock = 5;
  CHECK_FALSE(product::validate(d));
  auto field_of = [](product_draft x) {
    auto bad = product::validate(x);
    return bad ? bad->field : std::string{};
  };
  auto bad_sku = d;
  bad_sku.sku = "has space";
  CHECK(field_of(bad_sku) == "sku");
  auto no_name = d;
  no_name.name.clear();
  CHECK(field_of(no_name) == "name");
  auto negative = d;
  negative.price_cents = -1;
  CHECK(field_of(negative) == "price_cents");
  auto currency = d;
  currency.currency = "usd";
  CHECK(field_of(currency) == "currency");
  auto stock = d;
  stock.stock = -3;
  CHECK(field_of(stock) == "stock");
}

TEST_CASE("a product is created once, a second create is a conflict") {
  product p;
  product_draft d{"SKU-1", "Mug", "", "kitchen", 100, "USD", 5, 1};
  REQUIRE_FALSE(p.create(d, 7));
  CHECK(p.exists);
  CHECK(p.version == 1);
  CHECK(p.available() == 5);
  auto again = p.create(d, 8);
  REQUIRE(again);
  CHECK(again->code == errc::conflict);
}

TEST_CASE("identifiers follow docs/API.md") {
  CHECK(is_identifier("alice"));
  CHECK(is_identifier("A-b_c.d:9"));
  CHECK_FALSE(is_identifier(""));
  CHECK_FALSE(is_identifier(std::string(65, 'a')));
  CHECK(is_identifier(std::string(64, 'a')));
  CHECK_FALSE(is_identifier("a/b"));
  CHECK_FALSE(is_identifier("ä"));
}

TEST_CASE("baskets and products survive their snapshot form unchanged") {
  basket b;
  b.customer_id = "alice";
  REQUIRE_FALSE(b.add(make_product("A", 199), 3, 1'700'000'000'123));
  REQUIRE_FALSE(b.add(make_product("B", 5), 1, 1'700'000'000'456));
  auto back = from_snapshot<basket>(to_snapshot(b));
  REQUIRE(back);
  CHECK(back->customer_id == "alice");
  CHECK(back->lines.size() == 2);
  CHECK(back->lines[0].quantity == 3);
  CHECK(back->total_cents() == b.total_cents());
  CHECK(back->version == b.version);
  CHECK(back->updated_at == b.updated_at);

  auto p = make_product("SKU-9");
  p.name = "Tasse \"groß\" 🍵";
  auto pb = from_snapshot<product>(to_snapshot(p));
  REQUIRE(pb);
  CHECK(pb->name == p.name);
  CHECK(pb->stock == p.stock);
  CHECK(pb->version == p.version);
}

TEST_CASE("a snapshot of the wrong form is rejected, not half-read") {
  CHECK_FALSE(from_snapshot<basket>(boost::json::value{1}));
  CHECK_FALSE(from_snapshot<basket>(boost::json::object{{"customer_id", "x"}}));
  CHECK_FALSE(from_snapshot<product>(boost::json::object{{"sku", 5}}));
}

TEST_CASE("the API form of a basket matches docs/API.md") {
  basket b;
  b.customer_id = "bob";
  REQUIRE_FALSE(b.add(make_product("A", 250), 2, 1'763'715'848'123));
  auto v = to_json(b).as_object();
  for (auto key : {"customer_id", "items", "total_cents", "currency", "version", "updated_at"})
    CHECK(v.contains(key));
  CHECK(v.size() == 6);
  CHECK(v["updated_at"].as_string() == "2025-11-21T09:04:08.123Z");
  auto line = v["items"].as_array()[0].as_object();
  CHECK(line["line_total_cents"].as_int64() == 500);
}

TEST_CASE("body fingerprints are stable and tell bodies apart") {
  CHECK(fingerprint("") == 1469598103934665603ULL);
  CHECK(fingerprint(R"({"a":1})") == fingerprint(R"({"a":1})"));
  CHECK(fingerprint(R"({"a":1})") != fingerprint(R"({"a":2})"));
}

TEST_CASE("an order is created pending with its timeline, once") {
  order o;
  order_draft d{"ord-1", "alice", {{"A", "Item A", 2, 250}}, "USD", "tok_ok", ""};
  REQUIRE_FALSE(o.create(d, 1000));
  CHECK(o.status == order_status::pending);
  CHECK(o.total_cents() == 500);
  REQUIRE(o.timeline.size() == 1);
  CHECK(o.timeline[0].at == 1000);
  CHECK_FALSE(o.create(d, 2000)); // a re-sent create changes nothing
  CHECK(o.version == 1);
  order_draft other = d;
  other.customer_id = "bob";
  REQUIRE(o.create(other, 3000));
  order empty;
  REQUIRE(empty.create(order_draft{"ord-2", "alice", {}, "USD", "tok", ""}, 1));
}

TEST_CASE("orders survive their snapshot form") {
  order o;
  REQUIRE_FALSE(
      o.create({"ord-9", "alice", {{"A", "Item", 3, 100}}, "EUR", "tok_ok", R"({"city":"Köln"})"},
               1'700'000'000'000));
  auto back = from_snapshot<order>(to_snapshot(o));
  REQUIRE(back);
  CHECK(back->order_id == "ord-9");
  CHECK(back->card_token == "tok_ok");
  CHECK(back->shipping_address == R"({"city":"Köln"})");
  CHECK(back->timeline.size() == 1);
  CHECK(back->total_cents() == 300);
  auto api = to_json(o).as_object();
  CHECK_FALSE(api.contains("card_token"));
  CHECK(api["status"].as_string() == "pending");
}
