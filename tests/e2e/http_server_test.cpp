// End-to-end tests of the HTTP server on its own, over 127.0.0.1 with a router of test routes
// (no node, no grains, no storage): its timing follows the clock it is given, and drain() waits
// for what is in flight to be answered and written.

#include "bazaar/gateway/http_server.hpp"
#include "bazaar/gateway/jwt.hpp"
#include "bazaar/runtime/clock.hpp"
#include "support/http_client.hpp"

#include <boost/json.hpp>
#include <catch2/catch.hpp>

#include <arpa/inet.h>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <condition_variable>
#include <csignal>
#include <cstring>
#include <deque>
#include <mutex>
#include <netinet/in.h>
#include <poll.h>
#include <stdexcept>
#include <string>
#include <sys/socket.h>
#include <thread>
#include <unistd.h>

namespace json = boost::json;
namespace gw = bazaar::gateway;
namespace runtime = bazaar::runtime;
using namespace std::chrono_literals;
using bazaar::test::http_connection;
using bazaar::test::raw_exchange;
using bazaar::test::raw_result;

namespace {

constexpr const char* secret = "http-server-test-secret";

/// The body of GET /big: a JSON string of 16 MiB, more than the sockets of a connection hold
/// when its client does not read (the test client's receive buffer is set to 64 KiB).
const std::string& big_body() {
  static const std::string body = '"' + std::string(16 * 1024 * 1024, 'x') + '"';
  return body;
}

/// Responders the test answers itself (GET /held), handed over from the I/O threads.
class held_requests {
 public:
  void put(gw::responder_ptr out) {
    std::lock_guard<std::mutex> guard{mtx_};
    held_.push_back(std::move(out));
    cv_.notify_all();
  }

  /// The oldest held responder, waiting up to 10 s for one; nullptr if none came.
  gw::responder_ptr take() {
    std::unique_lock<std::mutex> lock{mtx_};
    if (!cv_.wait_for(lock, 10s, [this] { return !held_.empty(); }))
      return nullptr;
    auto out = std::move(held_.front());
    held_.pop_front();
    return out;
  }

 private:
  std::mutex mtx_;
  std::condition_variable cv_;
  std::deque<gw::responder_ptr> held_;
};

/// Counts the answers GET /big has handed to its responder.
struct big_answers {
  std::mutex mtx;
  std::condition_variable cv;
  int sent = 0;

  bool wait_for(int n) {
    std::unique_lock<std::mutex> lock{mtx};
    return cv.wait_for(lock, 10s, [&] { return sent >= n; });
  }
};

/// An http_server on 127.0.0.1 (any free port) with the test routes:
/// GET /healthz (anyone), GET /me (a customer token: answers its subject), GET /held (answered
/// by the test) and GET /big (the 16 MiB body).
struct test_server {
  test_server(const runtime::clock& clock, int header_timeout_ms, int keepalive_timeout_ms)
      : server(options(header_timeout_ms, keepalive_timeout_ms), auth(), routes(), clock) {
    std::signal(SIGPIPE, SIG_IGN); // as the bazaar executable does
    server.start();
  }
  ~test_server() {
    server.drain(10s);
    server.stop();
  }

  std::uint16_t port() const { return server.port(); }

  static bazaar::config::http_options options(int header_timeout_ms, int keepalive_timeout_ms) {
    bazaar::config::http_options o;
    o.host = "127.0.0.1";
    o.port = 0;
    o.threads = 2;
    o.max_body_bytes = 64 * 1024;
    o.header_timeout_ms = header_timeout_ms;
    o.keepalive_timeout_ms = keepalive_timeout_ms;
    return o;
  }

  static bazaar::config::auth_options auth() {
    bazaar::config::auth_options a;
    a.jwt_secret = secret;
    return a;
  }

  std::shared_ptr<gw::router> routes() {
    auto r = std::make_shared<gw::router>();
    r->add("GET", "/healthz", gw::access::anyone,
           [](gw::http_request&, const gw::responder_ptr& out) {
             out->json(200, {{"status", "ok"}});
           });
    r->add("GET", "/me", gw::access::customer,
           [](gw::http_request& req, const gw::responder_ptr& out) {
             out->json(200, {{"sub", req.principal.subject}});
           });
    r->add("GET", "/held", gw::access::anyone,
           [this](gw::http_request&, const gw::responder_ptr& out) { held.put(out); });
    r->add("GET", "/big", gw::access::anyone,
           [this](gw::http_request&, const gw::responder_ptr& out) {
             out->send(200, big_body());
             std::lock_guard<std::mutex> guard{big.mtx};
             ++big.sent;
             big.cv.notify_all();
           });
    return r;
  }

  held_requests held;
  big_answers big;
  gw::http_server server;
};

/// A client socket that reads only when told to, with a small receive buffer.
class lazy_client {
 public:
  explicit lazy_client(std::uint16_t port) {
    fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd_ < 0)
      throw std::runtime_error(std::string("socket: ") + std::strerror(errno));
    int small = 64 * 1024; // set before connecting: the window stays small
    ::setsockopt(fd_, SOL_SOCKET, SO_RCVBUF, &small, sizeof small);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(port);
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (::connect(fd_, reinterpret_cast<const sockaddr*>(&addr), sizeof addr) != 0)
      throw std::runtime_error(std::string("connect: ") + std::strerror(errno));
  }
  ~lazy_client() { close(); }

  lazy_client(const lazy_client&) = delete;
  lazy_client& operator=(const lazy_client&) = delete;

  void send(std::string_view bytes) {
    while (!bytes.empty()) {
      auto n = ::send(fd_, bytes.data(), bytes.size(), MSG_NOSIGNAL);
      if (n <= 0)
        throw std::runtime_error(std::string("send: ") + std::strerror(errno));
      bytes.remove_prefix(static_cast<std::size_t>(n));
    }
  }

  /// Reads the next answer (with a Content-Length body), waiting at most `limit` in all.
  /// Bytes after it stay for the next call.
  bazaar::test::http_response read_answer(std::chrono::milliseconds limit) {
    const auto deadline = std::chrono::steady_clock::now() + limit;
    char chunk[65536];
    for (;;) {
      if (auto size = answer_size(); size > 0 && buffer_.size() >= size) {
        auto r = bazaar::test::parse_response(std::string_view{buffer_}.substr(0, size));
        buffer_.erase(0, size);
        return r;
      }
      auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
          deadline - std::chrono::steady_clock::now());
      pollfd p{fd_, POLLIN, 0};
      if (left.count() <= 0 || ::poll(&p, 1, static_cast<int>(left.count())) <= 0)
        throw std::runtime_error("no complete answer in time; " + std::to_string(buffer_.size()) +
                                 " bytes read");
      auto n = ::recv(fd_, chunk, sizeof chunk, 0);
      if (n <= 0)
        throw std::runtime_error("connection closed after " + std::to_string(buffer_.size()) +
                                 " bytes");
      buffer_.append(chunk, static_cast<std::size_t>(n));
    }
  }

  /// Closes the socket; with `reset`, with a TCP RST.
  void close(bool reset = false) {
    if (fd_ < 0)
      return;
    if (reset) {
      linger l{1, 0};
      ::setsockopt(fd_, SOL_SOCKET, SO_LINGER, &l, sizeof l);
    }
    ::close(fd_);
    fd_ = -1;
  }

 private:
  /// The size of the answer at the front of buffer_ once its head is complete, else 0.
  std::size_t answer_size() const {
    auto end = buffer_.find("\r\n\r\n");
    if (end == std::string::npos)
      return 0;
    static constexpr std::string_view name = "\r\nContent-Length: ";
    auto at = buffer_.find(name);
    if (at == std::string::npos || at > end)
      throw std::runtime_error("an answer without Content-Length: " + buffer_.substr(0, end));
    return end + 4 + std::stoul(buffer_.substr(at + name.size(), 20));
  }

  int fd_ = -1;
  std::string buffer_;
};

std::string token_until(const std::string& subject, std::int64_t expires_at) {
  bazaar::auth::claims c;
  c.subject = subject;
  c.user_role = bazaar::auth::role::customer;
  c.expires_at = expires_at;
  return bazaar::auth::sign(c, secret);
}

/// Runs `drain` on its own thread; `done` tells whether it returned.
struct drain_thread {
  explicit drain_thread(gw::http_server& server, std::chrono::milliseconds grace)
      : thread([this, &server, grace] {
          result = server.drain(grace);
          done = true;
        }) {}
  ~drain_thread() {
    if (thread.joinable())
      thread.join();
  }
  bool join() {
    thread.join();
    return result;
  }

  std::atomic<bool> done{false};
  bool result = false;
  std::thread thread;
};

/// Waits (at most 10 s) until the server refuses new requests, i.e. drain() has begun.
bool wait_until_draining(const gw::http_server& server) {
  for (int i = 0; i < 10000 && server.accepting(); ++i)
    std::this_thread::sleep_for(1ms);
  return !server.accepting();
}

} // namespace

TEST_CASE("a stalled request is answered 400 only once the injected clock passes the header "
          "timeout") {
  runtime::manual_clock clock;
  // A sweep every 20 ms of real time.
  test_server s{clock, /*header_timeout_ms=*/200, /*keepalive_timeout_ms=*/300000};

  std::atomic<bool> finished{false};
  raw_result result;
  std::thread client([&] {
    result = raw_exchange(s.port(), "GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n", 10s);
    finished = true;
  });
  // Five header timeouts of real time while the clock stands; then exactly the timeout on the
  // clock, which is not past it.
  std::this_thread::sleep_for(1s);
  CHECK_FALSE(finished.load());
  clock.advance(200ms);
  std::this_thread::sleep_for(300ms);
  CHECK_FALSE(finished.load());
  // Past it: the next sweep answers and closes.
  clock.advance(1ms);
  client.join();
  INFO("received: " << result.received.substr(0, 400));
  CHECK(result.closed);
  auto answer = result.first_response();
  CHECK(answer.status == 400);
  CHECK(answer.json().at("error").at("code") == "bad_request");
}

TEST_CASE("a kept-alive connection is closed only once the injected clock passes the keep-alive "
          "timeout") {
  runtime::manual_clock clock;
  test_server s{clock, /*header_timeout_ms=*/1000, /*keepalive_timeout_ms=*/300};

  http_connection c{s.port()};
  auto first = c.request("GET", "/healthz");
  REQUIRE(first.status == 200);
  CHECK_FALSE(first.server_closed);
  // Five keep-alive timeouts of real time, then exactly the timeout on the clock: still open.
  CHECK_FALSE(c.wait_for_close(1500ms));
  clock.advance(300ms);
  CHECK_FALSE(c.wait_for_close(300ms));
  // Past it: closed at the next sweep.
  clock.advance(1ms);
  CHECK(c.wait_for_close(10s));
}

TEST_CASE("a bearer token is accepted until the injected clock's wall time reaches its exp") {
  runtime::manual_clock clock;
  test_server s{clock, 1000, 300000};
  const std::int64_t now_s = clock.wall_ms() / 1000;
  // Expired long ago by the real clock, valid for 30 more seconds by the injected one.
  auto token = token_until("alice", now_s + 30);
  auto bearer = bazaar::test::header_list{{"Authorization", "Bearer " + token}};

  http_connection c{s.port()};
  auto first = c.request("GET", "/me", "", bearer);
  INFO(first.body);
  REQUIRE(first.status == 200);
  CHECK(first.json().at("sub") == "alice");
  clock.advance(29s);
  CHECK(c.request("GET", "/me", "", bearer).status == 200); // remembered, and still valid
  clock.advance(1s);
  auto late = c.request("GET", "/me", "", bearer);
  CHECK(late.status == 401);
  CHECK(late.json().at("error").at("message") == "the token is not valid (expired)");
}

TEST_CASE("drain answers new requests 503 and returns once the request in flight is answered") {
  runtime::system_clock clock;
  test_server s{clock, 1000, 300000};

  bazaar::test::http_response held_answer;
  std::thread client([&] {
    http_connection c{s.port()};
    held_answer = c.request("GET", "/held");
  });
  auto held = s.held.take();
  REQUIRE(held != nullptr);
  CHECK(s.server.inflight() == 1);

  drain_thread drain{s.server, 10s};
  REQUIRE(wait_until_draining(s.server));
  http_connection late{s.port()};
  auto refused = late.request("GET", "/healthz");
  CHECK(refused.status == 503);
  CHECK(refused.header("Retry-After") == "1");
  // The refusal was answered; the held request was not, so drain still waits. (The refusal
  // may still count as in flight for a moment: it is counted as answered once written.)
  CHECK_FALSE(drain.done.load());
  CHECK(s.server.inflight() >= 1);

  held->json(200, {{"status", "late"}});
  CHECK(drain.join());
  client.join();
  CHECK(held_answer.status == 200);
  CHECK(held_answer.body == R"({"status":"late"})");
  CHECK(s.server.inflight() == 0);
}

TEST_CASE("drain waits until an answer larger than the socket takes is written to its client") {
  runtime::system_clock clock;
  test_server s{clock, 1000, 300000};

  lazy_client client{s.port()};
  client.send("GET /big HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n");
  REQUIRE(s.big.wait_for(1));
  // Answered, but most of the 16 MiB waits in the server's write queue: the client reads
  // nothing yet.
  CHECK(s.server.inflight() == 0);
  drain_thread drain{s.server, 30s};
  REQUIRE(wait_until_draining(s.server));
  std::this_thread::sleep_for(500ms);
  CHECK_FALSE(drain.done.load());

  auto answer = client.read_answer(30s);
  CHECK(drain.join());
  CHECK(answer.status == 200);
  CHECK(answer.body.size() == big_body().size());
  const bool whole = answer.body == big_body(); // (not printed: 16 MiB)
  CHECK(whole);
}

TEST_CASE("an answer left unwritten by a client that hung up does not hold drain back") {
  runtime::system_clock clock;
  test_server s{clock, 1000, 300000};

  for (bool reset : {true, false}) {
    INFO((reset ? "RST" : "FIN"));
    lazy_client client{s.port()};
    client.send("GET /big HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n");
    REQUIRE(s.big.wait_for(reset ? 1 : 2));
    client.close(reset);
  }
  // Both answers were queued and never written; their connections are gone, so nothing is
  // left to wait for (were they still counted, drain would give up after 30 s and say so).
  CHECK(s.server.drain(30s));
}

TEST_CASE("an answer queued behind a large one on its connection arrives after it, whole") {
  runtime::system_clock clock;
  test_server s{clock, 1000, 300000};

  lazy_client client{s.port()};
  for (int i = 0; i < 3; ++i) {
    INFO("round " << i);
    client.send("GET /big HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n");
    REQUIRE(s.big.wait_for(i + 1));
    // Most of the big answer waits in the write queue (the client has read nothing): the next
    // answer of this connection must go behind it, not into the socket first.
    client.send("GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n");
    auto big = client.read_answer(30s);
    CHECK(big.status == 200);
    CHECK(big.body.size() == big_body().size());
    const bool whole = big.body == big_body(); // (not printed: 16 MiB)
    CHECK(whole);
    auto small = client.read_answer(10s);
    CHECK(small.status == 200);
    CHECK(small.body == R"({"status":"ok"})");
  }
}
