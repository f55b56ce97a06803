#include "bazaar/kafka/producer.hpp"

#include <librdkafka/rdkafka.h>

#include <stdexcept>

namespace bazaar::kafka {

namespace {

void set(rd_kafka_conf_t* conf, const char* name, const std::string& value) {
  char err[512];
  if (rd_kafka_conf_set(conf, name, value.c_str(), err, sizeof err) != RD_KAFKA_CONF_OK)
    throw std::runtime_error(std::string{"Kafka producer: "} + name + ": " + err);
}

} // namespace

producer::producer(const std::string& bootstrap, const config::kafka_options& opts,
                   delivery_fn on_delivery, wake_fn on_reports)
    : on_delivery_(std::move(on_delivery)), on_reports_(std::move(on_reports)) {
  auto* conf = rd_kafka_conf_new();
  set(conf, "bootstrap.servers", bootstrap);
  set(conf, "enable.idempotence", "true");
  set(conf, "acks", "all");
  // A record goes at once (latency over batching): under load requests still fill while
  // earlier ones are in flight. A linger of 1 ms cost the kafka saga transport ~10 ms per
  // checkout at half load (docs/BENCHMARKS.md, issue 20).
  set(conf, "linger.ms", "0");
  set(conf, "message.timeout.ms", std::to_string(opts.message_timeout_ms));
  set(conf, "log_level", "3");
  rd_kafka_conf_set_opaque(conf, this);
  rd_kafka_conf_set_dr_msg_cb(conf, [](rd_kafka_t* rk, const rd_kafka_message_t* m, void* self) {
    on_report(rk, m, self);
  });
  char err[512];
  rk_ = rd_kafka_new(RD_KAFKA_PRODUCER, conf, err, sizeof err);
  if (rk_ == nullptr) {
    rd_kafka_conf_destroy(conf);
    throw std::runtime_error(std::string{"Kafka producer: "} + err);
  }
  reports_ = rd_kafka_queue_get_main(rk_);
  // librdkafka calls this when an event is enqueued on the empty main queue (rdkafka.h:
  // rd_kafka_queue_cb_event_enable), from its own threads.
  if (on_reports_)
    rd_kafka_queue_cb_event_enable(reports_, &producer::on_reports_ready, this);
}

bool producer::learn_topics(const std::vector<std::string>& topics, int timeout_ms) {
  bool all = true;
  for (const auto& t : topics) {
    auto* rkt = rd_kafka_topic_new(rk_, t.c_str(), nullptr);
    if (rkt == nullptr) {
      all = false;
      continue;
    }
    known_.push_back(rkt);
    const rd_kafka_metadata_t* md = nullptr;
    if (rd_kafka_metadata(rk_, 0, rkt, &md, timeout_ms) == RD_KAFKA_RESP_ERR_NO_ERROR)
      rd_kafka_metadata_destroy(md);
    else
      all = false;
  }
  return all;
}

producer::~producer() {
  for (auto* rkt : known_)
    rd_kafka_topic_destroy(rkt);
  if (rk_ != nullptr) {
    // No wake-ups from here on: what is left is served by the flush on this thread.
    rd_kafka_queue_cb_event_enable(reports_, nullptr, nullptr);
    rd_kafka_queue_destroy(reports_);
    rd_kafka_flush(rk_, 2000);
    rd_kafka_destroy(rk_);
  }
}

void producer::on_reports_ready(rd_kafka_s* /*rk*/, void* self) {
  static_cast<producer*>(self)->on_reports_();
}

void producer::on_report(rd_kafka_s* /*rk*/, const void* message, void* self) {
  const auto* m = static_cast<const rd_kafka_message_t*>(message);
  auto* me = static_cast<producer*>(self);
  auto opaque = static_cast<std::int64_t>(reinterpret_cast<std::intptr_t>(m->_private));
  if (me->on_delivery_)
    me->on_delivery_(opaque, m->err == RD_KAFKA_RESP_ERR_NO_ERROR,
                     m->err == RD_KAFKA_RESP_ERR_NO_ERROR ? std::string{}
                                                          : rd_kafka_err2str(m->err));
}

bool producer::produce(const std::string& topic, const std::string& key, const std::string& value,
                       const header_list& headers, std::int64_t opaque, std::string* error) {
  auto* hdrs = rd_kafka_headers_new(headers.size());
  for (const auto& [name, v] : headers)
    rd_kafka_header_add(hdrs, name.data(), static_cast<ssize_t>(name.size()), v.data(),
                        static_cast<ssize_t>(v.size()));
  auto e = rd_kafka_producev(
      rk_, RD_KAFKA_V_TOPIC(topic.c_str()), RD_KAFKA_V_KEY(key.data(), key.size()),
      RD_KAFKA_V_VALUE(const_cast<char*>(value.data()), value.size()),
      RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY), RD_KAFKA_V_HEADERS(hdrs),
      RD_KAFKA_V_OPAQUE(reinterpret_cast<void*>(static_cast<std::intptr_t>(opaque))),
      RD_KAFKA_V_END);
  if (e != RD_KAFKA_RESP_ERR_NO_ERROR) {
    rd_kafka_headers_destroy(hdrs); // not taken over on failure
    if (error != nullptr)
      *error = rd_kafka_err2str(e);
    return false;
  }
  return true;
}

int producer::poll(int timeout_ms) {
  return rd_kafka_poll(rk_, timeout_ms);
}

void producer::flush(int timeout_ms) {
  rd_kafka_flush(rk_, timeout_ms);
}

int producer::outstanding() const {
  return rd_kafka_outq_len(rk_);
}

} // namespace bazaar::kafka
