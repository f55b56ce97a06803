// Kafka records handled durably by grains through the bridge, beside a raw librdkafka
// consumer on the same embedded cluster in the same run; and the outbox relay's publish rate.
//
//   bench_kafka [--records 100000] [--keys 1000] [--url URL]
//
// 1. raw: a plain consumer (own group) reads every record of the topic: records/s
// 2. bridge: the same records into ledger grains (test-only grain, durable on PostgreSQL,
//    remembering each event id with its effect); records/s until every one is handled
// 3. relay: outbox rows inserted in PostgreSQL, published by the relay: rows/s until none left

#include "bazaar/actors/registry.hpp"
#include "bazaar/kafka/bridge.hpp"
#include "bazaar/kafka/embedded_kafka.hpp"
#include "bazaar/kafka/outbox_relay.hpp"
#include "bazaar/persistence/migrations.hpp"
#include "bazaar/persistence/pg_storage.hpp"
#include "bazaar/runtime/host.hpp"

#include "support/ledger_grain.hpp"

#include <CLI/CLI.hpp>
#include <caf/actor_system.hpp>
#include <caf/actor_system_config.hpp>
#include <librdkafka/rdkafka.h>
#include <pqxx/pqxx>
#include <spdlog/spdlog.h>

#include <cstdio>
#include <thread>
#include <unistd.h>

using namespace bazaar;
using namespace std::chrono;
using clk = steady_clock;

namespace {

double since(clk::time_point t) {
  return duration<double>(clk::now() - t).count();
}

std::string envelope(long i, const std::string& key) {
  return "{\"event_id\":\"bench-" + std::to_string(i) +
         "\",\"event_type\":\"payment-processed\",\"aggregate_type\":\"payment\","
         "\"aggregate_id\":\"" +
         key +
         "\",\"version\":1,\"occurred_at\":\"2026-11-21T00:00:00.000Z\",\"data\":{"
         "\"account\":\"" +
         key + "\",\"amount\":1},\"metadata\":{}}";
}

rd_kafka_t* client(rd_kafka_type_t type, const std::string& bootstrap, const std::string& group) {
  char err[512];
  auto* conf = rd_kafka_conf_new();
  rd_kafka_conf_set(conf, "bootstrap.servers", bootstrap.c_str(), err, sizeof err);
  rd_kafka_conf_set(conf, "log_level", "3", err, sizeof err);
  if (type == RD_KAFKA_CONSUMER) {
    rd_kafka_conf_set(conf, "group.id", group.c_str(), err, sizeof err);
    rd_kafka_conf_set(conf, "auto.offset.reset", "earliest", err, sizeof err);
    rd_kafka_conf_set(conf, "fetch.wait.max.ms", "10", err, sizeof err);
  } else {
    rd_kafka_conf_set(conf, "linger.ms", "5", err, sizeof err);
  }
  return rd_kafka_new(type, conf, err, sizeof err);
}

} // namespace

int main(int argc, char** argv) {
  long records = 100000;
  int keys = 1000;
  std::string url = "postgresql://bazaar:bazaar@127.0.0.1:5432/bazaar";
  CLI::App app{"Kafka bridge and outbox relay against raw librdkafka"};
  app.add_option("--records", records, "Records produced");
  app.add_option("--keys", keys, "Distinct grain keys");
  app.add_option("--url", url, "PostgreSQL URL");
  CLI11_PARSE(app, argc, argv);
  spdlog::set_level(spdlog::level::warn);
  auto schema = "bench_kafka_" + std::to_string(getpid());
  persistence::pg_settings pg{url, schema, 2000, 30000};
  {
    auto conn = persistence::connect(pg);
    persistence::migrate(*conn, schema);
  }

  kafka::embedded_kafka cluster{3};
  cluster.create_topic("payments", 6);
  cluster.create_topic("payments.dlq", 1);
  cluster.create_topic("stock-updated", 6);
  {
    auto* p = client(RD_KAFKA_PRODUCER, cluster.bootstrap(), "");
    for (long i = 0; i < records; ++i) {
      auto key = "acct-" + std::to_string(i % keys);
      auto value = envelope(i, key);
      while (rd_kafka_producev(p, RD_KAFKA_V_TOPIC("payments"),
                               RD_KAFKA_V_KEY(key.data(), key.size()),
                               RD_KAFKA_V_VALUE(value.data(), value.size()),
                               RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY),
                               RD_KAFKA_V_END) == RD_KAFKA_RESP_ERR__QUEUE_FULL)
        rd_kafka_poll(p, 10);
    }
    rd_kafka_flush(p, 60000);
    rd_kafka_destroy(p);
  }
  std::printf("kafka_bench: %ld records over %d keys, embedded cluster, 6 partitions\n", records,
              keys);

  // 1. raw consumer
  double raw_rate = 0;
  {
    auto* c = client(RD_KAFKA_CONSUMER, cluster.bootstrap(), "raw");
    rd_kafka_poll_set_consumer(c);
    auto* list = rd_kafka_topic_partition_list_new(1);
    rd_kafka_topic_partition_list_add(list, "payments", RD_KAFKA_PARTITION_UA);
    rd_kafka_subscribe(c, list);
    rd_kafka_topic_partition_list_destroy(list);
    long seen = 0;
    clk::time_point start{};
    while (seen < records) {
      if (auto* m = rd_kafka_consumer_poll(c, 100)) {
        if (m->err == RD_KAFKA_RESP_ERR_NO_ERROR) {
          if (seen++ == 0)
            start = clk::now(); // from the first record: the group join is not the consumer
        }
        rd_kafka_message_destroy(m);
      }
    }
    raw_rate = records / since(start);
    rd_kafka_consumer_close(c);
    rd_kafka_destroy(c);
  }
  std::printf("raw librdkafka consumer: %.0f records/s\n", raw_rate);

  // 2. bridge into durable grains
  {
    caf::actor_system_config cfg;
    config::runtime_options ro;
    ro.max_inflight = 100000;
    runtime::configure(cfg, ro);
    test::register_ledger_types(cfg);
    caf::actor_system sys{cfg};
    runtime::system_clock clock;
    auto storage =
        std::make_shared<persistence::pg_storage>(pg, persistence::pg_storage::options{});
    storage->wait_ready(seconds{10});
    {
      runtime::host host{sys, clock, ro, seconds{30}};
      runtime::grain_services services;
      services.storage = storage;
      test::register_ledger(host.grains(), services);
      host.start();
      config::kafka_options ko;
      ko.group_id = "bridge";
      ko.max_in_flight = 5000;
      kafka::bridge bridge{
          host.client(), cluster.bootstrap(), ko, {{"payments", "ledger", "account"}}};
      bridge.start();
      while (bridge.stats().handled.load() == 0)
        std::this_thread::sleep_for(milliseconds{1});
      auto start = clk::now();
      auto first = bridge.stats().handled.load();
      while (bridge.stats().handled.load() < static_cast<std::uint64_t>(records))
        std::this_thread::sleep_for(milliseconds{5});
      double rate = (records - first) / since(start);
      auto txs = storage->write_stats().transactions.load();
      std::printf("bridge into durable grains: %.0f records/s (%llu transactions); raw %.0f "
                  "records/s; ratio %.2f (goal >= 0.5)\n",
                  rate, static_cast<unsigned long long>(txs), raw_rate, rate / raw_rate);
      bridge.stop();
      host.stop(seconds{5});
    }
    storage->stop();
  }

  // 3. outbox relay
  {
    auto conn = persistence::connect(pg);
    pqxx::nontransaction n{*conn};
    n.exec("INSERT INTO outbox (event_id, event_type, aggregate_type, aggregate_id, sequence, "
           "envelope) SELECT gen_random_uuid(), 'stock-updated', 'product', 'sku-' || (i % 500), "
           "i, json_build_object('event_id', 'o-' || i, 'n', i) FROM generate_series(1, " +
           std::to_string(records) + ") AS i");
    config::kafka_options ko;
    ko.relay_sweep_ms = 50;
    kafka::outbox_relay relay{pg, cluster.bootstrap(), ko};
    auto start = clk::now();
    relay.start();
    std::int64_t left = records;
    while (left > 0) {
      std::this_thread::sleep_for(milliseconds{20});
      left =
          n.exec("SELECT count(*) FROM outbox WHERE published_at IS NULL")[0][0].as<std::int64_t>();
    }
    std::printf("outbox relay: %.0f rows/s published and marked\n", records / since(start));
    relay.stop();
    n.exec("DROP SCHEMA " + persistence::quote_identifier(schema) + " CASCADE");
  }
  return 0;
}
