// The log formatters and secret masking (runtime/logging.hpp), on a logger of the test's own
// that writes into a string.

#include "bazaar/runtime/logging.hpp"

#include <boost/json.hpp>
#include <catch2/catch.hpp>
#include <spdlog/sinks/ostream_sink.h>
#include <spdlog/spdlog.h>

#include <sstream>

using namespace bazaar;
namespace json = boost::json;

namespace {

/// A logger writing `format` lines into `out`.
std::shared_ptr<spdlog::logger> string_logger(std::ostringstream& out, const std::string& format) {
  auto sink = std::make_shared<spdlog::sinks::ostream_sink_mt>(out);
  auto logger = std::make_shared<spdlog::logger>("test", sink);
  logger->set_formatter(runtime::make_log_formatter(format));
  logger->set_level(spdlog::level::trace);
  return logger;
}

std::vector<json::object> json_lines(const std::string& text) {
  std::vector<json::object> out;
  std::istringstream in{text};
  std::string line;
  while (std::getline(in, line)) {
    INFO(line);
    boost::system::error_code ec;
    auto v = json::parse(line, ec);
    REQUIRE_FALSE(ec);
    REQUIRE(v.is_object());
    out.push_back(v.get_object());
  }
  return out;
}

} // namespace

TEST_CASE("every JSON log line parses, and carries the thread's log context only inside its "
          "scope") {
  std::ostringstream out;
  auto logger = string_logger(out, "json");
  runtime::set_log_node("node-7");
  logger->info("outside");
  {
    std::string cid = "corr-1", type = "checkout", key = "ord-1", order = "ord-1";
    runtime::log_scope scope{runtime::log_context{cid, type, key, order}};
    logger->warn("inside: \"quoted\" \\ tab\t newline\n ctrl\x01 del\x7f");
    {
      std::string other = "corr-2";
      runtime::log_scope inner{runtime::log_context{other, {}, {}, {}}};
      logger->info("nested");
    }
    logger->info("bytes that are not UTF-8: \xff\xfe \xc3 and UTF-8: caf\xc3\xa9 \xe2\x82\xac");
  }
  logger->error("after");
  auto lines = json_lines(out.str());
  REQUIRE(lines.size() == 5);
  for (const auto& l : lines) {
    CHECK(l.at("node") == "node-7");
    CHECK(l.at("logger") == "test");
    CHECK(l.contains("time"));
    CHECK(l.contains("thread"));
  }
  CHECK(lines[0].at("msg") == "outside");
  CHECK_FALSE(lines[0].contains("correlation_id"));
  CHECK_FALSE(lines[0].contains("grain"));
  CHECK_FALSE(lines[0].contains("order_id"));
  CHECK(lines[1].at("level") == "warning");
  CHECK(lines[1].at("msg") == "inside: \"quoted\" \\ tab\t newline\n ctrl\x01 del\x7f");
  CHECK(lines[1].at("correlation_id") == "corr-1");
  CHECK(lines[1].at("grain") == "checkout/ord-1");
  CHECK(lines[1].at("order_id") == "ord-1");
  CHECK(lines[2].at("correlation_id") == "corr-2");
  CHECK_FALSE(lines[2].contains("grain"));
  CHECK(lines[3].at("correlation_id") == "corr-1"); // the outer scope again
  CHECK(lines[3].at("msg") ==
        "bytes that are not UTF-8: \xef\xbf\xbd\xef\xbf\xbd \xef\xbf\xbd and UTF-8: caf\xc3\xa9 "
        "\xe2\x82\xac");
  CHECK_FALSE(lines[4].contains("correlation_id"));
  CHECK(lines[4].at("level") == "error");
}

TEST_CASE("the text format shows the log context after the message") {
  std::ostringstream out;
  auto logger = string_logger(out, "text");
  runtime::set_log_node("node-8");
  std::string cid = "corr-9", type = "order", key = "ord-9";
  {
    runtime::log_scope scope{runtime::log_context{cid, type, key, key}};
    logger->info("handled something");
  }
  auto text = out.str();
  CHECK(text.find(" info [node-8] handled something correlation_id=corr-9 grain=order/ord-9 "
                  "order_id=ord-9\n") != std::string::npos);
}

TEST_CASE("a password in a PostgreSQL URL or connection string is masked in every message") {
  using runtime::redact_secrets;
  CHECK(redact_secrets("postgresql://shop:s3cret@db:5432/bazaar") ==
        "postgresql://shop:***@db:5432/bazaar");
  CHECK(redact_secrets("URI: \"postgres://u:p%40ss@[::1]:5/x?sslmode=require\" failed") ==
        "URI: \"postgres://u:***@[::1]:5/x?sslmode=require\" failed");
  CHECK(redact_secrets("host=db user=shop password=s3cret dbname=x") ==
        "host=db user=shop password=*** dbname=x");
  CHECK(redact_secrets("host=db PASSWORD='a b \\' c' dbname=x") == "host=db PASSWORD=*** dbname=x");
  CHECK(redact_secrets("postgresql://db/x?user=u&password=s3cret&sslmode=disable") ==
        "postgresql://db/x?user=u&password=***&sslmode=disable");
  // No password: unchanged.
  CHECK(redact_secrets("postgresql://shop@db/bazaar and http://host:80/path") ==
        "postgresql://shop@db/bazaar and http://host:80/path");
  CHECK(redact_secrets("no secret here: ratio 3:4 @ noon") == "no secret here: ratio 3:4 @ noon");

  CHECK(runtime::password_in("postgresql://shop:s3cret@db/bazaar") == "s3cret");
  CHECK(runtime::password_in("postgresql://shop@db/bazaar").empty());
  CHECK(runtime::password_in("host=db password='a b' user=x") == "a b");
  CHECK(runtime::password_in("host=db password=abc user=x") == "abc");
}

TEST_CASE("a secret added to the log is masked wherever it appears; one too short is not") {
  runtime::add_log_secret("jwt-secret-for-the-log-test");
  runtime::add_log_secret("short");
  CHECK(runtime::redact_secrets("token signed with jwt-secret-for-the-log-test, "
                                "jwt-secret-for-the-log-test again") ==
        "token signed with ***, *** again");
  CHECK(runtime::redact_secrets("a short word") == "a short word");

  std::ostringstream out;
  auto logger = string_logger(out, "json");
  logger->info("the secret is {}", "jwt-secret-for-the-log-test");
  auto lines = json_lines(out.str());
  REQUIRE(lines.size() == 1);
  CHECK(lines[0].at("msg") == "the secret is ***");
}
