// The inventory grain fed by the Kafka bridge (embedded cluster, real protocol on loopback;
// the shop's grains on memory storage): `product-reservation` records reserve, release and
// commit units once however often they are delivered, and each reserve is answered with a
// `product-reserved` event.

#include "bazaar/actors/registry.hpp"
#include "bazaar/kafka/bridge.hpp"
#include "bazaar/kafka/embedded_kafka.hpp"
#include "bazaar/persistence/memory_storage.hpp"
#include "bazaar/runtime/errors.hpp"
#include "bazaar/runtime/host.hpp"

#include "support/eventually.hpp"
#include "support/raw_producer.hpp"

#include <boost/json.hpp>
#include <caf/actor_system.hpp>
#include <caf/actor_system_config.hpp>
#include <catch2/catch.hpp>
#include <librdkafka/rdkafka.h>

#include <future>
#include <thread>

using namespace bazaar;
using namespace std::chrono_literals;
namespace json = boost::json;
using actors::inventory_grain;

namespace {

using test::eventually;
using test::raw_producer;

/// The shop's grain types on memory storage.
struct shop_host {
  explicit shop_host(std::shared_ptr<persistence::memory_storage> s =
                         std::make_shared<persistence::memory_storage>())
      : storage(std::move(s)) {
    config::runtime_options o;
    o.max_threads = 2;
    runtime::configure(cfg, o);
    actors::register_types(cfg);
    sys = std::make_unique<caf::actor_system>(cfg);
    host = std::make_unique<runtime::host>(*sys, clock, o, 5s);
    runtime::grain_services services;
    services.storage = storage;
    services.call_timeout = 5s;
    actors::register_grains(host->grains(), config::node_options{}, services);
    host->start();
  }
  ~shop_host() {
    host->stop(2s);
    host.reset();
    sys.reset();
  }

  /// Asks the inventory grain `sku`; the reply or the error.
  template <class Msg>
  auto ask(const std::string& sku, Msg msg) {
    using reply = runtime::reply_t<inventory_grain::interface, Msg>;
    std::promise<caf::expected<reply>> p;
    REQUIRE(host->client().ask<inventory_grain>(
        sku, std::move(msg), [&](caf::expected<reply> r) { p.set_value(std::move(r)); }));
    auto f = p.get_future();
    REQUIRE(f.wait_for(10s) == std::future_status::ready);
    return f.get();
  }

  domain::product product(const std::string& sku) {
    auto p = ask(sku, actors::product_get{});
    REQUIRE(p);
    return *p;
  }

  /// The data of the events of `type` the grain of `sku` emitted, oldest first.
  std::vector<json::object> events(const std::string& sku, const std::string& type) {
    std::vector<json::object> out;
    for (const auto& e : storage->events())
      if (e.aggregate_type == inventory_grain::type && e.aggregate_id == sku &&
          e.event_type == type)
        out.push_back(json::parse(e.envelope).as_object().at("data").as_object());
    return out;
  }

  runtime::system_clock clock;
  caf::actor_system_config cfg;
  std::unique_ptr<caf::actor_system> sys;
  std::shared_ptr<persistence::memory_storage> storage;
  std::unique_ptr<runtime::host> host;
};

config::kafka_options test_kafka() {
  config::kafka_options k;
  k.group_id = "inventory-test";
  k.session_timeout_ms = 6000;
  k.retry_backoff_ms = 10;
  k.max_attempts = 3;
  return k;
}

/// A `product-reservation` envelope.
std::string reservation(const std::string& event_id, const std::string& order_id,
                        const std::string& sku, const std::string& type,
                        std::int64_t quantity = 0) {
  json::object data{{"order_id", order_id}, {"sku", sku}, {"type", type}};
  if (quantity > 0)
    data["quantity"] = quantity;
  return json::serialize(json::object{{"event_id", event_id},
                                      {"event_type", domain::events::product_reservation.name},
                                      {"aggregate_type", "saga"},
                                      {"aggregate_id", order_id},
                                      {"version", 1},
                                      {"occurred_at", "2026-11-29T00:00:00.000Z"},
                                      {"data", std::move(data)},
                                      {"metadata", json::object{}}});
}

domain::product_draft mug(std::int64_t stock, std::int64_t threshold = 0) {
  domain::product_draft d;
  d.sku = "mug";
  d.name = "Mug";
  d.category = "kitchen";
  d.price_cents = 900;
  d.stock = stock;
  d.low_stock_threshold = threshold;
  return d;
}

} // namespace

TEST_CASE("a product-reservation record delivered twice reserves once and is answered once") {
  auto topic = config::kafka_options{}.topics.product_reservation;
  kafka::embedded_kafka cluster{1};
  cluster.create_topic(topic, 2);
  cluster.create_topic(topic + ".dlq", 1);
  shop_host shop;
  REQUIRE(shop.ask("mug", actors::product_create{mug(5), {}, {}}));
  kafka::bridge bridge{shop.host->client(),
                       cluster.bootstrap(),
                       test_kafka(),
                       {{topic, inventory_grain::type, "sku"}}};
  bridge.start();
  raw_producer out{cluster.bootstrap()};
  // Keyed by order, as a saga would: the bridge finds the grain by data.sku.
  auto first = reservation("ev-1", "o-1", "mug", "reserve", 3);
  out.send(topic, "o-1", first);
  out.send(topic, "o-1", first); // the same record again
  out.flush();
  REQUIRE(eventually([&] { return bridge.stats().handled.load() >= 2; }));

  auto p = shop.product("mug");
  CHECK(p.stock == 5);
  CHECK(p.reserved == 3);
  CHECK(p.available() == 2);
  auto answers = shop.events("mug", domain::events::product_reserved.name);
  REQUIRE(answers.size() == 1);
  CHECK(answers[0] == json::object{{"order_id", "o-1"},
                                   {"sku", "mug"},
                                   {"quantity", 3},
                                   {"status", "reserved"},
                                   {"reason", ""}});
  auto stock = shop.events("mug", domain::events::stock_updated.name);
  REQUIRE(stock.size() == 2); // created, reserved
  CHECK(stock[1] == json::object{{"sku", "mug"}, {"stock", 5}, {"reserved", 3}});

  // Another record for the same order (a new event id) answers the first result again and
  // holds nothing more; an order asking for more than is available is rejected.
  out.send(topic, "o-1", reservation("ev-2", "o-1", "mug", "reserve", 1));
  out.send(topic, "o-2", reservation("ev-3", "o-2", "mug", "reserve", 3));
  out.flush();
  REQUIRE(eventually([&] { return bridge.stats().handled.load() >= 4; }));
  p = shop.product("mug");
  CHECK(p.reserved == 3);
  answers = shop.events("mug", domain::events::product_reserved.name);
  REQUIRE(answers.size() == 3);
  CHECK(answers[1] == answers[0]);
  CHECK(answers[2] == json::object{{"order_id", "o-2"},
                                   {"sku", "mug"},
                                   {"quantity", 3},
                                   {"status", "rejected"},
                                   {"reason", "out_of_stock"}});
  CHECK(shop.events("mug", domain::events::stock_updated.name).size() == 2);
  CHECK(bridge.stats().dead_lettered == 0);
}

TEST_CASE("release and commit records free and sell reserved units once each") {
  auto topic = config::kafka_options{}.topics.product_reservation;
  kafka::embedded_kafka cluster{1};
  cluster.create_topic(topic, 1);
  cluster.create_topic(topic + ".dlq", 1);
  shop_host shop;
  REQUIRE(shop.ask("mug", actors::product_create{mug(10, 4), {}, {}}));
  kafka::bridge bridge{shop.host->client(),
                       cluster.bootstrap(),
                       test_kafka(),
                       {{topic, inventory_grain::type, "sku"}}};
  bridge.start();
  raw_producer out{cluster.bootstrap()};
  out.send(topic, "o-1", reservation("r-1", "o-1", "mug", "reserve", 4));
  out.send(topic, "o-2", reservation("r-2", "o-2", "mug", "reserve", 3));
  out.send(topic, "o-1", reservation("r-3", "o-1", "mug", "release"));
  out.send(topic, "o-1", reservation("r-3", "o-1", "mug", "release")); // again
  out.send(topic, "o-1", reservation("r-4", "o-1", "mug", "release")); // released already
  out.send(topic, "o-2", reservation("r-5", "o-2", "mug", "commit"));
  out.send(topic, "o-2", reservation("r-5", "o-2", "mug", "commit"));  // again
  out.send(topic, "o-9", reservation("r-6", "o-9", "mug", "release")); // unknown order
  out.flush();
  REQUIRE(eventually([&] { return bridge.stats().handled.load() >= 8; }));
  auto p = shop.product("mug");
  CHECK(p.stock == 7);
  CHECK(p.reserved == 0);
  CHECK(p.available() == 7);
  // reserve 10 -> 6, reserve 6 -> 3 (crossing 4), release 3 -> 7, commit 7 -> 7 (stock 7).
  auto stock = shop.events("mug", domain::events::stock_updated.name);
  REQUIRE(stock.size() == 5);
  CHECK(stock[2] == json::object{{"sku", "mug"}, {"stock", 10}, {"reserved", 7}});
  CHECK(stock[4] == json::object{{"sku", "mug"}, {"stock", 7}, {"reserved", 0}});
  auto low = shop.events("mug", domain::events::product_low_stock.name);
  REQUIRE(low.size() == 1);
  CHECK(low[0] == json::object{{"sku", "mug"}, {"available", 3}, {"threshold", 4}});
  CHECK(bridge.stats().dead_lettered == 0);

  // Restocking below what is reserved is a conflict, and changes nothing.
  REQUIRE(shop.ask("mug", actors::product_reserve{"o-3", 5, {}, {}}));
  domain::stock_change below;
  below.set = 4;
  auto refused = shop.ask("mug", actors::product_stock{below, {}, {}});
  REQUIRE_FALSE(refused);
  CHECK(runtime::to_failure(refused.error()).code == core::errc::conflict);
  CHECK(shop.product("mug").stock == 7);
  CHECK(shop.product("mug").reserved == 5);
}

TEST_CASE("a product-reservation record that is not a valid request goes to the DLQ") {
  auto topic = config::kafka_options{}.topics.product_reservation;
  kafka::embedded_kafka cluster{1};
  cluster.create_topic(topic, 1);
  cluster.create_topic(topic + ".dlq", 1);
  shop_host shop;
  REQUIRE(shop.ask("mug", actors::product_create{mug(10), {}, {}}));
  kafka::bridge bridge{shop.host->client(),
                       cluster.bootstrap(),
                       test_kafka(),
                       {{topic, inventory_grain::type, "sku"}}};
  bridge.start();
  raw_producer out{cluster.bootstrap()};
  out.send(topic, "o-1", reservation("b-1", "o-1", "mug", "explode", 1));
  out.send(topic, "o-2", reservation("b-2", "o-2", "mug", "reserve", 0)); // no quantity
  out.send(topic, "o-3", reservation("b-3", "o-3", "mug", "commit"));     // nothing reserved
  out.send(topic, "o-4", reservation("b-4", "o-4", "mug", "reserve", 2)); // fine
  out.flush();
  REQUIRE(eventually([&] { return bridge.stats().dead_lettered.load() >= 3; }, 30s));
  REQUIRE(eventually([&] { return shop.product("mug").reserved == 2; }));
  CHECK(bridge.stats().dead_lettered == 3);
  CHECK(shop.product("mug").stock == 10);
  CHECK(shop.product("mug").reservations.size() == 1);
}

TEST_CASE("reservations and their first answers outlive the grain leaving memory") {
  auto storage = std::make_shared<persistence::memory_storage>();
  {
    shop_host shop{storage};
    REQUIRE(shop.ask("mug", actors::product_create{mug(5), {}, {}}));
    auto held = shop.ask("mug", actors::product_reserve{"o-1", 4, {}, {}});
    REQUIRE(held);
    CHECK(held->status == domain::reservation_status::reserved);
    auto rejected = shop.ask("mug", actors::product_reserve{"o-2", 4, {}, {}});
    REQUIRE(rejected);
    CHECK(rejected->reason == domain::reason_out_of_stock);
    REQUIRE(shop.ask("mug", actors::product_deactivate{{}, {}}));
  }
  shop_host shop{storage}; // a new process: the grain loads its snapshot
  auto p = shop.product("mug");
  CHECK(p.reserved == 4);
  CHECK_FALSE(p.active);
  auto again = shop.ask("mug", actors::product_reserve{"o-2", 1, {}, {}});
  REQUIRE(again);
  CHECK(again->reason == domain::reason_out_of_stock); // the first answer, not product_inactive
  auto fresh = shop.ask("mug", actors::product_reserve{"o-3", 1, {}, {}});
  REQUIRE(fresh);
  CHECK(fresh->reason == domain::reason_product_inactive);
  REQUIRE(shop.ask("mug", actors::product_commit{"o-1", {}, {}}));
  p = shop.product("mug");
  CHECK(p.stock == 1);
  CHECK(p.reserved == 0);
}
