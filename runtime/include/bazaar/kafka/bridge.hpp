#pragma once

/// The Kafka bridge: one consumer (group kafka.group_id) that turns records of the routed
/// topics into kafka_record messages to grains (topic -> grain type, record key or a field
/// of the envelope's data -> grain key), waits until the grain has durably handled a record,
/// and commits a partition's offset only past records that are all handled. The records of
/// one grain are pipelined: up to 128 are sent, in the order consumed and through one grain
/// client dispatcher (so they arrive in that order), before their answers come; the grain
/// applies them in order and its writes coalesce. When one fails, the bridge sends that grain
/// nothing more until every record sent has answered, then sends the failed ones again in
/// order (the grain refuses records sent behind a failure: kafka_record::chained), so a retry
/// never lands after a later record of the same grain. At least once
/// into grains; grains make it effectively once by remembering event ids and answering a
/// record seen before with its first answer again. A record that cannot be decoded, or fails
/// kafka.max_attempts times (pausing kafka.retry_backoff_ms, doubling, between attempts),
/// goes to `<topic>.dlq` with the error and the partition moves on. At most
/// kafka.max_in_flight records are being handled per node; past it, partitions are paused.

#include "bazaar/config/options.hpp"
#include "bazaar/runtime/grain_client.hpp"

#include <atomic>
#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <thread>
#include <vector>

namespace bazaar::kafka {

/// Where the records of one topic go.
struct route {
  std::string topic;
  std::string grain_type;
  /// Empty: the record key is the grain key; otherwise this field of the envelope's data.
  std::string key_field;
};

/// Counters for metrics, /admin/kafka and tests.
struct bridge_stats {
  std::atomic<std::uint64_t> consumed{0};
  std::atomic<std::uint64_t> handled{0};
  std::atomic<std::uint64_t> retried{0};
  std::atomic<std::uint64_t> dead_lettered{0};
  std::atomic<std::uint64_t> committed{0};
  std::atomic<std::int64_t> in_flight{0};
  std::atomic<std::uint64_t> pauses{0};
};

/// One assigned partition as the bridge last saw it (refreshed about twice a second).
struct partition_lag {
  std::string topic;
  std::int32_t partition = 0;
  /// The next offset this member committed for the group; -1 while it committed none since
  /// the partition was assigned.
  std::int64_t committed = -1;
  /// The partition's end as of the last fetch (librdkafka's cached watermark); -1 unknown.
  std::int64_t high_watermark = -1;
  /// Records not committed yet: high_watermark minus committed (or minus the consumer's
  /// position while nothing is committed); -1 when unknown.
  std::int64_t lag = -1;
};

class bridge {
 public:
  bridge(runtime::grain_client& grains, std::string bootstrap, config::kafka_options opts,
         std::vector<route> routes);
  ~bridge();

  bridge(const bridge&) = delete;
  bridge& operator=(const bridge&) = delete;

  /// Before start(): this node is the only consumer of its topics, each of `partitions`
  /// partitions (the embedded Kafka, which lives and dies with this process). The bridge then
  /// takes every partition at once, resuming from the group's committed offsets, instead of
  /// joining the consumer group: a group's first rebalance waits 3 s (Kafka's
  /// group.initial.rebalance.delay.ms, which librdkafka's mock does not let us change), and the
  /// first checkout after a start waited for it.
  void take_every_partition(int partitions) { sole_partitions_ = partitions; }
  /// Whether it took every partition (take_every_partition) rather than joining the group.
  bool sole_consumer() const { return sole_partitions_ > 0; }

  /// Before start(): called for every record a grain handled, from the grain's thread (quick,
  /// thread-safe): how long it took from the record's produce time stamp to the bridge
  /// consuming it (the broker and the fetch; wall clocks, whole milliseconds), and from the
  /// bridge sending it to the grain's answer (the grain's step with its durable write).
  using timing_fn =
      std::function<void(std::chrono::milliseconds in_kafka, std::chrono::microseconds in_grain)>;
  void on_handled(timing_fn fn) { on_handled_ = std::move(fn); }

  /// Starts consuming (nothing when there are no routes).
  void start();
  /// Commits what is handled, leaves the group and stops. Idempotent.
  void stop();

  const bridge_stats& stats() const;
  /// Whether it consumes (started, not stopped).
  bool running() const;
  /// The partitions assigned to this member, sorted, with their group lag.
  std::vector<partition_lag> partitions() const;
  const std::vector<route>& routes() const { return routes_; }

 private:
  struct impl;
  runtime::grain_client& grains_;
  std::string bootstrap_;
  config::kafka_options opts_;
  std::vector<route> routes_;
  int sole_partitions_ = 0;
  timing_fn on_handled_;
  std::shared_ptr<impl> impl_; // shared with callbacks that may outlive a stop
  std::thread thread_;
};

} // namespace bazaar::kafka
