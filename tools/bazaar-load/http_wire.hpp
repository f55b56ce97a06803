#pragma once

/// HTTP/1.1 on the wire for bazaar-load: a request's bytes, and an incremental parser of
/// answers (Content-Length or chunked bodies; a body delimited by the connection's close is
/// refused, since a kept-alive load connection must know where an answer ends).

#include <cstddef>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace bazaar::load {

struct http_request {
  std::string method;
  std::string path; ///< with the query, without the URL's prefix
  std::string token;
  std::string body; ///< JSON; sent with Content-Type and Content-Length when not empty
  std::string idempotency_key;
};

struct http_response {
  int status = 0;
  std::string body;
  /// The server said `Connection: close` (or spoke HTTP/1.0 without keep-alive).
  bool close = false;
};

/// The bytes of `r` for `host` ("127.0.0.1:8080") with `prefix` before the path.
std::string encode(const http_request& r, std::string_view host, std::string_view prefix,
                   bool keep_alive);

/// Parses one answer from bytes fed in any pieces. After done(), take() the answer and reset()
/// before the next one (bytes fed past the answer are kept for it).
class response_parser {
 public:
  enum class state { incomplete, done, error };

  /// Appends bytes and parses as far as they go.
  state feed(const char* data, std::size_t n);
  state current() const { return state_; }
  /// Why the answer could not be parsed (state::error).
  const std::string& error() const { return error_; }
  /// Whether any byte of an answer arrived since reset().
  bool started() const { return !buffer_.empty() || state_ != state::incomplete; }
  http_response take() { return std::move(response_); }
  void reset();

 private:
  state parse();
  state fail(std::string why);
  /// Moves up to `remaining_` buffered bytes into the body; true once none remain.
  bool take_body();

  enum class phase { head, body, chunk_size, chunk_data, chunk_crlf, trailers };
  std::string buffer_;
  std::size_t pos_ = 0;
  phase phase_ = phase::head;
  std::size_t remaining_ = 0;
  http_response response_;
  state state_ = state::incomplete;
  std::string error_;
};

} // namespace bazaar::load
