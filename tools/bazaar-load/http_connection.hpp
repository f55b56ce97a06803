#pragma once

/// One non-blocking HTTP/1.1 connection of bazaar-load to one node: a request at a time,
/// kept alive between requests (unless told otherwise), connected again when the node closed
/// it, every request bounded by a timeout.

#include "event_loop.hpp"
#include "http_wire.hpp"

#include <sys/socket.h>

#include <chrono>
#include <functional>
#include <string>

namespace bazaar::load {

/// A node to send to: its resolved address, the Host header and the URL's path prefix.
struct target {
  sockaddr_storage address{};
  socklen_t address_length = 0;
  std::string host_header; ///< "127.0.0.1:8080"
  std::string prefix;
  std::string url; ///< as given, for reports

  /// Resolves an http://host[:port][/prefix] URL; throws std::invalid_argument when it is not
  /// one, std::runtime_error when the host does not resolve.
  static target resolve(const std::string& url);
};

/// How a request ended.
struct http_outcome {
  /// The answer's status, 0 when there was no complete answer.
  int status = 0;
  std::string body;
  /// Without an answer: "connect" (refused or unreachable: the request was never sent),
  /// "timeout", "closed" (the connection ended before a complete answer) or "protocol".
  std::string failure;
  /// Whether any byte of the request reached the socket: without an answer, the node may
  /// have carried it out.
  bool sent = false;

  bool answered() const { return status != 0; }
};

class http_connection final : public io_handler {
 public:
  using callback = std::function<void(http_outcome)>;

  http_connection(event_loop& loop, const target& to, bool keep_alive,
                  std::chrono::milliseconds timeout);
  ~http_connection() override;
  http_connection(const http_connection&) = delete;
  http_connection& operator=(const http_connection&) = delete;

  /// Sends `r`; `done` runs on the loop with the outcome (and may send the next request).
  /// One request at a time.
  void send(const http_request& r, callback done);
  bool busy() const { return static_cast<bool>(done_); }
  const target& to() const { return *to_; }
  /// Connections opened so far (the first one included).
  std::uint64_t connects() const { return connects_; }

  void on_io(std::uint32_t events) override;

 private:
  void open();
  void close_socket();
  void write_some();
  void read_some();
  void finish(http_outcome outcome);
  /// Ends the request with `failure` on the loop's next turn.
  void fail_soon(const char* failure);

  event_loop& loop_;
  const target* to_;
  bool keep_alive_;
  std::chrono::milliseconds timeout_;
  int fd_ = -1;
  bool connecting_ = false;
  std::string out_;
  std::size_t written_ = 0;
  response_parser parser_;
  callback done_;
  event_loop::timer deadline_{};
  std::uint64_t connects_ = 0;
  std::uint64_t request_seq_ = 0;
  /// When the last answer arrived: a connection idle for longer is probed before it is used.
  load_clock::time_point idle_since_{};
};

} // namespace bazaar::load
