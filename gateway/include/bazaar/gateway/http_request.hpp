#pragma once

/// One HTTP exchange as route handlers see it: the request, copied out of Pistache before the
/// handler returns, and the responder that writes the answer exactly once from any thread.

#include "bazaar/domain/failure.hpp"
#include "bazaar/gateway/http_codec.hpp"
#include "bazaar/gateway/jwt.hpp"

#include <boost/json/value.hpp>
#include <pistache/http_defs.h>

#include <atomic>
#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace bazaar::gateway {

struct http_request {
  std::string method; ///< "GET", "POST", ...
  std::string path;   ///< without the query string
  std::map<std::string, std::string> query;
  std::string body;
  std::string content_type; ///< empty when absent
  std::string idempotency_key;
  std::string correlation_id;
  std::vector<std::string> params; ///< path parameters, in pattern order
  auth::claims principal;          ///< the verified token (routes that need one)

  /// A query parameter or `fallback`.
  std::string query_or(const std::string& name, std::string fallback = {}) const;
};

/// What the server knows of one connection (http_server.cpp).
struct peer_state;
class event_stream;
class route_meter;

/// Answers one request exactly once, from any thread. The answer is built in buffers of the
/// calling thread (the status line and headers in one, the body in another: JSON is
/// serialized straight into it) and written to the socket at once when the connection has
/// nothing queued, so that a typical answer costs no allocation and one system call.
class responder {
 public:
  /// Answers in HTTP `version` on the connection `conn`, and only while it is open.
  responder(std::shared_ptr<peer_state> conn, Pistache::Http::Version version,
            std::string correlation_id, bool keep_alive);
  /// An exchange nobody answered is answered 500, so that no client waits forever.
  ~responder();

  responder(const responder&) = delete;
  responder& operator=(const responder&) = delete;

  /// Sends a JSON body.
  void json(int status, const boost::json::value& body);
  /// Sends a JSON body that `write(out)` appends to a buffer of the calling thread (kept
  /// between answers): for bodies written without building a JSON tree (json_writer.hpp).
  template <class Write>
  void json_with(int status, Write&& write) {
    if (!claim())
      return;
    auto& out = body_scratch();
    write(out);
    finish(status, out, false);
  }
  /// Sends the API error body of a failure with its status (and Retry-After for 503).
  void fail(const domain::failure& f);
  /// Sends the API error body of what the HTTP layer refuses itself; a body too large also
  /// closes the connection (the rest of it is not read).
  void refuse(http_refusal r, const std::string& message);
  /// Sends a prepared body; `close` closes the connection once it is written.
  void send(int status, std::string_view body, bool close = false);
  /// Sends a prepared body of another media type than JSON.
  void text(int status, std::string_view body, std::string_view content_type);

  /// Counts and times the answer with `meter` (http_metrics.hpp), from `started_ns` on the
  /// server's steady clock.
  void measure(route_meter* meter, std::int64_t started_ns) {
    meter_ = meter;
    started_ns_ = started_ns;
  }

  /// Answers 200 with a server-sent event stream (event_stream.hpp): the head goes out now
  /// (Content-Type: text/event-stream, Cache-Control: no-cache, no Content-Length, the
  /// connection closes when the stream ends), and events follow through the stream, from any
  /// thread. The exchange counts as answered; nothing times the stream out, and what the
  /// client sends afterwards is ignored. Null when the exchange was answered already; a
  /// stream whose connection is gone (or whose server drains) is closed at once.
  std::shared_ptr<event_stream> stream();

  /// Extra response header.
  void header(std::string name, std::string value);

 private:
  /// Claims the exchange (false when it was answered already).
  bool claim();
  /// The calling thread's body buffer, emptied.
  static std::string& body_scratch();
  /// Writes the answer with the body `body` (claim() must have returned true).
  void finish(int status, std::string_view body, bool close,
              std::string_view content_type = "application/json");

  std::shared_ptr<peer_state> conn_;
  Pistache::Http::Version version_;
  std::string correlation_id_;
  bool keep_alive_;
  std::vector<std::pair<std::string, std::string>> headers_;
  std::atomic<bool> answered_{false};
  route_meter* meter_ = nullptr;
  std::int64_t started_ns_ = 0;
};

using responder_ptr = std::shared_ptr<responder>;

} // namespace bazaar::gateway
