#pragma once

/// librdkafka's mock cluster in this process: real Kafka protocol on loopback ports, so any
/// client (kcat included) can attach to bootstrap(). Memory only; docs/LIBRARIES.md: each
/// partition keeps ~5 MB (or 100k batches), a consumer that lags further loses data.

#include <string>
#include <vector>

struct rd_kafka_s;
struct rd_kafka_mock_cluster_s;

namespace bazaar::kafka {

class embedded_kafka {
 public:
  /// Starts `brokers` mock brokers. Throws std::runtime_error when librdkafka refuses.
  explicit embedded_kafka(int brokers);
  ~embedded_kafka();

  embedded_kafka(const embedded_kafka&) = delete;
  embedded_kafka& operator=(const embedded_kafka&) = delete;

  /// "127.0.0.1:port,..." of the brokers.
  const std::string& bootstrap() const { return bootstrap_; }

  /// Creates a topic with `partitions` partitions (replication factor 1).
  void create_topic(const std::string& name, int partitions);

  /// Creates several topics at once. (Each request to the mock cluster can wait for the
  /// cluster thread's next poll, about half a second in some processes: done one after the
  /// other, two dozen topics took over ten seconds.)
  void create_topics(const std::vector<std::string>& names, int partitions);

  /// Takes a broker (1-based id) down or brings it back, for fault tests.
  void set_broker_up(int broker_id, bool up);

 private:
  rd_kafka_s* rk_ = nullptr;
  rd_kafka_mock_cluster_s* mock_ = nullptr;
  std::string bootstrap_;
};

} // namespace bazaar::kafka
