#include "bazaar/runtime/logging.hpp"

#include <spdlog/sinks/stdout_sinks.h>
#include <spdlog/spdlog.h>

#include <unistd.h>

#include <atomic>
#include <cctype>
#include <cstdio>
#include <ctime>
#include <vector>

namespace bazaar::runtime {

namespace {

// -- what every line carries -------------------------------------------------------------------

thread_local log_context current_context;

/// Read by every formatting thread, replaced rarely: swapped as a whole (atomic_load/store).
std::shared_ptr<const std::string> node_name = std::make_shared<const std::string>();
std::shared_ptr<const std::vector<std::string>> secrets =
    std::make_shared<const std::vector<std::string>>();

std::shared_ptr<const std::string> current_node() {
  return std::atomic_load(&node_name);
}

// -- masking secrets ---------------------------------------------------------------------------

bool iequals_at(std::string_view text, std::size_t at, std::string_view word) {
  if (text.size() - at < word.size())
    return false;
  for (std::size_t i = 0; i < word.size(); ++i)
    if (std::tolower(static_cast<unsigned char>(text[at + i])) != word[i])
      return false;
  return true;
}

/// Where the text of a URL's authority ends (the password cannot run past it).
bool ends_authority(char c) {
  return c == '/' || c == '?' || c == '#' || c == '"' || c == '\'' ||
         std::isspace(static_cast<unsigned char>(c));
}

/// Masks `scheme://user:password@` and `password=value` (a conninfo pair or a URL's query
/// parameter); appends the result to `out`. True if anything was masked.
bool mask_passwords(std::string_view text, std::string& out) {
  bool masked = false;
  std::size_t copied = 0;
  for (std::size_t i = 0; i < text.size(); ++i) {
    if (text.compare(i, 3, "://") == 0) {
      std::size_t start = i + 3;
      std::size_t end = start;
      while (end < text.size() && !ends_authority(text[end]))
        ++end;
      auto authority = text.substr(start, end - start);
      auto at = authority.rfind('@');
      auto colon = at == std::string_view::npos ? at : authority.substr(0, at).find(':');
      if (colon != std::string_view::npos && colon + 1 < at) {
        out.append(text.substr(copied, start + colon + 1 - copied));
        out += "***";
        copied = start + at;
        masked = true;
      }
      i = end == start ? i : end - 1;
    } else if (iequals_at(text, i, "password=")) {
      std::size_t start = i + 9;
      std::size_t end = start;
      if (end < text.size() && text[end] == '\'') {
        ++end; // a quoted conninfo value: up to the closing quote, \' escaped
        while (end < text.size() && text[end] != '\'')
          end += text[end] == '\\' ? 2 : 1;
        end = std::min(end + 1, text.size());
      } else {
        while (end < text.size() && text[end] != '&' && text[end] != '"' &&
               !std::isspace(static_cast<unsigned char>(text[end])))
          ++end;
      }
      if (end > start) {
        out.append(text.substr(copied, start - copied));
        out += "***";
        copied = end;
        masked = true;
      }
      i = end == start ? i : end - 1;
    }
  }
  if (masked)
    out.append(text.substr(copied));
  return masked;
}

/// Replaces every occurrence of the registered secrets in `text`.
bool mask_secrets(std::string& text, const std::vector<std::string>& list) {
  bool masked = false;
  for (const auto& s : list) {
    for (auto at = text.find(s); at != std::string::npos; at = text.find(s, at + 3)) {
      text.replace(at, s.size(), "***");
      masked = true;
    }
  }
  return masked;
}

/// The message as it may be logged: `payload` itself, or a masked copy in `scratch`.
std::string_view safe_message(std::string_view payload, std::string& scratch) {
  scratch.clear();
  bool masked = mask_passwords(payload, scratch);
  auto list = std::atomic_load(&secrets);
  if (list->empty())
    return masked ? std::string_view{scratch} : payload;
  if (!masked)
    scratch.assign(payload);
  masked = mask_secrets(scratch, *list) || masked;
  return masked ? std::string_view{scratch} : payload;
}

// -- writing lines -----------------------------------------------------------------------------

/// The length of the valid UTF-8 sequence at text[i], or 0 if there is none.
std::size_t utf8_length(std::string_view text, std::size_t i) {
  auto b = [&](std::size_t k) { return static_cast<unsigned char>(text[i + k]); };
  auto cont = [&](std::size_t k) { return i + k < text.size() && (b(k) & 0xc0) == 0x80; };
  unsigned char c = b(0);
  if (c >= 0xc2 && c <= 0xdf)
    return cont(1) ? 2 : 0;
  if (c >= 0xe0 && c <= 0xef) {
    if (!cont(1) || !cont(2))
      return 0;
    if ((c == 0xe0 && b(1) < 0xa0) || (c == 0xed && b(1) > 0x9f))
      return 0; // overlong, or a surrogate
    return 3;
  }
  if (c >= 0xf0 && c <= 0xf4) {
    if (!cont(1) || !cont(2) || !cont(3))
      return 0;
    if ((c == 0xf0 && b(1) < 0x90) || (c == 0xf4 && b(1) > 0x8f))
      return 0;
    return 4;
  }
  return 0;
}

/// Appends `text` as the inside of a JSON string: escaped, and bytes that are not UTF-8 as
/// U+FFFD, so that every line parses.
void append_escaped(spdlog::memory_buf_t& out, std::string_view text) {
  for (std::size_t i = 0; i < text.size(); ++i) {
    char c = text[i];
    switch (c) {
    case '"':
      out.append(std::string_view{"\\\""});
      break;
    case '\\':
      out.append(std::string_view{"\\\\"});
      break;
    case '\n':
      out.append(std::string_view{"\\n"});
      break;
    case '\r':
      out.append(std::string_view{"\\r"});
      break;
    case '\t':
      out.append(std::string_view{"\\t"});
      break;
    default: {
      auto u = static_cast<unsigned char>(c);
      if (u < 0x20 || u == 0x7f) {
        char buf[8];
        std::snprintf(buf, sizeof buf, "\\u%04x", static_cast<unsigned>(u));
        out.append(std::string_view{buf});
      } else if (u < 0x80) {
        out.push_back(c);
      } else if (auto n = utf8_length(text, i)) {
        out.append(text.substr(i, n));
        i += n - 1;
      } else {
        out.append(std::string_view{"\\ufffd"});
      }
    }
    }
  }
}

void append_time(spdlog::memory_buf_t& dest, const spdlog::details::log_msg& msg) {
  auto since = msg.time.time_since_epoch();
  auto secs = std::chrono::duration_cast<std::chrono::seconds>(since);
  auto millis = std::chrono::duration_cast<std::chrono::milliseconds>(since - secs).count();
  std::time_t t = secs.count();
  std::tm parts{};
  gmtime_r(&t, &parts);
  char stamp[64];
  std::snprintf(stamp, sizeof stamp, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", parts.tm_year + 1900,
                parts.tm_mon + 1, parts.tm_mday, parts.tm_hour, parts.tm_min, parts.tm_sec,
                static_cast<int>(millis));
  dest.append(std::string_view{stamp});
}

/// {"time":"...Z","level":"info","node":"n1","logger":"bazaar","thread":123,"msg":"...",
///  "correlation_id":"...","grain":"type/key","order_id":"..."}
class json_formatter final : public spdlog::formatter {
 public:
  void format(const spdlog::details::log_msg& msg, spdlog::memory_buf_t& dest) override {
    const auto& cx = current_context;
    auto node = current_node();
    dest.append(std::string_view{"{\"time\":\""});
    append_time(dest, msg);
    dest.append(std::string_view{"\",\"level\":\""});
    auto level = spdlog::level::to_string_view(msg.level);
    dest.append(level.data(), level.data() + level.size());
    dest.append(std::string_view{"\",\"node\":\""});
    append_escaped(dest, *node);
    dest.append(std::string_view{"\",\"logger\":\""});
    append_escaped(dest, std::string_view{msg.logger_name.data(), msg.logger_name.size()});
    dest.append(std::string_view{"\",\"thread\":"});
    auto tid = std::to_string(msg.thread_id);
    dest.append(std::string_view{tid});
    dest.append(std::string_view{",\"msg\":\""});
    append_escaped(dest, safe_message({msg.payload.data(), msg.payload.size()}, scratch_));
    dest.append(std::string_view{"\""});
    if (!cx.correlation_id.empty()) {
      dest.append(std::string_view{",\"correlation_id\":\""});
      append_escaped(dest, cx.correlation_id);
      dest.append(std::string_view{"\""});
    }
    if (!cx.grain_type.empty()) {
      dest.append(std::string_view{",\"grain\":\""});
      append_escaped(dest, cx.grain_type);
      dest.append(std::string_view{"/"});
      append_escaped(dest, cx.grain_key);
      dest.append(std::string_view{"\""});
    }
    if (!cx.order_id.empty()) {
      dest.append(std::string_view{",\"order_id\":\""});
      append_escaped(dest, cx.order_id);
      dest.append(std::string_view{"\""});
    }
    dest.append(std::string_view{"}\n"});
  }

  std::unique_ptr<spdlog::formatter> clone() const override {
    return std::make_unique<json_formatter>();
  }

 private:
  std::string scratch_; ///< a masked message (the sink formats under its lock)
};

/// 2025-01-01T10:00:00.000Z info [node] message correlation_id=... grain=... order_id=...
class text_formatter final : public spdlog::formatter {
 public:
  void format(const spdlog::details::log_msg& msg, spdlog::memory_buf_t& dest) override {
    const auto& cx = current_context;
    auto node = current_node();
    append_time(dest, msg);
    dest.push_back(' ');
    auto level = spdlog::level::to_string_view(msg.level);
    dest.append(level.data(), level.data() + level.size());
    dest.append(std::string_view{" ["});
    dest.append(std::string_view{*node});
    dest.append(std::string_view{"] "});
    auto text = safe_message({msg.payload.data(), msg.payload.size()}, scratch_);
    dest.append(text);
    auto field = [&dest](std::string_view name, std::string_view value) {
      dest.push_back(' ');
      dest.append(name);
      dest.push_back('=');
      dest.append(value);
    };
    if (!cx.correlation_id.empty())
      field("correlation_id", cx.correlation_id);
    if (!cx.grain_type.empty()) {
      field("grain", cx.grain_type);
      dest.push_back('/');
      dest.append(cx.grain_key);
    }
    if (!cx.order_id.empty())
      field("order_id", cx.order_id);
    dest.push_back('\n');
  }

  std::unique_ptr<spdlog::formatter> clone() const override {
    return std::make_unique<text_formatter>();
  }

 private:
  std::string scratch_;
};

} // namespace

std::unique_ptr<spdlog::formatter> make_log_formatter(const std::string& format) {
  if (format == "json")
    return std::make_unique<json_formatter>();
  return std::make_unique<text_formatter>();
}

void setup_logging(const config::log_options& opts) {
  char host[256] = {0};
  gethostname(host, sizeof host - 1);
  set_log_node(host); // until the node knows its id
  auto logger = spdlog::stderr_logger_mt("bazaar");
  logger->set_formatter(make_log_formatter(opts.format));
  logger->set_level(spdlog::level::from_str(opts.level));
  logger->flush_on(spdlog::level::warn);
  spdlog::set_default_logger(logger);
}

void set_log_node(std::string node) {
  std::atomic_store(&node_name, std::make_shared<const std::string>(std::move(node)));
}

void add_log_secret(std::string secret) {
  if (secret.size() < 8)
    return;
  auto list = std::make_shared<std::vector<std::string>>(*std::atomic_load(&secrets));
  for (const auto& s : *list)
    if (s == secret)
      return;
  list->push_back(std::move(secret));
  std::atomic_store(&secrets, std::shared_ptr<const std::vector<std::string>>(std::move(list)));
}

std::string password_in(std::string_view url) {
  if (auto scheme = url.find("://"); scheme != std::string_view::npos) {
    auto start = scheme + 3;
    auto end = start;
    while (end < url.size() && !ends_authority(url[end]))
      ++end;
    auto authority = url.substr(start, end - start);
    auto at = authority.rfind('@');
    auto colon = at == std::string_view::npos ? at : authority.substr(0, at).find(':');
    if (colon != std::string_view::npos)
      return std::string(authority.substr(colon + 1, at - colon - 1));
  }
  for (std::size_t i = 0; i < url.size(); ++i) {
    if (!iequals_at(url, i, "password="))
      continue;
    auto start = i + 9;
    auto end = start;
    if (end < url.size() && url[end] == '\'') {
      ++start;
      ++end;
      while (end < url.size() && url[end] != '\'')
        end += url[end] == '\\' ? 2 : 1;
      end = std::min(end, url.size());
    } else {
      while (end < url.size() && url[end] != '&' &&
             !std::isspace(static_cast<unsigned char>(url[end])))
        ++end;
    }
    return std::string(url.substr(start, end - start));
  }
  return {};
}

std::string redact_secrets(std::string_view text) {
  std::string scratch;
  return std::string(safe_message(text, scratch));
}

const log_context& current_log_context() noexcept {
  return current_context;
}

log_scope::log_scope(const log_context& context) noexcept : saved_(current_context) {
  current_context = context;
}

log_scope::~log_scope() {
  current_context = saved_;
}

} // namespace bazaar::runtime
