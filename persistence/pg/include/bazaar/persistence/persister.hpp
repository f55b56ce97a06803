#pragma once

/// The write-behind persister: group commit of many grains' writes into few transactions.
/// Each writer thread owns a connection and a queue; a grain's writes always go to the same
/// writer, so they commit in order. A batch takes what is queued, up to `batch_max_rows`
/// writes, waiting at most `linger` after the first; several queued versions of one grain are
/// coalesced into the newest (fenced on the oldest's expected version). Per batch, one
/// transaction: the fenced upsert of the snapshots, and the events and idempotency answers of
/// the writes that won, in one statement (which is the whole transaction when no reminder
/// changes; else the winners' reminder changes follow, then COMMIT). Losers get `conflict`,
/// and nothing of theirs is written; a failed transaction gives every write in it
/// `unavailable`. With a node lease, a batch commits only while the node's cluster membership
/// holds; otherwise every write in it gets `conflict` (the grain moved) and nothing is written.

#include "bazaar/persistence/grain_store.hpp"
#include "bazaar/persistence/node_lease.hpp"
#include "bazaar/persistence/pg.hpp"

#include <atomic>
#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <vector>

namespace bazaar::persistence {

class persister {
 public:
  /// A committed transaction, for metrics (options::on_batch).
  struct batch_report {
    std::size_t writes = 0;            ///< grain writes in it, before coalescing
    std::size_t rows = 0;              ///< grains written (snapshot rows after coalescing)
    std::chrono::microseconds took{0}; ///< from the first statement to the commit
    /// The writes that committed (the fence let them through); valid during the call only.
    std::vector<const grain_write*> saved;
  };

  struct options {
    int writers = 2;
    int batch_max_rows = 500;
    std::chrono::milliseconds linger{1};
    /// Runs after each transaction that committed events (the outbox relay's wake-up).
    std::function<void()> on_events_committed;
    /// The cluster membership the writes are fenced on (node_lease.hpp); null: none.
    std::shared_ptr<const node_lease> lease;
    /// Runs on the writer thread after each transaction that committed (not after a failed
    /// or fenced one), before the writes' `done`; it must be quick.
    std::function<void(const batch_report&)> on_batch;
    /// When not empty: after each transaction that committed events, a NOTIFY on this
    /// channel with the lease's node id as payload, so that the relay of whichever node leads
    /// hears it (commit_listener.hpp). Sent after the writes are answered (it is one more
    /// round trip and transaction), and only while `notify_wanted` says so (unset: always).
    std::string notify_channel;
    /// Whether another node needs the NOTIFY: a node whose own relay leads wakes it through
    /// on_events_committed and says no.
    std::function<bool()> notify_wanted;
  };

  /// Counters for metrics and benchmarks.
  struct stats {
    std::atomic<std::uint64_t> transactions{0};
    std::atomic<std::uint64_t> writes{0}; ///< grain writes handed in
    std::atomic<std::uint64_t> rows{0};   ///< snapshot rows after coalescing
    std::atomic<std::uint64_t> conflicts{0};
    std::atomic<std::uint64_t> failed_transactions{0};
    std::atomic<std::uint64_t> fenced{0}; ///< batches refused: the node lost its membership
    std::atomic<std::uint64_t> commit_us_total{0};
  };

  persister(pg_settings settings, options opts);
  ~persister();

  persister(const persister&) = delete;
  persister& operator=(const persister&) = delete;

  /// Queues a write; `w.done` runs on a writer thread after the commit or failure.
  void write(grain_write w);

  /// Commits what is queued (one attempt), then stops the writer threads. Idempotent.
  void stop();

  /// False after a failed transaction, true again after a successful one.
  bool healthy() const { return healthy_.load(); }

  const stats& statistics() const { return stats_; }

 private:
  struct writer;

  void run(writer& w);
  void commit(writer& w, std::vector<grain_write>& batch);
  /// NOTIFY opts_.notify_channel with the committing node's id (after a commit with events);
  /// errors are ignored.
  void notify_commit(pqxx::connection& c, const std::string& node_id);

  pg_settings settings_;
  options opts_;
  std::vector<std::unique_ptr<writer>> writers_;
  std::atomic<bool> healthy_{true};
  stats stats_;
};

} // namespace bazaar::persistence
