// The inventory rules of a product (actors/domain/product.hpp): admin changes, stock changes,
// and reservations per order.

#include "bazaar/domain/json_codec.hpp"
#include "bazaar/domain/product.hpp"

#include <boost/json.hpp>
#include <catch2/catch.hpp>

using namespace bazaar::domain;

namespace {

product stocked(std::int64_t stock, std::int64_t threshold = 0) {
  product p;
  p.sku = "SKU-1";
  product_draft d;
  d.sku = "SKU-1";
  d.name = "Mug";
  d.category = "kitchen";
  d.price_cents = 900;
  d.stock = stock;
  d.low_stock_threshold = threshold;
  REQUIRE_FALSE(p.create(d, 1000));
  return p;
}

product never_created() {
  product p;
  p.sku = "SKU-X";
  return p;
}

stock_change delta(std::int64_t d) {
  stock_change c;
  c.delta = d;
  return c;
}

stock_change set_to(std::int64_t s) {
  stock_change c;
  c.set = s;
  return c;
}

} // namespace

TEST_CASE("a reservation succeeds when the product is active and has the units available") {
  auto p = stocked(5);
  auto r = p.reserve("o-1", 3, 2000);
  CHECK(r.status == reservation_status::reserved);
  CHECK(r.reason.empty());
  CHECK(r.quantity == 3);
  CHECK(p.stock == 5);
  CHECK(p.reserved == 3);
  CHECK(p.available() == 2);
  CHECK(p.version == 2);
  CHECK(p.updated_at == 2000);
  CHECK(p.reserve("o-2", 2, 2001).status == reservation_status::reserved);
  CHECK(p.available() == 0);
}

TEST_CASE("a reservation of more than is available is rejected out_of_stock and holds nothing") {
  auto p = stocked(5);
  REQUIRE(p.reserve("o-1", 4, 2000).accepted());
  auto r = p.reserve("o-2", 2, 2001);
  CHECK(r.status == reservation_status::rejected);
  CHECK(r.reason == reason_out_of_stock);
  CHECK(p.reserved == 4);
  CHECK(p.available() == 1);
}

TEST_CASE("a second reserve for the same order answers the first result and changes nothing") {
  auto p = stocked(5);
  REQUIRE(p.reserve("o-1", 3, 2000).accepted());
  auto version = p.version;
  auto again = p.reserve("o-1", 3, 2001);
  CHECK(again.status == reservation_status::reserved);
  CHECK(again.quantity == 3);
  auto other_quantity = p.reserve("o-1", 1, 2002);
  CHECK(other_quantity.quantity == 3);
  CHECK(p.reserved == 3);
  CHECK(p.version == version);

  // A rejection is the first result too: later stock does not turn it into a reservation.
  auto rejected = p.reserve("o-2", 9, 2003);
  REQUIRE(rejected.reason == reason_out_of_stock);
  REQUIRE_FALSE(p.change_stock(delta(100), 2004));
  auto still = p.reserve("o-2", 9, 2005);
  CHECK(still.status == reservation_status::rejected);
  CHECK(still.reason == reason_out_of_stock);
  CHECK(p.reserved == 3);
}

TEST_CASE("a deactivated product rejects new reservations but releases and commits held ones") {
  auto p = stocked(10);
  REQUIRE(p.reserve("o-1", 2, 2000).accepted());
  REQUIRE(p.reserve("o-2", 3, 2000).accepted());
  REQUIRE_FALSE(p.deactivate(2001));
  CHECK_FALSE(p.active);
  auto r = p.reserve("o-3", 1, 2002);
  CHECK(r.status == reservation_status::rejected);
  CHECK(r.reason == reason_product_inactive);
  REQUIRE_FALSE(p.release("o-1", 2003));
  REQUIRE_FALSE(p.commit("o-2", 2004));
  CHECK(p.reserved == 0);
  CHECK(p.stock == 7);
}

TEST_CASE("a product never created rejects a reservation unknown_product and records nothing") {
  auto p = never_created();
  auto r = p.reserve("o-1", 1, 2000);
  CHECK(r.status == reservation_status::rejected);
  CHECK(r.reason == reason_unknown_product);
  CHECK(p.reservations.empty());
  CHECK(p.version == 0);
  CHECK_FALSE(p.exists);
}

TEST_CASE("a reservation request needs an order id and 1..1000000000 units") {
  CHECK_FALSE(product::validate_reservation("o-1", 1));
  auto no_order = product::validate_reservation("", 1);
  REQUIRE(no_order);
  CHECK(no_order->field == "order_id");
  CHECK(product::validate_reservation("bad id", 1));
  for (std::int64_t q : {std::int64_t{0}, std::int64_t{-1}, max_stock + 1}) {
    auto bad = product::validate_reservation("o-1", q);
    REQUIRE(bad);
    CHECK(bad->code == errc::validation_failed);
    CHECK(bad->field == "quantity");
  }
}

TEST_CASE("releasing gives the reserved units back, once") {
  auto p = stocked(5);
  REQUIRE(p.reserve("o-1", 4, 2000).accepted());
  REQUIRE_FALSE(p.release("o-1", 2001));
  CHECK(p.reserved == 0);
  CHECK(p.available() == 5);
  CHECK(p.stock == 5);
  auto version = p.version;
  REQUIRE_FALSE(p.release("o-1", 2002));
  CHECK(p.reserved == 0);
  CHECK(p.version == version);
  // Released, the order's reserve answers its first result and holds nothing again.
  CHECK(p.reserve("o-1", 4, 2003).status == reservation_status::released);
  CHECK(p.reserved == 0);
}

TEST_CASE("releasing a rejected order changes nothing") {
  auto p = stocked(1);
  REQUIRE(p.reserve("o-big", 5, 2000).reason == reason_out_of_stock);
  auto version = p.version;
  CHECK_FALSE(p.release("o-big", 2001));
  CHECK(p.version == version);
  CHECK(p.reserved == 0);
  CHECK_FALSE(never_created().release("o-1", 2001));
}

TEST_CASE("a release that arrives before its reserve makes the reserve hold nothing") {
  auto p = stocked(3);
  REQUIRE_FALSE(p.release("o-early", 2001));
  CHECK(p.reservations.at("o-early").status == reservation_status::released);
  auto r = p.reserve("o-early", 2, 2002);
  CHECK(r.status == reservation_status::released);
  CHECK(p.reserved == 0);
  CHECK(p.available() == 3);
}

TEST_CASE("committing turns the reservation into a sale, once") {
  auto p = stocked(5);
  REQUIRE(p.reserve("o-1", 2, 2000).accepted());
  REQUIRE_FALSE(p.commit("o-1", 2001));
  CHECK(p.stock == 3);
  CHECK(p.reserved == 0);
  CHECK(p.available() == 3);
  auto version = p.version;
  REQUIRE_FALSE(p.commit("o-1", 2002));
  CHECK(p.stock == 3);
  CHECK(p.version == version);
  CHECK(p.reservations.at("o-1").status == reservation_status::committed);
}

TEST_CASE("releasing a committed order returns its units to the stock, once") {
  auto p = stocked(5);
  REQUIRE(p.reserve("o-1", 2, 2000).accepted());
  REQUIRE_FALSE(p.commit("o-1", 2001));
  REQUIRE(p.stock == 3);
  REQUIRE_FALSE(p.release("o-1", 2002));
  CHECK(p.stock == 5);
  CHECK(p.reserved == 0);
  CHECK(p.reservations.at("o-1").status == reservation_status::returned);
  auto version = p.version;
  REQUIRE_FALSE(p.release("o-1", 2003));
  CHECK(p.stock == 5);
  CHECK(p.version == version);
  auto again = p.commit("o-1", 2004);
  REQUIRE(again);
  CHECK(again->code == errc::conflict);
}

TEST_CASE("after 10,000 orders a product remembers only the reservations of its retention, and "
          "a cancel after confirm still returns the units") {
  constexpr std::int64_t orders = 10'000;
  constexpr timestamp_ms step = 100; // an order every 100 ms
  const std::chrono::milliseconds keep{60'000};
  auto p = stocked(orders);
  REQUIRE(p.reserve("held", 1, 1000).accepted()); // never ends: kept whatever its age
  timestamp_ms now = 2000;
  std::size_t most = 0;
  for (std::int64_t i = 0; i < orders - 1; ++i, now += step) {
    auto id = "o-" + std::to_string(i);
    REQUIRE(p.reserve(id, 1, now).accepted());
    REQUIRE_FALSE(p.commit(id, now));
    p.forget_closed(now, keep);
    most = std::max(most, p.reservations.size());
  }
  CHECK(p.stock == 1); // 9,999 sold of 10,000
  CHECK(p.reserved == 1);
  // About keep / step ended reservations and the held one, at any time: bounded by the
  // retention, not by the sales.
  CHECK(most <= static_cast<std::size_t>(keep.count() / step) + 2);
  CHECK(p.reservations.count("held") == 1);
  REQUIRE(p.reservations.count("o-0") == 0); // forgotten
  REQUIRE(p.reservations.count("o-9998") == 1);

  // The cancel of a forgotten sale: its saga says what it sold, so the units come back...
  REQUIRE_FALSE(p.release("o-0", now, 1));
  CHECK(p.stock == 2);
  CHECK(p.reservations.at("o-0").status == reservation_status::returned);
  // ... once: the same release again, while remembered, changes nothing.
  REQUIRE_FALSE(p.release("o-0", now + 1, 1));
  CHECK(p.stock == 2);
  // A remembered sale is returned from the product's own record, whatever the release says.
  REQUIRE_FALSE(p.release("o-9998", now + 2, 0));
  CHECK(p.stock == 3);
  // A release of a forgotten order that bought nothing returns nothing.
  REQUIRE_FALSE(p.release("o-1", now + 3, 0));
  CHECK(p.stock == 3);
  CHECK(p.reservations.at("o-1").status == reservation_status::released);
}

TEST_CASE("a reservation that ended before its time was kept is forgotten only a retention "
          "after it is first seen") {
  auto p = stocked(5);
  REQUIRE(p.reserve("o-1", 2, 2000).accepted());
  REQUIRE_FALSE(p.commit("o-1", 2001));
  p.reservations.at("o-1").at = 0; // as a snapshot written before the time was kept
  const std::chrono::milliseconds keep{1000};
  CHECK(p.forget_closed(50'000, keep) == 0);
  CHECK(p.reservations.at("o-1").at == 50'000);
  CHECK(p.forget_closed(50'999, keep) == 0);
  CHECK(p.forget_closed(51'000, keep) == 1);
  CHECK(p.reservations.empty());
}

TEST_CASE("a commit without a held reservation is a conflict") {
  auto p = stocked(5);
  REQUIRE(p.reserve("o-1", 2, 2000).accepted());
  REQUIRE(p.reserve("o-2", 9, 2000).reason == reason_out_of_stock);
  REQUIRE(p.reserve("o-3", 1, 2000).accepted());
  REQUIRE_FALSE(p.release("o-3", 2001));
  REQUIRE_FALSE(p.commit("o-1", 2002));
  auto before = p;
  for (const auto& bad :
       {p.commit("o-unknown", 2003), p.commit("o-2", 2003), p.commit("o-3", 2003)}) {
    REQUIRE(bad);
    CHECK(bad->code == errc::conflict);
  }
  CHECK(p.stock == before.stock);
  CHECK(p.reserved == before.reserved);
  CHECK(p.version == before.version);
}

TEST_CASE("a stock delta adds to the stock and a stock set replaces it") {
  auto p = stocked(5);
  REQUIRE_FALSE(p.change_stock(delta(7), 2000));
  CHECK(p.stock == 12);
  REQUIRE_FALSE(p.change_stock(delta(-2), 2001));
  CHECK(p.stock == 10);
  REQUIRE_FALSE(p.change_stock(set_to(3), 2002));
  CHECK(p.stock == 3);
  CHECK(p.version == 4);
  REQUIRE_FALSE(p.change_stock(set_to(3), 2003));
  CHECK(p.version == 4); // the same stock is not a change
}

TEST_CASE("a stock change gives exactly one of delta and set, in range") {
  auto p = stocked(5);
  stock_change both;
  both.delta = 1;
  both.set = 2;
  for (const auto& c : {stock_change{}, both, set_to(-1), set_to(max_stock + 1),
                        delta(max_stock + 1), delta(-max_stock - 1)}) {
    auto bad = p.change_stock(c, 2000);
    REQUIRE(bad);
    CHECK(bad->code == errc::validation_failed);
  }
  auto below_zero = p.change_stock(delta(-6), 2000);
  REQUIRE(below_zero);
  CHECK(below_zero->code == errc::validation_failed);
  CHECK(below_zero->field == "delta");
  auto over = p.change_stock(delta(max_stock), 2000);
  REQUIRE(over);
  CHECK(over->code == errc::validation_failed);
  CHECK(p.stock == 5);
  CHECK(p.version == 1);
}

TEST_CASE("stock never drops below what is reserved: such a change is a conflict") {
  auto p = stocked(10);
  REQUIRE(p.reserve("o-1", 6, 2000).accepted());
  for (const auto& c : {set_to(5), delta(-5)}) {
    auto bad = p.change_stock(c, 2001);
    REQUIRE(bad);
    CHECK(bad->code == errc::conflict);
    CHECK(bad->message.find("6 units reserved") != std::string::npos);
  }
  CHECK(p.stock == 10);
  REQUIRE_FALSE(p.change_stock(set_to(6), 2002));
  CHECK(p.available() == 0);
}

TEST_CASE("an update changes the given fields, each validated like at creation") {
  auto p = stocked(5);
  product_update u;
  u.name = "Big mug";
  u.price_cents = 1200;
  REQUIRE_FALSE(p.update(u, 2000));
  CHECK(p.name == "Big mug");
  CHECK(p.price_cents == 1200);
  CHECK(p.category == "kitchen");
  CHECK(p.version == 2);
  REQUIRE_FALSE(p.update(u, 2001));
  CHECK(p.version == 2); // the same values are not a change

  auto field_of = [&p](product_update bad) {
    auto f = p.update(bad, 2002);
    REQUIRE(f);
    CHECK(f->code == errc::validation_failed);
    return f->field;
  };
  product_update empty_name;
  empty_name.name = "";
  CHECK(field_of(empty_name) == "name");
  product_update long_description;
  long_description.description = std::string(max_description_length + 1, 'x');
  CHECK(field_of(long_description) == "description");
  product_update no_category;
  no_category.category = "";
  CHECK(field_of(no_category) == "category");
  product_update negative_price;
  negative_price.name = "Fine";
  negative_price.price_cents = -1;
  CHECK(field_of(negative_price) == "price_cents");
  CHECK(field_of(product_update{}) == "name");
  CHECK(p.name == "Big mug"); // a refused update changes no field, not even the valid ones
  CHECK(p.version == 2);
}

TEST_CASE("changes to a product never created are not_found") {
  auto p = never_created();
  product_update u;
  u.name = "x";
  CHECK(p.update(u, 1)->code == errc::not_found);
  CHECK(p.change_stock(delta(1), 1)->code == errc::not_found);
  CHECK(p.deactivate(1)->code == errc::not_found);
  CHECK(p.version == 0);
}

TEST_CASE("deactivating twice changes nothing the second time") {
  auto p = stocked(1);
  REQUIRE_FALSE(p.deactivate(2000));
  auto version = p.version;
  REQUIRE_FALSE(p.deactivate(2001));
  CHECK(p.version == version);
  CHECK_FALSE(p.active);
}

TEST_CASE("low stock is crossed when available falls to the threshold from above, only then") {
  auto p = stocked(10, 3);
  auto before = p.available();
  REQUIRE(p.reserve("o-1", 6, 2000).accepted()); // 10 -> 4
  CHECK_FALSE(p.crossed_low_stock(before));
  before = p.available();
  REQUIRE(p.reserve("o-2", 1, 2001).accepted()); // 4 -> 3: the crossing
  CHECK(p.crossed_low_stock(before));
  before = p.available();
  REQUIRE(p.reserve("o-3", 1, 2002).accepted()); // 3 -> 2: already below
  CHECK_FALSE(p.crossed_low_stock(before));
  before = p.available();
  REQUIRE_FALSE(p.change_stock(delta(10), 2003)); // 2 -> 12: back above
  CHECK_FALSE(p.crossed_low_stock(before));
  before = p.available();
  REQUIRE_FALSE(p.change_stock(delta(-9), 2004)); // 12 -> 3: crossed again
  CHECK(p.crossed_low_stock(before));
}

TEST_CASE("a product's reservations survive its snapshot form") {
  auto p = stocked(10);
  REQUIRE(p.reserve("o-1", 2, 2000).accepted());
  REQUIRE(p.reserve("o-2", 50, 2000).reason == reason_out_of_stock);
  REQUIRE(p.reserve("o-3", 1, 2000).accepted());
  REQUIRE_FALSE(p.commit("o-3", 2001));
  auto back = from_snapshot<product>(to_snapshot(p));
  REQUIRE(back);
  CHECK(back->reserved == 2);
  CHECK(back->stock == 9);
  REQUIRE(back->reservations.size() == 3);
  CHECK(back->reservations.at("o-1").status == reservation_status::reserved);
  CHECK(back->reservations.at("o-1").quantity == 2);
  CHECK(back->reservations.at("o-2").reason == reason_out_of_stock);
  CHECK(back->reservations.at("o-3").status == reservation_status::committed);
  // Its reserve answers stay the first ones after a reload.
  CHECK(back->reserve("o-2", 1, 2002).status == reservation_status::rejected);

  std::string direct;
  write_snapshot(p, direct);
  CHECK(direct == boost::json::serialize(to_snapshot(p)));

  auto broken = to_snapshot(p);
  broken.as_object()["reservations"].as_object()["o-1"].as_object()["status"] = "maybe";
  CHECK_FALSE(from_snapshot<product>(broken));
}
