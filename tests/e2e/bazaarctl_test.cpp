// bazaarctl, the real executable, against a node on PostgreSQL and the embedded Kafka: where a
// basket lives and what is in it, deactivation and reactivation from the snapshot, a saga whose
// payment never answers listed as stuck, a dead letter listed and replayed, Kafka's lag, and
// the errors and exit codes an operator meets.

#include "bazaar/config/loader.hpp"
#include "support/api_checks.hpp"
#include "support/bazaarctl.hpp"
#include "support/eventually.hpp"
#include "support/raw_producer.hpp"
#include "support/test_node.hpp"

#include <boost/json.hpp>
#include <catch2/catch.hpp>

using namespace bazaar;
using namespace std::chrono_literals;
using test::bearer;
using test::ctl_result;
using test::test_node;
namespace json = boost::json;

namespace {

/// A node whose bridge dead-letters a record after two attempts, and an operator's bazaarctl.
struct operated_node {
  test_node node;
  test::http_connection c = node.connect();
  std::string admin = node.admin_token();

  static config::node_options options() {
    auto opts = test::test_node_options();
    opts.kafka.max_attempts = 2;
    opts.postgres.reminder_poll_ms = 50;
    return opts;
  }

  operated_node() : node{options()} {
    // The bridge's consumer group takes seconds to form: wait until it holds every partition.
    REQUIRE(test::eventually([&] {
      auto status = kafka_status(); // kept: b refers into it
      const auto& b = status.at("bridge").as_object();
      return b.contains("partitions") &&
             b.at("partitions").as_array().size() ==
                 bazaar::config::topic_routes(node.node().options().kafka).size() *
                     static_cast<std::size_t>(node.node().options().kafka.partitions);
    }));
  }

  ctl_result ctl(const std::vector<std::string>& args) {
    return test::bazaarctl(node.port(), test::test_jwt_secret, args);
  }

  /// `bazaarctl <args> --json`, which must succeed: its answer.
  json::object ctl_json(std::vector<std::string> args) {
    args.push_back("--json");
    auto r = ctl(args);
    INFO("bazaarctl stderr: " << r.err << "\nstdout: " << r.out);
    REQUIRE(r.status == 0);
    return json::parse(r.out).as_object();
  }

  json::object kafka_status() {
    auto r = c.request("GET", "/admin/kafka", "", bearer(admin));
    REQUIRE(r.status == 200);
    return r.json().as_object();
  }
};

} // namespace

TEST_CASE("bazaarctl shows where a basket lives and what is in it, and a deactivated basket "
          "reactivates from its snapshot") {
  operated_node n;
  test::create_product(n.c, n.admin, "ctl-mug", 900);
  test::create_product(n.c, n.admin, "ctl-tea", 300);
  auto alice = n.node.customer_token("ctl-alice");
  REQUIRE(test::add_item(n.c, alice, "ctl-mug", 2).status == 200);
  REQUIRE(test::add_item(n.c, alice, "ctl-tea", 3).status == 200);

  auto g = n.ctl_json({"grain", "basket/ctl-alice"});
  CHECK(g.at("type") == "basket");
  CHECK(g.at("key") == "ctl-alice");
  CHECK_FALSE(g.at("node").as_string().empty());
  CHECK(g.at("version") == 2);
  auto before = g.at("state");
  const auto& items = g.at("state").at("lines").as_array();
  REQUIRE(items.size() == 2);
  std::map<std::string, std::int64_t> quantities;
  for (const auto& i : items)
    quantities[std::string(i.at("sku").as_string())] = i.at("quantity").as_int64();
  CHECK(quantities == std::map<std::string, std::int64_t>{{"ctl-mug", 2}, {"ctl-tea", 3}});

  // The table an operator reads names the node, the version and the skus.
  auto table = n.ctl({"grain", "basket/ctl-alice"});
  REQUIRE(table.status == 0);
  CHECK(table.out.find("basket/ctl-alice on node " + std::string(g.at("node").as_string())) !=
        std::string::npos);
  CHECK(table.out.find("ctl-tea") != std::string::npos);

  // Listed among the active grains, with its version and mailbox depth.
  auto listed = n.ctl_json({"grains", "--type", "basket"});
  bool found = false;
  for (const auto& i : listed.at("items").as_array())
    if (i.at("key") == "ctl-alice") {
      found = true;
      CHECK(i.at("version") == 2);
      CHECK(i.at("mailbox").is_int64());
    }
  CHECK(found);

  auto off = n.ctl_json({"deactivate", "basket/ctl-alice"});
  CHECK(off.at("deactivated") == true);
  auto after_off = n.ctl_json({"grains", "--type", "basket"});
  for (const auto& i : after_off.at("items").as_array())
    CHECK(i.at("key") != "ctl-alice");
  // Deactivating a grain that is not active says so and changes nothing.
  CHECK(n.ctl_json({"deactivate", "basket/ctl-alice"}).at("deactivated") == false);

  // Read again: a new activation, loaded from the snapshot, with the same state and version.
  auto again = n.ctl_json({"grain", "basket/ctl-alice"});
  CHECK(again.at("state") == before);
  CHECK(again.at("version") == 2);
  CHECK(again.at("activated_at_ms").as_int64() >= g.at("activated_at_ms").as_int64());
  CHECK(test::get_basket(n.c, alice).at("items").as_array().size() == 2);
}

TEST_CASE("bazaarctl lists a saga whose payment never answers as stuck, and not a finished one") {
  operated_node n;
  test::create_product(n.c, n.admin, "ctl-lamp", 1500);
  auto checkout = [&](const std::string& customer, const std::string& card) {
    auto token = n.node.customer_token(customer);
    REQUIRE(test::add_item(n.c, token, "ctl-lamp", 1).status == 200);
    auto h = bearer(token);
    h.emplace_back("Idempotency-Key", "checkout-" + customer);
    auto r = n.c.request("POST", "/api/v1/basket/checkout",
                         json::serialize(json::object{{"payment", {{"card_token", card}}}}), h);
    INFO(r.body);
    REQUIRE(r.status == 202);
    return std::string(r.json().at("order_id").as_string());
  };
  auto silent = checkout("ctl-bob", "tok_timeout"); // the payment never answers (30 s timeout)
  auto paid = checkout("ctl-carol", "tok_ok");

  json::object stuck;
  bool listed = test::eventually(
      [&] {
        stuck = n.ctl_json({"sagas", "--stuck", "500ms"});
        for (const auto& s : stuck.at("items").as_array())
          if (s.at("order_id") == json::value(silent))
            return s.at("stage") == "paying";
        return false;
      },
      20s);
  INFO(json::serialize(stuck));
  REQUIRE(listed);
  for (const auto& s : stuck.at("items").as_array()) {
    CHECK(s.at("order_id") != json::value(paid)); // confirmed: not stuck
    if (s.at("order_id") == json::value(silent)) {
      CHECK(s.at("payment") == "requested");
      CHECK(s.at("customer_id") == "ctl-bob");
      CHECK(s.at("stuck_ms").as_int64() >= 500);
    }
  }
  auto table = n.ctl({"sagas", "--stuck", "500ms"});
  REQUIRE(table.status == 0);
  CHECK(table.out.find(silent) != std::string::npos);
  CHECK(table.out.find("paying") != std::string::npos);
  // Nothing has waited an hour.
  CHECK(n.ctl_json({"sagas", "--stuck", "1h"}).at("items").as_array().empty());

  // The order's journal, with the correlation id of the request that placed it.
  auto events = n.ctl({"events", "order/" + silent});
  REQUIRE(events.status == 0);
  CHECK(events.out.find("order-created") != std::string::npos);
}

TEST_CASE("bazaarctl lists a dead letter with its error and replays it to its source topic") {
  operated_node n;
  auto status = n.kafka_status();
  const std::string bootstrap(status.at("bootstrap_servers").as_string());
  REQUIRE(bootstrap.rfind("127.0.0.1:", 0) == 0); // loopback only
  const std::string topic = "product-reservation";
  {
    test::raw_producer p{bootstrap};
    p.send(topic, "ctl-poison", "this is not an event envelope");
  }
  auto dead_letters = [&] {
    return n.ctl_json({"kafka"}).at("dead_letters").at("records").as_int64();
  };
  REQUIRE(test::eventually([&] { return dead_letters() == 1; }, 30s));

  auto list = n.ctl_json({"dlq", "list", "--topic", topic});
  REQUIRE(list.at("items").as_array().size() == 1);
  const auto& d = list.at("items").at(0).as_object();
  CHECK(d.at("topic") == json::value(topic + ".dlq"));
  CHECK(d.at("source_topic") == json::value(topic));
  CHECK(d.at("key") == "ctl-poison");
  CHECK_FALSE(d.at("error").as_string().empty());
  CHECK(d.at("replayed") == false);
  auto table = n.ctl({"dlq", "list"});
  REQUIRE(table.status == 0);
  CHECK(table.out.find(topic + ".dlq") != std::string::npos);

  // Replayed: the record is on its source topic again, the bridge takes it, and (still not an
  // envelope) dead-letters it a second time.
  auto record = topic + ".dlq:" + std::to_string(d.at("partition").as_int64()) + ":" +
                std::to_string(d.at("offset").as_int64());
  auto replayed = n.ctl_json({"dlq", "replay", record});
  CHECK(replayed.at("replayed") == 1);
  REQUIRE(test::eventually([&] { return dead_letters() == 2; }, 30s));

  // Replay all: both (nothing was replayed "all" before); then the mark is past them.
  CHECK(n.ctl_json({"dlq", "replay", "--all"}).at("replayed") == 2);
  REQUIRE(test::eventually([&] { return dead_letters() == 4; }, 30s));
  auto marked = n.ctl_json({"dlq", "list"});
  REQUIRE(marked.at("items").as_array().size() == 4);
  int replayed_marks = 0;
  for (const auto& i : marked.at("items").as_array())
    replayed_marks += i.at("replayed") == true ? 1 : 0;
  CHECK(replayed_marks == 2);

  // A record that does not exist is refused, and changes nothing.
  auto missing = n.ctl({"dlq", "replay", topic + ".dlq:0:999999"});
  CHECK(missing.status == 1);
  CHECK(missing.err.find("no dead letter") != std::string::npos);
}

TEST_CASE("bazaarctl says in one line why it failed: exit 1 for an unreachable node or a refused "
          "token, 2 for a usage error, every command has --help") {
  operated_node n;
  // Kafka's lag, as the brokers hold it, for the bridge and each projection.
  auto k = n.ctl_json({"kafka"});
  bool bridge = false;
  for (const auto& g : k.at("groups").as_array())
    bridge = bridge || g.at("role") == "bridge";
  CHECK(bridge);
  CHECK(k.at("outbox").at("backlog").is_int64());
  auto kafka_table = n.ctl({"kafka"});
  CHECK(kafka_table.out.find("GROUP") != std::string::npos);
  CHECK(kafka_table.out.find("events not published yet") != std::string::npos);
  auto cluster = n.ctl({"cluster"});
  REQUIRE(cluster.status == 0);
  CHECK(cluster.out.find("alive") != std::string::npos);

  // Nobody listens on port 1 of loopback.
  auto unreachable = test::bazaarctl(1, test::test_jwt_secret, {"cluster"});
  CHECK(unreachable.status == 1);
  CHECK(unreachable.err.find("cannot reach http://127.0.0.1:1") != std::string::npos);
  CHECK(std::count(unreachable.err.begin(), unreachable.err.end(), '\n') == 1);

  auto refused = test::bazaarctl(n.node.port(), "not-the-node-secret", {"grains"});
  CHECK(refused.status == 1);
  CHECK(refused.err.find("refused the token (401") != std::string::npos);
  CHECK(std::count(refused.err.begin(), refused.err.end(), '\n') == 1);

  auto customer = n.ctl({"--token", n.node.customer_token("ctl-eve"), "grains"});
  CHECK(customer.status == 1);
  CHECK(customer.err.find("not an admin's (403") != std::string::npos);

  CHECK(n.ctl({"grain", "no-slash"}).status == 2);
  CHECK(n.ctl({"sagas", "--stuck", "soon"}).status == 2);
  CHECK(n.ctl({"dlq", "replay", "just-a-topic"}).status == 2);
  CHECK(n.ctl({"frobnicate"}).status == 2);
  CHECK(n.ctl({"grain", "basket/x y"}).status == 1); // the node refuses the key: 422

  // A mistyped command names itself and the command meant, and exits 2.
  auto typo = n.ctl({"clustr"});
  CHECK(typo.status == 2);
  CHECK(typo.err.find("unknown command \"clustr\"") != std::string::npos);
  CHECK(typo.err.find("did you mean \"cluster\"") != std::string::npos);
  auto typo_after_options = n.ctl({"--timeout", "2000", "grians", "--json"});
  CHECK(typo_after_options.status == 2);
  CHECK(typo_after_options.err.find("unknown command \"grians\"") != std::string::npos);
  auto none = n.ctl({});
  CHECK(none.status == 2);
  CHECK(none.err.find("a command is required") != std::string::npos);
  // An unknown grain type is an error, as it is for one grain.
  auto unknown_type = n.ctl({"grains", "--type", "nosuch"});
  CHECK(unknown_type.status == 1);
  CHECK(unknown_type.err.find("unknown grain type nosuch") != std::string::npos);
  auto unknown_grain = n.ctl({"grain", "nosuch/x"});
  CHECK(unknown_grain.status == 1);
  CHECK(unknown_grain.err.find("unknown grain type nosuch") != std::string::npos);

  for (std::vector<std::string> help : {std::vector<std::string>{"--help"},
                                        {"cluster", "--help"},
                                        {"grains", "--help"},
                                        {"grain", "--help"},
                                        {"deactivate", "--help"},
                                        {"kafka", "--help"},
                                        {"dlq", "--help"},
                                        {"dlq", "list", "--help"},
                                        {"dlq", "replay", "--help"},
                                        {"sagas", "--help"},
                                        {"events", "--help"},
                                        {"token", "--help"}}) {
    auto r = n.ctl(help);
    INFO(help.front() << ": " << r.err);
    CHECK(r.status == 0);
    CHECK(r.out.find("Usage") != std::string::npos);
  }
  // The help fits a screen: the node's configuration keys are one command away, not in it.
  auto help = n.ctl({"--help"});
  INFO(help.out);
  CHECK(std::count(help.out.begin(), help.out.end(), '\n') <= 40);
  CHECK(help.out.find("bazaar config-keys") != std::string::npos);
}
