// The JSON forms derived from the descriptions (domain/json_form.hpp): snapshots stored by the
// code before them (commit 9a05171, tests/unit/data) still load, the API answers what it
// answered then, and a described type gets both forms and a reader from its description alone.

#include "bazaar/domain/json_codec.hpp"
#include "support/gadget.hpp"

#include <boost/json.hpp>
#include <catch2/catch.hpp>

#include <fstream>
#include <string>
#include <vector>

using namespace bazaar::domain;
namespace json = boost::json;

namespace {

/// The states 9a05171 wrote the stored snapshots and API answers of tests/unit/data from.
struct samples {
  basket full_basket, empty_basket;
  product product_;
  order shipped, cancelled;
  checkout saga;
  payment refunded;

  samples() {
    full_basket.customer_id = "cust-\"7\"";
    full_basket.currency = "EUR";
    full_basket.version = 4;
    full_basket.updated_at = 1765100000123;
    full_basket.lines = {{"SKU-1", "Kaffee \u00e9 \"dark\"", 2, 1250}, {"SKU-2", "Mug", 1, 799}};
    empty_basket.customer_id = "c0";

    auto& p = product_;
    p.exists = true;
    p.sku = "SKU-1";
    p.name = "Coffee";
    p.description = "Dark\nroast";
    p.category = "food";
    p.price_cents = 1250;
    p.currency = "EUR";
    p.active = false;
    p.stock = 40;
    p.reserved = 3;
    p.low_stock_threshold = 5;
    p.version = 9;
    p.updated_at = 1765100000456;
    for (const auto& r :
         {reservation{"ord-1", 3, reservation_status::reserved, ""},
          reservation{"ord-2", 1, reservation_status::rejected, "insufficient_stock"},
          reservation{"ord-3", 2, reservation_status::committed, ""},
          reservation{"ord-4", 2, reservation_status::released, "payment_declined"},
          reservation{"ord-5", 1, reservation_status::returned, "order_cancelled"}})
      p.reservations.emplace(r.order_id, r);

    auto& o = shipped;
    o.exists = true;
    o.order_id = "ord-1";
    o.customer_id = "cust-7";
    o.currency = "EUR";
    o.card_token = "tok_visa";
    o.shipping_address = R"({"name":"Ada","line1":"1 Main St","city":"Zurich",)"
                         R"("postal_code":"8000","country":"CH"})";
    o.items = {{"SKU-1", "Coffee", 2, 1250}};
    o.status = order_status::shipped;
    o.payment_id = "pay-ord-1";
    o.payment_status = "approved";
    o.tracking_number = "TRK-1";
    o.version = 6;
    o.timeline = {{order_status::pending, 1765100000001},
                  {order_status::stock_reserved, 1765100000002},
                  {order_status::paid, 1765100000003},
                  {order_status::confirmed, 1765100000004},
                  {order_status::shipped, 1765100000005}};
    cancelled = o;
    cancelled.order_id = "ord-2";
    cancelled.status = order_status::cancelled;
    cancelled.cancel_reason = "payment_declined";
    cancelled.payment_id.clear();
    cancelled.payment_status.clear();
    cancelled.tracking_number.clear();
    cancelled.timeline = {{order_status::pending, 1765100000001},
                          {order_status::cancelled, 1765100000009}};

    auto& c = saga;
    c.order_id = "ord-1";
    c.customer_id = "cust-7";
    c.lines = {{"SKU-1", 2, line_state::reserved},
               {"SKU-2", 1, line_state::rejected},
               {"SKU-3", 1, line_state::requested}};
    c.amount_cents = 3299;
    c.currency = "EUR";
    c.card_token = "tok_visa";
    c.stage = checkout_stage::paying;
    c.payment = saga_payment::requested;
    c.payment_id = "pay-ord-1";
    c.started_at = 1765100000001;
    c.updated_at = 1765100000002;
    c.version = 3;
    c.correlation_id = "corr-1";

    auto& y = refunded;
    y.payment_id = "pay-ord-1";
    y.order_id = "ord-1";
    y.customer_id = "cust-7";
    y.amount_cents = 3299;
    y.currency = "EUR";
    y.card_token = "tok_visa";
    y.status = payment_status::refunded;
    y.charges = 1;
    y.refund_requested = true;
    y.reason = "order_cancelled";
    y.created_at = 1765100000001;
    y.updated_at = 1765100000008;
    y.version = 3;
    y.correlation_id = "corr-1";
  }
};

/// The lines of a tests/unit/data file: a type name, a tab, JSON text.
std::vector<std::pair<std::string, std::string>> stored(const std::string& file) {
  std::ifstream in{"tests/unit/data/" + file}; // the tests run in the source tree
  REQUIRE(in);
  std::vector<std::pair<std::string, std::string>> lines;
  for (std::string line; std::getline(in, line);) {
    auto tab = line.find('\t');
    REQUIRE(tab != std::string::npos);
    lines.emplace_back(line.substr(0, tab), line.substr(tab + 1));
  }
  return lines;
}

/// Loads a stored snapshot as T and checks that it is `expected`, member for member.
template <class T>
void check_loads(const std::string& text, const T& expected) {
  INFO(text);
  auto loaded = from_snapshot<T>(json::parse(text));
  REQUIRE(loaded);
  CHECK(to_snapshot(*loaded) == to_snapshot(expected));
}

} // namespace

TEST_CASE("snapshots stored by 9a05171 of every grain type load as what was stored") {
  samples s;
  auto lines = stored("snapshots_9a05171.tsv");
  REQUIRE(lines.size() == 7);
  CHECK(lines[0].first == "basket");
  check_loads(lines[0].second, s.full_basket);
  check_loads(lines[1].second, s.empty_basket);
  CHECK(lines[2].first == "product");
  check_loads(lines[2].second, s.product_);
  CHECK(lines[3].first == "order");
  check_loads(lines[3].second, s.shipped);
  check_loads(lines[4].second, s.cancelled);
  CHECK(lines[5].first == "checkout");
  check_loads(lines[5].second, s.saga);
  CHECK(lines[6].first == "payment");
  check_loads(lines[6].second, s.refunded);
}

TEST_CASE("the API answers what 9a05171 answered for a basket, a product and orders") {
  samples s;
  auto lines = stored("api_9a05171.tsv");
  REQUIRE(lines.size() == 4);
  CHECK(to_json(s.full_basket) == json::parse(lines[0].second));
  CHECK(to_json(s.product_) == json::parse(lines[1].second));
  CHECK(to_json(s.shipped) == json::parse(lines[2].second));
  CHECK(to_json(s.cancelled) == json::parse(lines[3].second));
}

TEST_CASE("today's snapshots load back to the same state") {
  samples s;
  auto round_trip = [](const auto& x) {
    using T = std::decay_t<decltype(x)>;
    std::string text;
    write_snapshot(x, text);
    CHECK(json::serialize(to_snapshot(x)) == text);
    auto back = from_snapshot<T>(json::parse(text));
    REQUIRE(back);
    std::string again;
    write_snapshot(*back, again);
    CHECK(again == text);
  };
  round_trip(s.full_basket);
  round_trip(s.empty_basket);
  round_trip(s.product_);
  round_trip(s.shipped);
  round_trip(s.cancelled);
  round_trip(s.saga);
  round_trip(s.refunded);
}

TEST_CASE("a snapshot is its type's description, derived values included") {
  samples s;
  auto o = to_snapshot(s.product_).as_object();
  std::vector<std::string> keys;
  for (const auto& kv : o)
    keys.emplace_back(kv.key());
  CHECK(keys == std::vector<std::string>{"exists", "sku", "name", "description", "category",
                                         "price_cents", "currency", "active", "stock", "reserved",
                                         "low_stock_threshold", "reservations", "version",
                                         "updated_at", "available"});
  CHECK(o["available"] == 37);
  CHECK(o["reservations"].as_object()["ord-2"].as_object()["status"] == "rejected");
}

TEST_CASE("a snapshot of another form is refused, not half-read") {
  samples s;
  CHECK_FALSE(from_snapshot<basket>(json::value{1}));
  CHECK_FALSE(from_snapshot<basket>(json::object{{"customer_id", "x"}})); // no version
  auto base = to_snapshot(s.shipped).as_object();
  auto refused = [&](const char* key, json::value v) {
    auto o = base;
    o[key] = std::move(v);
    INFO(key << " = " << json::serialize(o[key]));
    CHECK_FALSE(from_snapshot<order>(o));
  };
  refused("status", "lost");        // not an enumerator
  refused("version", -1);           // unsigned
  refused("order_id", 7);           // text
  refused("items", json::object{}); // a list
  refused("timeline", json::array{json::object{{"status", "paid"}, {"at", "noon"}}});
  auto wide = to_snapshot(s.full_basket).as_object();
  wide["lines"].as_array()[0].as_object()["quantity"] = std::int64_t{1} << 40; // beyond int
  CHECK_FALSE(from_snapshot<basket>(wide));

  auto extra = base;
  extra["added_by_a_later_version"] = "ignored";
  extra.erase("tracking_number"); // a member the snapshot lacks keeps its default
  auto read = from_snapshot<order>(extra);
  REQUIRE(read);
  CHECK(read->tracking_number.empty());
  CHECK(read->order_id == "ord-1");
}

TEST_CASE("a field added to a description appears in both JSON forms and is read back") {
  gadget g{"g-1", gadget_kind::large, {"a", "b"}, 250, {{"x", 1}}, {{order_status::paid, 7}}, 3};
  auto expected = json::parse(R"({"id":"g-1","kind":"large","tags":["a","b"],"weight":250,)"
                              R"("counts":{"x":1},"history":[{"status":"paid","at":7}],)"
                              R"("version":3,"tag_count":2})");
  CHECK(to_snapshot(g) == expected);
  // The API form is the same but where api_shapes.hpp says otherwise: a status change's time.
  auto api = expected;
  api.as_object()["history"].as_array()[0].as_object()["at"] = "1970-01-01T00:00:00.007Z";
  CHECK(to_json(g) == api);
  auto back = from_snapshot<gadget>(expected);
  REQUIRE(back);
  CHECK(back->kind == gadget_kind::large);
  CHECK(back->weight == 250);
  CHECK(back->counts.at("x") == 1);
  g.weight.reset();
  CHECK(to_snapshot(g).as_object()["weight"].is_null());
  CHECK_FALSE(from_snapshot<gadget>(json::parse(R"({"version":1,"kind":"medium"})")));
  CHECK(to_string(gadget_kind::small) == "small");
  CHECK(parse_enum<gadget_kind>("large") == gadget_kind::large);
  CHECK_FALSE(parse_enum<gadget_kind>("Large"));
}
