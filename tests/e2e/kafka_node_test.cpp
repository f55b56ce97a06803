// The Kafka bridge inside a real node process: routes from configuration, records produced
// to the node's embedded Kafka (librdkafka's mock cluster, on loopback) reaching their grain
// once, bad routes refused at start, and a clean SIGTERM with the bridge running. The node is
// the test executable bazaar_ledger_node: the `bazaar` command line plus the test-only ledger
// grain (support/ledger_grain.hpp), which the production binary does not contain. Bounded in
// time; 127.0.0.1 only; processes stopped by pid.

#include "bazaar/gateway/jwt.hpp"

#include "support/eventually.hpp"
#include "support/http_client.hpp"
#include "support/node_process.hpp"
#include "support/pg_schema.hpp"

#include <boost/json.hpp>
#include <catch2/catch.hpp>
#include <librdkafka/rdkafka.h>

#include <csignal>
#include <cstdio>
#include <fstream>
#include <thread>

#include <fcntl.h>
#include <sys/wait.h>
#include <unistd.h>

#ifndef BAZAAR_LEDGER_BIN
#error "BAZAAR_LEDGER_BIN must name the bazaar_ledger_node executable"
#endif

using namespace bazaar;
using namespace std::chrono_literals;
namespace json = boost::json;
using test::node_process;

namespace {

std::string admin_token() {
  auto exp = std::chrono::duration_cast<std::chrono::seconds>(
                 std::chrono::system_clock::now().time_since_epoch())
                 .count() +
             3600;
  return auth::sign(auth::claims{"admin", auth::role::admin, exp}, node_process::secret());
}

/// GET /admin/kafka as admin.
json::object kafka_status(std::uint16_t port) {
  test::http_connection c{port};
  auto r = c.request("GET", "/admin/kafka", "", {{"Authorization", "Bearer " + admin_token()}});
  REQUIRE(r.status == 200);
  return r.json().as_object();
}

std::string envelope(const std::string& event_id, const std::string& account, std::int64_t amount,
                     bool poison = false) {
  json::object data{{"account", account}, {"amount", amount}};
  if (poison)
    data["poison"] = true;
  return json::serialize(json::object{{"event_id", event_id},
                                      {"event_type", "payment-processed"},
                                      {"aggregate_type", "payment"},
                                      {"aggregate_id", account},
                                      {"version", 1},
                                      {"occurred_at", "2026-11-21T00:00:00.000Z"},
                                      {"data", std::move(data)},
                                      {"metadata", json::object{}}});
}

/// Produces records and waits until the cluster has them all.
void produce(const std::string& bootstrap, const std::string& topic,
             const std::vector<std::pair<std::string, std::string>>& records) {
  char err[512];
  auto* conf = rd_kafka_conf_new();
  REQUIRE(rd_kafka_conf_set(conf, "bootstrap.servers", bootstrap.c_str(), err, sizeof err) ==
          RD_KAFKA_CONF_OK);
  rd_kafka_conf_set(conf, "log_level", "3", err, sizeof err);
  auto* rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, err, sizeof err);
  REQUIRE(rk != nullptr);
  for (const auto& [key, value] : records)
    REQUIRE(rd_kafka_producev(rk, RD_KAFKA_V_TOPIC(topic.c_str()),
                              RD_KAFKA_V_KEY(key.data(), key.size()),
                              RD_KAFKA_V_VALUE(const_cast<char*>(value.data()), value.size()),
                              RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY),
                              RD_KAFKA_V_END) == RD_KAFKA_RESP_ERR_NO_ERROR);
  auto flushed = rd_kafka_flush(rk, 10000);
  rd_kafka_destroy(rk);
  REQUIRE(flushed == RD_KAFKA_RESP_ERR_NO_ERROR);
}

/// A node process answers more slowly than an in-process one: a longer bound.
template <class Pred>
bool eventually(Pred pred) {
  return test::eventually(pred, 30s, 50ms);
}

std::uint64_t counter(const json::object& bridge, const char* name) {
  return bridge.at(name).to_number<std::uint64_t>();
}

const std::vector<std::string> ledger_route = {
    // Only the ledger's route: the shop's default routes are turned off.
    "kafka.routes.order-created.grain_type=",
    "kafka.routes.order-created.key_field=",
    "kafka.routes.product-reservation.grain_type=",
    "kafka.routes.product-reservation.key_field=",
    "kafka.routes.product-reserved.grain_type=",
    "kafka.routes.product-reserved.key_field=",
    "kafka.routes.payment-pending.grain_type=",
    "kafka.routes.payment-pending.key_field=",
    "kafka.topics.payment-processed=ledger-e2e",
    "kafka.routes.payment-processed.grain_type=ledger",
    "kafka.routes.payment-processed.key_field=account",
    "kafka.partitions=3",
    "kafka.max_attempts=3",
    "kafka.retry_backoff_ms=20",
};

} // namespace

TEST_CASE("a node stopped with SIGTERM commits what its grains handled, and the next node goes on "
          "from there") {
  test::pg_schema schema;
  test::kafka_mock_process kafka{
      {"--partitions", "3", "--set", "kafka.topics.payment-processed=ledger-e2e"}};
  REQUIRE(kafka.bootstrap().rfind("127.0.0.1:", 0) == 0);
  auto sets = ledger_route;
  sets.push_back("kafka.bootstrap_servers=" + kafka.bootstrap());
  sets.push_back("kafka.group_id=e2e-restart");
  produce(kafka.bootstrap(), "ledger-e2e",
          {{"alice", envelope("e-1", "alice", 5)}, {"bob", envelope("e-2", "bob", 7)}});
  {
    node_process first{schema.name(), sets, 30s, BAZAAR_LEDGER_BIN};
    CHECK(eventually([&] {
      return counter(kafka_status(first.port()).at("bridge").as_object(), "handled") == 2;
    }));
    CHECK(first.stop(SIGTERM, 15s) == 0);
  }
  node_process second{schema.name(), sets, 30s, BAZAAR_LEDGER_BIN};
  produce(kafka.bootstrap(), "ledger-e2e", {{"alice", envelope("e-3", "alice", 1)}});
  json::object seen;
  CHECK(eventually([&] {
    seen = kafka_status(second.port()).at("bridge").as_object();
    return counter(seen, "handled") >= 1 && seen.at("in_flight").to_number<std::int64_t>() == 0;
  }));
  INFO(json::serialize(seen));
  CHECK(counter(seen, "consumed") == 1); // e-3 only: e-1 and e-2 were committed by the first
  CHECK(counter(seen, "handled") == 1);
  CHECK(schema.scalar("SELECT state->>'count' FROM snapshots WHERE grain_type = 'ledger' AND "
                      "grain_key = 'alice'") == "2");
  CHECK(second.stop(SIGTERM, 15s) == 0);
}

TEST_CASE("a node hands records of a routed topic to their grain once, and stops cleanly with "
          "the bridge running") {
  test::pg_schema schema;
  node_process node{schema.name(), ledger_route, 30s, BAZAAR_LEDGER_BIN};

  auto status = kafka_status(node.port());
  const std::string bootstrap(status.at("bootstrap_servers").as_string());
  CHECK(status.at("embedded").as_bool());
  REQUIRE(bootstrap.rfind("127.0.0.1:", 0) == 0); // loopback only
  const auto& bridge = status.at("bridge").as_object();
  CHECK(bridge.at("running").as_bool());
  const auto& routes = bridge.at("routes").as_array();
  REQUIRE(routes.size() == 1);
  CHECK(routes[0].at("topic") == "ledger-e2e"); // the topic is configuration
  CHECK(routes[0].at("grain_type") == "ledger");
  CHECK(routes[0].at("key_field") == "account");
  CHECK(routes[0].at("events") == json::array{"payment-processed"});

  // e-1 is delivered twice (as a redelivery after a crash would be); one record is poison.
  produce(bootstrap, "ledger-e2e",
          {{"alice", envelope("e-1", "alice", 5)},
           {"alice", envelope("e-2", "alice", 7)},
           {"bob", envelope("e-3", "bob", 1)},
           {"alice", envelope("e-1", "alice", 5)},
           {"carol", envelope("e-4", "carol", 9, true)}});

  json::object seen;
  CHECK(eventually([&] {
    seen = kafka_status(node.port()).at("bridge").as_object();
    return counter(seen, "handled") == 4 && counter(seen, "dead_lettered") == 1 &&
           seen.at("in_flight").to_number<std::int64_t>() == 0;
  }));
  INFO(json::serialize(seen));
  CHECK(counter(seen, "consumed") == 5);
  CHECK(counter(seen, "retried") == 2); // the poison record: 3 attempts, then the DLQ

  // The grains' durable state: e-1 counted once.
  CHECK(schema.scalar("SELECT state->>'count' FROM snapshots WHERE grain_type = 'ledger' AND "
                      "grain_key = 'alice'") == "2");
  CHECK(schema.scalar("SELECT state->>'total' FROM snapshots WHERE grain_type = 'ledger' AND "
                      "grain_key = 'alice'") == "12");
  CHECK(schema.scalar("SELECT state->>'count' FROM snapshots WHERE grain_type = 'ledger' AND "
                      "grain_key = 'bob'") == "1");
  CHECK(schema.scalar("SELECT count(*) FROM snapshots WHERE grain_type = 'ledger' AND "
                      "grain_key = 'carol'") == "0");

  // Every record is committed: no partition with records lags.
  CHECK(eventually([&] {
    seen = kafka_status(node.port()).at("bridge").as_object();
    const auto& parts = seen.at("partitions").as_array();
    int with_records = 0;
    for (const auto& p : parts) {
      if (p.at("high_watermark").to_number<std::int64_t>() <= 0)
        continue;
      ++with_records;
      if (p.at("lag") != json::value(0) || p.at("committed") != p.at("high_watermark"))
        return false;
    }
    return parts.size() == 3 && with_records > 0;
  }));
  INFO(json::serialize(seen));
  CHECK(counter(seen, "committed") > 0);

  CHECK(node.stop(SIGTERM, 15s) == 0);
}

TEST_CASE("a route to a grain type the node lacks, or a malformed route, stops the node with "
          "exit code 2 naming the key") {
  test::pg_schema schema;
  struct bad {
    std::string binary;
    std::vector<std::string> sets;
    std::string key;
    std::string says;
  };
  const std::vector<bad> cases = {
      {BAZAAR_LEDGER_BIN,
       {"kafka.routes.payment-processed.grain_type=nosuch"},
       "kafka.routes.payment-processed.grain_type",
       "there is no grain type \"nosuch\""},
      // The production binary has no test grains.
      {BAZAAR_BIN,
       {"kafka.routes.payment-processed.grain_type=ledger"},
       "kafka.routes.payment-processed.grain_type",
       "there is no grain type \"ledger\""},
      {BAZAAR_LEDGER_BIN,
       {"kafka.routes.order-created.grain_type=basket"},
       "kafka.routes.order-created.grain_type",
       "does not handle Kafka records"},
      {BAZAAR_LEDGER_BIN,
       {"kafka.routes.order-created.grain_type=ledger",
        "kafka.routes.order-created.key_field=order id"},
       "kafka.routes.order-created.key_field",
       "is not a field name"},
      {BAZAAR_LEDGER_BIN,
       {"kafka.routes.order-created.grain_type=", "kafka.routes.order-created.key_field=order_id"},
       "kafka.routes.order-created.key_field",
       "a route needs a grain type"},
      {BAZAAR_LEDGER_BIN,
       {"kafka.routes.no-such-event.grain_type=ledger"},
       "kafka.routes.no-such-event.grain_type",
       "unknown key"},
  };
  for (const auto& c : cases) {
    INFO(c.key << " " << c.says);
    auto ended = test::run_until_exit(c.binary, schema.name(), c.sets);
    INFO(ended.output);
    CHECK(ended.status == 2);
    CHECK_THAT(ended.output, Catch::Contains(c.key) && Catch::Contains(c.says));
  }
}
