#pragma once

/// One thread's event loop for bazaar-load: epoll for sockets, an ordered map for timers.
/// Everything attached to a loop runs on the thread that calls run().

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <utility>

namespace bazaar::load {

using load_clock = std::chrono::steady_clock;

/// Something that owns a file descriptor watched by a loop.
class io_handler {
 public:
  virtual ~io_handler() = default;
  /// Called with the epoll events that occurred (EPOLLIN, EPOLLOUT, EPOLLERR, EPOLLHUP).
  virtual void on_io(std::uint32_t events) = 0;
};

class event_loop {
 public:
  using timer = std::pair<load_clock::time_point, std::uint64_t>;

  event_loop();
  ~event_loop();
  event_loop(const event_loop&) = delete;
  event_loop& operator=(const event_loop&) = delete;

  /// Watches `fd` for `events` (added the first time, modified after; no system call when
  /// they are the events it is watched for already).
  void watch(int fd, std::uint32_t events, io_handler* handler);
  /// Stops watching `fd` (before it is closed).
  void unwatch(int fd);

  /// Runs `fn` on this loop at `when` (at once in the next turn when it is past).
  timer at(load_clock::time_point when, std::function<void()> fn);
  /// Cancels a timer that did not run yet; harmless otherwise.
  void cancel(const timer& t);

  /// Turns the loop until `done()` holds (checked after every turn) or stop() is called.
  void run(const std::function<bool()>& done);
  void stop() { stopped_ = true; }

 private:
  int epoll_fd_ = -1;
  std::uint64_t next_timer_id_ = 0;
  std::map<timer, std::function<void()>> timers_;
  std::map<int, std::uint32_t> watched_; ///< the events each fd is watched for
  bool stopped_ = false;
};

} // namespace bazaar::load
