#pragma once

/// The blocking HTTP/1.1 client of bazaarctl: one request per connection (Connection: close)
/// to an http:// URL, every wait bounded by a timeout.

#include <chrono>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

namespace bazaar::ctl {

/// Where the node is: from an http://host[:port][/prefix] URL.
struct endpoint {
  std::string host;
  std::string port = "80";
  std::string prefix; ///< a path prefix without the trailing slash, usually empty

  /// Throws std::invalid_argument for anything but an http:// URL with a host.
  static endpoint parse(const std::string& url);
};

struct http_answer {
  int status = 0;
  std::string body;
};

/// The node could not be reached, or closed the connection before a complete answer.
class unreachable : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

/// Sends one request (with `Authorization: Bearer <token>` when the token is not empty and
/// `Content-Type: application/json` when there is a body) and reads its answer.
http_answer request(const endpoint& to, const std::string& method, const std::string& path,
                    const std::string& token, const std::string& body,
                    std::chrono::milliseconds timeout);

} // namespace bazaar::ctl
