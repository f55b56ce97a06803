// bazaar-load, the real executable, against a node on PostgreSQL and the embedded Kafka: short
// bounded basket (closed and open loop) and checkout runs whose consistency checks pass, a lost
// write injected into the tool's model (never into the node) that the check catches, and the
// errors of bad usage and of a node that is not there.

#include "support/api_checks.hpp"
#include "support/test_node.hpp"
#include "support/tool.hpp"

#include <boost/json.hpp>
#include <catch2/catch.hpp>

#include <fstream>
#include <sstream>

using namespace bazaar;
using test::bearer;
using test::ctl_result;
using test::test_node;
namespace json = boost::json;

namespace {

/// Runs `bazaar-load <args...> --url <the node> --jwt-secret <its secret> --no-progress`.
ctl_result load(const test_node& node, std::vector<std::string> args) {
  args.insert(args.end(), {"--url", "http://127.0.0.1:" + std::to_string(node.port()),
                           "--jwt-secret", test::test_jwt_secret, "--no-progress"});
  return test::run_tool("env -u BAZAAR_URL -u BAZAAR_JWT_SECRET " BAZAAR_LOAD_BIN, args, 240);
}

std::string slurp(const std::string& path) {
  std::ifstream in{path};
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

json::object report(const std::string& path) {
  auto text = slurp(path);
  REQUIRE_FALSE(text.empty());
  return json::parse(text).as_object();
}

std::string scratch(const std::string& name) {
  return "/tmp/bazaar-load-test-" + std::to_string(::getpid()) + "-" + name;
}

} // namespace

TEST_CASE("bazaar-load's basket scenario finds every acknowledged write in the node's baskets") {
  test_node node;
  auto json_file = scratch("basket.json"), chart_file = scratch("basket.svg");
  auto r = load(node, {"basket", "--requests", "600", "--concurrency", "8", "--customers", "40",
                       "--skus", "10", "--mix", "add=40,set=20,remove=10,get=20,clear=10",
                       "--run-id", "b1", "--json", json_file, "--chart", chart_file});
  INFO("stdout: " << r.out << "\nstderr: " << r.err);
  REQUIRE(r.status == 0);
  CHECK(r.out.find("consistency check passed") != std::string::npos);
  auto j = report(json_file);
  CHECK(j.at("requests").as_int64() == 600);
  CHECK(j.at("errors").as_int64() == 0);
  const auto& baskets = j.at("consistency").at("baskets").as_object();
  CHECK(baskets.at("lost_writes").as_int64() == 0);
  CHECK(baskets.at("phantom_writes").as_int64() == 0);
  CHECK(baskets.at("answers_compared").as_int64() == 600);
  CHECK(baskets.at("read_back").as_int64() > 0);
  CHECK(j.at("latency").at("p99_ms").as_double() > 0);
  CHECK(j.at("by_request").as_object().contains("add"));
  auto chart = slurp(chart_file);
  CHECK(chart.rfind("<?xml", 0) == 0);
  CHECK(chart.find("<polyline") != std::string::npos);
  CHECK(chart.find("</svg>") != std::string::npos);

  // The tool's products are the node's: seeded with their stock, and named after the run.
  auto c = node.connect();
  auto product = c.request("GET", "/api/v1/products/load-b1-s0", "", bearer(node.admin_token()));
  REQUIRE(product.status == 200);
  CHECK(product.json().at("stock").as_int64() == 1000000);
  std::remove(json_file.c_str());
  std::remove(chart_file.c_str());

  // The same in an open loop, a new connection per request: iterations on a schedule, the
  // budget spent either way.
  r = load(node,
           {"basket", "--rate", "300", "--requests", "300", "--concurrency", "8", "--customers",
            "40", "--skus", "10", "--run-id", "b2", "--no-keepalive", "--json", json_file});
  INFO("open loop stdout: " << r.out << "\nstderr: " << r.err);
  REQUIRE(r.status == 0);
  j = report(json_file);
  CHECK(j.at("mode") == "open");
  CHECK(j.at("requests").as_int64() + j.at("dropped").as_int64() == 300);
  CHECK(j.at("connections_opened").as_int64() == j.at("requests").as_int64());
  CHECK(j.at("consistency").at("passed").as_bool());
  std::remove(json_file.c_str());
}

TEST_CASE("bazaar-load's checkout scenario ends with every order final and the stock conserved") {
  test_node node;
  auto json_file = scratch("checkout.json");
  // Little stock and some declined cards: orders are confirmed, and cancelled both ways.
  auto r = load(node, {"checkout", "--requests", "24", "--concurrency", "4", "--customers", "12",
                       "--skus", "3", "--stock", "12", "--decline", "0.25", "--run-id", "k1",
                       "--json", json_file});
  INFO("stdout: " << r.out << "\nstderr: " << r.err);
  REQUIRE(r.status == 0);
  CHECK(r.out.find("stock: conserved") != std::string::npos);
  auto j = report(json_file);
  const auto& orders = j.at("consistency").at("orders").as_object();
  CHECK(orders.at("created").as_int64() >= 1);
  CHECK(orders.at("not_terminal").as_int64() == 0);
  CHECK(orders.at("confirmed").as_int64() + orders.at("cancelled").as_int64() ==
        orders.at("created").as_int64());
  CHECK(orders.at("stock_mismatches").as_array().empty());

  // Read independently: the units the node holds are the units the tool says were sold.
  auto c = node.connect();
  std::int64_t stock = 0, reserved = 0;
  for (int i = 0; i < 3; ++i) {
    auto p = c.request("GET", "/api/v1/products/load-k1-s" + std::to_string(i), "",
                       bearer(node.admin_token()));
    REQUIRE(p.status == 200);
    stock += p.json().at("stock").as_int64();
    reserved += p.json().at("reserved").as_int64();
  }
  CHECK(stock == 3 * 12 - orders.at("units_sold").as_int64());
  CHECK(reserved == 0);
  std::remove(json_file.c_str());
}

TEST_CASE("bazaar-load's consistency check catches a lost write injected into its model") {
  test_node node;
  auto json_file = scratch("lost.json");
  auto r =
      load(node, {"basket", "--requests", "100", "--concurrency", "4", "--customers", "10",
                  "--skus", "5", "--run-id", "l1", "--inject-lost-write", "--json", json_file});
  INFO("stdout: " << r.out << "\nstderr: " << r.err);
  CHECK(r.status == 1);
  CHECK(r.out.find("consistency check FAILED") != std::string::npos);
  CHECK(r.out.find("lost write (in the final read)") != std::string::npos);
  auto j = report(json_file);
  CHECK(j.at("consistency").at("baskets").at("lost_writes").as_int64() == 1);
  CHECK(j.at("consistency").at("baskets").at("phantom_writes").as_int64() == 0);
  CHECK(j.at("errors").as_int64() == 0);
  std::remove(json_file.c_str());
}

TEST_CASE("bazaar-load refuses bad usage and a node it cannot reach with a clear error") {
  test_node node;
  auto r = load(node, {"basket", "--customers", "4", "--concurrency", "8"});
  CHECK(r.status == 2);
  CHECK(r.err.find("--customers (4) must be more than --concurrency (8)") != std::string::npos);

  r = load(node, {"basket", "--duration", "soon"});
  CHECK(r.status == 2);
  CHECK(r.err.find("not a duration") != std::string::npos);

  r = load(node, {"basket", "--mix", "add=1,buy=2"});
  CHECK(r.status == 2);
  CHECK(r.err.find("unknown operation \"buy\"") != std::string::npos);

  // Nothing listens on port 1 of 127.0.0.1: set-up fails before any load.
  r = test::run_tool(BAZAAR_LOAD_BIN, {"basket", "--url", "http://127.0.0.1:1", "--requests", "10",
                                       "--no-progress", "--timeout", "2s"});
  CHECK(r.status == 2);
  CHECK(r.err.find("cannot set up the run on http://127.0.0.1:1") != std::string::npos);
  CHECK(r.err.find("connect") != std::string::npos);
}
