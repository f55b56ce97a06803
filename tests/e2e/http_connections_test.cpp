// End-to-end tests of how the HTTP gateway handles connections under load: fresh connections
// (`Connection: close`, one per request) and kept-alive ones side by side, clients that leave
// with their request in flight, and the closing of idle kept-alive connections.
//
// The kernel gives a closed connection's fd number to the next connection accepted at once, and
// Pistache addresses writes by fd number: a close or an answer issued for a connection that is
// already gone lands on whichever connection has its number now. These tests make many
// connections come and go quickly so that numbers are reused all the time.

#include "support/http_client.hpp"
#include "support/test_node.hpp"

#include <boost/json.hpp>
#include <catch2/catch.hpp>

#include <atomic>
#include <chrono>
#include <string>
#include <thread>
#include <vector>

namespace json = boost::json;
using namespace std::chrono_literals;
using bazaar::test::bearer;
using bazaar::test::closed_before_answer;
using bazaar::test::header_list;
using bazaar::test::http_connection;
using bazaar::test::http_response;
using bazaar::test::test_node;

namespace {

using clock_type = std::chrono::steady_clock;

/// What one client saw. Each client thread has its own; they are added up at the end.
struct tally {
  int requests = 0;               ///< requests sent (or attempted)
  int ok = 0;                     ///< complete 200 answers carrying the request's correlation id
  int other_status = 0;           ///< complete answers with another status
  int foreign = 0;                ///< complete answers carrying another request's correlation id
  int closed_unanswered = 0;      ///< connection closed before a complete answer
  int left_open = 0;              ///< `Connection: close` answered, but the connection not closed
  int errors = 0;                 ///< connect failures, timeouts, anything else
  int adds_acknowledged = 0;      ///< basket adds answered 200
  int adds_unknown = 0;           ///< basket adds without a complete answer (may or may not apply)
  std::vector<std::string> notes; ///< the first few problems, for the failure message

  void note(const std::string& text) {
    if (notes.size() < 5)
      notes.push_back(text);
  }

  void add(const tally& o) {
    requests += o.requests;
    ok += o.ok;
    other_status += o.other_status;
    foreign += o.foreign;
    closed_unanswered += o.closed_unanswered;
    left_open += o.left_open;
    errors += o.errors;
    adds_acknowledged += o.adds_acknowledged;
    adds_unknown += o.adds_unknown;
    for (const auto& n : o.notes)
      note(n);
  }
};

/// The products adds rotate over (a basket line holds at most 999 units).
const std::vector<std::string> skus{"conn-a", "conn-b", "conn-c", "conn-d",
                                    "conn-e", "conn-f", "conn-g", "conn-h"};

/// The body of a valid product creation.
std::string product_body(const std::string& sku) {
  return json::serialize(json::object{{"sku", sku},
                                      {"name", "Product " + sku},
                                      {"category", "tools"},
                                      {"price_cents", 100},
                                      {"currency", "USD"},
                                      {"stock", 10}});
}

/// One request of a client: every eighth adds one unit to the basket, the others read it.
struct exchange {
  bool add = false;
  std::string method;
  std::string path;
  std::string body;
};

exchange exchange_for(int i) {
  if (i % 8 != 0)
    return {false, "GET", "/api/v1/basket", ""};
  const auto& sku = skus[static_cast<std::size_t>(i / 8) % skus.size()];
  return {true, "POST", "/api/v1/basket/items",
          json::serialize(json::object{{"sku", sku}, {"quantity", 1}})};
}

/// How a client uses a connection.
enum class ending {
  /// Kept alive: no Connection header, the next request follows on the same connection.
  keep,
  /// `Connection: close`; after the answer the client waits for the server to close.
  await_close,
  /// `Connection: close`; the client closes as soon as the answer is complete, as HTTP
  /// clients do, so the server sees EOF while it may still be finishing the exchange. (With
  /// RST, which leaves no TIME_WAIT behind on the client's side.)
  hang_up,
};

/// Sends one exchange on `c` and records what came back. Returns false when the connection
/// can no longer be used.
bool run_exchange(http_connection& c, const exchange& x, header_list headers,
                  const std::string& correlation_id, ending how, tally& t) {
  ++t.requests;
  headers.emplace_back("X-Correlation-Id", correlation_id);
  const bool close = how != ending::keep;
  if (close)
    headers.emplace_back("Connection", "close");
  http_response r;
  try {
    r = c.request(x.method, x.path, x.body, headers);
  } catch (const closed_before_answer& e) {
    ++t.closed_unanswered;
    t.adds_unknown += x.add ? 1 : 0;
    t.note(correlation_id + ": " + e.what());
    return false;
  } catch (const std::exception& e) {
    ++t.errors;
    t.adds_unknown += x.add ? 1 : 0;
    t.note(correlation_id + ": " + e.what());
    return false;
  }
  if (r.header("X-Correlation-Id") != correlation_id) {
    ++t.foreign;
    t.adds_unknown += x.add ? 1 : 0;
    t.note(correlation_id + ": answer of another request (" + r.header("X-Correlation-Id") + ")");
    return false;
  }
  if (r.status != 200) {
    ++t.other_status;
    t.note(correlation_id + ": status " + std::to_string(r.status) + " " + r.body);
    return !r.server_closed;
  }
  ++t.ok;
  t.adds_acknowledged += x.add ? 1 : 0;
  if (how == ending::hang_up) {
    c.close(true);
  } else if (how == ending::await_close && !r.server_closed && !c.wait_for_close(10s)) {
    ++t.left_open;
    t.note(correlation_id + ": Connection: close answered, connection left open");
  }
  return !close;
}

} // namespace

TEST_CASE("every request on fresh and kept-alive connections is answered, and each add counted") {
  // 16 clients open a connection per request (`Connection: close`; after every other answer
  // they close it themselves, after the others they wait for the server to), 2000 requests
  // each; 8 keep one connection for 8500 requests each: 100,000 requests to be answered. While
  // the first ones run, 2 more clients connect, send a request and leave at once, 5000 times
  // each (their fd numbers come free while their answers are being prepared). Every eighth
  // request adds one unit to the client's basket, the others read it.
  constexpr int fresh_clients = 16;
  constexpr int kept_alive_clients = 8;
  constexpr int leaving_clients = 2;
  constexpr int fresh_requests = 2000;
  constexpr int kept_alive_requests = 8500;
  constexpr int clients = fresh_clients + kept_alive_clients;
  constexpr int total = fresh_clients * fresh_requests + kept_alive_clients * kept_alive_requests;
  const auto deadline = clock_type::now() + 150s;

  test_node node;
  {
    auto admin = node.connect();
    for (const auto& sku : skus) {
      auto r =
          admin.request("POST", "/api/v1/products", product_body(sku), bearer(node.admin_token()));
      INFO(r.body);
      REQUIRE(r.status == 201);
    }
  }
  std::vector<std::string> customers;
  std::vector<std::string> tokens;
  for (int k = 0; k < clients; ++k) {
    customers.push_back("conn-customer-" + std::to_string(k));
    tokens.push_back(node.customer_token(customers.back()));
  }

  std::vector<tally> tallies(clients);
  std::atomic<int> fresh_running{fresh_clients};
  std::atomic<int> left{0};
  std::vector<std::thread> threads;
  for (int k = 0; k < clients; ++k) {
    threads.emplace_back([&, k] {
      auto& t = tallies[static_cast<std::size_t>(k)];
      const bool fresh = k < fresh_clients;
      const auto auth = bearer(tokens[static_cast<std::size_t>(k)]);
      std::unique_ptr<http_connection> kept;
      const int requests = fresh ? fresh_requests : kept_alive_requests;
      for (int i = 0; i < requests && clock_type::now() < deadline; ++i) {
        auto x = exchange_for(i);
        auto cid = "c" + std::to_string(k) + "-" + std::to_string(i);
        try {
          if (fresh) {
            http_connection c{node.port()};
            run_exchange(c, x, auth, cid, i % 2 == 0 ? ending::hang_up : ending::await_close, t);
          } else {
            if (!kept)
              kept = std::make_unique<http_connection>(node.port());
            if (!run_exchange(*kept, x, auth, cid, ending::keep, t))
              kept.reset();
          }
        } catch (const std::exception& e) { // connect failed
          ++t.requests;
          ++t.errors;
          t.note(cid + ": " + e.what());
        }
      }
      if (fresh)
        --fresh_running;
    });
  }
  for (int k = 0; k < leaving_clients; ++k) {
    threads.emplace_back([&, k] {
      const auto auth = "Authorization: Bearer " + tokens[static_cast<std::size_t>(k)] + "\r\n";
      for (int i = 0; i < 5000 && fresh_running.load() > 0 && clock_type::now() < deadline; ++i) {
        try {
          http_connection c{node.port()};
          c.send_raw("GET /api/v1/basket HTTP/1.1\r\nHost: 127.0.0.1\r\n" + auth +
                     "X-Correlation-Id: gone-" + std::to_string(k) + "-" + std::to_string(i) +
                     "\r\n\r\n");
          c.close(true); // RST: no TIME_WAIT left behind on this side
          ++left;
        } catch (const std::exception&) {
          // the node refusing a connection shows up in the other clients' tallies
        }
      }
    });
  }
  for (auto& th : threads)
    th.join();

  tally all;
  for (const auto& t : tallies)
    all.add(t);
  INFO("requests " << all.requests << ", 200 " << all.ok << ", other status " << all.other_status
                   << ", foreign answers " << all.foreign << ", closed without answer "
                   << all.closed_unanswered << ", left open " << all.left_open << ", errors "
                   << all.errors << "; " << left.load() << " requests left behind");
  std::string notes;
  for (const auto& n : all.notes)
    notes += "\n  " + n;
  INFO("first problems:" << notes);
  CHECK(all.requests == total);
  CHECK(all.closed_unanswered == 0);
  CHECK(all.foreign == 0);
  CHECK(all.left_open == 0);
  CHECK(all.other_status == 0);
  CHECK(all.errors == 0);
  CHECK(all.ok == total);
  CHECK(left.load() > 0);

  // Every acknowledged add is in its basket; an add without an answer may or may not be.
  auto reader = node.connect();
  for (int k = 0; k < clients; ++k) {
    const auto& t = tallies[static_cast<std::size_t>(k)];
    auto r =
        reader.request("GET", "/api/v1/basket", "", bearer(tokens[static_cast<std::size_t>(k)]));
    REQUIRE(r.status == 200);
    auto basket = r.json().as_object();
    std::int64_t units = 0;
    for (const auto& item : basket.at("items").as_array())
      units += item.as_object().at("quantity").to_number<std::int64_t>();
    INFO(customers[static_cast<std::size_t>(k)] << ": " << units << " units, "
                                                << t.adds_acknowledged << " adds acknowledged, "
                                                << t.adds_unknown << " unknown");
    CHECK(units >= t.adds_acknowledged);
    CHECK(units <= t.adds_acknowledged + t.adds_unknown);
    CHECK(basket.at("version").to_number<std::int64_t>() == units);
  }
}

TEST_CASE("a kept-alive connection idle for http.keepalive_timeout_ms is closed, a busy one not") {
  auto opts = bazaar::test::test_node_options();
  opts.http.keepalive_timeout_ms = 400;
  test_node node{opts};

  auto idle = node.connect();
  auto first = idle.request("GET", "/healthz");
  REQUIRE(first.status == 200);
  CHECK_FALSE(first.server_closed);

  // Busy for three keep-alive timeouts, a request every 100 ms, all on this one connection
  // (request() throws if the server closed it).
  auto busy = node.connect();
  for (int i = 0; i < 12; ++i) {
    auto r = busy.request("GET", "/healthz");
    REQUIRE(r.status == 200);
    CHECK_FALSE(r.server_closed);
    std::this_thread::sleep_for(100ms);
  }

  // The idle one was closed meanwhile.
  CHECK(idle.wait_for_close(10s));
  // And the busy one goes the same way once it is left alone.
  CHECK(busy.wait_for_close(10s));
}
