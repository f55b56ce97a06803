#include "event_loop.hpp"

#include <sys/epoll.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <cstring>
#include <stdexcept>
#include <string>

namespace bazaar::load {

event_loop::event_loop() : epoll_fd_{::epoll_create1(EPOLL_CLOEXEC)} {
  if (epoll_fd_ < 0)
    throw std::runtime_error(std::string{"epoll_create1: "} + std::strerror(errno));
}

event_loop::~event_loop() {
  ::close(epoll_fd_);
}

void event_loop::watch(int fd, std::uint32_t events, io_handler* handler) {
  auto [it, added] = watched_.emplace(fd, events);
  if (!added) {
    if (it->second == events)
      return;
    it->second = events;
  }
  epoll_event ev{};
  ev.events = events;
  ev.data.ptr = handler;
  if (::epoll_ctl(epoll_fd_, added ? EPOLL_CTL_ADD : EPOLL_CTL_MOD, fd, &ev) != 0)
    throw std::runtime_error(std::string{"epoll_ctl: "} + std::strerror(errno));
}

void event_loop::unwatch(int fd) {
  if (watched_.erase(fd) > 0)
    ::epoll_ctl(epoll_fd_, EPOLL_CTL_DEL, fd, nullptr);
}

event_loop::timer event_loop::at(load_clock::time_point when, std::function<void()> fn) {
  timer t{when, ++next_timer_id_};
  timers_.emplace(t, std::move(fn));
  return t;
}

void event_loop::cancel(const timer& t) {
  timers_.erase(t);
}

void event_loop::run(const std::function<bool()>& done) {
  stopped_ = false;
  std::array<epoll_event, 256> events{};
  while (!stopped_ && !done()) {
    int wait_ms = 100;
    if (!timers_.empty()) {
      auto left = timers_.begin()->first.first - load_clock::now();
      auto us = std::chrono::duration_cast<std::chrono::microseconds>(left).count();
      wait_ms = us <= 0 ? 0 : static_cast<int>(std::min<long long>((us + 999) / 1000, 100));
    }
    int n = ::epoll_wait(epoll_fd_, events.data(), static_cast<int>(events.size()), wait_ms);
    if (n < 0 && errno != EINTR)
      throw std::runtime_error(std::string{"epoll_wait: "} + std::strerror(errno));
    for (int i = 0; i < n; ++i)
      static_cast<io_handler*>(events[static_cast<std::size_t>(i)].data.ptr)
          ->on_io(events[static_cast<std::size_t>(i)].events);
    // Timers due now, in order, at most 4096 a turn so that sockets are not starved.
    auto now = load_clock::now();
    for (int budget = 4096; budget > 0 && !timers_.empty(); --budget) {
      auto first = timers_.begin();
      if (first->first.first > now)
        break;
      auto fn = std::move(first->second);
      timers_.erase(first);
      fn();
    }
  }
}

} // namespace bazaar::load
