// Live order status over server-sent events (docs/API.md "Order status stream"): GET
// /api/v1/orders/{id}/events against a real node in-process on real PostgreSQL, spoken to
// over loopback with raw sockets. The checkout saga is not routed here: status changes are
// driven through the order grain's own commands (the saga's step, ship, deliver), committed
// and observed like any command.

#include "support/api_checks.hpp"
#include "support/eventually.hpp"
#include "support/http_client.hpp"
#include "support/sse_client.hpp"
#include "support/test_node.hpp"

#include "bazaar/actors/order_grain.hpp"
#include "bazaar/gateway/order_stream.hpp"
#include "bazaar/runtime/host.hpp"

#include <boost/json.hpp>
#include <catch2/catch.hpp>

#include <arpa/inet.h>
#include <fstream>
#include <future>
#include <netinet/in.h>
#include <poll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

namespace json = boost::json;
using namespace std::chrono_literals;
using bazaar::test::bearer;
using bazaar::test::eventually;
using bazaar::test::http_connection;
using bazaar::test::sse_client;
using bazaar::test::sse_event;
using bazaar::test::test_node;

namespace {

/// A node whose orders move only when a test moves them: the saga goes over Kafka (its
/// transport kafka), and order-created is not routed to it.
std::unique_ptr<test_node>
start_node(bazaar::config::node_options opts = bazaar::test::test_node_options()) {
  opts.saga.transport = "kafka";
  opts.kafka.routes["order-created"] = {};
  return std::make_unique<test_node>(std::move(opts));
}

/// Sends a message to order `id` through the node's grain client and waits for its answer.
template <class Msg>
caf::expected<bazaar::domain::order> ask_order(test_node& node, const std::string& id, Msg msg) {
  auto p = std::make_shared<std::promise<caf::expected<bazaar::domain::order>>>();
  auto f = p->get_future();
  REQUIRE(node.node().grains().client().ask<bazaar::actors::order_grain>(
      id, std::move(msg),
      [p](caf::expected<bazaar::domain::order> r) { p->set_value(std::move(r)); }));
  REQUIRE(f.wait_for(20s) == std::future_status::ready);
  return f.get();
}

/// Moves order `id` to `status` as the shop does (the saga's step, an admin's ship or
/// deliver); the order's version after it.
std::uint64_t force(test_node& node, const std::string& id, const std::string& status,
                    const std::string& reason = {}) {
  caf::expected<bazaar::domain::order> r{bazaar::domain::order{}};
  if (status == "shipped")
    r = ask_order(node, id, bazaar::actors::order_ship{"TRACK-1", {}, {}});
  else if (status == "delivered")
    r = ask_order(node, id, bazaar::actors::order_deliver{{}, {}});
  else
    r = ask_order(node, id, bazaar::actors::order_advance{{status}, reason, {}, {}, {}});
  INFO(status);
  REQUIRE(r);
  return r->version;
}

/// Creates order `id` of `customer` in the order grain directly (as checkout does).
void create_order(test_node& node, const std::string& id, const std::string& customer) {
  bazaar::domain::order_draft d{id, customer, {{"A", "Item A", 1, 100}}, "USD", "tok_ok", ""};
  REQUIRE(ask_order(node, id, bazaar::actors::order_create{d, {}}));
}

/// Creates an order of `customer` over HTTP: a product, a basket line, a checkout.
std::string checkout_order(test_node& node, const std::string& customer) {
  auto c = node.connect();
  auto admin = node.admin_token();
  auto token = node.customer_token(customer);
  bazaar::test::create_product(c, admin, "sse-sku");
  REQUIRE(bazaar::test::add_item(c, token, "sse-sku", 1).status == 200);
  auto h = bearer(token);
  h.emplace_back("Idempotency-Key", "checkout-" + customer);
  auto r =
      c.request("POST", "/api/v1/basket/checkout", R"({"payment":{"card_token":"tok_ok"}})", h);
  REQUIRE(r.status == 202);
  return std::string(r.json().at("order_id").as_string());
}

std::string events_path(const std::string& id) {
  return "/api/v1/orders/" + id + "/events";
}

/// Observers the active order grain `id` reports (-1: not active).
long observers_of(test_node& node, const std::string& id) {
  for (const auto& a : node.node().grains().grains().list("order", 100000))
    if (a.id.key == id)
      return static_cast<long>(a.observers);
  return -1;
}

/// Resident memory of this process in KiB (VmRSS).
long rss_kib() {
  std::ifstream status{"/proc/self/status"};
  std::string line;
  while (std::getline(status, line))
    if (line.rfind("VmRSS:", 0) == 0)
      return std::stol(line.substr(6));
  return -1;
}

void require_status_event(const sse_event& e, const std::string& id, const std::string& status) {
  REQUIRE(e.name == "status");
  CHECK(std::string(e.data.at("order_id").as_string()) == id);
  CHECK(std::string(e.data.at("status").as_string()) == status);
  CHECK(bazaar::test::is_recent_rfc3339(std::string(e.data.at("at").as_string())));
  CHECK(e.data.at("version").as_int64() > 0);
}

} // namespace

TEST_CASE("an order stream gives the current status first, then each change, and ends after "
          "delivered") {
  auto node = start_node();
  auto id = checkout_order(*node, "alice");
  sse_client s{node->port(), events_path(id), node->customer_token("alice")};
  REQUIRE(s.read_head() == 200);
  CHECK(s.header("content-type") == "text/event-stream");
  CHECK(s.header("cache-control") == "no-cache");
  CHECK(s.header("content-length").empty());
  auto first = s.next_event();
  require_status_event(first, id, "pending");
  CHECK_FALSE(first.data.contains("reason"));
  std::int64_t version = first.data.at("version").as_int64();
  for (std::string status : {"stock_reserved", "paid", "confirmed", "shipped", "delivered"}) {
    auto v = force(*node, id, status);
    auto e = s.next_event();
    require_status_event(e, id, status);
    CHECK(e.data.at("version").as_int64() == static_cast<std::int64_t>(v));
    CHECK(e.data.at("version").as_int64() > version);
    version = e.data.at("version").as_int64();
  }
  CHECK(s.closes());
  CHECK(eventually([&] { return node->node().grains().client().observations() == 0; }));
  // A stream opened on a delivered order gives that status and ends.
  sse_client again{node->port(), events_path(id), node->customer_token("alice")};
  REQUIRE(again.read_head() == 200);
  require_status_event(again.next_event(), id, "delivered");
  CHECK(again.closes());
}

TEST_CASE("a cancellation is streamed with its reason and ends the stream") {
  auto node = start_node();
  create_order(*node, "ord-c1", "bob");
  sse_client s{node->port(), events_path("ord-c1"), node->customer_token("bob")};
  REQUIRE(s.read_head() == 200);
  require_status_event(s.next_event(), "ord-c1", "pending");
  force(*node, "ord-c1", "cancelled", "payment_declined");
  auto e = s.next_event();
  require_status_event(e, "ord-c1", "cancelled");
  CHECK(std::string(e.data.at("reason").as_string()) == "payment_declined");
  CHECK(s.closes());
}

TEST_CASE("another customer's order, an unknown order and a malformed id are all 404, an admin "
          "may stream any order") {
  auto node = start_node();
  create_order(*node, "ord-x1", "carol");
  auto not_found_for = [&](const std::string& path, const std::string& token) {
    sse_client s{node->port(), path, token};
    REQUIRE(s.read_head() == 404);
    CHECK(s.header("content-type") == "application/json");
    auto body = s.body().as_object();
    CHECK(std::string(body.at("error").at("code").as_string()) == "not_found");
  };
  not_found_for(events_path("ord-x1"), node->customer_token("mallory"));
  not_found_for(events_path("ord-nope"), node->customer_token("mallory"));
  not_found_for(events_path("bad%20id!"), node->customer_token("mallory"));
  {
    sse_client s{node->port(), events_path("ord-x1"), ""};
    CHECK(s.read_head() == 401);
  }
  CHECK(eventually([&] { return node->node().grains().client().observations() == 0; }));
  sse_client admin{node->port(), events_path("ord-x1"), node->admin_token()};
  REQUIRE(admin.read_head() == 200);
  require_status_event(admin.next_event(), "ord-x1", "pending");
}

TEST_CASE("a client that vanishes mid-stream frees its stream and the grain drops its observer") {
  auto node = start_node();
  create_order(*node, "ord-v1", "dave");
  auto& client = node->node().grains().client();
  sse_client s{node->port(), events_path("ord-v1"), node->customer_token("dave")};
  REQUIRE(s.read_head() == 200);
  require_status_event(s.next_event(), "ord-v1", "pending");
  REQUIRE(client.observations() == 1);
  REQUIRE(observers_of(*node, "ord-v1") == 1);
  s.close();
  CHECK(eventually([&] { return client.observations() == 0; }));
  CHECK(eventually([&] { return observers_of(*node, "ord-v1") == 0; }));
  // The order still changes, and nothing is written for the vanished client.
  force(*node, "ord-v1", "stock_reserved");
  CHECK(client.observations() == 0);
}

TEST_CASE("an order grain deactivated while streamed: the stream still sees the next change") {
  auto node = start_node();
  create_order(*node, "ord-d1", "erin");
  sse_client s{node->port(), events_path("ord-d1"), node->customer_token("erin")};
  REQUIRE(s.read_head() == 200);
  require_status_event(s.next_event(), "ord-d1", "pending");
  auto& grains = node->node().grains().grains();
  auto before = grains.activations_total();
  REQUIRE(grains.deactivate(bazaar::runtime::grain_id{"order", "ord-d1"}));
  // The stream's observer re-observes, activating the grain again.
  REQUIRE(eventually(
      [&] { return grains.activations_total() > before && observers_of(*node, "ord-d1") == 1; }));
  force(*node, "ord-d1", "stock_reserved");
  require_status_event(s.next_event(), "ord-d1", "stock_reserved");
  force(*node, "ord-d1", "cancelled", "out_of_stock");
  require_status_event(s.next_event(), "ord-d1", "cancelled");
  CHECK(s.closes());
}

TEST_CASE("a quiet stream gets keep-alive comments and outlives the request timeout") {
  auto opts = bazaar::test::test_node_options();
  opts.http.sse_keepalive_ms = 200;
  opts.http.request_timeout_ms = 1000;
  auto node = start_node(opts);
  create_order(*node, "ord-k1", "frank");
  sse_client s{node->port(), events_path("ord-k1"), node->customer_token("frank")};
  REQUIRE(s.read_head() == 200);
  require_status_event(s.next_event(), "ord-k1", "pending");
  // Eight keep-alives, 200 ms apart at least: the stream stays open past the request timeout.
  for (int i = 0; i < 8; ++i) {
    auto e = s.next();
    REQUIRE(e);
    CHECK(e->name.empty());
    CHECK(e->comment == "keep-alive");
  }
  force(*node, "ord-k1", "stock_reserved");
  require_status_event(s.next_event(), "ord-k1", "stock_reserved");
}

TEST_CASE("a node that stops closes its open streams") {
  auto node = start_node();
  create_order(*node, "ord-s1", "gina");
  sse_client s{node->port(), events_path("ord-s1"), node->customer_token("gina")};
  REQUIRE(s.read_head() == 200);
  require_status_event(s.next_event(), "ord-s1", "pending");
  node->node().stop();
  CHECK(s.closes());
}

TEST_CASE("1000 open streams on one node are all served while ordinary requests are answered, "
          "and memory stays bounded") {
  // Both ends of 1000 connections live in this process: raise the soft limit of open files.
  rlimit files{};
  REQUIRE(::getrlimit(RLIMIT_NOFILE, &files) == 0);
  if (files.rlim_cur < 4096 && files.rlim_max > files.rlim_cur) {
    files.rlim_cur = std::min<rlim_t>(files.rlim_max, 4096);
    ::setrlimit(RLIMIT_NOFILE, &files);
  }
  auto node = start_node();
  constexpr int orders = 100;
  constexpr int streams_per_order = 10;
  for (int i = 0; i < orders; ++i)
    create_order(*node, "ord-m" + std::to_string(i), "cust" + std::to_string(i));
  std::vector<std::string> tokens;
  for (int i = 0; i < orders; ++i)
    tokens.push_back(node->customer_token("cust" + std::to_string(i)));
  auto& client = node->node().grains().client();
  auto ordinary_requests_answered = [&] {
    auto c = node->connect();
    REQUIRE(c.request("GET", "/healthz").status == 200);
    auto r = c.request("GET", "/api/v1/orders/ord-m7", {}, bearer(tokens[7]));
    REQUIRE(r.status == 200);
    CHECK(std::string(r.json().at("status").as_string()) == "pending");
  };
  long rss_before = rss_kib();
  long rss_open_first = 0;
  for (int round = 0; round < 2; ++round) {
    std::vector<std::unique_ptr<sse_client>> open;
    open.reserve(orders * streams_per_order);
    for (int k = 0; k < orders * streams_per_order; ++k) {
      int i = k % orders;
      open.push_back(std::make_unique<sse_client>(
          node->port(), events_path("ord-m" + std::to_string(i)), tokens[i]));
    }
    for (int k = 0; k < orders * streams_per_order; ++k) {
      REQUIRE(open[k]->read_head() == 200);
      // ord-m3 moved on in the first round.
      require_status_event(open[k]->next_event(), "ord-m" + std::to_string(k % orders),
                           round == 1 && k % orders == 3 ? "stock_reserved" : "pending");
    }
    REQUIRE(client.observations() == orders * streams_per_order);
    ordinary_requests_answered();
    // A change reaches each stream of its order.
    force(*node, "ord-m3", round == 0 ? "stock_reserved" : "paid");
    for (int k = 3; k < orders * streams_per_order; k += orders)
      require_status_event(open[k]->next_event(), "ord-m3", round == 0 ? "stock_reserved" : "paid");
    long rss_open = rss_kib();
    if (round == 0)
      rss_open_first = rss_open;
    WARN("round " << round << ": RSS " << rss_before << " KiB before, " << rss_open
                  << " KiB with 1000 streams open");
    // Well under 100 KiB per stream (this process holds the clients too).
    CHECK(rss_open - rss_before < 100 * 1024);
    open.clear(); // every client vanishes
    REQUIRE(eventually([&] { return client.observations() == 0; }));
    ordinary_requests_answered();
  }
  // A second thousand streams cost no more than the first: nothing was kept of them. (Not
  // under AddressSanitizer, which holds freed memory in its quarantine: there the observation
  // count going back to 0 above is the check.)
#if !defined(__SANITIZE_ADDRESS__)
  CHECK(rss_kib() - rss_open_first < 16 * 1024);
#else
  (void)rss_open_first;
#endif
}

TEST_CASE("the stream's events: each status the timeline gained, in order, once per version") {
  using bazaar::domain::order_status;
  bazaar::domain::order o;
  o.exists = true;
  o.order_id = "o1";
  o.customer_id = "c";
  o.status = order_status::pending;
  o.timeline = {{order_status::pending, 1000}};
  o.version = 1;
  bazaar::gateway::order_status_feed feed;
  auto status_of = [](const std::string& data) {
    return std::string(json::parse(data).at("status").as_string());
  };
  auto first = feed.next(o);
  REQUIRE(first.size() == 1);
  CHECK(status_of(first[0]) == "pending");
  CHECK(feed.next(o).empty()); // the same version again: nothing
  // Three changes seen at once: each of them, oldest first, with the version they came with.
  o.timeline.push_back({order_status::stock_reserved, 2000});
  o.timeline.push_back({order_status::paid, 3000});
  o.timeline.push_back({order_status::confirmed, 4000});
  o.status = order_status::confirmed;
  o.version = 4;
  auto three = feed.next(o);
  REQUIRE(three.size() == 3);
  CHECK(status_of(three[0]) == "stock_reserved");
  CHECK(status_of(three[1]) == "paid");
  CHECK(status_of(three[2]) == "confirmed");
  CHECK(json::parse(three[2]).at("version").as_int64() == 4);
  CHECK(json::parse(three[0]).at("at").as_string() == "1970-01-01T00:00:02.000Z");
  // A version that changed something else than the status: no event.
  o.version = 5;
  CHECK(feed.next(o).empty());
  // An older version (an earlier activation's late notice): nothing.
  o.version = 3;
  CHECK(feed.next(o).empty());
  o.timeline.push_back({order_status::cancelled, 5000});
  o.status = order_status::cancelled;
  o.cancel_reason = "customer_request";
  o.version = 6;
  auto last = feed.next(o);
  REQUIRE(last.size() == 1);
  CHECK(json::parse(last[0]).at("reason").as_string() == "customer_request");
  CHECK(feed.finished());
  o.version = 7;
  CHECK(feed.next(o).empty());
}
