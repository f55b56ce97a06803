// The log formatters and secret masking (runtime/logging.hpp), on a logger of the test's own
// that writes into a string.

#include "bazaar/runtime/logging.hpp"

#include <boost/json.hpp>
#include <catch2/catch.hpp>
#include <spdlog/details/os.h>
#include <spdlog/sinks/ostream_sink.h>
#include <spdlog/spdlog.h>

#include <fcntl.h>
#include <unistd.h>

#include <condition_variable>
#include <cstdio>
#include <fstream>
#include <mutex>
#include <sstream>
#include <thread>

using namespace bazaar;
namespace json = boost::json;

namespace {

/// A logger writing `format` lines into `out`.
std::shared_ptr<spdlog::logger> string_logger(std::ostringstream& out, const std::string& format) {
  auto sink = std::make_shared<spdlog::sinks::ostream_sink_mt>(out);
  auto logger = std::make_shared<spdlog::logger>("test", sink);
  logger->set_formatter(runtime::make_log_formatter(format));
  logger->set_level(spdlog::level::trace);
  runtime::set_log_subject("order_id"); // as the shop's node names its log subject
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

/// A writer for an async_line_sink that the test holds: each call is noted, then waits until
/// the test releases the writer (never longer than a minute, so that a broken sink fails
/// the test instead of hanging it).
struct held_writer {
  std::mutex mtx;
  std::condition_variable cv;
  bool held = true;
  int calls = 0;
  std::vector<std::string> writes; ///< what each call wrote, once released

  runtime::async_line_sink::writer writer() {
    return [this](std::string_view lines) {
      std::unique_lock<std::mutex> lock{mtx};
      ++calls;
      cv.notify_all();
      cv.wait_for(lock, std::chrono::minutes{1}, [this] { return !held; });
      writes.emplace_back(lines);
    };
  }

  /// Waits until the writer was called `n` times (it is then held inside the last call).
  bool called(int n) {
    std::unique_lock<std::mutex> lock{mtx};
    return cv.wait_for(lock, std::chrono::minutes{1}, [&] { return calls >= n; });
  }

  void release() {
    std::lock_guard<std::mutex> lock{mtx};
    held = false;
    cv.notify_all();
  }

  std::string all() {
    std::lock_guard<std::mutex> lock{mtx};
    std::string out;
    for (const auto& w : writes)
      out += w;
    return out;
  }
};

/// A logger named "test" writing `format` lines through `sink`.
std::shared_ptr<spdlog::logger> logger_on(std::shared_ptr<runtime::async_line_sink> sink,
                                          const std::string& format = "json") {
  auto logger = std::make_shared<spdlog::logger>("test", std::move(sink));
  logger->set_formatter(runtime::make_log_formatter(format));
  logger->set_level(spdlog::level::trace);
  runtime::set_log_subject("order_id"); // as the shop's node names its log subject
  return logger;
}

std::vector<std::string> messages(const std::vector<json::object>& lines) {
  std::vector<std::string> out;
  for (const auto& l : lines)
    out.emplace_back(l.at("msg").as_string());
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

TEST_CASE("a secret added to the log is masked wherever it appears, one too short is not") {
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

// -- the asynchronous log (issue 20) -----------------------------------------------------------

TEST_CASE("a queued line carries the log context and thread of the one who logged it, written "
          "after its scope and strings are gone") {
  held_writer out;
  auto sink = std::make_shared<runtime::async_line_sink>(64, out.writer());
  auto logger = logger_on(sink);
  runtime::set_log_node("node-async");
  logger->info("first");
  REQUIRE(out.called(1)); // the writer holds "first": what follows waits in the queue
  {
    std::string cid = "corr-a", type = "checkout", key = "ord-a", order = "ord-a";
    runtime::log_scope scope{runtime::log_context{cid, type, key, order}};
    logger->warn("inside {}", 1);
    {
      std::string other = "corr-b";
      runtime::log_scope inner{runtime::log_context{other, {}, {}, {}}};
      logger->info("nested");
      other.assign("XXXXXX"); // a view into it after this line would show this
    }
    logger->info("password in postgresql://shop:s3cret@db/x");
    cid.assign("YYYYYY");
  }
  std::string other_thread_id;
  std::thread([&] {
    std::string cid = "corr-t", type = "payment", key = "pay-t";
    runtime::log_scope scope{runtime::log_context{cid, type, key, {}}};
    logger->error("from another thread");
    other_thread_id = std::to_string(spdlog::details::os::thread_id());
  }).join();
  logger->info("outside");
  out.release();
  REQUIRE(sink->drain(std::chrono::minutes{1}));

  auto lines = json_lines(out.all());
  REQUIRE(lines.size() == 6);
  CHECK(messages(lines) == std::vector<std::string>{"first", "inside 1", "nested",
                                                    "password in postgresql://shop:***@db/x",
                                                    "from another thread", "outside"});
  auto here = std::to_string(spdlog::details::os::thread_id());
  for (const auto& l : lines) {
    CHECK(l.at("node") == "node-async");
    CHECK(l.at("logger") == "test");
    CHECK(l.contains("time"));
  }
  CHECK(lines[1].at("level") == "warning");
  CHECK(lines[1].at("correlation_id") == "corr-a");
  CHECK(lines[1].at("grain") == "checkout/ord-a");
  CHECK(lines[1].at("order_id") == "ord-a");
  CHECK(json::serialize(lines[1].at("thread")) == here);
  CHECK(lines[2].at("correlation_id") == "corr-b");
  CHECK_FALSE(lines[2].contains("grain"));
  CHECK(lines[3].at("correlation_id") == "corr-a");
  CHECK(lines[4].at("correlation_id") == "corr-t");
  CHECK(lines[4].at("grain") == "payment/pay-t");
  CHECK_FALSE(lines[4].contains("order_id"));
  CHECK(json::serialize(lines[4].at("thread")) == other_thread_id);
  CHECK(other_thread_id != here);
  CHECK_FALSE(lines[5].contains("correlation_id"));
  CHECK(sink->dropped() == std::array<std::uint64_t, 6>{});
}

TEST_CASE("a queued line in the text format is the line the synchronous sink writes") {
  held_writer out;
  auto sink = std::make_shared<runtime::async_line_sink>(8, out.writer());
  auto logger = logger_on(sink, "text");
  runtime::set_log_node("node-8");
  {
    std::string cid = "corr-9", type = "order", key = "ord-9";
    runtime::log_scope scope{runtime::log_context{cid, type, key, key}};
    logger->info("handled something");
  }
  out.release();
  REQUIRE(sink->drain(std::chrono::minutes{1}));
  CHECK_THAT(out.all(), Catch::EndsWith(" info [node-8] handled something correlation_id=corr-9 "
                                        "grain=order/ord-9 order_id=ord-9\n"));
}

TEST_CASE("a full queue drops new lines without waiting, counts them by level, keeps its last "
          "eighth for warnings and errors, and the writer says how many it dropped") {
  held_writer out;
  // 16 lines: below warn while fewer than 14 are queued, warn and above while fewer than 16.
  auto sink = std::make_shared<runtime::async_line_sink>(16, out.writer());
  auto logger = logger_on(sink);
  logger->info("first");
  REQUIRE(out.called(1)); // held: nothing leaves the queue until released
  // Every call below returns although the writer is held (were one to wait, the test would
  // never get to release it).
  for (int i = 0; i < 14; ++i)
    logger->info("i{}", i);
  logger->info("i14: dropped");
  logger->debug("debug: dropped");
  logger->warn("w0");
  logger->warn("w1");
  logger->warn("w2: dropped");
  logger->error("error: dropped");
  logger->critical("critical: dropped");
  using lv = spdlog::level::level_enum;
  auto dropped = sink->dropped();
  CHECK(dropped[lv::trace] == 0);
  CHECK(dropped[lv::debug] == 1);
  CHECK(dropped[lv::info] == 1);
  CHECK(dropped[lv::warn] == 1);
  CHECK(dropped[lv::err] == 1);
  CHECK(dropped[lv::critical] == 1);

  out.release();
  REQUIRE(sink->drain(std::chrono::minutes{1}));
  {
    std::lock_guard<std::mutex> lock{out.mtx};
    REQUIRE(out.writes.size() == 2); // "first", then the queue at once
  }
  auto lines = json_lines(out.all());
  std::vector<std::string> expected{"first"};
  for (int i = 0; i < 14; ++i)
    expected.push_back("i" + std::to_string(i));
  expected.push_back("w0");
  expected.push_back("w1");
  REQUIRE(lines.size() == expected.size() + 1);
  auto notice = lines.back();
  lines.pop_back();
  CHECK(messages(lines) == expected);
  CHECK(notice.at("level") == "warning");
  CHECK_THAT(std::string(notice.at("msg").as_string()),
             Catch::StartsWith("log queue full: dropped 5 lines (3 at warning or above)"));

  // Room again; no new drop, so no new notice.
  logger->info("after");
  REQUIRE(sink->drain(std::chrono::minutes{1}));
  auto more = json_lines(out.all());
  REQUIRE(more.size() == lines.size() + 2);
  CHECK(more.back().at("msg") == "after");
  CHECK(sink->dropped()[lv::info] == 1);
}

TEST_CASE("stopping the asynchronous sink writes out every queued line, later lines are "
          "written by their own thread, and a stuck writer does not hold the stop forever") {
  SECTION("stop writes everything") {
    held_writer out;
    auto sink = std::make_shared<runtime::async_line_sink>(1024, out.writer());
    auto logger = logger_on(sink);
    logger->info("first");
    REQUIRE(out.called(1));
    for (int i = 0; i < 500; ++i)
      logger->info("line {}", i);
    out.release();
    REQUIRE(sink->stop(std::chrono::minutes{1})); // no drain: stop alone writes them out
    auto lines = json_lines(out.all());
    REQUIRE(lines.size() == 501);
    CHECK(lines.back().at("msg") == "line 499");
    logger->warn("after the stop");
    auto after = json_lines(out.all()); // written before the call returned
    REQUIRE(after.size() == 502);
    CHECK(after.back().at("msg") == "after the stop");
  }
  SECTION("a writer held past the stop's limit") {
    held_writer out;
    auto sink = std::make_shared<runtime::async_line_sink>(8, out.writer());
    auto logger = logger_on(sink);
    logger->info("held");
    REQUIRE(out.called(1));
    logger->info("queued");
    CHECK_FALSE(sink->stop(std::chrono::milliseconds{20})); // gives up, the writer goes on
    out.release();
    REQUIRE(sink->drain(std::chrono::minutes{1})); // the writer still ends its work
    auto lines = json_lines(out.all());
    REQUIRE(lines.size() == 2);
    CHECK(lines.back().at("msg") == "queued");
  }
}

TEST_CASE("setup_logging queues the node's lines for stderr, and shutdown_logging writes them "
          "all out") {
  std::string path = "/tmp/bazaar-logging-test-" + std::to_string(::getpid()) + ".log";
  std::fflush(stderr);
  int saved = ::dup(STDERR_FILENO);
  REQUIRE(saved >= 0);
  int fd = ::open(path.c_str(), O_CREAT | O_TRUNC | O_WRONLY, 0600);
  REQUIRE(fd >= 0);
  ::dup2(fd, STDERR_FILENO);
  ::close(fd);
  config::log_options opts;
  opts.level = "info";
  opts.format = "json";
  opts.queue_lines = 64;
  runtime::setup_logging(opts);
  runtime::set_log_node("node-stderr");
  {
    std::string cid = "corr-s", type = "order", key = "ord-s";
    runtime::log_scope scope{runtime::log_context{cid, type, key, key}};
    for (int i = 0; i < 40; ++i) // fewer than the queue's 56 lines below warn: none dropped
      spdlog::info("line {}", i);
    spdlog::debug("below the level");
  }
  runtime::shutdown_logging();
  auto dropped = runtime::log_lines_dropped();
  // Back to the synchronous log before stderr is restored (the next test's lines go there).
  opts.queue_lines = 0;
  runtime::setup_logging(opts);
  ::dup2(saved, STDERR_FILENO);
  ::close(saved);
  std::ifstream in{path};
  std::stringstream text;
  text << in.rdbuf();
  std::remove(path.c_str());
  auto lines = json_lines(text.str());
  REQUIRE(lines.size() == 40);
  for (int i = 0; i < 40; ++i) {
    CHECK(messages(lines)[static_cast<std::size_t>(i)] == "line " + std::to_string(i));
    CHECK(lines[static_cast<std::size_t>(i)].at("correlation_id") == "corr-s");
    CHECK(lines[static_cast<std::size_t>(i)].at("grain") == "order/ord-s");
    CHECK(lines[static_cast<std::size_t>(i)].at("node") == "node-stderr");
    CHECK(lines[static_cast<std::size_t>(i)].at("logger") == "bazaar");
  }
  CHECK(dropped == std::array<std::uint64_t, 6>{});
  CHECK(runtime::log_lines_dropped() == std::array<std::uint64_t, 6>{}); // synchronous now
}

TEST_CASE("the log subject's key is the one the application names, and none when it names none") {
  std::ostringstream out;
  auto logger = string_logger(out, "json");
  std::string cid = "corr-s", type = "shipment", key = "shp-1";
  {
    runtime::set_log_subject("shipment_id");
    runtime::log_scope scope{runtime::log_context{cid, type, key, key}};
    logger->info("named");
    runtime::set_log_subject("");
    logger->info("unnamed");
  }
  runtime::set_log_subject("order_id");
  auto lines = json_lines(out.str());
  REQUIRE(lines.size() == 2);
  CHECK(lines[0].at("shipment_id") == "shp-1");
  CHECK_FALSE(lines[0].contains("order_id"));
  CHECK_FALSE(lines[1].contains("shipment_id"));
  CHECK_FALSE(lines[1].contains("order_id"));
  CHECK(lines[1].at("grain") == "shipment/shp-1");
}
