#pragma once

/// grain_storage on PostgreSQL: the group-commit persister for writes, a batching loader for
/// activations, and a monitor thread that applies the migrations once the server is
/// reachable and then keeps checking it, so that readiness follows the database and the node
/// recovers by itself after an outage.

#include "bazaar/persistence/grain_storage.hpp"
#include "bazaar/persistence/persister.hpp"

#include <atomic>
#include <condition_variable>
#include <deque>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

namespace bazaar::persistence {

class pg_storage final : public grain_storage {
 public:
  struct options {
    persister::options writes;
    int load_batch = 256;
    std::chrono::milliseconds monitor_interval{1000};
  };

  pg_storage(pg_settings settings, options opts);
  ~pg_storage() override;

  void load(const std::string& type, const std::string& key,
            std::function<void(load_result)> done) override;
  void write(grain_write w) override;
  bool ready(std::string& why) const override;
  std::vector<due_reminder> claim_due_reminders(std::size_t limit,
                                                std::chrono::milliseconds lease) override;
  void history(const std::string& aggregate_type, const std::string& aggregate_id,
               std::function<void(std::optional<std::vector<std::string>>)> done) override;

  /// Waits up to `timeout` for the migrations; true once applied.
  bool wait_ready(std::chrono::milliseconds timeout) const;

  /// Finishes queued writes and stops every thread. Idempotent.
  void stop();

  const persister::stats& write_stats() const { return writes_.statistics(); }
  std::uint64_t loads() const { return loads_.load(); }

  const pg_settings& settings() const { return settings_; }

 private:
  struct pending_load {
    std::string type;
    std::string key;
    std::function<void(load_result)> done;
  };
  /// A query run on the loader thread; `unavailable` runs instead when it cannot be.
  struct job {
    std::function<void(pqxx::connection&)> run;
    std::function<void()> unavailable;
  };

  void monitor();
  void run_loader();

  pg_settings settings_;
  options opts_;
  persister writes_;
  std::atomic<bool> migrated_{false};
  std::atomic<bool> reachable_{false};
  mutable std::mutex mtx_;
  mutable std::condition_variable cv_;
  std::string last_error_ = "not connected yet";
  bool stopping_ = false;
  std::deque<pending_load> loads_queue_;
  std::deque<job> jobs_;
  std::unique_ptr<pqxx::connection> reminder_conn_; ///< used by claim_due_reminders only
  std::atomic<std::uint64_t> loads_{0};
  std::thread monitor_thread_;
  std::thread loader_thread_;
};

} // namespace bazaar::persistence
