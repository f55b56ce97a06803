#pragma once

/// An idempotent Kafka producer (acks=all): records in a partition land once and in order
/// even when the client retries. Delivery reports come back through `on_delivery`, run by
/// poll() on the caller's thread; `on_reports`, if given, says when there are reports to poll
/// for, so that the caller can sleep until then instead of polling on a timer.

#include "bazaar/config/options.hpp"

#include <cstdint>
#include <functional>
#include <string>
#include <utility>
#include <vector>

struct rd_kafka_s;
struct rd_kafka_queue_s;
struct rd_kafka_topic_s;

namespace bazaar::kafka {

using header_list = std::vector<std::pair<std::string, std::string>>;

class producer {
 public:
  /// (opaque given to produce, delivered, error text).
  using delivery_fn = std::function<void(std::int64_t, bool, const std::string&)>;
  /// Runs on a librdkafka thread when delivery reports (or other events) arrive while none
  /// was waiting for poll(). It must be quick and must not call this producer: wake the
  /// thread that polls.
  using wake_fn = std::function<void()>;

  producer(const std::string& bootstrap, const config::kafka_options& opts, delivery_fn on_delivery,
           wake_fn on_reports = {});
  ~producer();

  producer(const producer&) = delete;
  producer& operator=(const producer&) = delete;

  /// Queues a record; false (with `error`) when the local queue refuses it.
  bool produce(const std::string& topic, const std::string& key, const std::string& value,
               const header_list& headers, std::int64_t opaque, std::string* error = nullptr);

  /// Serves delivery reports for up to `timeout_ms`; returns how many were served.
  int poll(int timeout_ms);

  /// Waits up to `timeout_ms` for every queued record to be delivered or to fail.
  void flush(int timeout_ms);

  /// Records queued or in flight.
  int outstanding() const;

  /// Learns the partitions of `topics` now (waiting up to `timeout_ms` for each), so that the
  /// first record of each is sent at once: librdkafka otherwise holds the first records of a
  /// topic it does not know yet until its once-a-second topic scan. False when a topic's
  /// metadata did not arrive in time (its first records then wait for that scan).
  bool learn_topics(const std::vector<std::string>& topics, int timeout_ms);

 private:
  static void on_report(rd_kafka_s* rk, const void* message, void* self);
  static void on_reports_ready(rd_kafka_s* rk, void* self);

  rd_kafka_s* rk_ = nullptr;
  /// Handles of the topics learn_topics() looked up, kept so that librdkafka keeps them known.
  std::vector<rd_kafka_topic_s*> known_;
  rd_kafka_queue_s* reports_ = nullptr; ///< the main queue, served by poll()
  delivery_fn on_delivery_;
  wake_fn on_reports_;
};

} // namespace bazaar::kafka
