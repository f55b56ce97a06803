#include "http_connection.hpp"

#include "http_client.hpp"

#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/epoll.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <memory>
#include <stdexcept>

namespace bazaar::load {

target target::resolve(const std::string& url) {
  auto e = ctl::endpoint::parse(url); // the URL rules of bazaarctl, one parser for both tools
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  addrinfo* found = nullptr;
  if (int rc = ::getaddrinfo(e.host.c_str(), e.port.c_str(), &hints, &found); rc != 0)
    throw std::runtime_error("--url \"" + url + "\": " + gai_strerror(rc));
  std::unique_ptr<addrinfo, void (*)(addrinfo*)> guard{found, ::freeaddrinfo};
  target t;
  std::memcpy(&t.address, found->ai_addr, found->ai_addrlen);
  t.address_length = found->ai_addrlen;
  auto host = e.host.find(':') == std::string::npos ? e.host : "[" + e.host + "]";
  t.host_header = host + ":" + e.port;
  t.prefix = e.prefix;
  t.url = url;
  return t;
}

http_connection::http_connection(event_loop& loop, const target& to, bool keep_alive,
                                 std::chrono::milliseconds timeout)
    : loop_{loop}, to_{&to}, keep_alive_{keep_alive}, timeout_{timeout} {}

http_connection::~http_connection() {
  close_socket();
}

void http_connection::close_socket() {
  if (fd_ >= 0) {
    loop_.unwatch(fd_);
    ::close(fd_);
    fd_ = -1;
  }
  connecting_ = false;
}

void http_connection::send(const http_request& r, callback done) {
  done_ = std::move(done);
  ++request_seq_;
  out_ = encode(r, to_->host_header, to_->prefix, keep_alive_);
  written_ = 0;
  parser_.reset();
  deadline_ = loop_.at(load_clock::now() + timeout_, [this] {
    deadline_ = {};
    finish(http_outcome{0, {}, "timeout", written_ > 0});
  });
  if (fd_ >= 0 && load_clock::now() - idle_since_ > std::chrono::milliseconds{200}) {
    // A kept-alive connection the node closed while it was idle reads as end of file: open a
    // new one rather than lose the request on it. (The loop also drops an idle connection
    // that turns readable; this closes the gap of a close not yet seen by the loop.)
    char probe;
    auto n = ::recv(fd_, &probe, 1, MSG_PEEK | MSG_DONTWAIT);
    if (n == 0 || (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK) || n > 0)
      close_socket();
  }
  if (fd_ < 0)
    open();
  else
    write_some();
}

void http_connection::open() {
  parser_ = response_parser{}; // nothing of an earlier connection carries over
  fd_ = ::socket(to_->address.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd_ < 0) {
    fail_soon("connect");
    return;
  }
  int one = 1;
  ::setsockopt(fd_, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  ++connects_;
  if (::connect(fd_, reinterpret_cast<const sockaddr*>(&to_->address), to_->address_length) == 0) {
    write_some();
    return;
  }
  if (errno != EINPROGRESS) {
    fail_soon("connect");
    return;
  }
  connecting_ = true;
  loop_.watch(fd_, EPOLLOUT, this);
}

void http_connection::fail_soon(const char* failure) {
  // Not from inside send(): the callback may send again at once.
  close_socket();
  loop_.at(load_clock::now(), [this, failure, seq = request_seq_] {
    if (seq == request_seq_)
      finish(http_outcome{0, {}, failure, written_ > 0});
  });
}

void http_connection::on_io(std::uint32_t events) {
  if (!done_) {
    // An idle kept-alive connection is readable only when the node closed it (or broke the
    // protocol): drop it; the next request opens another.
    close_socket();
    return;
  }
  if (connecting_) {
    int err = 0;
    socklen_t len = sizeof err;
    ::getsockopt(fd_, SOL_SOCKET, SO_ERROR, &err, &len);
    if (err != 0) {
      finish(http_outcome{0, {}, "connect", false});
      return;
    }
    connecting_ = false;
    write_some();
    return;
  }
  if (written_ < out_.size()) {
    if (events & (EPOLLERR | EPOLLHUP)) {
      finish(http_outcome{0, {}, "closed", written_ > 0});
      return;
    }
    write_some();
    return;
  }
  read_some();
}

void http_connection::write_some() {
  while (written_ < out_.size()) {
    auto n = ::send(fd_, out_.data() + written_, out_.size() - written_, MSG_NOSIGNAL);
    if (n > 0) {
      written_ += static_cast<std::size_t>(n);
      continue;
    }
    if (n < 0 && errno == EINTR)
      continue;
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
      loop_.watch(fd_, EPOLLOUT, this);
      return;
    }
    fail_soon("closed");
    return;
  }
  loop_.watch(fd_, EPOLLIN, this);
}

void http_connection::read_some() {
  char buf[16384];
  for (;;) {
    auto n = ::recv(fd_, buf, sizeof buf, 0);
    if (n > 0) {
      auto state = parser_.feed(buf, static_cast<std::size_t>(n));
      if (state == response_parser::state::done) {
        auto answer = parser_.take();
        http_outcome outcome{answer.status, std::move(answer.body), {}, true};
        if (answer.close || !keep_alive_)
          close_socket();
        finish(std::move(outcome));
        return;
      }
      if (state == response_parser::state::error) {
        finish(http_outcome{0, {}, "protocol", true});
        return;
      }
      continue;
    }
    if (n < 0 && errno == EINTR)
      continue;
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
      return;
    finish(http_outcome{0, {}, "closed", true});
    return;
  }
}

void http_connection::finish(http_outcome outcome) {
  if (!done_)
    return;
  if (deadline_.second != 0)
    loop_.cancel(deadline_);
  deadline_ = {};
  if (!outcome.answered())
    close_socket(); // a connection in an unknown state is never used again
  idle_since_ = load_clock::now();
  auto done = std::move(done_);
  done_ = nullptr;
  done(std::move(outcome));
}

} // namespace bazaar::load
