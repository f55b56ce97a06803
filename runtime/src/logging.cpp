#include "bazaar/runtime/logging.hpp"

#include <spdlog/pattern_formatter.h>
#include <spdlog/sinks/stdout_sinks.h>
#include <spdlog/spdlog.h>

#include <ctime>

namespace bazaar::runtime {

namespace {

void append_escaped(spdlog::memory_buf_t& out, std::string_view text) {
  for (char c : text) {
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
    default:
      if (static_cast<unsigned char>(c) < 0x20) {
        char buf[8];
        std::snprintf(buf, sizeof buf, "\\u%04x", c);
        out.append(std::string_view{buf});
      } else {
        out.push_back(c);
      }
    }
  }
}

/// {"time":"...Z","level":"info","logger":"bazaar","thread":123,"msg":"..."}
class json_formatter final : public spdlog::formatter {
 public:
  void format(const spdlog::details::log_msg& msg, spdlog::memory_buf_t& dest) override {
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
    dest.append(std::string_view{"{\"time\":\""});
    dest.append(std::string_view{stamp});
    dest.append(std::string_view{"\",\"level\":\""});
    auto level = spdlog::level::to_string_view(msg.level);
    dest.append(level.data(), level.data() + level.size());
    dest.append(std::string_view{"\",\"logger\":\""});
    append_escaped(dest, std::string_view{msg.logger_name.data(), msg.logger_name.size()});
    dest.append(std::string_view{"\",\"thread\":"});
    auto tid = std::to_string(msg.thread_id);
    dest.append(std::string_view{tid});
    dest.append(std::string_view{",\"msg\":\""});
    append_escaped(dest, std::string_view{msg.payload.data(), msg.payload.size()});
    dest.append(std::string_view{"\"}\n"});
  }

  std::unique_ptr<spdlog::formatter> clone() const override {
    return std::make_unique<json_formatter>();
  }
};

} // namespace

void setup_logging(const config::log_options& opts) {
  auto logger = spdlog::stderr_logger_mt("bazaar");
  if (opts.format == "json")
    logger->set_formatter(std::make_unique<json_formatter>());
  else
    logger->set_pattern("%Y-%m-%dT%H:%M:%S.%e %^%l%$ %v");
  logger->set_level(spdlog::level::from_str(opts.level));
  logger->flush_on(spdlog::level::warn);
  spdlog::set_default_logger(logger);
}

} // namespace bazaar::runtime
