// The shop end to end (docs/API.md "Orders", "Payment simulation", "Events"): a node on real
// PostgreSQL with the embedded Kafka, driven over HTTP on loopback. An order checked out flows
// order-created -> product-reservation -> product-reserved -> payment-pending ->
// payment-processed -> confirmed through the checkout saga, the inventory and the payment
// grains; every failure path compensates (stock released, payment refunded), and a record
// delivered again changes nothing.

#include "support/api_checks.hpp"
#include "support/eventually.hpp"
#include "support/http_client.hpp"
#include "support/raw_producer.hpp"
#include "support/test_node.hpp"

#include "bazaar/actors/checkout_grain.hpp"
#include "bazaar/config/loader.hpp"
#include "bazaar/runtime/host.hpp"

#include <boost/json.hpp>
#include <catch2/catch.hpp>

#include <atomic>
#include <chrono>
#include <future>
#include <map>
#include <set>
#include <string>
#include <thread>
#include <vector>

namespace json = boost::json;
using bazaar::test::bearer;
using bazaar::test::eventually;
using bazaar::test::header_list;
using bazaar::test::http_connection;
using bazaar::test::http_response;
using bazaar::test::num;
using bazaar::test::require_error;
using bazaar::test::test_node;

namespace {

/// A test node with frequent reminder polls; `payment_timeout_ms` short only where a test
/// wants the timeout (elsewhere a slow machine must not turn a payment into a timeout).
bazaar::config::node_options shop_options(int payment_timeout_ms = 30000) {
  auto opts = bazaar::test::test_node_options();
  opts.saga.payment_timeout_ms = payment_timeout_ms;
  opts.postgres.reminder_poll_ms = 50;
  return opts;
}

json::value parse(const http_response& r) {
  INFO("status " << r.status << ", body: " << r.body);
  json::value v;
  REQUIRE_NOTHROW(v = r.json());
  return v;
}

/// A shop client: an admin and customers talking to one node.
struct shop {
  test_node node;
  http_connection c = node.connect();
  std::string admin = node.admin_token();
  int checkouts = 0;

  /// Waits until the node's bridge was given every partition of the routed topics: a fresh
  /// consumer group takes seconds to form, and the saga's short test timeouts run meanwhile.
  explicit shop(bazaar::config::node_options opts = shop_options()) : node{std::move(opts)} {
    REQUIRE(eventually([&] {
      auto k = kafka();
      const auto& b = k.at("bridge").as_object();
      return b.contains("partitions") &&
             b.at("partitions").as_array().size() ==
                 bazaar::config::topic_routes(node.node().options().kafka).size() *
                     static_cast<std::size_t>(node.node().options().kafka.partitions);
    }));
  }

  void product(const std::string& sku, std::int64_t stock, std::int64_t price = 500) {
    auto body = bazaar::test::product_fields(sku, price, stock);
    auto r = c.request("POST", "/api/v1/products", json::serialize(body), bearer(admin));
    INFO(r.body);
    REQUIRE(r.status == 201);
  }

  json::object product_state(const std::string& sku) {
    auto r = c.request("GET", "/api/v1/products/" + sku, "", bearer(admin));
    REQUIRE(r.status == 200);
    return parse(r).as_object();
  }

  /// Fills `customer`'s basket with the lines and checks it out; answers the order id.
  std::string checkout(const std::string& customer,
                       const std::vector<std::pair<std::string, int>>& lines,
                       const std::string& card = "tok_ok") {
    auto token = node.customer_token(customer);
    for (const auto& [sku, quantity] : lines) {
      auto r = bazaar::test::add_item(c, token, sku, quantity);
      INFO(r.body);
      REQUIRE(r.status == 200);
    }
    auto h = bearer(token);
    h.emplace_back("Idempotency-Key", "checkout-" + std::to_string(++checkouts));
    auto r = c.request("POST", "/api/v1/basket/checkout",
                       json::serialize(json::object{{"payment", {{"card_token", card}}}}), h);
    INFO(r.body);
    REQUIRE(r.status == 202);
    return std::string(parse(r).at("order_id").as_string());
  }

  json::object order(const std::string& customer, const std::string& id) {
    auto r = c.request("GET", "/api/v1/orders/" + id, "", bearer(node.customer_token(customer)));
    INFO(r.body);
    REQUIRE(r.status == 200);
    return parse(r).as_object();
  }

  /// Waits until the order's status is `status`; answers the order.
  json::object await_status(const std::string& customer, const std::string& id,
                            const std::string& status) {
    json::object o;
    bool reached = eventually([&] {
      o = order(customer, id);
      return o.at("status") == json::value(status);
    });
    INFO(json::serialize(o));
    REQUIRE(reached);
    return o;
  }

  http_response post(const std::string& path, const std::string& token,
                     const std::string& body = "") {
    return c.request("POST", path, body, bearer(token));
  }

  /// The journal of an aggregate (its event envelopes, oldest first).
  json::array events(const std::string& type, const std::string& id) {
    auto r = c.request("GET", "/api/v1/admin/events/" + type + "/" + id, "", bearer(admin));
    REQUIRE(r.status == 200);
    return parse(r).at("items").as_array();
  }

  std::size_t count_events(const std::string& type, const std::string& id,
                           const std::string& event_type) {
    std::size_t n = 0;
    for (const auto& e : events(type, id))
      if (e.at("event_type") == json::value(event_type))
        ++n;
    return n;
  }

  json::object kafka() {
    auto r = c.request("GET", "/admin/kafka", "", bearer(admin));
    REQUIRE(r.status == 200);
    return parse(r).as_object();
  }

  /// Waits until the bridge has handled every record it consumed, and Kafka's outbox is empty.
  void await_quiet() {
    REQUIRE(eventually([&] {
      auto k = kafka();
      const auto& b = k.at("bridge").as_object();
      return k.at("relay").at("outbox_backlog") == json::value(0) &&
             b.at("in_flight") == json::value(0) &&
             num(b.at("consumed")) == num(b.at("handled")) + num(b.at("dead_lettered"));
    }));
  }

  /// The replayed order beside its snapshot agree.
  void require_replay_agrees(const std::string& id) {
    auto r =
        c.request("GET", "/api/v1/admin/events/order/" + id + "?replay=true", "", bearer(admin));
    auto v = parse(r);
    INFO(r.body);
    REQUIRE(r.status == 200);
    CHECK(v.at("agree") == json::value(true));
    CHECK(v.at("replayed") == v.at("snapshot"));
  }
};

std::vector<std::string> statuses(const json::object& order) {
  std::vector<std::string> out;
  for (const auto& step : order.at("timeline").as_array())
    out.emplace_back(step.at("status").as_string());
  return out;
}

/// The product's stock and reserved units reach these values (the inventory grains hear of a
/// saga's commits and releases through Kafka, after the order changed).
void require_stock(shop& s, const std::string& sku, std::int64_t stock, std::int64_t reserved) {
  json::object p;
  bool reached = eventually([&] {
    p = s.product_state(sku);
    return num(p.at("stock")) == stock && num(p.at("reserved")) == reserved;
  });
  INFO(json::serialize(p));
  CHECK(reached);
}

} // namespace

TEST_CASE("a checkout is confirmed through reservation and payment, and the stock is sold") {
  shop s;
  s.product("mug", 10, 500);
  s.product("pen", 5, 120);
  auto id = s.checkout("alice", {{"mug", 2}, {"pen", 3}});
  auto o = s.await_status("alice", id, "confirmed");
  CHECK(statuses(o) == std::vector<std::string>{"pending", "stock_reserved", "paid", "confirmed"});
  CHECK(num(o.at("total_cents")) == 2 * 500 + 3 * 120);
  CHECK(o.at("payment").at("status") == "approved");
  CHECK_FALSE(o.contains("cancel_reason"));
  s.await_quiet(); // the saga's commit records reach the inventory after the confirmation
  require_stock(s, "mug", 8, 0);
  require_stock(s, "pen", 2, 0);
  CHECK(s.count_events("order", id, "order-status-changed") == 3);
  s.require_replay_agrees(id);
  // The basket was emptied by the checkout.
  CHECK(
      bazaar::test::get_basket(s.c, s.node.customer_token("alice")).at("items").as_array().empty());
}

TEST_CASE("with the embedded Kafka the bridge takes every partition at once, without waiting for "
          "a consumer group to form, and commits what it handled") {
  shop s; // waits until the bridge holds every partition
  auto k = s.kafka();
  CHECK(k.at("bridge").at("assignment") == "every_partition");
  s.product("mug", 10, 500);
  auto id = s.checkout("alice", {{"mug", 1}});
  s.await_status("alice", id, "confirmed");
  s.await_quiet();
  // The group's offsets as the brokers hold them: everything handled is committed.
  CHECK(eventually([&] {
    auto status = s.kafka();
    for (const auto& g : status.at("groups").as_array()) {
      if (g.at("role") != "bridge")
        continue;
      for (const auto& p : g.at("partitions").as_array())
        if (num(p.at("high_watermark")) > 0 && (p.at("lag").is_null() || num(p.at("lag")) != 0))
          return false;
      return true;
    }
    return false;
  }));
}

TEST_CASE("a line out of stock cancels the order and leaves every stock as it was") {
  shop s;
  s.product("mug", 10);
  s.product("rare", 1);
  auto id = s.checkout("alice", {{"mug", 2}, {"rare", 2}});
  auto o = s.await_status("alice", id, "cancelled");
  CHECK(o.at("cancel_reason") == "out_of_stock");
  CHECK(statuses(o) == std::vector<std::string>{"pending", "cancelled"});
  CHECK_FALSE(o.contains("payment")); // never asked for
  s.await_quiet();
  require_stock(s, "mug", 10, 0); // its reservation was released
  require_stock(s, "rare", 1, 0);
  s.require_replay_agrees(id);
}

TEST_CASE("a product deactivated before the checkout cancels the order as product_inactive") {
  shop s;
  s.product("old", 10);
  auto token = s.node.customer_token("alice");
  REQUIRE(bazaar::test::add_item(s.c, token, "old", 1).status == 200);
  REQUIRE(s.post("/api/v1/products/old/deactivate", s.admin).status == 200);
  auto h = bearer(token);
  h.emplace_back("Idempotency-Key", "k-inactive");
  auto r =
      s.c.request("POST", "/api/v1/basket/checkout", R"({"payment":{"card_token":"tok_ok"}})", h);
  REQUIRE(r.status == 202);
  auto id = std::string(parse(r).at("order_id").as_string());
  auto o = s.await_status("alice", id, "cancelled");
  CHECK(o.at("cancel_reason") == "product_inactive");
  require_stock(s, "old", 10, 0);
}

TEST_CASE("a declined payment cancels the order and releases the stock") {
  shop s;
  s.product("mug", 10);
  auto id = s.checkout("alice", {{"mug", 4}}, "tok_decline");
  auto o = s.await_status("alice", id, "cancelled");
  CHECK(o.at("cancel_reason") == "payment_declined");
  CHECK(statuses(o) == std::vector<std::string>{"pending", "stock_reserved", "cancelled"});
  CHECK(o.at("payment").at("status") == "declined");
  s.await_quiet();
  require_stock(s, "mug", 10, 0);
  s.require_replay_agrees(id);
}

TEST_CASE("a payment that never answers times out into compensation, and one approved after "
          "the timeout is refunded") {
  shop s{shop_options(1500)};
  s.product("mug", 10);
  auto silent = s.checkout("alice", {{"mug", 1}}, "tok_timeout");
  auto late = s.checkout("bob", {{"mug", 2}}, "tok_slow_3000");
  auto o = s.await_status("alice", silent, "cancelled");
  CHECK(o.at("cancel_reason") == "payment_timeout");
  CHECK(o.at("payment").at("status") == "pending");
  auto l = s.await_status("bob", late, "cancelled");
  CHECK(l.at("cancel_reason") == "payment_timeout");
  // The slow gateway approves after 3 s, after the 1.5 s timeout compensated: refunded.
  json::object settled;
  CHECK(eventually([&] {
    settled = s.order("bob", late);
    return settled.at("payment").at("status") == "refunded";
  }));
  INFO(json::serialize(settled));
  CHECK(settled.at("status") == "cancelled");
  s.await_quiet();
  require_stock(s, "mug", 10, 0);
  auto payment = std::string(settled.at("payment").at("payment_id").as_string());
  CHECK(s.count_events("payment", payment, "payment-processed") == 2); // approved, refunded
  s.require_replay_agrees(late);
}

TEST_CASE("six customers racing for the last unit: exactly one order is confirmed") {
  shop s;
  s.product("last", 1);
  std::vector<std::string> ids;
  for (int i = 0; i < 6; ++i)
    ids.push_back(s.checkout("racer-" + std::to_string(i), {{"last", 1}}));
  int confirmed = 0, cancelled = 0;
  for (int i = 0; i < 6; ++i) {
    json::object o;
    REQUIRE(eventually([&] {
      o = s.order("racer-" + std::to_string(i), ids[static_cast<std::size_t>(i)]);
      return o.at("status") == "confirmed" || o.at("status") == "cancelled";
    }));
    if (o.at("status") == "confirmed") {
      ++confirmed;
    } else {
      ++cancelled;
      CHECK(o.at("cancel_reason") == "out_of_stock");
    }
  }
  CHECK(confirmed == 1);
  CHECK(cancelled == 5);
  s.await_quiet();
  require_stock(s, "last", 0, 0);
}

TEST_CASE("an owner's cancellation after confirmation gives the stock back and refunds") {
  shop s;
  s.product("mug", 10);
  auto id = s.checkout("alice", {{"mug", 3}});
  s.await_status("alice", id, "confirmed");
  s.await_quiet();
  require_stock(s, "mug", 7, 0);
  // Another customer never learns the order exists.
  require_error(s.post("/api/v1/orders/" + id + "/cancel", s.node.customer_token("mallory")), 404,
                "not_found");
  auto r = s.post("/api/v1/orders/" + id + "/cancel", s.node.customer_token("alice"));
  INFO(r.body);
  REQUIRE(r.status == 200);
  auto o = parse(r).as_object();
  CHECK(o.at("status") == "cancelled");
  CHECK(o.at("cancel_reason") == "customer_request");
  require_error(s.post("/api/v1/orders/" + id + "/cancel", s.node.customer_token("alice")), 409,
                "conflict");
  CHECK(eventually([&] { return s.order("alice", id).at("payment").at("status") == "refunded"; }));
  s.await_quiet();
  require_stock(s, "mug", 10, 0);
  s.require_replay_agrees(id);
}

TEST_CASE("an admin ships a confirmed order and delivers it, and forbidden transitions are 409") {
  shop s;
  s.product("mug", 10);
  auto id = s.checkout("alice", {{"mug", 1}});
  auto customer = s.node.customer_token("alice");
  const std::string ship = "/api/v1/admin/orders/" + id + "/ship";
  const std::string deliver = "/api/v1/admin/orders/" + id + "/deliver";
  s.await_status("alice", id, "confirmed");
  require_error(s.post(deliver, s.admin), 409, "conflict"); // not shipped yet
  require_error(s.post(ship, customer, R"({"tracking_number":"T-1"})"), 403, "forbidden");
  bazaar::test::require_invalid_field(s.post(ship, s.admin, R"({"tracking_number":""})"),
                                      "tracking_number");
  require_error(s.post(ship, s.admin, "[1]"), 400, "bad_request");
  require_error(s.post("/api/v1/admin/orders/ord-none/ship", s.admin, R"({"tracking_number":"T"})"),
                404, "not_found");
  auto shipped = s.post(ship, s.admin, R"({"tracking_number":"T-1"})");
  INFO(shipped.body);
  REQUIRE(shipped.status == 200);
  CHECK(parse(shipped).at("tracking_number") == "T-1");
  require_error(s.post(ship, s.admin, R"({"tracking_number":"T-2"})"), 409, "conflict");
  require_error(s.post("/api/v1/orders/" + id + "/cancel", customer), 409, "conflict");
  auto delivered = s.post(deliver, s.admin);
  REQUIRE(delivered.status == 200);
  auto o = s.order("alice", id);
  CHECK(statuses(o) == std::vector<std::string>{"pending", "stock_reserved", "paid", "confirmed",
                                                "shipped", "delivered"});
  require_error(s.post(deliver, s.admin), 409, "conflict");
  s.await_quiet();
  require_stock(s, "mug", 9, 0);
  s.require_replay_agrees(id);
}

TEST_CASE("every record of a checkout delivered again, as it was or under a new event id, "
          "changes nothing (kafka transport)") {
  auto opts = shop_options();
  opts.saga.transport = "kafka";
  shop s{opts};
  s.product("mug", 10);
  s.product("pen", 10);
  auto confirmed = s.checkout("alice", {{"mug", 2}, {"pen", 1}});
  auto declined = s.checkout("bob", {{"mug", 1}}, "tok_decline");
  s.await_status("alice", confirmed, "confirmed");
  s.await_status("bob", declined, "cancelled");
  require_stock(s, "mug", 8, 0);
  require_stock(s, "pen", 9, 0);
  s.await_quiet();
  auto before_alice = s.order("alice", confirmed);
  auto before_bob = s.order("bob", declined);
  auto mug = s.product_state("mug");
  auto pen = s.product_state("pen");

  // Every record the two checkouts sent, from the journals of the grains that sent them.
  std::vector<json::object> records;
  auto collect = [&](const std::string& type, const std::string& id) {
    for (const auto& e : s.events(type, id))
      records.push_back(e.as_object());
  };
  for (const auto& id : {confirmed, declined}) {
    collect("order", id);
    collect("checkout", id);
    collect("payment", "pay-" + id);
  }
  collect("inventory", "mug");
  collect("inventory", "pen");
  std::set<std::string> types;
  for (const auto& r : records)
    types.insert(std::string(r.at("event_type").as_string()));
  for (const char* t : {"order-created", "product-reservation", "product-reserved",
                        "payment-pending", "payment-processed"})
    CHECK(types.count(t) == 1);

  auto bootstrap = std::string(s.kafka().at("bootstrap_servers").as_string());
  auto consumed_before = num(s.kafka().at("bridge").at("consumed"));
  std::size_t sent = 0;
  {
    bazaar::test::raw_producer out{bootstrap};
    for (const auto& r : records) {
      std::string type(r.at("event_type").as_string());
      if (type == "order-status-changed" || type == "stock-updated" || type == "product-created" ||
          type == "order-payment-updated")
        continue; // not consumed by grains
      auto key = std::string(r.at("aggregate_id").as_string());
      out.send(type, key, json::serialize(r)); // as it was
      auto fresh = r;
      fresh["event_id"] = "redelivered-" + std::to_string(sent);
      out.send(type, key, json::serialize(fresh)); // a late duplicate under a new id
      sent += 2;
    }
    out.flush();
  }
  REQUIRE(eventually([&] {
    return num(s.kafka().at("bridge").at("consumed")) >= consumed_before + static_cast<long>(sent);
  }));
  s.await_quiet();
  CHECK(s.order("alice", confirmed) == before_alice);
  CHECK(s.order("bob", declined) == before_bob);
  CHECK(s.product_state("mug") == mug);
  CHECK(s.product_state("pen") == pen);
  CHECK(s.count_events("payment", "pay-" + confirmed, "payment-processed") == 1);
  CHECK(num(s.kafka().at("bridge").at("dead_lettered")) == 0);
}

TEST_CASE("the order list, the sales report and the notifications agree with the orders the "
          "saga settled, and a redelivered event changes none of them") {
  shop s;
  s.product("mug", 20, 500);
  s.product("pen", 20, 100);
  auto kept = s.checkout("alice", {{"mug", 2}, {"pen", 1}}); // confirmed, shipped, delivered
  auto undone = s.checkout("alice", {{"pen", 3}});           // confirmed, then cancelled
  auto declined = s.checkout("bob", {{"mug", 1}}, "tok_decline");
  auto short_of = s.checkout("bob", {{"pen", 50}}); // out of stock
  s.await_status("alice", kept, "confirmed");
  s.await_status("alice", undone, "confirmed");
  s.await_status("bob", declined, "cancelled");
  s.await_status("bob", short_of, "cancelled");
  REQUIRE(s.post("/api/v1/orders/" + undone + "/cancel", s.node.customer_token("alice")).status ==
          200);
  REQUIRE(s.post("/api/v1/admin/orders/" + kept + "/ship", s.admin, R"({"tracking_number":"T"})")
              .status == 200);
  REQUIRE(s.post("/api/v1/admin/orders/" + kept + "/deliver", s.admin).status == 200);
  s.await_quiet();

  auto read = [&](const std::string& path, const std::string& token) {
    auto r = s.c.request("GET", path, "", bearer(token));
    INFO(path << ": " << r.body);
    REQUIRE(r.status == 200);
    return parse(r).as_object();
  };
  auto report_is = [&](const json::object& r) {
    return num(r.at("orders_confirmed")) == 1 && num(r.at("orders_cancelled")) == 3 &&
           num(r.at("revenue_cents")) == 2 * 500 + 100;
  };
  auto count_templates = [&](const std::string& customer) {
    std::map<std::string, int> n;
    auto list = read("/api/v1/admin/notifications?customer_id=" + customer, s.admin);
    for (const auto& item : list.at("items").as_array())
      ++n[std::string(item.at("template").as_string())];
    return n;
  };
  const std::map<std::string, int> alice_expected = {
      {"order_confirmed", 2}, {"order_cancelled", 1}, {"order_shipped", 1}, {"order_delivered", 1}};
  const std::map<std::string, int> bob_expected = {{"order_cancelled", 2}, {"payment_declined", 1}};
  json::object report;
  REQUIRE(eventually([&] {
    report = read("/api/v1/admin/reports/sales", s.admin);
    return report_is(report) && count_templates("alice") == alice_expected &&
           count_templates("bob") == bob_expected;
  }));
  INFO(json::serialize(report));
  const auto& top = report.at("top_products").as_array();
  REQUIRE(top.size() == 2);
  CHECK(top[0].at("sku") == "mug");
  CHECK(num(top[0].at("quantity")) == 2);

  // The customer's list: newest first, each with the status its order has.
  json::array mine;
  REQUIRE(eventually([&] {
    mine = read("/api/v1/orders", s.node.customer_token("alice")).at("items").as_array();
    return mine.size() == 2 && mine[0].at("status") == "cancelled" &&
           mine[1].at("status") == "delivered";
  }));
  CHECK(mine[0].at("order_id") == json::value(undone));
  CHECK(mine[1].at("order_id") == json::value(kept));
  CHECK(read("/api/v1/orders?status=cancelled", s.node.customer_token("bob"))
            .at("items")
            .as_array()
            .size() == 2);

  // Every event the read side consumed, delivered again as it was: nothing moves.
  auto projections_applied = [&] {
    std::int64_t n = 0;
    auto k = s.kafka();
    for (const auto& p : k.at("projections").as_array())
      n += num(p.at("consumed"));
    return n;
  };
  auto consumed_before = projections_applied();
  auto bootstrap = std::string(s.kafka().at("bootstrap_servers").as_string());
  std::size_t sent = 0;
  {
    bazaar::test::raw_producer out{bootstrap};
    auto resend = [&](const std::string& type, const std::string& id) {
      for (const auto& e : s.events(type, id)) {
        std::string event(e.at("event_type").as_string());
        std::string topic = event == "product-created" ? "product-events" : event;
        if (event == "order-payment-updated")
          continue; // journaled only
        out.send(topic, std::string(e.at("aggregate_id").as_string()), json::serialize(e));
        ++sent;
      }
    };
    for (const auto& id : {kept, undone, declined, short_of}) {
      resend("order", id);
      resend("payment", "pay-" + id);
    }
    resend("inventory", "mug");
    resend("inventory", "pen");
    out.flush();
  }
  // Every projection read everything sent (no lag) and skipped what it had applied.
  REQUIRE(eventually([&] {
    auto k = s.kafka();
    for (const auto& p : k.at("projections").as_array())
      if (p.at("lag") != json::value(0))
        return false;
    return projections_applied() >= consumed_before + static_cast<std::int64_t>(sent);
  }));
  CHECK(report_is(read("/api/v1/admin/reports/sales", s.admin)));
  CHECK(count_templates("alice") == alice_expected);
  CHECK(count_templates("bob") == bob_expected);
  CHECK(read("/api/v1/orders", s.node.customer_token("alice")).at("items").as_array().size() == 2);
  INFO(sent << " events sent again");
}

namespace {

/// Asks grain `key` of type G through the node's grain client and waits for the answer.
template <class G, class Msg>
auto ask_grain(test_node& node, const std::string& key, Msg msg) {
  using reply = bazaar::runtime::reply_t<typename G::interface, Msg>;
  auto p = std::make_shared<std::promise<caf::expected<reply>>>();
  auto f = p->get_future();
  REQUIRE(node.node().grains().client().ask<G>(
      key, std::move(msg), [p](caf::expected<reply> r) { p->set_value(std::move(r)); }));
  REQUIRE(f.wait_for(std::chrono::seconds{20}) == std::future_status::ready);
  return f.get();
}

bazaar::runtime::kafka_record record(const std::string& event_id, const std::string& type,
                                     json::object data) {
  bazaar::runtime::kafka_record r;
  r.topic = type;
  r.event_id = event_id;
  r.event_type = type;
  r.envelope = json::serialize(
      json::object{{"event_id", event_id}, {"event_type", type}, {"data", std::move(data)}});
  return r;
}

} // namespace

TEST_CASE("a saga step the order grain refuses leaves the saga as it was, so that the record "
          "delivered again takes the step (kafka transport)") {
  // No bridge: the records are handed to the saga here, one by one.
  auto opts = shop_options();
  opts.saga.transport = "kafka";
  for (auto& [event, route] : opts.kafka.routes)
    route = {};
  test_node node{opts};
  using bazaar::actors::checkout_grain;
  const std::string id = "ord-refused-1";
  json::array items{json::object{{"sku", "mug"}, {"quantity", 2}}};
  auto created = record("e-1", "order-created",
                        {{"order_id", id},
                         {"customer_id", "alice"},
                         {"items", items},
                         {"total_cents", 1000},
                         {"card_token", "tok_ok"}});
  REQUIRE(ask_grain<checkout_grain>(node, id, created));
  auto reserved_data =
      json::object{{"order_id", id}, {"sku", "mug"}, {"quantity", 2}, {"status", "reserved"}};
  // The order grain has no such order yet: the step (order -> stock_reserved) is refused.
  auto refused =
      ask_grain<checkout_grain>(node, id, record("e-2", "product-reserved", reserved_data));
  REQUIRE_FALSE(refused);
  auto saga = ask_grain<checkout_grain>(node, id, bazaar::actors::checkout_get{});
  REQUIRE(saga);
  CHECK(saga->stage == bazaar::domain::checkout_stage::reserving);
  CHECK(saga->lines.at(0).state == bazaar::domain::line_state::requested);
  // Once the order exists, the answer delivered again takes the step: the payment is asked for.
  bazaar::domain::order_draft draft{id, "alice", {{"mug", "Mug", 2, 500}}, "USD", "tok_ok", ""};
  REQUIRE(
      ask_grain<bazaar::actors::order_grain>(node, id, bazaar::actors::order_create{draft, {}}));
  REQUIRE(ask_grain<checkout_grain>(node, id, record("e-3", "product-reserved", reserved_data)));
  saga = ask_grain<checkout_grain>(node, id, bazaar::actors::checkout_get{});
  REQUIRE(saga);
  CHECK(saga->stage == bazaar::domain::checkout_stage::paying);
  auto order = ask_grain<bazaar::actors::order_grain>(node, id, bazaar::actors::order_get{});
  REQUIRE(order);
  CHECK(order->status == bazaar::domain::order_status::stock_reserved);
  auto c = node.connect();
  auto r = c.request("GET", "/api/v1/admin/events/checkout/" + id, "", bearer(node.admin_token()));
  REQUIRE(r.status == 200);
  int pending = 0;
  auto journal = parse(r);
  for (const auto& e : journal.at("items").as_array())
    pending += e.at("event_type") == "payment-pending" ? 1 : 0;
  CHECK(pending == 1);
}

TEST_CASE("every step of a checkout asked again, the saga started again and each participant "
          "asked again, changes nothing (grains transport)") {
  using namespace bazaar::actors;
  shop s;
  s.product("mug", 10);
  s.product("pen", 10);
  auto confirmed = s.checkout("alice", {{"mug", 2}, {"pen", 1}});
  auto declined = s.checkout("bob", {{"mug", 1}}, "tok_decline");
  s.await_status("alice", confirmed, "confirmed");
  s.await_status("bob", declined, "cancelled");
  require_stock(s, "mug", 8, 0);
  require_stock(s, "pen", 9, 0);
  s.await_quiet();
  auto before_alice = s.order("alice", confirmed);
  auto before_bob = s.order("bob", declined);
  auto mug = s.product_state("mug");
  auto pen = s.product_state("pen");
  // Nothing of the saga went through the command topics.
  for (const auto& id : {confirmed, declined}) {
    CHECK(s.count_events("checkout", id, "product-reservation") == 0);
    CHECK(s.count_events("checkout", id, "payment-pending") == 0);
  }

  for (const auto& id : {confirmed, declined}) {
    auto order = ask_grain<order_grain>(s.node, id, order_get{});
    REQUIRE(order);
    // The saga started again (as the order's reminder would), every participant asked again.
    CHECK(ask_grain<checkout_grain>(
        s.node, id, checkout_begin{bazaar::domain::checkout_start_of(*order), 0, {}}));
    CHECK(ask_grain<checkout_grain>(s.node, id, checkout_payment_decided{id, {}}));
    for (const auto& line : order->items) {
      auto again =
          ask_grain<inventory_grain>(s.node, line.sku, product_reserve{id, line.quantity, {}, {}});
      REQUIRE(again);
      CHECK(again->status != bazaar::domain::reservation_status::reserved); // decided before
      if (order->status == bazaar::domain::order_status::confirmed)
        CHECK(ask_grain<inventory_grain>(s.node, line.sku, product_commit{id, {}, {}}));
      else
        CHECK(ask_grain<inventory_grain>(s.node, line.sku, product_release{id, {}, {}}));
    }
    bazaar::domain::charge_request charge{"pay-" + id,          id,    order->customer_id,
                                          order->total_cents(), "USD", order->card_token};
    CHECK(ask_grain<payment_grain>(s.node, "pay-" + id, payment_charge{charge, {}}));
    CHECK(ask_grain<order_grain>(s.node, id, bazaar::runtime::reminder_due{"checkout"}));
  }
  s.await_quiet();
  CHECK(s.order("alice", confirmed) == before_alice);
  CHECK(s.order("bob", declined) == before_bob);
  CHECK(s.product_state("mug") == mug);
  CHECK(s.product_state("pen") == pen);
  CHECK(s.count_events("payment", "pay-" + confirmed, "payment-processed") == 1);
  CHECK(s.count_events("payment", "pay-" + declined, "payment-processed") == 1);
}

TEST_CASE("with a reservation retention of a second, a product forgets an ended order, and its "
          "cancel after confirm still gives the stock back (both transports)") {
  using namespace bazaar::actors;
  for (const char* transport : {"grains", "kafka"}) {
    INFO("saga.transport = " << transport);
    auto opts = shop_options();
    opts.saga.transport = transport;
    opts.inventory.reservation_retention_s = 1;
    shop s{opts};
    s.product("mug", 10);
    auto first = s.checkout("alice", {{"mug", 3}});
    s.await_status("alice", first, "confirmed");
    s.await_quiet();
    // The product's clock is the wall clock: a second later its next change forgets the sale.
    std::this_thread::sleep_for(std::chrono::milliseconds{1100});
    auto second = s.checkout("bob", {{"mug", 2}});
    s.await_status("bob", second, "confirmed");
    s.await_quiet();
    auto mug = ask_grain<inventory_grain>(s.node, "mug", product_get{});
    REQUIRE(mug);
    CHECK(mug->reservations.count(first) == 0);
    CHECK(mug->reservations.count(second) == 1);
    require_stock(s, "mug", 5, 0);
    auto r = s.post("/api/v1/orders/" + first + "/cancel", s.node.customer_token("alice"));
    INFO(r.body);
    REQUIRE(r.status == 200);
    CHECK(eventually(
        [&] { return s.order("alice", first).at("payment").at("status") == "refunded"; }));
    s.await_quiet();
    require_stock(s, "mug", 8, 0);
    mug = ask_grain<inventory_grain>(s.node, "mug", product_get{});
    REQUIRE(mug);
    REQUIRE(mug->reservations.count(first) == 1);
    CHECK(mug->reservations.at(first).status == bazaar::domain::reservation_status::returned);
  }
}
