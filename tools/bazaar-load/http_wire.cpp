#include "http_wire.hpp"

#include <algorithm>
#include <cctype>
#include <charconv>

namespace bazaar::load {

std::string encode(const http_request& r, std::string_view host, std::string_view prefix,
                   bool keep_alive) {
  std::string out;
  out.reserve(256 + r.token.size() + r.body.size());
  out.append(r.method).append(" ").append(prefix).append(r.path).append(" HTTP/1.1\r\nHost: ");
  out.append(host).append("\r\nAccept: application/json\r\n");
  if (!keep_alive)
    out.append("Connection: close\r\n");
  if (!r.token.empty())
    out.append("Authorization: Bearer ").append(r.token).append("\r\n");
  if (!r.idempotency_key.empty())
    out.append("Idempotency-Key: ").append(r.idempotency_key).append("\r\n");
  if (!r.body.empty() || r.method == "POST" || r.method == "PUT")
    out.append("Content-Type: application/json\r\nContent-Length: ")
        .append(std::to_string(r.body.size()))
        .append("\r\n");
  out.append("\r\n").append(r.body);
  return out;
}

namespace {

bool iequals(std::string_view a, std::string_view b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           return std::tolower(static_cast<unsigned char>(x)) ==
                  std::tolower(static_cast<unsigned char>(y));
         });
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t'))
    s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\r'))
    s.remove_suffix(1);
  return s;
}

/// Longest head accepted: a load tool talking to its own node should never see more.
constexpr std::size_t max_head_bytes = 64 * 1024;

} // namespace

void response_parser::reset() {
  buffer_.erase(0, pos_);
  pos_ = 0;
  phase_ = phase::head;
  remaining_ = 0;
  response_ = http_response{};
  state_ = state::incomplete;
  error_.clear();
  if (!buffer_.empty())
    parse();
}

response_parser::state response_parser::feed(const char* data, std::size_t n) {
  if (state_ != state::incomplete) {
    buffer_.append(data, n); // kept for the next answer
    return state_;
  }
  buffer_.append(data, n);
  return parse();
}

bool response_parser::take_body() {
  auto take = std::min(remaining_, buffer_.size() - pos_);
  response_.body.append(buffer_, pos_, take);
  pos_ += take;
  remaining_ -= take;
  return remaining_ == 0;
}

response_parser::state response_parser::fail(std::string why) {
  error_ = std::move(why);
  return state_ = state::error;
}

response_parser::state response_parser::parse() {
  for (;;) {
    switch (phase_) {
    case phase::head: {
      auto end = buffer_.find("\r\n\r\n", pos_);
      if (end == std::string::npos)
        return buffer_.size() - pos_ > max_head_bytes ? fail("an answer's head over 64 KiB")
                                                      : state_;
      std::string_view head{buffer_.data() + pos_, end - pos_};
      pos_ = end + 4;
      auto line_end = head.find("\r\n");
      auto status_line = head.substr(0, line_end);
      // "HTTP/1.1 200 OK"
      if (status_line.size() < 12 || status_line.substr(0, 5) != "HTTP/")
        return fail("not an HTTP answer: \"" + std::string{status_line.substr(0, 40)} + "\"");
      bool http10 = status_line.substr(5, 3) == "1.0";
      int status = 0;
      auto sp = status_line.find(' ');
      auto digits = status_line.substr(sp + 1, 3);
      if (std::from_chars(digits.data(), digits.data() + digits.size(), status).ec != std::errc{} ||
          status < 100 || status > 599)
        return fail("a bad status line: \"" + std::string{status_line.substr(0, 40)} + "\"");
      response_.status = status;
      bool chunked = false, has_length = false, keep_alive = !http10;
      std::size_t length = 0;
      std::string_view rest = line_end == std::string_view::npos ? "" : head.substr(line_end + 2);
      while (!rest.empty()) {
        auto eol = rest.find("\r\n");
        auto line = rest.substr(0, eol);
        rest = eol == std::string_view::npos ? "" : rest.substr(eol + 2);
        auto colon = line.find(':');
        if (colon == std::string_view::npos)
          continue;
        auto name = trim(line.substr(0, colon));
        auto value = trim(line.substr(colon + 1));
        if (iequals(name, "content-length")) {
          if (std::from_chars(value.data(), value.data() + value.size(), length).ec != std::errc{})
            return fail("a bad Content-Length");
          has_length = true;
        } else if (iequals(name, "transfer-encoding")) {
          chunked = value.find("chunked") != std::string_view::npos;
        } else if (iequals(name, "connection")) {
          if (iequals(value, "close"))
            keep_alive = false;
          else if (iequals(value, "keep-alive"))
            keep_alive = true;
        }
      }
      response_.close = !keep_alive;
      if (chunked) {
        phase_ = phase::chunk_size;
      } else if (has_length) {
        remaining_ = length;
        phase_ = phase::body;
      } else if (status == 204 || status == 304 || status < 200) {
        remaining_ = 0;
        phase_ = phase::body;
      } else {
        return fail("an answer without Content-Length or chunked encoding");
      }
      break;
    }
    case phase::body:
      if (!take_body())
        return state_;
      return state_ = state::done;
    case phase::chunk_size: {
      auto eol = buffer_.find("\r\n", pos_);
      if (eol == std::string::npos)
        return state_;
      std::string_view line{buffer_.data() + pos_, eol - pos_};
      line = line.substr(0, line.find(';'));
      std::size_t size = 0;
      if (std::from_chars(line.data(), line.data() + line.size(), size, 16).ec != std::errc{})
        return fail("a bad chunk size");
      pos_ = eol + 2;
      remaining_ = size;
      phase_ = size == 0 ? phase::trailers : phase::chunk_data;
      break;
    }
    case phase::chunk_data:
      if (!take_body())
        return state_;
      phase_ = phase::chunk_crlf;
      break;
    case phase::chunk_crlf:
      if (buffer_.size() - pos_ < 2)
        return state_;
      pos_ += 2;
      phase_ = phase::chunk_size;
      break;
    case phase::trailers: {
      auto eol = buffer_.find("\r\n", pos_);
      if (eol == std::string::npos)
        return state_;
      bool last = eol == pos_;
      pos_ = eol + 2;
      if (last)
        return state_ = state::done;
      break;
    }
    }
  }
}

} // namespace bazaar::load
