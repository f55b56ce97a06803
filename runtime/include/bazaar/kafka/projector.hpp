#pragma once

/// The read side's feed: for each projection of its source (projection_store.hpp; in
/// production PostgreSQL's catalog, orders, notifications and sales) one Kafka consumer in a
/// group of its own (`<kafka.group_id>.<name>`) on the topics of the projection's event types,
/// and one thread that takes what was fetched (up to `batch_max` records), applies it at once
/// in the projection's store, which also records each event id, and only then commits the
/// offsets past the batch. An event delivered again (a redelivery, a restart before the
/// commit, a rebalance) is found among the recorded ids and skipped: exactly once in effect.
///
/// A record that is not an envelope, or whose data the projection cannot use, is skipped with
/// a warning and counted. When the store is unavailable the projection pauses its partitions
/// and retries the same batch (backing off from retry_backoff up to max_backoff) until it
/// applies or the projector stops; no offset is committed past what is applied.

#include "bazaar/config/options.hpp"
#include "bazaar/kafka/bridge.hpp"
#include "bazaar/persistence/projection_store.hpp"

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace bazaar::kafka {

/// One projection as /admin/kafka shows it.
struct projection_status {
  std::string name;
  std::string group_id;
  std::vector<std::string> topics;
  bool running = false;
  /// Records taken from Kafka (a record retried counts once).
  std::uint64_t consumed = 0;
  /// Events applied; redelivered ones skipped; of types the projection does not apply.
  std::uint64_t applied = 0;
  std::uint64_t duplicates = 0;
  std::uint64_t ignored = 0;
  /// Records skipped: not an envelope; data the projection cannot use.
  std::uint64_t undecodable = 0;
  std::uint64_t rejected = 0;
  /// Batches tried again because the database failed.
  std::uint64_t retries = 0;
  /// Why the last attempt failed, while the projection is retrying; empty otherwise.
  std::string waiting_for;
  /// The assigned partitions with the group's lag (high watermark minus committed).
  std::vector<partition_lag> partitions;
  /// The sum of the known lags.
  std::int64_t lag = 0;
};

class projector {
 public:
  struct options {
    /// Records applied in one transaction at most.
    std::size_t batch_max = 500;
    /// The first pause after a failed batch, doubling up to max_backoff.
    std::chrono::milliseconds retry_backoff{100};
    std::chrono::milliseconds max_backoff{5000};
    /// Longest wait of a fetch that finds no new records. Higher than the bridge's
    /// kafka.fetch_wait_max_ms: an idle consumer then asks each broker ten times a second
    /// instead of a hundred (four projections per node), and a read model lags at most this
    /// much more; a fetch that finds records returns at once, so a backlog is read as fast.
    int fetch_wait_max_ms = 100;
    /// The projections to run (names of the source's); empty means all.
    std::vector<std::string> only;
  };

  /// Throws std::invalid_argument for an unknown projection name in `opts.only`.
  projector(persistence::projection_source source, std::string bootstrap,
            config::kafka_options kafka, options opts);
  projector(persistence::projection_source source, std::string bootstrap,
            config::kafka_options kafka);
  /// Stops (see stop()).
  ~projector();

  projector(const projector&) = delete;
  projector& operator=(const projector&) = delete;

  /// Starts every projection's consumer and thread. Throws std::runtime_error when librdkafka
  /// refuses the configuration.
  void start();
  /// Stops every projection: a batch being applied finishes (its offsets are committed), a
  /// batch waiting for the database is dropped (its records are read again next time); then
  /// each consumer leaves its group. Idempotent.
  void stop();

  /// Each projection's state, in the source's order.
  std::vector<projection_status> status() const;

 private:
  struct worker;
  std::string bootstrap_;
  config::kafka_options kafka_;
  options opts_;
  std::vector<std::unique_ptr<worker>> workers_;
};

} // namespace bazaar::kafka
