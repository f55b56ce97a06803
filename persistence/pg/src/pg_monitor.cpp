#include "bazaar/persistence/pg_monitor.hpp"

#include "bazaar/persistence/migrations.hpp"

#include <pqxx/nontransaction>
#include <pqxx/pqxx>
#include <spdlog/spdlog.h>

#include <algorithm>

namespace bazaar::persistence {

pg_monitor::pg_monitor(pg_settings settings, std::chrono::milliseconds interval,
                       std::chrono::seconds applied_retention)
    : settings_(std::move(settings)), interval_(interval), applied_retention_(applied_retention) {
  thread_ = std::thread([this] { run(); });
}

pg_monitor::~pg_monitor() {
  stop();
}

void pg_monitor::stop() {
  {
    std::lock_guard<std::mutex> guard{mtx_};
    stopping_ = true;
  }
  cv_.notify_all();
  if (thread_.joinable())
    thread_.join();
}

std::string pg_monitor::last_error() const {
  std::lock_guard<std::mutex> guard{mtx_};
  return last_error_;
}

bool pg_monitor::wait_migrated(std::chrono::milliseconds timeout) const {
  std::unique_lock<std::mutex> lock{mtx_};
  return cv_.wait_for(lock, timeout, [&] { return migrated_.load() || stopping_; }) &&
         migrated_.load();
}

void pg_monitor::run() {
  std::unique_ptr<pqxx::connection> conn;
  bool was_reachable = false;
  auto next_cleanup = std::chrono::steady_clock::now();
  for (;;) {
    std::string error;
    try {
      if (!conn || !conn->is_open())
        conn = connect(settings_);
      if (!migrated_) {
        for (const auto& name : migrate(*conn, settings_.schema))
          spdlog::info("applied migration {}", name);
        migrated_ = true;
      } else {
        pqxx::nontransaction n{*conn};
        n.exec("SELECT 1");
        if (std::chrono::steady_clock::now() >= next_cleanup) {
          n.exec("DELETE FROM idempotency_keys WHERE expires_at < now()");
          // In slices, so that no statement holds many rows' locks for long.
          const auto older =
              "now() - interval '" + std::to_string(applied_retention_.count()) + " seconds'";
          while (n.exec("DELETE FROM projection_applied WHERE ctid IN (SELECT ctid FROM "
                        "projection_applied WHERE applied_at < " +
                        older + " LIMIT 10000)")
                     .affected_rows() == 10000) {
          }
          next_cleanup =
              std::chrono::steady_clock::now() +
              std::min<std::chrono::milliseconds>(std::chrono::minutes{1}, applied_retention_ / 2);
        }
      }
    } catch (const std::exception& e) {
      error = e.what();
      while (!error.empty() && (error.back() == '\n' || error.back() == ' '))
        error.pop_back();
      conn.reset();
    }
    bool ok = error.empty();
    if (ok != was_reachable) {
      if (ok)
        spdlog::info("PostgreSQL reachable (schema {})", settings_.schema);
      else
        spdlog::error("PostgreSQL not reachable: {}", error);
      was_reachable = ok;
    }
    std::unique_lock<std::mutex> lock{mtx_};
    reachable_ = ok;
    if (!ok)
      last_error_ = error;
    cv_.notify_all();
    if (cv_.wait_for(lock, interval_, [&] { return stopping_; }))
      return;
  }
}

} // namespace bazaar::persistence
