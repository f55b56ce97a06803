#include "bazaar/persistence/commit_listener.hpp"

#include <pqxx/notification>

#include <spdlog/spdlog.h>

#include <chrono>
#include <functional>

namespace bazaar::persistence {

namespace {

/// PostgreSQL's limit for a channel name (an identifier): 63 bytes.
constexpr std::size_t max_channel = 63;

/// Calls `fn` for each notification on its channel.
class receiver final : public pqxx::notification_receiver {
 public:
  receiver(pqxx::connection_base& c, const std::string& channel,
           std::function<void(const std::string&)> fn)
      : pqxx::notification_receiver(c, channel), fn_(std::move(fn)) {}
  void operator()(const std::string& payload, int) override { fn_(payload); }

 private:
  std::function<void(const std::string&)> fn_;
};

} // namespace

std::string commit_channel(const std::string& schema) {
  std::string channel = "bazaar_commits_" + schema;
  if (channel.size() > max_channel) // a long schema name: its hash keeps it apart
    channel = "bazaar_commits_" + std::to_string(std::hash<std::string>{}(schema));
  return channel;
}

commit_listener::commit_listener(pg_settings settings, std::string channel,
                                 std::function<void(const std::string&)> heard)
    : settings_(std::move(settings)), channel_(std::move(channel)), heard_(std::move(heard)) {}

commit_listener::~commit_listener() {
  stop();
}

void commit_listener::start() {
  thread_ = std::thread{[this] { run(); }};
}

void commit_listener::stop() {
  stopping_ = true;
  if (thread_.joinable())
    thread_.join();
}

void commit_listener::run() {
  using namespace std::chrono_literals;
  bool reported = false; // an outage is logged once, and its end
  while (!stopping_) {
    try {
      auto conn = connect(settings_);
      receiver r{*conn, channel_, [this](const std::string& payload) {
                   heard_count_.fetch_add(1, std::memory_order_relaxed);
                   heard_(payload);
                 }};
      if (reported) {
        spdlog::info("commit listener: listening on {} again", channel_);
        reported = false;
      }
      // Short waits, so that stop() is answered quickly; a broken connection throws.
      while (!stopping_)
        conn->await_notification(0, 200'000);
    } catch (const std::exception& e) {
      if (!reported)
        spdlog::warn("commit listener: cannot listen on {} ({}); retrying every second; the "
                     "relay's sweep publishes what other nodes commit meanwhile",
                     channel_, e.what());
      reported = true;
      for (int i = 0; i < 5 && !stopping_; ++i)
        std::this_thread::sleep_for(200ms);
    }
  }
}

} // namespace bazaar::persistence
