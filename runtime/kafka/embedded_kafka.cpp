#include "bazaar/kafka/embedded_kafka.hpp"

#include <librdkafka/rdkafka.h>
#include <librdkafka/rdkafka_mock.h>

#include <future>
#include <stdexcept>

namespace bazaar::kafka {

embedded_kafka::embedded_kafka(int brokers) {
  char err[512];
  auto* conf = rd_kafka_conf_new();
  rd_kafka_conf_set(conf, "log_level", "3", err, sizeof err);
  rk_ = rd_kafka_new(RD_KAFKA_PRODUCER, conf, err, sizeof err);
  if (rk_ == nullptr)
    throw std::runtime_error(std::string{"embedded Kafka: "} + err);
  mock_ = rd_kafka_mock_cluster_new(rk_, brokers);
  if (mock_ == nullptr) {
    rd_kafka_destroy(rk_);
    throw std::runtime_error("embedded Kafka: the mock cluster did not start");
  }
  bootstrap_ = rd_kafka_mock_cluster_bootstraps(mock_);
}

embedded_kafka::~embedded_kafka() {
  if (mock_ != nullptr)
    rd_kafka_mock_cluster_destroy(mock_);
  if (rk_ != nullptr)
    rd_kafka_destroy(rk_);
}

void embedded_kafka::create_topic(const std::string& name, int partitions) {
  auto e = rd_kafka_mock_topic_create(mock_, name.c_str(), partitions, 1);
  if (e != RD_KAFKA_RESP_ERR_NO_ERROR && e != RD_KAFKA_RESP_ERR_TOPIC_ALREADY_EXISTS)
    throw std::runtime_error("embedded Kafka: cannot create topic " + name + ": " +
                             rd_kafka_err2str(e));
}

void embedded_kafka::create_topics(const std::vector<std::string>& names, int partitions) {
  std::vector<std::future<void>> pending;
  pending.reserve(names.size());
  for (const auto& name : names)
    pending.push_back(std::async(std::launch::async,
                                 [this, &name, partitions] { create_topic(name, partitions); }));
  for (auto& p : pending)
    p.get(); // rethrows the first failure
}

void embedded_kafka::set_broker_up(int broker_id, bool up) {
  if (up)
    rd_kafka_mock_broker_set_up(mock_, broker_id);
  else
    rd_kafka_mock_broker_set_down(mock_, broker_id);
}

} // namespace bazaar::kafka
