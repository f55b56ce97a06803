#include "support/http_client.hpp"

#include <boost/json/parse.hpp>

#include <algorithm>
#include <arpa/inet.h>
#include <cctype>
#include <cerrno>
#include <cstring>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdexcept>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

namespace bazaar::test {

namespace {

using clock_type = std::chrono::steady_clock;
constexpr std::size_t incomplete = std::string::npos;

std::string lower(std::string_view text) {
  std::string out(text);
  for (auto& c : out)
    c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

std::string_view trim(std::string_view text) {
  while (!text.empty() && (text.front() == ' ' || text.front() == '\t'))
    text.remove_prefix(1);
  while (!text.empty() && (text.back() == ' ' || text.back() == '\t' || text.back() == '\r'))
    text.remove_suffix(1);
  return text;
}

[[noreturn]] void fail_errno(const std::string& what) {
  throw std::runtime_error(what + ": " + std::strerror(errno));
}

/// A connected TCP socket to 127.0.0.1:port.
int connect_loopback(std::uint16_t port) {
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0)
    fail_errno("socket");
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(port);
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::connect(fd, reinterpret_cast<const sockaddr*>(&addr), sizeof addr) != 0) {
    int saved = errno;
    ::close(fd);
    errno = saved;
    fail_errno("connect to 127.0.0.1:" + std::to_string(port));
  }
  return fd;
}

/// Decodes a chunked body starting at `from`; returns the index after it or `incomplete`.
std::size_t parse_chunked(std::string_view bytes, std::size_t from, std::string& body) {
  std::size_t pos = from;
  body.clear();
  for (;;) {
    auto eol = bytes.find("\r\n", pos);
    if (eol == std::string_view::npos)
      return incomplete;
    std::size_t size = 0;
    try {
      size = std::stoul(std::string(bytes.substr(pos, eol - pos)), nullptr, 16);
    } catch (const std::exception&) {
      throw std::runtime_error("bad chunk size in answer");
    }
    pos = eol + 2;
    if (size == 0) {
      // Trailers (none expected) end with an empty line.
      auto end = bytes.find("\r\n", pos);
      if (end == std::string_view::npos)
        return incomplete;
      return end + 2;
    }
    if (bytes.size() < pos + size + 2)
      return incomplete;
    body.append(bytes.substr(pos, size));
    pos += size + 2;
  }
}

/// Parses one answer at the front of `bytes`. Returns how many bytes it took, or `incomplete`.
/// An answer without Content-Length or chunking ends at EOF, so it is complete only if `eof`.
std::size_t try_parse(std::string_view bytes, http_response& out, bool eof) {
  auto head_end = bytes.find("\r\n\r\n");
  if (head_end == std::string_view::npos)
    return incomplete;
  http_response r;
  std::string_view head = bytes.substr(0, head_end);
  auto line_end = head.find("\r\n");
  std::string_view status_line = head.substr(0, line_end);
  if (status_line.substr(0, 5) != "HTTP/")
    throw std::runtime_error("not an HTTP answer: " + std::string(status_line.substr(0, 80)));
  auto space = status_line.find(' ');
  if (space == std::string_view::npos)
    throw std::runtime_error("bad status line: " + std::string(status_line));
  try {
    r.status = std::stoi(std::string(status_line.substr(space + 1, 3)));
  } catch (const std::exception&) {
    throw std::runtime_error("bad status line: " + std::string(status_line));
  }
  std::size_t pos = line_end == std::string_view::npos ? head.size() : line_end + 2;
  while (pos < head.size()) {
    auto eol = head.find("\r\n", pos);
    if (eol == std::string_view::npos)
      eol = head.size();
    auto line = head.substr(pos, eol - pos);
    auto colon = line.find(':');
    if (colon != std::string_view::npos)
      r.headers[lower(trim(line.substr(0, colon)))] = std::string(trim(line.substr(colon + 1)));
    pos = eol + 2;
  }
  std::size_t body_start = head_end + 4;
  std::size_t end = 0;
  auto te = r.headers.find("transfer-encoding");
  auto cl = r.headers.find("content-length");
  if (r.status == 204 || r.status == 304 || (r.status >= 100 && r.status < 200)) {
    end = body_start;
  } else if (te != r.headers.end() && lower(te->second).find("chunked") != std::string::npos) {
    end = parse_chunked(bytes, body_start, r.body);
    if (end == incomplete)
      return incomplete;
  } else if (cl != r.headers.end()) {
    std::size_t length = 0;
    try {
      length = std::stoul(cl->second);
    } catch (const std::exception&) {
      throw std::runtime_error("bad Content-Length in answer: " + cl->second);
    }
    if (bytes.size() < body_start + length)
      return incomplete;
    r.body = std::string(bytes.substr(body_start, length));
    end = body_start + length;
  } else {
    if (!eof)
      return incomplete;
    r.body = std::string(bytes.substr(body_start));
    end = bytes.size();
  }
  out = std::move(r);
  return end;
}

/// Whether the peer has closed the socket, seen without blocking.
bool peer_closed_now(int fd) {
  pollfd p{fd, POLLIN, 0};
  if (::poll(&p, 1, 0) <= 0)
    return false;
  char c;
  auto n = ::recv(fd, &c, 1, MSG_PEEK | MSG_DONTWAIT);
  return n == 0 || (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR);
}

} // namespace

// -- http_response ---------------------------------------------------------------------------

boost::json::value http_response::json() const {
  boost::json::error_code ec;
  auto v = boost::json::parse(body, ec);
  if (ec)
    throw std::runtime_error("answer body is not JSON (" + ec.message() +
                             "): " + body.substr(0, 200));
  return v;
}

std::string http_response::header(std::string_view name) const {
  auto i = headers.find(lower(name));
  return i == headers.end() ? std::string{} : i->second;
}

bool http_response::has_header(std::string_view name) const {
  return headers.count(lower(name)) != 0;
}

// -- http_connection -------------------------------------------------------------------------

http_connection::http_connection(std::uint16_t port, std::chrono::milliseconds timeout)
    : fd_(connect_loopback(port)), timeout_(timeout) {
  timeval tv{};
  tv.tv_sec = static_cast<time_t>(timeout.count() / 1000);
  tv.tv_usec = static_cast<suseconds_t>((timeout.count() % 1000) * 1000);
  ::setsockopt(fd_, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  ::setsockopt(fd_, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
}

http_connection::~http_connection() {
  close();
}

http_connection::http_connection(http_connection&& other) noexcept
    : fd_(std::exchange(other.fd_, -1)), timeout_(other.timeout_),
      buffer_(std::move(other.buffer_)) {}

http_connection& http_connection::operator=(http_connection&& other) noexcept {
  if (this != &other) {
    close();
    fd_ = std::exchange(other.fd_, -1);
    timeout_ = other.timeout_;
    buffer_ = std::move(other.buffer_);
  }
  return *this;
}

void http_connection::close(bool reset) {
  if (fd_ < 0)
    return;
  if (reset) {
    linger l{1, 0};
    ::setsockopt(fd_, SOL_SOCKET, SO_LINGER, &l, sizeof l);
  }
  ::close(fd_);
  fd_ = -1;
}

void http_connection::send_raw(std::string_view bytes) {
  if (fd_ < 0)
    throw std::runtime_error("send on a closed connection");
  while (!bytes.empty()) {
    auto n = ::send(fd_, bytes.data(), bytes.size(), MSG_NOSIGNAL);
    if (n < 0) {
      if (errno == EINTR)
        continue;
      if (errno == EPIPE || errno == ECONNRESET)
        throw closed_before_answer(std::string("send: ") + std::strerror(errno));
      fail_errno("send");
    }
    bytes.remove_prefix(static_cast<std::size_t>(n));
  }
}

bool http_connection::fill() {
  char chunk[16384];
  for (;;) {
    auto n = ::recv(fd_, chunk, sizeof chunk, 0);
    if (n > 0) {
      buffer_.append(chunk, static_cast<std::size_t>(n));
      return true;
    }
    if (n == 0)
      return false;
    if (errno == EINTR)
      continue;
    if (errno == EAGAIN || errno == EWOULDBLOCK)
      throw std::runtime_error("no answer within " + std::to_string(timeout_.count()) + " ms");
    if (errno == ECONNRESET)
      return false;
    fail_errno("recv");
  }
}

http_response http_connection::read_response() {
  bool eof = false;
  for (;;) {
    http_response r;
    auto used = try_parse(buffer_, r, eof);
    if (used != incomplete) {
      buffer_.erase(0, used);
      r.server_closed = eof || peer_closed_now(fd_);
      return r;
    }
    if (eof)
      throw closed_before_answer("the server closed the connection before a complete answer (" +
                                 std::to_string(buffer_.size()) + " bytes read)");
    eof = !fill();
  }
}

http_response http_connection::request(const std::string& method, const std::string& path,
                                       const std::string& body, const header_list& headers) {
  std::string out = method + " " + path + " HTTP/1.1\r\nHost: 127.0.0.1\r\n";
  bool has_type = false;
  for (const auto& [name, value] : headers) {
    has_type = has_type || lower(name) == "content-type";
    out += name + ": " + value + "\r\n";
  }
  if (!body.empty() && !has_type)
    out += "Content-Type: application/json\r\n";
  if (!body.empty() || method == "POST" || method == "PUT")
    out += "Content-Length: " + std::to_string(body.size()) + "\r\n";
  out += "\r\n";
  out += body;
  send_raw(out);
  return read_response();
}

bool http_connection::wait_for_close(std::chrono::milliseconds limit) {
  if (fd_ < 0)
    return true;
  auto deadline = clock_type::now() + limit;
  char chunk[4096];
  for (;;) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - clock_type::now());
    if (left.count() < 0)
      return false;
    pollfd p{fd_, POLLIN, 0};
    int ready = ::poll(&p, 1, static_cast<int>(left.count()));
    if (ready < 0 && errno == EINTR)
      continue;
    if (ready <= 0)
      return false;
    auto n = ::recv(fd_, chunk, sizeof chunk, MSG_DONTWAIT);
    if (n == 0)
      return true;
    if (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)
      return true;
  }
}

std::uint16_t http_connection::local_port() const {
  sockaddr_in addr{};
  socklen_t len = sizeof addr;
  if (fd_ < 0 || ::getsockname(fd_, reinterpret_cast<sockaddr*>(&addr), &len) != 0)
    return 0;
  return ntohs(addr.sin_port);
}

// -- raw exchanges ---------------------------------------------------------------------------

http_response parse_response(std::string_view bytes) {
  http_response r;
  try {
    if (try_parse(bytes, r, true) == incomplete)
      return http_response{};
  } catch (const std::runtime_error&) {
    return http_response{};
  }
  return r;
}

int raw_result::response_count() const {
  int count = 0;
  std::string_view rest = received;
  while (!rest.empty()) {
    http_response r;
    std::size_t used = incomplete;
    try {
      used = try_parse(rest, r, true);
    } catch (const std::runtime_error&) {
      break;
    }
    if (used == incomplete) {
      if (rest.substr(0, 5) == "HTTP/")
        ++count;
      break;
    }
    ++count;
    rest.remove_prefix(used);
  }
  return count;
}

http_response raw_result::first_response() const {
  return parse_response(received);
}

raw_result raw_exchange(std::uint16_t port, std::string_view bytes,
                        std::chrono::milliseconds timeout) {
  auto start = clock_type::now();
  auto deadline = start + timeout;
  raw_result result;
  int fd = connect_loopback(port);
  ::fcntl(fd, F_SETFL, ::fcntl(fd, F_GETFL) | O_NONBLOCK);
  bool sending = !bytes.empty();
  char chunk[16384];
  for (;;) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - clock_type::now());
    if (left.count() <= 0)
      break;
    pollfd p{fd, static_cast<short>(POLLIN | (sending ? POLLOUT : 0)), 0};
    int ready = ::poll(&p, 1, static_cast<int>(left.count()));
    if (ready < 0 && errno == EINTR)
      continue;
    if (ready <= 0)
      break;
    if (sending && (p.revents & POLLOUT)) {
      auto n = ::send(fd, bytes.data(), bytes.size(), MSG_NOSIGNAL);
      if (n > 0)
        bytes.remove_prefix(static_cast<std::size_t>(n));
      else if (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)
        sending = false; // the server stopped reading or closed: now only listen
      sending = sending && !bytes.empty();
    }
    if (p.revents & (POLLIN | POLLHUP | POLLERR)) {
      auto n = ::recv(fd, chunk, sizeof chunk, 0);
      if (n > 0) {
        result.received.append(chunk, static_cast<std::size_t>(n));
      } else if (n == 0 || (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)) {
        result.closed = true;
        break;
      }
    }
  }
  ::close(fd);
  result.elapsed = std::chrono::duration_cast<std::chrono::milliseconds>(clock_type::now() - start);
  return result;
}

} // namespace bazaar::test
