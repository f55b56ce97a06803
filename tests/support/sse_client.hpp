#pragma once

/// A client of a server-sent event stream over a raw loopback socket, for tests: it sends the
/// GET, reads the response head, then the events one at a time (keep-alive comments too),
/// each read bounded by a timeout.

#include <boost/json.hpp>

#include <arpa/inet.h>
#include <cerrno>
#include <chrono>
#include <map>
#include <netinet/in.h>
#include <optional>
#include <poll.h>
#include <stdexcept>
#include <string>
#include <sys/socket.h>
#include <unistd.h>

namespace bazaar::test {

namespace json = boost::json;

/// One event of a stream: its `event:` name and its `data:` parsed, or a comment.
struct sse_event {
  std::string name;
  json::object data;
  std::string comment;
};

/// A raw HTTP client of one event stream: sends the request, reads the head, then events as
/// they come. Every read waits at most `timeout`, so a test never hangs.
class sse_client {
 public:
  sse_client(std::uint16_t port, const std::string& path, const std::string& token,
             std::chrono::milliseconds timeout = std::chrono::seconds{10})
      : timeout_(timeout) {
    fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
    if (fd_ < 0)
      throw std::runtime_error("socket failed");
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(port);
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (::connect(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0)
      throw std::runtime_error("connect failed");
    std::string req =
        "GET " + path + " HTTP/1.1\r\nHost: 127.0.0.1\r\nAccept: text/event-stream\r\n";
    if (!token.empty())
      req += "Authorization: Bearer " + token + "\r\n";
    req += "\r\n";
    if (::send(fd_, req.data(), req.size(), MSG_NOSIGNAL) != static_cast<ssize_t>(req.size()))
      throw std::runtime_error("send failed");
  }
  ~sse_client() { close(); }
  sse_client(const sse_client&) = delete;
  sse_client& operator=(const sse_client&) = delete;

  /// Reads the status line and headers (lower-cased names); the status code.
  int read_head() {
    std::size_t end;
    while ((end = buffer_.find("\r\n\r\n")) == std::string::npos)
      if (!fill())
        throw std::runtime_error("closed before the head");
    head_ = buffer_.substr(0, end + 2);
    buffer_.erase(0, end + 4);
    status_ = std::stoi(head_.substr(9, 3));
    for (std::size_t pos = head_.find("\r\n") + 2; pos < head_.size();) {
      auto eol = head_.find("\r\n", pos);
      auto line = head_.substr(pos, eol - pos);
      auto colon = line.find(':');
      auto name = line.substr(0, colon);
      for (auto& c : name)
        c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
      headers_[name] = line.substr(line.find_first_not_of(' ', colon + 1));
      pos = eol + 2;
    }
    return status_;
  }

  std::string header(const std::string& lower_name) const {
    auto i = headers_.find(lower_name);
    return i == headers_.end() ? std::string{} : i->second;
  }

  /// The rest of a non-stream answer (its body, up to Content-Length).
  json::value body() {
    auto length = std::stoul(header("content-length"));
    while (buffer_.size() < length)
      if (!fill())
        throw std::runtime_error("closed before the body");
    return json::parse(buffer_.substr(0, length));
  }

  /// The next event or comment; nullopt when the server closed the stream.
  std::optional<sse_event> next() {
    std::size_t end;
    while ((end = buffer_.find("\n\n")) == std::string::npos)
      if (!fill())
        return std::nullopt;
    auto block = buffer_.substr(0, end + 1);
    buffer_.erase(0, end + 2);
    sse_event e;
    for (std::size_t pos = 0; pos < block.size();) {
      auto eol = block.find('\n', pos);
      auto line = block.substr(pos, eol - pos);
      pos = eol + 1;
      if (line.rfind("event: ", 0) == 0)
        e.name = line.substr(7);
      else if (line.rfind("data: ", 0) == 0)
        e.data = json::parse(line.substr(6)).as_object();
      else if (line.rfind(": ", 0) == 0)
        e.comment = line.substr(2);
    }
    return e;
  }

  /// The next event, skipping keep-alive comments; fails the test when the stream closed.
  sse_event next_event() {
    for (;;) {
      auto e = next();
      if (!e)
        throw std::runtime_error("the stream closed before the next event");
      if (!e->name.empty())
        return *e;
    }
  }

  /// Whether the server closes the stream (EOF) before another event; comments are skipped.
  bool closes() {
    for (;;) {
      auto e = next();
      if (!e)
        return true;
      if (!e->name.empty())
        return false;
    }
  }

  /// Closes the socket (the client vanishes).
  void close() {
    if (fd_ >= 0)
      ::close(fd_);
    fd_ = -1;
  }

 private:
  bool fill() {
    pollfd p{fd_, POLLIN, 0};
    int ready = ::poll(&p, 1, static_cast<int>(timeout_.count()));
    if (ready <= 0)
      throw std::runtime_error("no bytes from the server in time");
    char chunk[4096];
    auto n = ::recv(fd_, chunk, sizeof chunk, 0);
    if (n < 0 && (errno == ECONNRESET))
      return false;
    if (n < 0)
      throw std::runtime_error("recv failed");
    if (n == 0)
      return false;
    buffer_.append(chunk, static_cast<std::size_t>(n));
    return true;
  }

  int fd_ = -1;
  std::chrono::milliseconds timeout_;
  std::string buffer_;
  std::string head_;
  int status_ = 0;
  std::map<std::string, std::string> headers_;
};

} // namespace bazaar::test
