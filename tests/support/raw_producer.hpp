#pragma once

/// A plain librdkafka producer for tests: records sent as they are, outside Bazaar's code.

#include <catch2/catch.hpp>
#include <librdkafka/rdkafka.h>

#include <string>

namespace bazaar::test {

struct raw_producer {
  explicit raw_producer(const std::string& bootstrap) {
    char err[512];
    auto* conf = rd_kafka_conf_new();
    rd_kafka_conf_set(conf, "bootstrap.servers", bootstrap.c_str(), err, sizeof err);
    rd_kafka_conf_set(conf, "log_level", "3", err, sizeof err);
    rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, err, sizeof err);
    REQUIRE(rk != nullptr);
  }
  ~raw_producer() {
    rd_kafka_flush(rk, 5000);
    rd_kafka_destroy(rk);
  }
  raw_producer(const raw_producer&) = delete;
  raw_producer& operator=(const raw_producer&) = delete;

  void send(const std::string& topic, const std::string& key, const std::string& value) {
    REQUIRE(rd_kafka_producev(rk, RD_KAFKA_V_TOPIC(topic.c_str()),
                              RD_KAFKA_V_KEY(key.data(), key.size()),
                              RD_KAFKA_V_VALUE(const_cast<char*>(value.data()), value.size()),
                              RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY),
                              RD_KAFKA_V_END) == RD_KAFKA_RESP_ERR_NO_ERROR);
  }
  void flush() { rd_kafka_flush(rk, 10000); }

  rd_kafka_t* rk;
};

} // namespace bazaar::test
