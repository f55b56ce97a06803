#pragma once

// The server's view of its connections and exchanges (http_server.cpp, event_stream.cpp):
// private to the gateway library.

#include "bazaar/runtime/clock.hpp"

#include <pistache/async.h>
#include <pistache/transport.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <sys/socket.h>
#include <sys/uio.h>

namespace bazaar::gateway {

class stream_registry;

/// Nanoseconds on the steady time of `clock`, never 0 (0 means "none" where it is stored).
inline std::int64_t steady_ns(const runtime::clock& clock) {
  auto ns =
      std::chrono::duration_cast<std::chrono::nanoseconds>(clock.now().time_since_epoch()).count();
  return std::max<std::int64_t>(ns, 1);
}

// -- exchanges and connections ---------------------------------------------------------------

/// The exchanges of a server not answered yet and the answers not written yet, which drain()
/// waits for.
struct exchange_count {
  std::atomic<int> unanswered{0};
  /// Answers handed to Pistache's write queue and not written yet (nor dropped with their
  /// connection).
  std::atomic<int> unwritten{0};

  void begin() { unanswered.fetch_add(1); }
  /// An exchange was answered (after its bytes were written or queued).
  void answered() {
    if (unanswered.fetch_sub(1) == 1)
      wake();
  }
  void queued() { unwritten.fetch_add(1); }
  /// `n` queued answers were written, or dropped with their connection.
  void written(int n) {
    if (unwritten.fetch_sub(n) == n)
      wake();
  }

  /// Waits until every exchange is answered and every answer written, or `deadline` (real
  /// time: it bounds how long a shutdown blocks); whether that happened.
  bool wait_idle(std::chrono::steady_clock::time_point deadline) {
    std::unique_lock<std::mutex> lock{mtx};
    watched = true;
    bool idle = cv.wait_until(lock, deadline,
                              [this] { return unanswered.load() == 0 && unwritten.load() == 0; });
    watched = false;
    return idle;
  }

 private:
  /// Called once a count reached 0. Only a waiting drain() needs the notification, so the
  /// mutex is taken only then. (The counts and `watched` are sequentially consistent: either
  /// the waiter sees the count at 0, or this sees `watched` and notifies under the mutex,
  /// which the waiter holds from its check until it sleeps.)
  void wake() {
    if (!watched.load())
      return;
    std::lock_guard<std::mutex> guard{mtx};
    cv.notify_all();
  }

  std::mutex mtx;
  std::condition_variable cv;
  std::atomic<bool> watched{false};
};

/// What the server knows of one connection, shared by the I/O thread that owns it, the threads
/// that answer its requests and the sweeper.
///
/// Pistache closes a connection's fd on its I/O thread right after onDisconnection, and the
/// kernel gives that number to the next connection accepted at once; Pistache also addresses
/// queued writes by fd number. So another thread touches a connection's fd (writes an answer,
/// shuts it down) only under `mtx` and while `open`: onDisconnection clears `open` under the
/// same mutex before the fd can be closed, then flushes Pistache's write queue, so nothing meant
/// for this connection reaches the next one that gets its number. Pistache's own peer timeouts,
/// which close fds without onDisconnection, are pushed out of reach (http_server::start).
struct peer_state : std::enable_shared_from_this<peer_state> {
  peer_state(const runtime::clock& c, std::shared_ptr<exchange_count> counts)
      : clock(c), exchanges(std::move(counts)) {}

  /// When the request now arriving began: 0 none in progress, -1 the connection is closing
  /// (the request was answered as timed out, or the connection was idle too long).
  std::atomic<std::int64_t> partial_since_ns{0};
  /// When bytes last arrived or an answer was last sent (steady time of `clock`).
  std::atomic<std::int64_t> active_ns{0};
  /// Requests read and not answered yet.
  std::atomic<int> unanswered{0};
  /// The transport (I/O thread) that owns the connection, and its fd.
  Pistache::Tcp::Transport* transport = nullptr;
  int fd = -1;
  /// The server's time, and its count of exchanges.
  const runtime::clock& clock;
  const std::shared_ptr<exchange_count> exchanges;
  /// The server's open event streams (none for a connection that is gone).
  std::shared_ptr<stream_registry> streams;

  std::int64_t now_ns() const { return steady_ns(clock); }

  /// Writes `head` and `body` if the connection is still open, then (with `close`) shuts it
  /// down once they are written. They go straight to the socket when nothing of this
  /// connection waits in Pistache's write queue; what the socket does not take at once (and
  /// everything while something waits there, to keep the order) goes through that queue.
  /// When more than `max_unsent` bytes would then wait in the queue, nothing is written and
  /// the connection is shut down instead (a client that does not read). Returns whether the
  /// bytes were written or queued.
  bool write(std::string_view head, std::string_view body, bool close,
             std::size_t max_unsent = SIZE_MAX) {
    std::optional<Pistache::Async::Promise<ssize_t>> pending;
    std::size_t size = 0;
    {
      std::lock_guard<std::mutex> guard{mtx};
      if (!open)
        return false;
      const std::size_t total = head.size() + body.size();
      std::size_t sent = 0;
      if (queued == 0) {
        auto n = send_now(head, body);
        if (n < 0) { // the connection broke: its I/O thread sees that and closes it
          if (close)
            ::shutdown(fd, SHUT_RDWR);
          return false;
        }
        sent = static_cast<std::size_t>(n);
      }
      if (sent == total) {
        if (close)
          ::shutdown(fd, SHUT_RDWR);
        return true;
      }
      if (total - sent > max_unsent || queued_bytes > max_unsent - (total - sent)) {
        ::shutdown(fd, SHUT_RDWR);
        return false;
      }
      std::string rest;
      rest.reserve(total - sent);
      if (sent < head.size()) {
        rest.append(head.substr(sent));
        rest.append(body);
      } else {
        rest.append(body.substr(sent - head.size()));
      }
      size = rest.size();
      ++queued;
      queued_bytes += size;
      exchanges->queued();
      pending.emplace(transport->asyncWrite(fd, Pistache::RawBuffer(std::move(rest), size)));
    }
    // Attached outside `mtx`: Pistache resolves the promise under its own lock, and the
    // continuation takes `mtx`. (This must be asyncWrite's own promise: Pistache 0.0.5 resolves
    // the chained one that ResponseWriter::send returns without its lock, and a continuation
    // attached to that one from another thread is now and then lost.)
    auto self = shared_from_this();
    pending->then([self, close, size](ssize_t) { self->queued_written(close, size); },
                  [self, close, size](std::exception_ptr) { self->queued_written(close, size); });
    return true;
  }

  /// Runs `hook` once when the connection closes (on its I/O thread, or at once when it is
  /// closed already); replaces an earlier hook.
  void on_closed(std::function<void()> hook) {
    {
      std::lock_guard<std::mutex> guard{mtx};
      if (open) {
        closed_hook = std::move(hook);
        return;
      }
    }
    hook();
  }

  /// Shuts the connection down in both directions if it is still open; its I/O thread then
  /// reads EOF and closes it.
  void shut() {
    std::lock_guard<std::mutex> guard{mtx};
    if (open)
      ::shutdown(fd, SHUT_RDWR);
  }

  /// On the connection's I/O thread, before Pistache closes the fd. Answers still queued for
  /// it count as settled: Pistache writes them in the flush that follows or drops them with
  /// the connection (without resolving their promises).
  void mark_closed() {
    std::function<void()> hook;
    {
      std::lock_guard<std::mutex> guard{mtx};
      open = false;
      if (queued > 0) {
        exchanges->written(queued);
        queued = 0;
        queued_bytes = 0;
      }
      hook = std::move(closed_hook);
      closed_hook = nullptr;
    }
    if (hook)
      hook();
  }

 private:
  /// Sends what the socket takes now without blocking: the bytes sent, or -1 when the
  /// connection is broken.
  ssize_t send_now(std::string_view head, std::string_view body) {
    iovec parts[2] = {{const_cast<char*>(head.data()), head.size()},
                      {const_cast<char*>(body.data()), body.size()}};
    msghdr msg{};
    msg.msg_iov = parts;
    msg.msg_iovlen = body.empty() ? 1 : 2;
    std::size_t sent = 0;
    const std::size_t total = head.size() + body.size();
    while (sent < total) {
      auto n = ::sendmsg(fd, &msg, MSG_DONTWAIT | MSG_NOSIGNAL);
      if (n < 0) {
        if (errno == EINTR)
          continue;
        if (errno == EAGAIN || errno == EWOULDBLOCK)
          break;
        return -1;
      }
      sent += static_cast<std::size_t>(n);
      // Skip what was sent (rare: the socket took only part of it).
      auto skip = static_cast<std::size_t>(n);
      while (msg.msg_iovlen > 0 && skip >= msg.msg_iov[0].iov_len) {
        skip -= msg.msg_iov[0].iov_len;
        ++msg.msg_iov;
        --msg.msg_iovlen;
      }
      if (msg.msg_iovlen > 0) {
        msg.msg_iov[0].iov_base = static_cast<char*>(msg.msg_iov[0].iov_base) + skip;
        msg.msg_iov[0].iov_len -= skip;
      }
    }
    return static_cast<ssize_t>(sent);
  }

  /// A queued answer was written (or failed to be): Pistache's I/O thread, via the promise.
  void queued_written(bool close, std::size_t size) {
    std::lock_guard<std::mutex> guard{mtx};
    if (queued == 0)
      return; // settled by mark_closed
    --queued;
    queued_bytes -= std::min(queued_bytes, size);
    exchanges->written(1);
    if (close && open)
      ::shutdown(fd, SHUT_RDWR);
  }

  std::mutex mtx;
  bool open = true;
  /// Answers in Pistache's write queue whose promise has not resolved, and their bytes.
  int queued = 0;
  std::size_t queued_bytes = 0;
  /// Runs when the connection closes (an event stream's end).
  std::function<void()> closed_hook;
};

} // namespace bazaar::gateway
