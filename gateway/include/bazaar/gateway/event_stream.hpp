#pragma once

/// Server-sent events (text/event-stream) on one connection, written from any thread as they
/// come. A route starts one with responder::stream(): the head goes out at once, without a
/// Content-Length (the stream ends when the connection closes, which is never reused), and
/// the stream holds no thread while it waits. Events are written whole and in the order of
/// the calls; a write that the socket does not take at once waits in the connection's write
/// queue, and a client that does not read is cut off once more than max_unsent_bytes would
/// wait there, so a stream's memory is bounded. The server writes a comment line
/// (": keep-alive") on a stream that was quiet for http.sse_keepalive_ms, so that proxies
/// keep it open and a vanished client is noticed, and closes every stream when it drains.

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <string_view>
#include <unordered_map>

namespace bazaar::gateway {

struct peer_state;
class stream_registry;

class event_stream : public std::enable_shared_from_this<event_stream> {
 public:
  /// Unsent bytes of one stream past which its client is cut off.
  static constexpr std::size_t max_unsent_bytes = 64 * 1024;

  /// A stream on connection `conn` whose head was written; start() opens it.
  event_stream(std::shared_ptr<peer_state> conn, std::shared_ptr<stream_registry> registry);

  /// Sends `event: <name>` and `data: <data>` as one event. `data` is one line (JSON text
  /// as serialized has no line breaks; any are replaced by spaces). False once the stream is
  /// closed (the event was not sent).
  bool send(std::string_view name, std::string_view data);

  /// Sends a comment line `: <text>`; false once the stream is closed.
  bool comment(std::string_view text);

  /// Ends the stream: what was sent is written, then the connection closes. Idempotent.
  void close();

  /// Whether the stream ended (closed, client gone or cut off, server draining).
  bool closed() const;

  /// Runs `hook` once when the stream ends, whatever ends it, on the thread that ends it; at
  /// once when it ended already. One hook per stream (a later one replaces it).
  void on_close(std::function<void()> hook);

  /// Registers the stream with its server and watches its connection (responder::stream).
  void start();

  /// Writes a keep-alive comment if nothing was written since `now_ns - interval_ns`.
  void keep_alive(std::int64_t now_ns, std::int64_t interval_ns);

 private:
  bool write(std::string_view text);
  /// Marks the stream ended and runs its hook; `close_connection` closes it gracefully first.
  void finish(bool close_connection);

  std::shared_ptr<peer_state> conn_;
  std::weak_ptr<stream_registry> registry_;
  mutable std::mutex mtx_;
  bool closed_ = false;
  std::function<void()> hook_;
  std::atomic<std::int64_t> last_write_ns_{0};
};

using event_stream_ptr = std::shared_ptr<event_stream>;

/// The open streams of one server: kept alive by its sweeper, closed when it drains, counted.
class stream_registry {
 public:
  /// Adds an open stream; false once the server drains (the stream is then closed).
  bool add(const event_stream_ptr& s);
  void remove(const event_stream* s);

  /// Streams open now.
  std::size_t size() const;

  /// Keep-alive comments on streams quiet for `interval_ns` at `now_ns`.
  void keep_alive(std::int64_t now_ns, std::int64_t interval_ns);

  /// Closes every stream and refuses new ones.
  void close_all();

 private:
  mutable std::mutex mtx_;
  bool closed_ = false;
  std::unordered_map<const event_stream*, event_stream_ptr> open_;
};

} // namespace bazaar::gateway
