#include "http_client.hpp"

#include <netdb.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <memory>

namespace bazaar::ctl {

endpoint endpoint::parse(const std::string& url) {
  const std::string scheme = "http://";
  if (url.compare(0, scheme.size(), scheme) != 0)
    throw std::invalid_argument("--url must start with http:// (got \"" + url + "\")");
  auto rest = url.substr(scheme.size());
  auto slash = rest.find('/');
  endpoint e;
  auto authority = rest.substr(0, slash);
  if (slash != std::string::npos) {
    e.prefix = rest.substr(slash);
    while (!e.prefix.empty() && e.prefix.back() == '/')
      e.prefix.pop_back();
  }
  auto colon = authority.rfind(':');
  if (colon != std::string::npos && authority.find(']') == std::string::npos) {
    e.host = authority.substr(0, colon);
    e.port = authority.substr(colon + 1);
  } else {
    e.host = authority;
  }
  if (e.host.size() > 2 && e.host.front() == '[' && e.host.back() == ']')
    e.host = e.host.substr(1, e.host.size() - 2);
  if (e.host.empty() || e.port.empty() ||
      e.port.find_first_not_of("0123456789") != std::string::npos)
    throw std::invalid_argument("--url \"" + url + "\" names no host[:port]");
  return e;
}

namespace {

using clock = std::chrono::steady_clock;

struct fd_closer {
  int fd;
  ~fd_closer() {
    if (fd >= 0)
      ::close(fd);
  }
};

/// Waits until `fd` is ready for `events` or the deadline passed; false on timeout.
bool wait_for(int fd, short events, clock::time_point deadline) {
  for (;;) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - clock::now());
    if (left.count() <= 0)
      return false;
    pollfd p{fd, events, 0};
    int n = ::poll(&p, 1, static_cast<int>(left.count()));
    if (n > 0)
      return true;
    if (n == 0)
      return false;
    if (errno != EINTR)
      return false;
  }
}

int connect_to(const endpoint& to, clock::time_point deadline, std::string& why) {
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  addrinfo* found = nullptr;
  if (int rc = ::getaddrinfo(to.host.c_str(), to.port.c_str(), &hints, &found); rc != 0) {
    why = gai_strerror(rc);
    return -1;
  }
  std::unique_ptr<addrinfo, void (*)(addrinfo*)> guard{found, ::freeaddrinfo};
  for (auto* a = found; a != nullptr; a = a->ai_next) {
    int fd = ::socket(a->ai_family, a->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC, a->ai_protocol);
    if (fd < 0) {
      why = std::strerror(errno);
      continue;
    }
    if (::connect(fd, a->ai_addr, a->ai_addrlen) == 0)
      return fd;
    if (errno == EINPROGRESS && wait_for(fd, POLLOUT, deadline)) {
      int err = 0;
      socklen_t len = sizeof err;
      ::getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len);
      if (err == 0)
        return fd;
      why = std::strerror(err);
    } else {
      why = errno == EINPROGRESS ? "connection timed out" : std::strerror(errno);
    }
    ::close(fd);
  }
  return -1;
}

} // namespace

http_answer request(const endpoint& to, const std::string& method, const std::string& path,
                    const std::string& token, const std::string& body,
                    std::chrono::milliseconds timeout) {
  auto deadline = clock::now() + timeout;
  auto where = "http://" + to.host + ":" + to.port;
  std::string why;
  fd_closer sock{connect_to(to, deadline, why)};
  if (sock.fd < 0)
    throw unreachable("cannot reach " + where + ": " + why);
  std::string out = method + " " + to.prefix + path + " HTTP/1.1\r\nHost: " + to.host + ":" +
                    to.port + "\r\nConnection: close\r\nAccept: application/json\r\n";
  if (!token.empty())
    out += "Authorization: Bearer " + token + "\r\n";
  if (!body.empty() || method == "POST")
    out +=
        "Content-Type: application/json\r\nContent-Length: " + std::to_string(body.size()) + "\r\n";
  out += "\r\n" + body;
  for (std::size_t sent = 0; sent < out.size();) {
    if (!wait_for(sock.fd, POLLOUT, deadline))
      throw unreachable(where + " did not take the request within " +
                        std::to_string(timeout.count()) + " ms");
    auto n = ::send(sock.fd, out.data() + sent, out.size() - sent, MSG_NOSIGNAL);
    if (n < 0 && errno != EAGAIN && errno != EINTR)
      throw unreachable(where + " closed the connection: " + std::strerror(errno));
    if (n > 0)
      sent += static_cast<std::size_t>(n);
  }
  std::string in;
  char buf[16384];
  for (;;) {
    if (!wait_for(sock.fd, POLLIN, deadline))
      throw unreachable(where + " did not answer within " + std::to_string(timeout.count()) +
                        " ms");
    auto n = ::recv(sock.fd, buf, sizeof buf, 0);
    if (n == 0)
      break;
    if (n < 0) {
      if (errno == EAGAIN || errno == EINTR)
        continue;
      throw unreachable(where + " closed the connection: " + std::strerror(errno));
    }
    in.append(buf, static_cast<std::size_t>(n));
  }
  auto head_end = in.find("\r\n\r\n");
  if (head_end == std::string::npos || in.compare(0, 5, "HTTP/") != 0)
    throw unreachable(where + " closed the connection before a complete answer");
  http_answer a;
  auto space = in.find(' ');
  a.status = std::atoi(in.c_str() + space + 1);
  a.body = in.substr(head_end + 4);
  // Content-Length framing: a shorter body means the answer was cut.
  std::string head = in.substr(0, head_end);
  for (auto& c : head)
    c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  auto cl = head.find("\r\ncontent-length:");
  if (cl != std::string::npos) {
    auto length = std::strtoull(head.c_str() + cl + 17, nullptr, 10);
    if (a.body.size() < length)
      throw unreachable(where + " closed the connection before a complete answer");
    a.body.resize(length);
  }
  return a;
}

} // namespace bazaar::ctl
