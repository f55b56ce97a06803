#pragma once

/// Reads for grains, on one thread with one connection: activations' snapshots in batches (one
/// query for up to `batch` grains, with their remembered idempotency answers), and the
/// occasional read query (the journal). Stops (joining its thread, answering what is queued as
/// unavailable) on stop() or destruction.

#include "bazaar/persistence/grain_store.hpp"
#include "bazaar/persistence/pg.hpp"

#include <atomic>
#include <condition_variable>
#include <deque>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

namespace bazaar::persistence {

class pg_loader {
 public:
  /// A query run on the loader's thread; `unavailable` runs instead when it cannot be.
  struct job {
    std::function<void(pqxx::connection&)> run;
    std::function<void()> unavailable;
  };

  pg_loader(pg_settings settings, int batch);
  ~pg_loader();

  pg_loader(const pg_loader&) = delete;
  pg_loader& operator=(const pg_loader&) = delete;

  /// Queues a snapshot load; `done` runs exactly once, on the loader's thread or at once.
  void load(const std::string& type, const std::string& key, std::function<void(load_result)> done);

  /// Queues a query.
  void submit(job j);

  /// Stops; idempotent.
  void stop();

  /// Snapshots loaded since start.
  std::uint64_t loads() const { return loads_.load(); }

 private:
  struct pending_load {
    std::string type;
    std::string key;
    std::function<void(load_result)> done;
  };

  void run();
  void load_batch(std::unique_ptr<pqxx::connection>& conn, std::vector<pending_load>& batch);

  pg_settings settings_;
  std::size_t batch_;
  std::mutex mtx_;
  std::condition_variable cv_;
  bool stopping_ = false;
  std::deque<pending_load> loads_queue_;
  std::deque<job> jobs_;
  std::atomic<std::uint64_t> loads_{0};
  std::thread thread_;
};

} // namespace bazaar::persistence
