#pragma once

/// A small blocking HTTP/1.1 client over POSIX sockets to 127.0.0.1, for tests: kept-alive
/// connections with Content-Length framed answers, and raw byte exchanges for malformed input.
/// It never sends a `Connection:` header unless the caller passes one.

#include <boost/json/value.hpp>

#include <chrono>
#include <cstdint>
#include <map>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace bazaar::test {

/// Request headers in the order they are sent.
using header_list = std::vector<std::pair<std::string, std::string>>;

/// One HTTP answer as read from the wire.
struct http_response {
  int status = 0;
  /// Header names lower-cased; a repeated header keeps its last value.
  std::map<std::string, std::string> headers;
  std::string body;
  /// True when the server had closed the connection by the time the answer was read.
  bool server_closed = false;

  /// The body parsed as JSON; throws std::runtime_error when it is not JSON.
  boost::json::value json() const;

  /// The value of a header (name in any case), or an empty string.
  std::string header(std::string_view name) const;

  /// Whether the answer carries a header (name in any case).
  bool has_header(std::string_view name) const;
};

/// What http_connection::request() throws when the server closed the connection (FIN or RST)
/// before a complete answer arrived: no answer at all, or a truncated one.
class closed_before_answer : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

/// A kept-alive connection to 127.0.0.1:port. Every read waits at most `timeout`, so a test
/// never hangs: a server that does not answer makes request() throw std::runtime_error.
class http_connection {
 public:
  explicit http_connection(std::uint16_t port,
                           std::chrono::milliseconds timeout = std::chrono::seconds{10});
  ~http_connection();

  http_connection(http_connection&& other) noexcept;
  http_connection& operator=(http_connection&& other) noexcept;
  http_connection(const http_connection&) = delete;
  http_connection& operator=(const http_connection&) = delete;

  /// Sends one request and reads its answer. A non-empty body gets
  /// `Content-Type: application/json` unless `headers` names a Content-Type; POST and PUT
  /// always carry a Content-Length. Throws closed_before_answer when the server closes the
  /// connection before a complete answer, std::runtime_error when the connection fails
  /// otherwise or on timeout.
  http_response request(const std::string& method, const std::string& path,
                        const std::string& body = {}, const header_list& headers = {});

  /// Sends bytes as they are, without reading anything. Throws closed_before_answer when the
  /// server has closed the connection (EPIPE, ECONNRESET).
  void send_raw(std::string_view bytes);

  /// Waits until the server closes the connection; false if it is still open after `limit`.
  /// Bytes that arrive meanwhile are discarded.
  bool wait_for_close(std::chrono::milliseconds limit);

  /// The local port of the socket: the same value means the same TCP connection.
  std::uint16_t local_port() const;

  /// Whether the socket is still held by this object (not closed locally).
  bool is_open() const { return fd_ >= 0; }

  /// Closes the socket locally; with `reset` the close sends a TCP RST (SO_LINGER 0).
  void close(bool reset = false);

 private:
  /// Reads more bytes into buffer_; false on EOF. Throws on error or timeout.
  bool fill();
  /// Reads one complete answer from buffer_ and the socket.
  http_response read_response();

  int fd_ = -1;
  std::chrono::milliseconds timeout_;
  std::string buffer_;
};

/// What raw_exchange() saw.
struct raw_result {
  /// Every byte received until the server closed the connection or the time ran out.
  std::string received;
  /// From connecting to the close (or the timeout).
  std::chrono::milliseconds elapsed{0};
  /// True when the server closed (FIN or RST) before the timeout.
  bool closed = false;

  /// How many HTTP answers (status lines) the received bytes hold.
  int response_count() const;

  /// The first answer in the received bytes; status 0 when there is none or it is incomplete.
  http_response first_response() const;
};

/// Connects to 127.0.0.1:port, sends `bytes` (stopping quietly if the server stops reading
/// or closes) and returns everything read until the server closes or `timeout` passes.
raw_result raw_exchange(std::uint16_t port, std::string_view bytes,
                        std::chrono::milliseconds timeout);

/// Parses one answer from the front of `bytes`: status 0 when it is not a complete answer.
http_response parse_response(std::string_view bytes);

} // namespace bazaar::test
