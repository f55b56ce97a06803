// Structured logs of a real node: the `bazaar` executable as a child process with JSON logs
// at info written to a file, a checkout approved, one declined and one whose payment never
// answers (the saga's timer cancels it), each sent with an X-Correlation-Id of its own. Every line
// must parse as a JSON object with the fields every line has, and the lines carrying each
// correlation id must cover every step of that order's path (basket, order, saga, inventory,
// payment, and back), each with the order id; no secret may appear. Bounded in time, loopback only;
// the node is stopped by its pid.

#include "bazaar/runtime/logging.hpp"

#include "support/eventually.hpp"
#include "support/http_client.hpp"
#include "support/node_process.hpp"
#include "support/pg_schema.hpp"
#include "support/test_node.hpp"

#include <boost/json.hpp>
#include <catch2/catch.hpp>

#include <unistd.h>

#include <csignal>
#include <fstream>
#include <sstream>

using namespace bazaar;
using namespace std::chrono_literals;
using test::http_connection;
using test::node_process;
namespace json = boost::json;

namespace {

/// A file of this test's own for the node's output, removed at the end.
struct temp_file {
  std::string path = "/tmp/bazaar-log-test-" + std::to_string(::getpid()) + "-" +
                     std::to_string(test::free_port()) + ".log";
  ~temp_file() { std::remove(path.c_str()); }
};

std::string read_all(const std::string& path) {
  std::ifstream in{path};
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

struct log_line {
  std::string text;
  json::object fields;

  std::string field(const char* name) const {
    const auto* v = fields.if_contains(name);
    return v != nullptr && v->is_string() ? std::string(v->get_string()) : std::string{};
  }
};

/// Every complete line of the log; a line that is not a JSON object fails the test.
std::vector<log_line> parse_log(const std::string& text) {
  std::vector<log_line> lines;
  std::size_t start = 0;
  for (auto nl = text.find('\n'); nl != std::string::npos; nl = text.find('\n', start)) {
    log_line l{text.substr(start, nl - start), {}};
    start = nl + 1;
    boost::system::error_code ec;
    auto v = json::parse(l.text, ec);
    INFO(l.text);
    REQUIRE_FALSE(ec);
    REQUIRE(v.is_object());
    l.fields = std::move(v.get_object());
    lines.push_back(std::move(l));
  }
  return lines;
}

/// The lines carrying correlation id `cid`.
std::vector<log_line> lines_of(const std::vector<log_line>& all, const std::string& cid) {
  std::vector<log_line> out;
  for (const auto& l : all)
    if (l.field("correlation_id") == cid)
      out.push_back(l);
  return out;
}

/// Whether some line's msg contains every one of `parts`.
bool has_step(const std::vector<log_line>& lines, std::initializer_list<std::string> parts) {
  for (const auto& l : lines) {
    auto msg = l.field("msg");
    bool all = true;
    for (const auto& p : parts)
      all = all && msg.find(p) != std::string::npos;
    if (all)
      return true;
  }
  return false;
}

enum class outcome { approved, declined, timed_out };

/// The steps of a checkout as its log lines say them, in the order they happen.
std::vector<std::vector<std::string>> steps(outcome how) {
  std::vector<std::vector<std::string>> out{
      {"handled basket_checkout", "basket-checked-out"},                     // the HTTP checkout
      {"handled order_create", "order-created"},                             // order created
      {"handled record order-created", "product-reservation(type=reserve)"}, // saga started
      {"handled record product-reservation(type=reserve)", "product-reserved(status=reserved)"},
      {"handled order_advance", "order-status-changed(to=stock_reserved)"},
      {"handled record product-reserved(status=reserved)", "payment-pending(type=charge)"},
      {"handled record payment-pending(type=charge)", ""},
  };
  switch (how) {
  case outcome::approved:
    out.push_back(
        {"handled record payment-pending(type=charge)", "payment-processed(status=approved"});
    out.push_back(
        {"handled record payment-processed(status=approved", "product-reservation(type=commit)"});
    out.push_back({"handled order_advance",
                   "order-status-changed(to=paid), order-status-changed(to=confirmed)"});
    out.push_back({"handled record product-reservation(type=commit)", "stock-updated"});
    break;
  case outcome::declined:
    out.push_back(
        {"handled record payment-pending(type=charge)", "payment-processed(status=declined"});
    out.push_back(
        {"handled record payment-processed(status=declined", "product-reservation(type=release)"});
    out.push_back(
        {"handled order_advance", "order-status-changed(to=cancelled, reason=payment_declined)"});
    out.push_back({"handled record product-reservation(type=release)", "stock-updated"});
    break;
  case outcome::timed_out:
    // The gateway never answers: the saga's reminder compensates, with the order's id.
    out.push_back({"handled reminder payment-timeout", "product-reservation(type=release)"});
    out.push_back(
        {"handled order_advance", "order-status-changed(to=cancelled, reason=payment_timeout)"});
    out.push_back({"handled record product-reservation(type=release)", "stock-updated"});
    break;
  }
  return out;
}

/// Fills `customer`'s basket and checks out with `card` and correlation id `cid`; the answer.
test::http_response checkout(http_connection& c, const std::string& customer,
                             const std::string& card, const std::string& cid) {
  auto t = node_process::token(customer);
  auto r = c.request("POST", "/api/v1/basket/items",
                     json::serialize(json::object{{"sku", "log-sku"}, {"quantity", 2}}),
                     test::bearer(t));
  REQUIRE(r.status == 200);
  auto h = test::bearer(t);
  h.emplace_back("Idempotency-Key", "k-" + customer);
  h.emplace_back("X-Correlation-Id", cid);
  return c.request("POST", "/api/v1/basket/checkout",
                   json::serialize(json::object{{"payment", {{"card_token", card}}}}), h);
}

std::string order_status(http_connection& c, const std::string& customer,
                         const std::string& order_id) {
  auto r = c.request("GET", "/api/v1/orders/" + order_id, {},
                     test::bearer(node_process::token(customer)));
  return r.status == 200 ? std::string(r.json().at("status").as_string()) : std::string{};
}

} // namespace

TEST_CASE("a correlation id sent with a checkout appears in the log line of every step, with "
          "the order id, and no secret is logged") {
  test::pg_schema schema;
  temp_file log;
  auto unique = std::to_string(::getpid()) + "-" + std::to_string(test::free_port());
  // One order per outcome: customer, card, correlation id, the order's last status.
  struct order_case {
    outcome how;
    std::string customer, card, cid, terminal, order_id;
  };
  std::vector<order_case> cases{
      {outcome::approved, "log-ok", "tok_ok", "log-ok-" + unique, "confirmed", {}},
      {outcome::declined, "log-declined", "tok_decline", "log-declined-" + unique, "cancelled", {}},
      {outcome::timed_out, "log-timeout", "tok_timeout", "log-timeout-" + unique, "cancelled", {}},
  };
  {
    node_process node{schema.name(),
                      {"log.level=info", "log.format=json", "kafka.group_id=log-test",
                       "postgres.reminder_poll_ms=100", "saga.payment_timeout_ms=1500",
                       // Every step a record: the log shows each hop of the kafka transport.
                       "saga.transport=kafka"},
                      30s,
                      BAZAAR_BIN,
                      log.path};
    http_connection c{node.port()};
    auto admin = node_process::token("admin", auth::role::admin);
    auto created = c.request("POST", "/api/v1/products",
                             json::serialize(json::object{{"sku", "log-sku"},
                                                          {"name", "Logged"},
                                                          {"category", "logs"},
                                                          {"price_cents", 250},
                                                          {"stock", 10}}),
                             test::bearer(admin));
    REQUIRE(created.status == 201);

    for (auto& o : cases) {
      auto r = checkout(c, o.customer, o.card, o.cid);
      REQUIRE(r.status == 202);
      CHECK(r.header("X-Correlation-Id") == o.cid);
      o.order_id = std::string(r.json().at("order_id").as_string());
    }
    for (const auto& o : cases) {
      INFO(o.customer);
      REQUIRE(test::eventually(
          [&] { return order_status(c, o.customer, o.order_id) == o.terminal; }, 30s, 50ms));
    }
    // The stock's commit and releases come through Kafka after the order's last step: wait
    // until their lines are written (the rest is checked below, once the node stopped).
    REQUIRE(test::eventually(
        [&] {
          auto text = read_all(log.path);
          std::size_t releases = 0;
          for (auto at = text.find("handled record product-reservation(type=release)");
               at != std::string::npos;
               at = text.find("handled record product-reservation(type=release)", at + 1))
            ++releases;
          return text.find("handled record product-reservation(type=commit)") !=
                     std::string::npos &&
                 releases >= 2;
        },
        30s, 50ms));
    CHECK(node.stop(SIGTERM, 15s) == 0);
  }

  auto text = read_all(log.path);
  REQUIRE(!text.empty());
  CHECK(text.back() == '\n');
  auto all = parse_log(text);
  for (const auto& l : all) {
    INFO(l.text);
    for (const char* name : {"time", "level", "node", "logger", "msg"}) {
      INFO(name);
      CHECK(!l.field(name).empty());
    }
  }

  for (const auto& o : cases) {
    auto mine = lines_of(all, o.cid);
    INFO("correlation id " << o.cid << ", order " << o.order_id << ", " << mine.size() << " lines");
    REQUIRE(!mine.empty());
    for (const auto& l : mine) {
      INFO(l.text);
      CHECK(l.field("order_id") == o.order_id);
      CHECK(!l.field("grain").empty());
    }
    for (const auto& step : steps(o.how)) {
      INFO("step: " << step[0] << " ... " << step[1]);
      CHECK(has_step(mine, {step[0], step[1]}));
    }
    // Every line about this order carries its correlation id (and no other).
    for (const auto& l : all)
      if (l.field("order_id") == o.order_id) {
        INFO(l.text);
        CHECK(l.field("correlation_id") == o.cid);
      }
  }

  // Secrets: the JWT secret, bearer tokens, the PostgreSQL URL and its password, card tokens.
  auto url = test::test_postgres_url();
  auto password = runtime::password_in(url);
  CHECK(text.find(node_process::secret()) == std::string::npos);
  CHECK(text.find(url) == std::string::npos);
  if (!password.empty())
    CHECK(text.find(":" + password + "@") == std::string::npos);
  CHECK(text.find(node_process::token("log-ok").substr(0, 36)) == std::string::npos);
  CHECK(text.find("tok_ok") == std::string::npos);
  CHECK(text.find("tok_decline") == std::string::npos);
  CHECK(text.find("tok_timeout") == std::string::npos);
}

TEST_CASE("a request without a usable X-Correlation-Id gets one the node made, in its answer") {
  test::pg_schema schema;
  node_process node{schema.name(), {"log.format=json"}, 30s};
  http_connection c{node.port()};
  auto first = c.request("GET", "/healthz");
  auto second = c.request("GET", "/healthz");
  REQUIRE(first.status == 200);
  auto made = first.header("X-Correlation-Id");
  CHECK(!made.empty());
  CHECK(made.size() <= 128);
  CHECK(second.header("X-Correlation-Id") != made);
  // Sent: echoed, on errors too.
  auto echoed = c.request("GET", "/no/such/route", {}, {{"X-Correlation-Id", "mine-123"}});
  CHECK(echoed.status == 404);
  CHECK(echoed.header("X-Correlation-Id") == "mine-123");
  // Too long, or not visible ASCII: replaced.
  auto long_id = std::string(129, 'a');
  auto replaced = c.request("GET", "/healthz", {}, {{"X-Correlation-Id", long_id}});
  CHECK(!replaced.header("X-Correlation-Id").empty());
  CHECK(replaced.header("X-Correlation-Id") != long_id);
  auto odd = c.request("GET", "/healthz", {}, {{"X-Correlation-Id", "caf\xc3\xa9 \x01"}});
  CHECK(odd.header("X-Correlation-Id").find("caf") == std::string::npos);
  CHECK(node.stop(SIGTERM, 15s) == 0);
}

TEST_CASE("a password in a PostgreSQL URL that the node cannot use never reaches its log") {
  test::pg_schema schema;
  // libpq's errors quote the URL (or the bad part of it) they could not parse.
  for (std::string url : {"postgresql://shop:Leaky-Pass-987@[::1:5432/db",
                          "postgresql://shop:Leaky%zzPass987@127.0.0.1:1/db"}) {
    INFO(url);
    auto run = test::run_until_exit(
        BAZAAR_BIN, schema.name(),
        {"postgres.url=" + url, "postgres.connect_timeout_ms=300", "log.format=json"}, 5s);
    INFO(run.output);
    CHECK(run.output.find("not reachable") != std::string::npos);
    CHECK(run.output.find("Leaky") == std::string::npos);
    CHECK(run.output.find("***") != std::string::npos);
  }
}
