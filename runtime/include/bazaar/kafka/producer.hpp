#pragma once

/// An idempotent Kafka producer (acks=all): records in a partition land once and in order
/// even when the client retries. Delivery reports come back through `on_delivery`, run by
/// poll() on the caller's thread.

#include "bazaar/config/options.hpp"

#include <cstdint>
#include <functional>
#include <string>
#include <utility>
#include <vector>

struct rd_kafka_s;

namespace bazaar::kafka {

using header_list = std::vector<std::pair<std::string, std::string>>;

class producer {
 public:
  /// (opaque given to produce, delivered, error text).
  using delivery_fn = std::function<void(std::int64_t, bool, const std::string&)>;

  producer(const std::string& bootstrap, const config::kafka_options& opts,
           delivery_fn on_delivery);
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

 private:
  static void on_report(rd_kafka_s* rk, const void* message, void* self);

  rd_kafka_s* rk_ = nullptr;
  delivery_fn on_delivery_;
};

} // namespace bazaar::kafka
