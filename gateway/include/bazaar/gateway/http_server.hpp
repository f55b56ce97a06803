#pragma once

/// The Pistache HTTP server of a node. I/O threads parse, authenticate and route; handlers
/// hand work to grains and return at once; answers are written when grains reply.
/// Hardened against what docs/LIBRARIES.md lists: keep-alive without a Connection header,
/// oversized bodies (413, then the connection is closed), malformed or incomplete requests
/// (400 and closed, never the parser's exception text), requests that stall (400 and closed
/// after http.header_timeout_ms, on any request of a connection), clients that disconnect
/// early. Answers and closes reach only their own connection, although the kernel gives a
/// closed connection's fd number to the next one at once; kept-alive connections idle for
/// http.keepalive_timeout_ms are closed; event streams (event_stream.hpp) get a keep-alive
/// comment after http.sse_keepalive_ms of quiet. Every timing decision (those timeouts, token
/// expiry) is made on the injected runtime::clock.

#include "bazaar/config/options.hpp"
#include "bazaar/gateway/router.hpp"
#include "bazaar/runtime/clock.hpp"

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <memory>
#include <mutex>
#include <thread>

namespace Pistache::Http {
class Endpoint;
}

namespace bazaar::gateway {

struct server_core;
class http_metrics;

class http_server {
 public:
  /// `clock` must outlive the server. Its steady time drives the request and keep-alive
  /// timeouts (the sweep that applies them runs every tenth of http.header_timeout_ms, within
  /// 10..250 ms, of real time); its wall time decides token expiry. `metrics`, when given
  /// (it must outlive the server), counts and times every answer by route pattern and status.
  http_server(const config::http_options& http, const config::auth_options& auth,
              std::shared_ptr<router> routes, const runtime::clock& clock,
              http_metrics* metrics = nullptr);
  ~http_server();

  http_server(const http_server&) = delete;
  http_server& operator=(const http_server&) = delete;

  /// Binds and starts serving on background threads. Throws std::runtime_error when the
  /// address cannot be bound.
  void start();

  /// The bound port (useful when configured as 0).
  std::uint16_t port() const;

  /// Answers new requests 503, closes the open event streams, and waits, up to `grace` of real
  /// time, until the requests in flight are answered and every answer is written (handed to
  /// the kernel) or its connection gone; whether that happened in time.
  bool drain(std::chrono::milliseconds grace);

  /// Stops the I/O threads. Call drain first. Idempotent.
  void stop();

  /// True until drain starts.
  bool accepting() const;

  /// Exchanges not answered yet.
  int inflight() const;

  /// Event streams open now (event_stream.hpp).
  std::size_t streams() const;

 private:
  void sweep();

  std::shared_ptr<server_core> core_;
  std::unique_ptr<Pistache::Http::Endpoint> endpoint_;
  bool running_ = false;
  std::mutex sweep_mtx_;
  std::condition_variable sweep_cv_;
  std::thread sweeper_;
};

} // namespace bazaar::gateway
