#pragma once

/// Watches PostgreSQL from a thread of its own: applies the migrations once the server is
/// reachable, then checks the server every `interval`, so that readiness follows the database
/// and a node recovers by itself after an outage. It also keeps two tables bounded, at most
/// once a minute (or twice per retention when that is shorter): it deletes expired
/// idempotency answers, and the read side's applied event ids older than
/// `applied_retention` (an event redelivered after that would be applied again; Kafka
/// redelivers what a group did not commit, within minutes, unless the group is reset).
/// Stops (joining its thread) on stop() or destruction.

#include "bazaar/persistence/pg.hpp"

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <mutex>
#include <string>
#include <thread>

namespace bazaar::persistence {

class pg_monitor {
 public:
  pg_monitor(pg_settings settings, std::chrono::milliseconds interval,
             std::chrono::seconds applied_retention = std::chrono::hours{7 * 24});
  ~pg_monitor();

  pg_monitor(const pg_monitor&) = delete;
  pg_monitor& operator=(const pg_monitor&) = delete;

  /// The migrations are applied (from then on, loads and writes may be tried).
  bool migrated() const { return migrated_.load(); }

  /// The last check reached the server.
  bool reachable() const { return reachable_.load(); }

  /// What the last failed check said.
  std::string last_error() const;

  /// Waits up to `timeout` for the migrations; true once applied.
  bool wait_migrated(std::chrono::milliseconds timeout) const;

  /// Stops checking; idempotent.
  void stop();

 private:
  void run();

  pg_settings settings_;
  std::chrono::milliseconds interval_;
  std::chrono::seconds applied_retention_;
  std::atomic<bool> migrated_{false};
  std::atomic<bool> reachable_{false};
  mutable std::mutex mtx_;
  mutable std::condition_variable cv_;
  std::string last_error_ = "not connected yet";
  bool stopping_ = false;
  std::thread thread_;
};

} // namespace bazaar::persistence
