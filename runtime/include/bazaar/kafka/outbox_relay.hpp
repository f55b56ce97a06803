#pragma once

/// The outbox relay: publishes committed outbox rows to Kafka and marks them published.
/// Its thread sleeps until a commit wakes it (notify(), from the persister's
/// on_events_committed) or the producer has delivery reports to serve, and sweeps every
/// kafka.relay_sweep_ms for rows left behind (a restart, a broker outage). Only the node holding
/// the relay lease publishes, so the rows of an aggregate go out in their order; the producer is
/// idempotent, and a row whose publication is not confirmed is published again (at least once;
/// consumers dedupe by event_id). Events of types without a topic are journal-only and marked at
/// once. A second connection and thread mark rows published and, at most once a second,
/// count the backlog and find the lowest unpublished row, so that publishing the next
/// commit's rows never waits for a WAL flush or a walk over rows marked since the last
/// vacuum; sweeps read from the lowest row that may have been left behind, not from the start.

#include "bazaar/config/options.hpp"
#include "bazaar/persistence/pg_settings.hpp"

#include <memory>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <functional>
#include <map>
#include <mutex>
#include <string>
#include <thread>

namespace bazaar::persistence {
class commit_listener;
} // namespace bazaar::persistence

namespace bazaar::kafka {

class outbox_relay {
 public:
  outbox_relay(persistence::pg_settings settings, std::string bootstrap,
               config::kafka_options opts);
  ~outbox_relay();

  outbox_relay(const outbox_relay&) = delete;
  outbox_relay& operator=(const outbox_relay&) = delete;

  /// Before start(): when this relay first leads, it publishes again what was published in
  /// the last `window`. For a Kafka that lost what it held (the embedded cluster restarts
  /// empty with its node): records published but not consumed yet are not lost. Consumers
  /// remember event ids, so what they had handled has no second effect.
  void republish_on_lead(std::chrono::seconds window) { republish_window_ = window; }

  /// Before start(): `fn` gets, for each record Kafka confirmed, how long after its commit
  /// that was (the node's wall clock against PostgreSQL's commit time); on the relay's thread.
  void on_published(std::function<void(std::chrono::milliseconds)> fn) {
    on_published_ = std::move(fn);
  }

  /// Before start(): also wake for the commits other nodes announce on `channel` (the
  /// persister's notify_channel), while this node leads; otherwise they wait for a sweep.
  /// `self()` is this node's id: its own announcements are ignored (notify() woke it).
  void listen_for_commits(std::string channel, std::function<std::string()> self) {
    commit_channel_ = std::move(channel);
    self_ = std::move(self);
  }

  void start();
  /// Delivers what is in flight (bounded wait), then stops. Idempotent.
  void stop();

  /// Rows were committed: look now instead of at the next sweep. Cheap, any thread; before
  /// start() or after stop() it does nothing harmful.
  void notify();

  /// Records confirmed by Kafka since start.
  std::uint64_t published() const { return published_.load(); }
  /// Unpublished rows at the last sweep (-1 unknown).
  std::int64_t backlog() const { return backlog_.load(); }
  /// Whether this node holds the relay lease.
  bool leading() const { return leading_.load(); }

 private:
  void run();
  /// The producer has delivery reports to serve (called on a librdkafka thread).
  void reports_ready();

  persistence::pg_settings settings_;
  std::string bootstrap_;
  config::kafka_options opts_;
  std::map<std::string, std::string> topics_;
  std::chrono::seconds republish_window_{0};
  std::mutex mtx_;
  std::condition_variable cv_;
  bool stopping_ = false;
  bool committed_ = false; ///< notify() was called
  bool reports_ = false;   ///< delivery reports wait to be served
  std::thread thread_;
  std::atomic<std::uint64_t> published_{0};
  std::atomic<std::int64_t> backlog_{-1};
  std::atomic<bool> leading_{false};
  std::function<void(std::chrono::milliseconds)> on_published_;
  std::string commit_channel_;
  std::function<std::string()> self_;
  std::unique_ptr<persistence::commit_listener> listener_;
};

} // namespace bazaar::kafka
