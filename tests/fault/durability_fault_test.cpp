// Durability under faults, against the real executable and a real PostgreSQL: a node killed
// with SIGKILL mid-load, PostgreSQL (a cluster of the test's own) restarted under load, and
// another activation's write behind an active grain's back. Every test is bounded in time and
// talks only to 127.0.0.1.

#include "bazaar/gateway/jwt.hpp"

#include "support/http_client.hpp"
#include "support/node_process.hpp"
#include "support/pg_schema.hpp"
#include "support/test_node.hpp"

#include <catch2/catch.hpp>

#include <algorithm>
#include <atomic>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <mutex>
#include <thread>

#include <sys/wait.h>
#include <unistd.h>

using namespace bazaar;
using namespace std::chrono_literals;
using test::http_connection;
using test::node_process;

namespace {

std::string token(const std::string& sub, auth::role role = auth::role::customer) {
  return node_process::token(sub, role);
}

using test::bearer;

void create_product(std::uint16_t port) {
  http_connection c{port};
  auto r = c.request("POST", "/api/v1/products",
                     R"({"sku":"SKU-1","name":"Mug","category":"kitchen","price_cents":100,)"
                     R"("stock":1000})",
                     bearer(token("admin", auth::role::admin)));
  REQUIRE(r.status == 201);
}

/// What the clients learned about one basket's line: the last quantity acknowledged, and the
/// one whose answer never came (it may or may not have committed).
struct basket_log {
  int acked = 0;
  int unanswered = 0;
};

/// Clients that keep setting the quantity of their baskets' line, one request at a time each,
/// and log what was acknowledged. A 503 is retried with the same value (docs/API.md: safe).
class writers {
 public:
  writers(std::uint16_t port, int clients, int baskets_per_client)
      : port_(port), logs_(static_cast<std::size_t>(clients * baskets_per_client)) {
    for (int c = 0; c < clients; ++c)
      threads_.emplace_back([this, c, baskets_per_client] { run(c, baskets_per_client); });
  }
  ~writers() { stop(); }

  void stop() {
    running_ = false;
    for (auto& t : threads_)
      if (t.joinable())
        t.join();
  }

  std::vector<basket_log> logs() {
    std::lock_guard<std::mutex> guard{mtx_};
    return logs_;
  }
  static std::string customer(std::size_t index) { return "cust-" + std::to_string(index); }

  /// Waits until `n` writes in all were acknowledged, at most `within` (a loaded machine is
  /// slow, not wrong: the tests wait for a count, never for a rate); whether they were.
  bool wait_acked(long n, std::chrono::milliseconds within) {
    auto deadline = std::chrono::steady_clock::now() + within;
    while (acked.load() < n) {
      if (std::chrono::steady_clock::now() > deadline)
        return false;
      std::this_thread::sleep_for(10ms);
    }
    return true;
  }

  /// Waits until every basket had a write acknowledged, at most `within`; whether it had.
  bool wait_every_basket_acked(std::chrono::milliseconds within) {
    auto deadline = std::chrono::steady_clock::now() + within;
    for (;;) {
      {
        std::lock_guard<std::mutex> guard{mtx_};
        if (std::all_of(logs_.begin(), logs_.end(), [](const basket_log& l) { return l.acked; }))
          return true;
      }
      if (std::chrono::steady_clock::now() > deadline)
        return false;
      std::this_thread::sleep_for(10ms);
    }
  }

  std::atomic<long> acked{0};
  std::atomic<long> unavailable{0};
  std::atomic<long> other{0}; ///< any answer but 200 and 503
  std::map<int, long> other_statuses;

 private:
  void run(int c, int n) {
    std::vector<std::string> tokens;
    for (int i = 0; i < n; ++i)
      tokens.push_back(token(customer(static_cast<std::size_t>(c * n + i))));
    std::unique_ptr<http_connection> conn;
    int round = 0;
    while (running_) {
      ++round;
      for (int i = 0; i < n && running_; ++i) {
        auto index = static_cast<std::size_t>(c * n + i);
        int quantity = 1 + round % 999;
        bool done = false;
        while (!done && running_) {
          {
            std::lock_guard<std::mutex> guard{mtx_};
            logs_[index].unanswered = quantity;
          }
          try {
            if (!conn)
              conn = std::make_unique<http_connection>(port_, 6s);
            auto r = conn->request("PUT", "/api/v1/basket/items/SKU-1",
                                   "{\"quantity\":" + std::to_string(quantity) + "}",
                                   bearer(tokens[static_cast<std::size_t>(i)]));
            if (r.status == 200) {
              std::lock_guard<std::mutex> guard{mtx_};
              logs_[index].acked = quantity;
              logs_[index].unanswered = 0;
              ++acked;
              done = true;
            } else if (r.status == 503) {
              ++unavailable;
              std::this_thread::sleep_for(20ms);
            } else {
              std::lock_guard<std::mutex> guard{mtx_};
              ++other;
              ++other_statuses[r.status];
              done = true;
            }
          } catch (const std::exception&) {
            // The node is gone (killed) or the connection broke: the answer never came.
            conn.reset();
            std::this_thread::sleep_for(20ms);
          }
        }
      }
    }
  }

  std::uint16_t port_;
  std::atomic<bool> running_{true};
  std::mutex mtx_;
  std::vector<basket_log> logs_;
  std::vector<std::thread> threads_;
};

/// The quantity of the basket's line as the node answers it now (0 when there is none).
int stored_quantity(http_connection& c, std::size_t index) {
  auto r = c.request("GET", "/api/v1/basket", {}, bearer(token(writers::customer(index))));
  REQUIRE(r.status == 200);
  auto items = r.json().as_object()["items"].as_array();
  return items.empty() ? 0 : static_cast<int>(items[0].as_object()["quantity"].as_int64());
}

/// Runs a shell command as the postgres user; whether it succeeded.
bool as_postgres(const std::string& command) {
  std::string quoted = "'";
  for (char ch : command)
    quoted += ch == '\'' ? std::string{"'\\''"} : std::string(1, ch);
  quoted += "'";
  auto line = (::geteuid() == 0 ? "su postgres -s /bin/bash -c " : "sudo -n -u postgres bash -c ") +
              quoted + " >/dev/null 2>&1";
  return std::system(line.c_str()) == 0;
}

/// A PostgreSQL cluster of the test's own (Debian's pg_createcluster, on a free port), so
/// that restarting it disturbs no other test, nor another suite running on the machine at the
/// same time, as restarting the shared cluster would. Dropped with its data at the end.
class private_cluster {
 public:
  private_cluster()
      : name_("bazaar_fault_" + std::to_string(::getpid())), port_(test::free_port()) {
    bool ok = std::system("command -v pg_createcluster >/dev/null 2>&1") == 0;
    // Dropped at the end even if it was created but did not start.
    created_ = ok;
    ok = ok && std::system(("pg_createcluster " + version() + " " + name_ + " -p " +
                            std::to_string(port_) + " --start >/dev/null 2>&1")
                               .c_str()) == 0;
    ok = ok && as_postgres("psql -p " + std::to_string(port_) +
                           " -qc \"CREATE ROLE bazaar LOGIN PASSWORD 'bazaar'\" && createdb -p " +
                           std::to_string(port_) + " -O bazaar bazaar");
    usable_ = ok;
  }
  ~private_cluster() {
    if (created_)
      std::system(
          ("pg_dropcluster --stop " + version() + " " + name_ + " >/dev/null 2>&1").c_str());
  }
  private_cluster(const private_cluster&) = delete;
  private_cluster& operator=(const private_cluster&) = delete;

  /// Whether the cluster runs and takes the bazaar role (pg_createcluster needs root or the
  /// postgres user).
  bool usable() const { return usable_; }
  std::string url() const {
    return "postgresql://bazaar:bazaar@127.0.0.1:" + std::to_string(port_) + "/bazaar";
  }
  bool restart() const {
    return std::system(
               ("pg_ctlcluster " + version() + " " + name_ + " restart >/dev/null 2>&1").c_str()) ==
           0;
  }

 private:
  /// The newest installed PostgreSQL major version, as the scripts pick it.
  static std::string version() {
    std::string v;
    if (auto* p = ::popen("ls /usr/lib/postgresql 2>/dev/null | sort -n | tail -1", "r")) {
      char buf[32] = {};
      if (std::fgets(buf, sizeof buf, p))
        v = buf;
      ::pclose(p);
    }
    while (!v.empty() && (v.back() == '\n' || v.back() == ' '))
      v.pop_back();
    return v.empty() ? "15" : v;
  }

  std::string name_;
  std::uint16_t port_;
  bool created_ = false;
  bool usable_ = false;
};

} // namespace

TEST_CASE("every acknowledged basket write survives a SIGKILL of the node mid-load") {
  test::pg_schema schema;
  std::vector<basket_log> logs;
  {
    node_process node{schema.name()};
    create_product(node.port());
    writers load{node.port(), 8, 25};
    // Killed mid-load: once every basket has been written and 400 writes in all were
    // acknowledged, with the 8 clients still writing.
    REQUIRE(load.wait_every_basket_acked(60s));
    REQUIRE(load.wait_acked(400, 60s));
    node.stop(SIGKILL);
    std::this_thread::sleep_for(200ms);
    load.stop();
    logs = load.logs();
  }
  node_process again{schema.name()};
  http_connection c{again.port()};
  std::size_t checked = 0;
  for (std::size_t i = 0; i < logs.size(); ++i) {
    if (logs[i].acked == 0 && logs[i].unanswered == 0)
      continue;
    auto now = stored_quantity(c, i);
    INFO("basket " << i << " acked " << logs[i].acked << " unanswered " << logs[i].unanswered
                   << " stored " << now);
    // The last acknowledged value, or the one in flight at the kill if it had committed.
    CHECK((now == logs[i].acked || (logs[i].unanswered != 0 && now == logs[i].unanswered)));
    ++checked;
  }
  CHECK(checked == logs.size());
}

TEST_CASE("a PostgreSQL restart under load gives only 503s and loses nothing") {
  private_cluster pg;
  if (!pg.usable()) {
    WARN("skipped: needs Debian's pg_createcluster, run as root or the postgres user");
    return;
  }
  node_process node{"bazaar_fault",
                    {"postgres.url=" + pg.url(), "postgres.connect_timeout_ms=1000"}};
  create_product(node.port());
  writers load{node.port(), 6, 10};
  REQUIRE(load.wait_acked(100, 60s));
  REQUIRE(pg.restart());
  // Writes go on; the node must recover by itself: 100 more are acknowledged after the restart.
  auto after_restart = load.acked.load();
  CHECK(load.wait_acked(after_restart + 100, 60s));
  load.stop();
  CHECK(load.other == 0);
  for (auto& [status, count] : load.other_statuses)
    WARN("unexpected status " << status << " x" << count);
  http_connection c{node.port()};
  auto ready = c.request("GET", "/readyz");
  CHECK(ready.status == 200);
  auto logs = load.logs();
  for (std::size_t i = 0; i < logs.size(); ++i) {
    INFO("basket " << i);
    // Every request ended acknowledged (503s were retried with the same value).
    CHECK(stored_quantity(c, i) == logs[i].acked);
  }
}

TEST_CASE("a newer version written behind an active grain makes its next write 503 and reload") {
  test::pg_schema schema;
  node_process node{schema.name()};
  create_product(node.port());
  http_connection c{node.port()};
  auto alice = bearer(token("alice"));
  REQUIRE(c.request("PUT", "/api/v1/basket/items/SKU-1", R"({"quantity":2})", alice).status == 200);
  // Another activation (elsewhere) wrote version 5 with 9 units.
  schema.exec("UPDATE snapshots SET version = 5, state = jsonb_set(jsonb_set(state, "
              "'{lines,0,quantity}', '9'), '{version}', '5') WHERE grain_type = 'basket' AND "
              "grain_key = 'alice'");
  auto refused = c.request("PUT", "/api/v1/basket/items/SKU-1", R"({"quantity":3})", alice);
  CHECK(refused.status == 503);
  CHECK(refused.json().as_object()["error"].as_object()["code"].as_string() == "unavailable");
  CHECK(refused.has_header("Retry-After"));
  auto now = c.request("GET", "/api/v1/basket", {}, alice);
  REQUIRE(now.status == 200);
  CHECK(now.json().as_object()["version"].as_int64() == 5);
  CHECK(now.json().as_object()["items"].as_array()[0].as_object()["quantity"].as_int64() == 9);
  auto retried = c.request("PUT", "/api/v1/basket/items/SKU-1", R"({"quantity":3})", alice);
  CHECK(retried.status == 200);
  CHECK(schema.scalar("SELECT version FROM snapshots WHERE grain_key = 'alice'") == "6");
}

TEST_CASE("a node without a reachable PostgreSQL is not ready and says why") {
  test::pg_schema schema;
  auto port = test::free_port();
  auto pid = ::fork();
  REQUIRE(pid >= 0);
  if (pid == 0) {
    ::setenv("BAZAAR_POSTGRES_URL", "postgresql://bazaar:bazaar@127.0.0.1:1/none", 1);
    ::execl(BAZAAR_BIN, BAZAAR_BIN, "serve", "--set", "http.host=127.0.0.1", "--set",
            ("http.port=" + std::to_string(port)).c_str(), "--set",
            "postgres.connect_timeout_ms=200", "--set", "log.level=off", nullptr);
    ::_exit(127);
  }
  test::http_response ready;
  for (int i = 0; i < 100 && ready.status == 0; ++i) {
    std::this_thread::sleep_for(50ms);
    try {
      http_connection c{port, 2s};
      ready = c.request("GET", "/readyz");
    } catch (const std::exception&) {
    }
  }
  ::kill(pid, SIGTERM);
  int status = 0;
  ::waitpid(pid, &status, 0);
  CHECK(ready.status == 503);
  CHECK(ready.body.find("not reachable") != std::string::npos);
  CHECK(WIFEXITED(status));
  CHECK(WEXITSTATUS(status) == 0);
}
