// The checkout saga under a crash: the real executable against a real PostgreSQL and a Kafka
// that outlives it (`bazaar kafka-mock` as its own process, as a real Kafka would), killed
// with SIGKILL in the middle of 200 checkouts and started again. Afterwards every saga and
// every order is terminal, nothing is reserved any more, and every unit of stock is accounted
// for: initial = available + reserved + sold, where sold is what confirmed orders bought.
// Bounded in time and count, loopback only.

#include "bazaar/gateway/jwt.hpp"

#include "support/eventually.hpp"
#include "support/http_client.hpp"
#include "support/node_process.hpp"
#include "support/pg_schema.hpp"
#include "support/saga_checks.hpp"
#include "support/test_node.hpp"

#include <boost/json.hpp>
#include <catch2/catch.hpp>

#include <atomic>
#include <csignal>
#include <map>
#include <mutex>
#include <set>
#include <thread>

using namespace bazaar;
using namespace std::chrono_literals;
using test::http_connection;
using test::node_process;
namespace json = boost::json;

namespace {

std::string token(const std::string& sub, auth::role role = auth::role::customer) {
  return node_process::token(sub, role);
}

using test::bearer;

constexpr int products = 8;
constexpr int initial_stock = 40;
constexpr int customers = 200;

std::string sku(int i) {
  return "sku-" + std::to_string(i);
}

/// What customer `i` buys (1 or 2 lines of 1..3 units; together more than the stock, so some
/// orders run out) and pays with (mostly approved; some declined, slow or never answered).
struct purchase {
  std::vector<std::pair<std::string, int>> lines;
  std::string card;
};

purchase purchase_of(int i) {
  purchase p;
  p.lines.emplace_back(sku(i % products), 1 + i % 3);
  if (i % 4 == 0)
    p.lines.emplace_back(sku((i + 3) % products), 1);
  static const char* cards[] = {"tok_ok", "tok_ok", "tok_ok",       "tok_decline",
                                "tok_ok", "tok_ok", "tok_slow_300", "tok_timeout"};
  p.card = cards[i % 8];
  return p;
}

/// Fills the customer's basket and checks out; true when the checkout was acknowledged (202).
bool checkout(std::uint16_t port, int i) {
  try {
    http_connection c{port, 5s};
    auto t = token("fc-" + std::to_string(i));
    auto p = purchase_of(i);
    for (const auto& [s, q] : p.lines) {
      auto r = c.request("POST", "/api/v1/basket/items",
                         json::serialize(json::object{{"sku", s}, {"quantity", q}}), bearer(t));
      if (r.status != 200)
        return false;
    }
    auto h = bearer(t);
    h.emplace_back("Idempotency-Key", "fc-" + std::to_string(i));
    auto r = c.request("POST", "/api/v1/basket/checkout",
                       json::serialize(json::object{{"payment", {{"card_token", p.card}}}}), h);
    return r.status == 202;
  } catch (const std::exception&) {
    return false; // the node died under it
  }
}

/// Short saga timeouts, so that the test ends soon; `bootstrap` empty: the embedded Kafka.
std::vector<std::string> node_settings(const std::string& bootstrap,
                                       const std::string& transport = "grains") {
  std::vector<std::string> out{"kafka.group_id=checkout-fault", "saga.reservation_timeout_ms=4000",
                               "saga.payment_timeout_ms=2500",  "postgres.reminder_poll_ms=100",
                               "runtime.call_timeout_ms=3000",  "kafka.partitions=3",
                               "saga.resume_after_ms=1000",     "saga.transport=" + transport};
  if (!bootstrap.empty())
    out.push_back("kafka.bootstrap_servers=" + bootstrap);
  return out;
}

} // namespace

/// Checks out 200 customers, kills the node with SIGKILL mid-way, starts it again with the
/// same settings, and checks that every saga ends and stock is conserved.
void killed_mid_checkouts(const std::vector<std::string>& settings) {
  test::pg_schema schema;
  std::atomic<int> acknowledged{0};
  {
    node_process node{schema.name(), settings, 30s};
    http_connection admin{node.port()};
    for (int i = 0; i < products; ++i) {
      auto r = admin.request("POST", "/api/v1/products",
                             json::serialize(json::object{{"sku", sku(i)},
                                                          {"name", "Product " + std::to_string(i)},
                                                          {"category", "fault"},
                                                          {"price_cents", 100 + i},
                                                          {"stock", initial_stock}}),
                             bearer(token("admin", auth::role::admin)));
      REQUIRE(r.status == 201);
    }
    // Eight clients check out 200 customers; the node is killed once 80 were acknowledged,
    // with sagas at every step.
    std::atomic<int> next{0};
    std::vector<std::thread> clients;
    for (int t = 0; t < 8; ++t)
      clients.emplace_back([&] {
        for (int i = next++; i < customers; i = next++)
          if (checkout(node.port(), i))
            ++acknowledged;
      });
    REQUIRE(test::eventually([&] { return acknowledged.load() >= 80; }, 60s));
    node.stop(SIGKILL);
    for (auto& c : clients)
      c.join();
  }
  INFO(acknowledged.load() << " checkouts acknowledged before the kill");
  CHECK(acknowledged.load() < customers); // the kill came mid-way

  node_process again{schema.name(), settings, 30s};
  const auto orders = test::snapshot_count(schema, "grain_type = 'order'");
  CHECK(orders >= acknowledged.load());
  // Every order's saga started and ended (timeouts bound every wait), and so did each order.
  test::require_every_saga_ended(schema, orders);
  CHECK(test::snapshot_count(schema, "grain_type = 'checkout'") == orders);
  CHECK(test::snapshot_count(schema, "grain_type = 'order' AND state->>'status' = 'confirmed'") >
        0);
  CHECK(test::snapshot_count(schema, "grain_type = 'order' AND state->>'status' = 'cancelled'") >
        0);

  for (int i = 0; i < products; ++i) {
    INFO(sku(i));
    // Sold: the units of confirmed orders' lines of this product.
    auto sold =
        schema.scalar("SELECT coalesce(sum((line->>'quantity')::int), 0) FROM snapshots, "
                      "jsonb_array_elements(state->'items') AS line WHERE grain_type = 'order' AND "
                      "state->>'status' = 'confirmed' AND line->>'sku' = '" +
                      sku(i) + "'");
    auto stock = schema.scalar("SELECT state->>'stock' FROM snapshots WHERE grain_type = "
                               "'inventory' AND grain_key = '" +
                               sku(i) + "'");
    auto reserved = schema.scalar("SELECT state->>'reserved' FROM snapshots WHERE grain_type = "
                                  "'inventory' AND grain_key = '" +
                                  sku(i) + "'");
    REQUIRE_FALSE(stock.empty());
    // available + reserved + sold = stock + sold (stock falls by what is sold).
    CHECK(std::stoll(reserved) == 0);
    CHECK(std::stoll(stock) + std::stoll(sold) == initial_stock);
  }
  CHECK(again.stop(SIGTERM, 15s) == 0);
}

TEST_CASE("a node killed in the middle of 200 checkouts finishes every saga after a restart, "
          "and stock is conserved") {
  test::kafka_mock_process kafka{{"--partitions", "3"}};
  killed_mid_checkouts(node_settings(kafka.bootstrap()));
}

TEST_CASE("with the embedded Kafka, which a killed node takes with it, what was published but "
          "not consumed is published again after the restart, every saga ends, stock conserved") {
  killed_mid_checkouts(node_settings(""));
}

TEST_CASE("with the kafka transport (every saga step a record on the command topics), a node "
          "killed mid-way finishes every saga after a restart, and stock is conserved") {
  killed_mid_checkouts(node_settings("", "kafka"));
}
