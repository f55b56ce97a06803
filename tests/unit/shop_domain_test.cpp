// The shop's rules without an actor system: the order status machine, the checkout saga's
// decisions, and the simulated payment gateway.

#include "bazaar/domain/checkout.hpp"
#include "bazaar/domain/json_codec.hpp"
#include "bazaar/domain/order.hpp"
#include "bazaar/domain/order_journal.hpp"
#include "bazaar/domain/payment.hpp"

#include <boost/json.hpp>
#include <catch2/catch.hpp>

using namespace bazaar::domain;

namespace {

order pending_order() {
  order o;
  o.order_id = "ord-1";
  order_draft d{"ord-1", "alice", {{"mug", "Mug", 2, 500}}, "USD", "tok_ok", ""};
  REQUIRE_FALSE(o.create(d, 1000));
  return o;
}

checkout_start start_of(std::vector<std::pair<std::string, int>> lines) {
  checkout_start s;
  s.order_id = "ord-1";
  s.customer_id = "alice";
  s.card_token = "tok_ok";
  s.amount_cents = 1000;
  for (const auto& [sku, q] : lines)
    s.lines.push_back(checkout_line{sku, q, line_state::requested});
  return s;
}

checkout started(std::vector<std::pair<std::string, int>> lines) {
  checkout c;
  c.order_id = "ord-1";
  auto s = start_of(std::move(lines));
  REQUIRE_FALSE(checkout::validate(s, "ord-1"));
  c.start(s, 1000);
  return c;
}

std::size_t count(const checkout_effects& e, stock_request::kind k) {
  std::size_t n = 0;
  for (const auto& r : e.stock)
    n += r.type == k ? 1 : 0;
  return n;
}

} // namespace

TEST_CASE("the order status machine allows the happy path one step at a time and cancelling "
          "before shipping") {
  using s = order_status;
  CHECK(can_transition(s::pending, s::stock_reserved));
  CHECK(can_transition(s::stock_reserved, s::paid));
  CHECK(can_transition(s::paid, s::confirmed));
  CHECK(can_transition(s::confirmed, s::shipped));
  CHECK(can_transition(s::shipped, s::delivered));
  for (auto from : {s::pending, s::stock_reserved, s::paid, s::confirmed})
    CHECK(can_transition(from, s::cancelled));
  for (auto from : {s::shipped, s::delivered, s::cancelled})
    CHECK_FALSE(can_transition(from, s::cancelled));
  CHECK_FALSE(can_transition(s::pending, s::paid));
  CHECK_FALSE(can_transition(s::pending, s::shipped));
  CHECK_FALSE(can_transition(s::cancelled, s::confirmed));
  CHECK_FALSE(can_transition(s::delivered, s::shipped));
}

TEST_CASE("a step the order took already changes nothing, a forbidden one is a conflict") {
  auto o = pending_order();
  REQUIRE_FALSE(o.advance(order_status::stock_reserved, "", 2000));
  REQUIRE_FALSE(o.advance(order_status::paid, "", 3000));
  auto version = o.version;
  CHECK_FALSE(o.advance(order_status::stock_reserved, "", 4000)); // re-sent: harmless
  CHECK_FALSE(o.advance(order_status::paid, "", 4000));
  CHECK(o.version == version);
  CHECK(o.timeline.size() == 3);
  auto bad = o.advance(order_status::delivered, "", 4000);
  REQUIRE(bad);
  CHECK(bad->code == errc::conflict);
  CHECK(o.status == order_status::paid);
}

TEST_CASE("ship needs a confirmed order and a tracking number, deliver a shipped one") {
  auto o = pending_order();
  CHECK(o.ship("T-1", 2000)->code == errc::conflict);
  for (auto s : {order_status::stock_reserved, order_status::paid, order_status::confirmed})
    REQUIRE_FALSE(o.advance(s, "", 2000));
  CHECK(o.deliver(3000)->code == errc::conflict);
  CHECK(o.ship("", 3000)->code == errc::validation_failed);
  REQUIRE_FALSE(o.ship("T-1", 3000));
  CHECK(o.tracking_number == "T-1");
  CHECK(o.cancel("customer_request", 3500)->code == errc::conflict);
  REQUIRE_FALSE(o.deliver(4000));
  CHECK(o.status == order_status::delivered);
  CHECK(is_terminal(o.status));
}

TEST_CASE("an order folded from its events equals the order") {
  auto o = pending_order();
  std::vector<boost::json::value> journal;
  auto envelope = [&](const char* type, boost::json::object data) {
    journal.push_back(boost::json::object{
        {"event_type", type}, {"version", o.version}, {"data", std::move(data)}});
  };
  envelope("order-created", order_created_data(o));
  auto from = o.status;
  REQUIRE_FALSE(o.advance(order_status::stock_reserved, "", 2000));
  o.set_payment("pay-ord-1", payment_states::pending, 2000);
  envelope("order-status-changed", status_changed_data(o, from));
  from = o.status;
  REQUIRE_FALSE(o.advance(order_status::cancelled, cancel_reasons::payment_timeout, 3000));
  envelope("order-status-changed", status_changed_data(o, from));
  o.set_payment("pay-ord-1", payment_states::refunded, 4000);
  envelope("order-payment-updated", payment_data(o));
  auto folded = order_from_events(journal);
  REQUIRE(folded);
  CHECK(to_json(*folded) == to_json(o));
  CHECK(to_snapshot(*folded).as_object().at("timeline") ==
        to_snapshot(o).as_object().at("timeline"));
  CHECK_FALSE(order_from_events({}));
}

TEST_CASE("a status change ends the saga when it confirms, or cancels before a confirmation") {
  auto change = [](order& o, order_status to, const char* reason, std::int64_t at) {
    auto from = o.status;
    REQUIRE_FALSE(o.advance(to, reason, at));
    auto envelope = boost::json::serialize(boost::json::object{
        {"event_type", "order-status-changed"}, {"data", status_changed_data(o, from)}});
    return saga_ending_of("order-status-changed", envelope, boost::json::serialize(to_snapshot(o)));
  };
  auto o = pending_order(); // created at 1000
  CHECK_FALSE(change(o, order_status::stock_reserved, "", 1500));
  CHECK_FALSE(change(o, order_status::paid, "", 2000));
  auto confirmed = change(o, order_status::confirmed, "", 2250);
  REQUIRE(confirmed);
  CHECK(confirmed->confirmed);
  CHECK(confirmed->duration_ms == 1250);
  CHECK_FALSE(change(o, order_status::cancelled, "changed my mind", 3000)); // ended already
  auto p = pending_order();
  auto cancelled = change(p, order_status::cancelled, cancel_reasons::out_of_stock, 1100);
  REQUIRE(cancelled);
  CHECK_FALSE(cancelled->confirmed);
  CHECK(cancelled->reason == cancel_reasons::out_of_stock);
  CHECK(cancelled->duration_ms == 100);
  // Another event, an unreadable one, and a snapshot not known.
  CHECK_FALSE(saga_ending_of("order-created", "{}", ""));
  CHECK_FALSE(saga_ending_of("order-status-changed", "not json", ""));
  auto unknown_start = saga_ending_of("order-status-changed",
                                      R"({"data":{"from":"paid","to":"confirmed","at":5}})", "");
  REQUIRE(unknown_start);
  CHECK(unknown_start->duration_ms == -1);
}

TEST_CASE("order-created asks to reserve every line once and arms the reservation timer") {
  auto c = started({{"mug", 2}, {"pen", 1}});
  CHECK(c.stage == checkout_stage::reserving);
  checkout again = c;
  auto e = again.start(start_of({{"mug", 2}, {"pen", 1}}), 2000);
  CHECK(e.empty()); // delivered twice: nothing new
  checkout fresh;
  fresh.order_id = "ord-1";
  auto first = fresh.start(start_of({{"mug", 2}, {"pen", 1}}), 1000);
  CHECK(count(first, stock_request::kind::reserve) == 2);
  CHECK(first.arm_reservation_timer);
  CHECK(first.order_steps.empty());
}

TEST_CASE("what order-created carries is checked") {
  CHECK(checkout::validate(start_of({{"mug", 1}}), "ord-2")->field == "order_id");
  CHECK(checkout::validate(start_of({}), "ord-1")->field == "items");
  CHECK(checkout::validate(start_of({{"mug", 1}, {"mug", 2}}), "ord-1")->field == "items");
  CHECK(checkout::validate(start_of({{"mug", 1000}}), "ord-1")->field == "items");
  auto no_card = start_of({{"mug", 1}});
  no_card.card_token.clear();
  CHECK(checkout::validate(no_card, "ord-1")->field == "card_token");
}

TEST_CASE("every line reserved: the order becomes stock_reserved and the payment is asked for") {
  auto c = started({{"mug", 2}, {"pen", 1}});
  CHECK(c.on_reserved("mug", true, "", 2000).order_steps.empty());
  CHECK(c.on_reserved("mug", true, "", 2000).empty()); // an answer again
  auto e = c.on_reserved("pen", true, "", 2100);
  CHECK(e.order_steps == std::vector<order_status>{order_status::stock_reserved});
  CHECK(e.charge);
  CHECK(e.arm_payment_timer);
  CHECK(e.disarm_timers);
  CHECK(c.stage == checkout_stage::paying);
  auto approved = c.on_payment("approved", 3000);
  CHECK(approved.order_steps ==
        std::vector<order_status>{order_status::paid, order_status::confirmed});
  CHECK(count(approved, stock_request::kind::commit) == 2);
  CHECK(c.stage == checkout_stage::confirmed);
  CHECK(c.on_payment("approved", 3100).empty()); // again: no second commit
}

TEST_CASE("a rejected line releases the others and cancels with its reason") {
  auto c = started({{"mug", 2}, {"pen", 1}, {"cup", 1}});
  c.on_reserved("mug", true, "", 2000);
  auto e = c.on_reserved("pen", false, "product_inactive", 2100);
  CHECK(e.order_steps == std::vector<order_status>{order_status::cancelled});
  CHECK(e.cancel_reason == "product_inactive");
  CHECK(count(e, stock_request::kind::release) == 2); // mug (held) and cup (in flight)
  CHECK(c.stage == checkout_stage::cancelled);
  CHECK(c.on_reserved("cup", true, "", 2200).empty()); // late: its release follows it
  auto out = started({{"mug", 1}});
  CHECK(out.on_reserved("mug", false, "out_of_stock", 2000).cancel_reason == "out_of_stock");
}

TEST_CASE("a release before the confirmation says that nothing was sold") {
  auto c = started({{"mug", 2}});
  c.on_reserved("mug", true, "", 2000);
  auto e = c.on_payment("declined", 3000);
  REQUIRE(count(e, stock_request::kind::release) == 1);
  CHECK(e.stock.front().sold == 0);
}

TEST_CASE("a decline or a timeout compensates, and an approval after the timeout is refunded") {
  auto c = started({{"mug", 1}});
  c.on_reserved("mug", true, "", 2000);
  auto declined = c.on_payment("declined", 3000);
  CHECK(declined.cancel_reason == "payment_declined");
  CHECK(count(declined, stock_request::kind::release) == 1);
  CHECK_FALSE(declined.refund);

  auto t = started({{"mug", 1}});
  CHECK(t.on_payment_timeout(1500).empty()); // not waiting for a payment yet
  t.on_reserved("mug", true, "", 2000);
  auto timed_out = t.on_payment_timeout(5000);
  CHECK(timed_out.cancel_reason == "payment_timeout");
  CHECK(count(timed_out, stock_request::kind::release) == 1);
  auto late = t.on_payment("approved", 6000);
  CHECK(late.refund);
  CHECK(late.order_steps.empty());
  CHECK(count(late, stock_request::kind::commit) == 0);
  CHECK(t.on_payment("approved", 6100).empty()); // refund asked once
  CHECK(t.on_payment("refunded", 7000).order_payment_status == "refunded");

  auto r = started({{"mug", 1}});
  CHECK(r.on_reservation_timeout(9000).cancel_reason == "reservation_timeout");
  CHECK(r.on_reservation_timeout(9100).empty());
}

TEST_CASE("a cancellation after confirmation gives the stock back and refunds, once") {
  auto c = started({{"mug", 1}});
  c.on_reserved("mug", true, "", 2000);
  c.on_payment("approved", 3000);
  checkout_effects e;
  REQUIRE_FALSE(c.cancel("customer_request", 4000, e));
  CHECK(e.refund);
  CHECK(count(e, stock_request::kind::release) == 1);
  // The release says the order bought the unit: returned even by a product that forgot it.
  CHECK(e.stock.front().sold == 1);
  CHECK(c.lines.front().state == line_state::sold);
  CHECK(e.order_steps == std::vector<order_status>{order_status::cancelled});
  checkout_effects again;
  CHECK(c.cancel("customer_request", 4100, again)->code == errc::conflict);
  // A cancellation before order-created: nothing to give back, and the late start is ignored.
  checkout early;
  early.order_id = "ord-1";
  checkout_effects none;
  REQUIRE_FALSE(early.cancel("customer_request", 1000, none));
  CHECK(none.stock.empty());
  CHECK(early.start(start_of({{"mug", 1}}), 2000).empty());
}

TEST_CASE("the simulated gateway answers by card token, and random declines are seeded") {
  using kind = gateway_answer::kind;
  CHECK(simulate_gateway("tok_ok", "p-1", 0, 42).what == kind::approve);
  CHECK(simulate_gateway("tok_anything", "p-1", 0, 42).what == kind::approve);
  CHECK(simulate_gateway("tok_decline", "p-1", 0, 42).what == kind::decline);
  CHECK(simulate_gateway("tok_timeout", "p-1", 0, 42).what == kind::silent);
  auto slow = simulate_gateway("tok_slow_250", "p-1", 0, 42);
  CHECK(slow.what == kind::delayed);
  CHECK(slow.delay_ms == 250);
  CHECK(simulate_gateway("tok_slow_x", "p-1", 0, 42).what == kind::approve);
  CHECK(simulate_gateway("tok_ok", "p-1", 1.0, 42).what == kind::decline);
  int declined = 0;
  for (int i = 0; i < 1000; ++i) {
    auto id = "p-" + std::to_string(i);
    auto a = simulate_gateway("tok_ok", id, 0.3, 7);
    CHECK(a.what == simulate_gateway("tok_ok", id, 0.3, 7).what); // one payment, one answer
    declined += a.what == kind::decline ? 1 : 0;
  }
  CHECK(declined > 200); // about 300 of 1000
  CHECK(declined < 400);
}

TEST_CASE("a payment charges at most once and refunds only what it took") {
  payment p;
  p.payment_id = "pay-1";
  charge_request r{"pay-1", "ord-1", "alice", 1000, "USD", "tok_ok"};
  REQUIRE_FALSE(payment::validate(r, "pay-1"));
  CHECK(payment::validate(r, "pay-2")->field == "payment_id");
  CHECK(p.request(r, gateway_answer{}, 1000));
  CHECK(p.status == payment_status::approved);
  CHECK_FALSE(p.request(r, gateway_answer{}, 1100)); // asked again
  CHECK(p.charges == 1);
  CHECK(p.refund(2000));
  CHECK(p.status == payment_status::refunded);
  CHECK_FALSE(p.refund(2100));

  payment slow;
  slow.payment_id = "pay-2";
  r.payment_id = "pay-2";
  slow.request(r, gateway_answer{gateway_answer::kind::delayed, 500, {}}, 1000);
  CHECK(slow.status == payment_status::pending);
  CHECK_FALSE(slow.refund(1200)); // not taken yet: refunded once it is
  CHECK(slow.refund_requested);
  CHECK(slow.gateway_approved(1500));
  CHECK(slow.refund(1500));
  CHECK(slow.charges == 1);

  payment declined;
  declined.payment_id = "pay-3";
  r.payment_id = "pay-3";
  declined.request(r, gateway_answer{gateway_answer::kind::decline, 0, "card_declined"}, 1000);
  CHECK(declined.charges == 0);
  CHECK_FALSE(declined.refund(1100));
  CHECK(declined.status == payment_status::declined);
}

TEST_CASE("sagas and payments survive their snapshot form") {
  auto c = started({{"mug", 2}});
  c.on_reserved("mug", true, "", 2000);
  auto back = from_snapshot<checkout>(to_snapshot(c));
  REQUIRE(back);
  CHECK(to_snapshot(*back) == to_snapshot(c));
  payment p;
  p.payment_id = "pay-1";
  p.request(charge_request{"pay-1", "ord-1", "alice", 1000, "USD", "tok_ok"}, gateway_answer{},
            1000);
  auto pb = from_snapshot<payment>(to_snapshot(p));
  REQUIRE(pb);
  CHECK(to_snapshot(*pb) == to_snapshot(p));
  CHECK_FALSE(from_snapshot<checkout>(boost::json::object{{"order_id", "x"}}));
}

TEST_CASE("a saga and a payment keep their correlation id in their snapshot, and snapshots "
          "written before it existed are still read") {
  auto c = started({{"mug", 2}});
  c.correlation_id = "corr-7";
  auto back = from_snapshot<checkout>(to_snapshot(c));
  REQUIRE(back);
  CHECK(back->correlation_id == "corr-7");
  auto old = to_snapshot(c).as_object();
  old.erase("correlation_id");
  auto read = from_snapshot<checkout>(old);
  REQUIRE(read);
  CHECK(read->correlation_id.empty());
  CHECK(read->order_id == c.order_id);

  payment p;
  p.payment_id = "pay-1";
  p.request(charge_request{"pay-1", "ord-1", "alice", 1000, "USD", "tok_ok"}, gateway_answer{},
            1000);
  p.correlation_id = "corr-8";
  auto pb = from_snapshot<payment>(to_snapshot(p));
  REQUIRE(pb);
  CHECK(pb->correlation_id == "corr-8");
  auto old_p = to_snapshot(p).as_object();
  old_p.erase("correlation_id");
  auto pr = from_snapshot<payment>(old_p);
  REQUIRE(pr);
  CHECK(pr->correlation_id.empty());
}
