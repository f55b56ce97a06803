#pragma once

/// Hears the commits of every node of a cluster. The persister of each node sends a
/// PostgreSQL NOTIFY on the cluster's commit channel after every batch that wrote events
/// (persister::options::notify_channel); a commit_listener LISTENs on it with a connection of
/// its own and calls `heard` for each, so that the node leading the outbox relay publishes
/// another node's rows at once instead of at its next sweep. A node's own commits wake its
/// relay in-process; a node whose relay leads sends no NOTIFY (persister::options::
/// notify_wanted). While PostgreSQL is
/// unreachable it reconnects every second (the relay's sweep covers what it missed).

#include "bazaar/persistence/pg.hpp"

#include <atomic>
#include <functional>
#include <string>
#include <thread>

namespace bazaar::persistence {

/// The commit channel of the nodes sharing `schema`: nodes of other schemas (other clusters,
/// other tests on one server) do not wake each other.
std::string commit_channel(const std::string& schema);

class commit_listener {
 public:
  /// `heard(payload)` runs on the listener's thread for each notification: the committing
  /// node's id.
  commit_listener(pg_settings settings, std::string channel,
                  std::function<void(const std::string&)> heard);
  ~commit_listener();

  commit_listener(const commit_listener&) = delete;
  commit_listener& operator=(const commit_listener&) = delete;

  void start();
  /// Stops within a fifth of a second; idempotent.
  void stop();

  /// Notifications heard since start.
  std::uint64_t heard() const { return heard_count_.load(std::memory_order_relaxed); }

 private:
  void run();

  pg_settings settings_;
  std::string channel_;
  std::function<void(const std::string&)> heard_;
  std::atomic<bool> stopping_{false};
  std::atomic<std::uint64_t> heard_count_{0};
  std::thread thread_;
};

} // namespace bazaar::persistence
