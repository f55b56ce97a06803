// Kafka records handled durably by grains through the bridge, beside a raw librdkafka
// consumer on the same embedded cluster in the same run; and the outbox relay's publish rate.
//
//   bench_kafka [--records 100000] [--keys 1000] [--url URL] [--only-latency]
//               [--sparse-events 40] [--load-rate 1000] [--load-seconds 5] [--fetch-wait-ms 5]
//               [--no-commit-wake]
//
// 1. raw: a plain consumer (own group) reads every record of the topic: records/s
// 2. bridge: the same records into ledger grains (test-only grain, durable on PostgreSQL,
//    remembering each event id with its effect); records/s until every one is handled
// 3. relay: outbox rows inserted in PostgreSQL, published by the relay: rows/s until none left
// 4. commit -> Kafka latency: events written through the persister (pg_storage) with the
//    relay wired as the node wires it (persister::options::on_events_committed -> notify),
//    (a) sparse: one at a time, 100-300 ms apart; (b) under load: a steady rate. Measured
//    from the moment the persister's transaction committed (taken in on_events_committed,
//    before the relay is notified) to (i) the moment a tailing consumer receives the record
//    (fetch.wait.max.ms = --fetch-wait-ms: the mock broker holds an empty fetch that long, so
//    this includes up to that much fetch latency) and (ii) the record's CreateTime (set by
//    the relay's producer when it takes the record: a lower bound for "in Kafka"; the mock
//    cluster keeps CreateTime, it has no LogAppendTime). Raw baseline in the same run: the
//    same producer configuration (bazaar::kafka::producer) sending directly, from just
//    before produce() to the consumer's receipt, interleaved with the relay's events (sparse:
//    half a gap after each; under load: one beside each), so both see the same moments of a
//    noisy machine.
//    --no-commit-wake leaves the hook without notify(): the relay as the node ran it before.

#include "bazaar/actors/registry.hpp"
#include "bazaar/config/loader.hpp"
#include "bazaar/kafka/bridge.hpp"
#include "bazaar/kafka/embedded_kafka.hpp"
#include "bazaar/kafka/outbox_relay.hpp"
#include "bazaar/kafka/producer.hpp"
#include "bazaar/persistence/migrations.hpp"
#include "bazaar/persistence/pg_storage.hpp"
#include "bazaar/runtime/host.hpp"

#include "support/ledger_grain.hpp"

#include "bench_result.hpp"

#include <CLI/CLI.hpp>
#include <caf/actor_system.hpp>
#include <caf/actor_system_config.hpp>
#include <librdkafka/rdkafka.h>
#include <pqxx/pqxx>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <atomic>
#include <cmath>
#include <condition_variable>
#include <cstdio>
#include <map>
#include <mutex>
#include <random>
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

std::int64_t wall_us() {
  return duration_cast<microseconds>(system_clock::now().time_since_epoch()).count();
}

std::string random_uuid(std::mt19937_64& rng) {
  static const char* hex = "0123456789abcdef";
  std::string s(36, '-');
  for (std::size_t i = 0; i < s.size(); ++i)
    if (i != 8 && i != 13 && i != 18 && i != 23)
      s[i] = hex[rng() & 15];
  s[14] = '4';
  return s;
}

/// When a record arrived at the tailing consumer, and its record timestamp.
struct arrival {
  std::int64_t received_us = 0;
  std::int64_t created_ms = 0;
};

/// A consumer tailing topics from their start on its own thread (partitions assigned by
/// hand, no group): when each record, by key, arrived.
class tail {
 public:
  tail(const std::string& bootstrap, const std::vector<std::pair<std::string, int>>& topics,
       int fetch_wait_ms) {
    char err[512];
    auto* conf = rd_kafka_conf_new();
    rd_kafka_conf_set(conf, "bootstrap.servers", bootstrap.c_str(), err, sizeof err);
    rd_kafka_conf_set(conf, "group.id", "latency-tail", err, sizeof err);
    rd_kafka_conf_set(conf, "enable.auto.commit", "false", err, sizeof err);
    rd_kafka_conf_set(conf, "fetch.wait.max.ms", std::to_string(fetch_wait_ms).c_str(), err,
                      sizeof err);
    rd_kafka_conf_set(conf, "log_level", "3", err, sizeof err);
    rk_ = rd_kafka_new(RD_KAFKA_CONSUMER, conf, err, sizeof err);
    rd_kafka_poll_set_consumer(rk_);
    auto* list = rd_kafka_topic_partition_list_new(8);
    for (const auto& [topic, partitions] : topics)
      for (int p = 0; p < partitions; ++p)
        rd_kafka_topic_partition_list_add(list, topic.c_str(), p)->offset =
            RD_KAFKA_OFFSET_BEGINNING;
    rd_kafka_assign(rk_, list);
    rd_kafka_topic_partition_list_destroy(list);
    thread_ = std::thread([this] { run(); });
  }
  ~tail() {
    stop_ = true;
    thread_.join();
    rd_kafka_consumer_close(rk_);
    rd_kafka_destroy(rk_);
  }
  tail(const tail&) = delete;
  tail& operator=(const tail&) = delete;

  /// Waits until every key of `keys` arrived; false after `within`.
  bool wait_for(const std::vector<std::string>& keys, milliseconds within) {
    std::unique_lock<std::mutex> lock{mtx_};
    return cv_.wait_for(lock, within, [&] {
      return std::all_of(keys.begin(), keys.end(),
                         [&](const std::string& k) { return arrivals_.count(k) > 0; });
    });
  }
  arrival at(const std::string& key) {
    std::lock_guard<std::mutex> guard{mtx_};
    return arrivals_.at(key);
  }

 private:
  void run() {
    while (!stop_) {
      auto* m = rd_kafka_consumer_poll(rk_, 10);
      if (m == nullptr)
        continue;
      auto now = wall_us();
      if (m->err == RD_KAFKA_RESP_ERR_NO_ERROR && m->key != nullptr) {
        auto created = rd_kafka_message_timestamp(m, nullptr);
        std::string key(static_cast<const char*>(m->key), m->key_len);
        {
          std::lock_guard<std::mutex> guard{mtx_};
          arrivals_.emplace(std::move(key), arrival{now, created});
        }
        cv_.notify_all();
      }
      rd_kafka_message_destroy(m);
    }
  }

  rd_kafka_t* rk_ = nullptr;
  std::atomic<bool> stop_{false};
  std::mutex mtx_;
  std::condition_variable cv_;
  std::map<std::string, arrival> arrivals_;
  std::thread thread_;
};

/// "p50 X ms, p99 Y ms, max Z ms" of latencies in milliseconds.
std::string percentiles(std::vector<double> ms) {
  if (ms.empty())
    return "no samples";
  std::sort(ms.begin(), ms.end());
  auto at = [&](double q) { return bench::quantile(ms, q); };
  char buf[128];
  std::snprintf(buf, sizeof buf, "p50 %.1f ms, p99 %.1f ms, max %.1f ms", at(0.5), at(0.99),
                ms.back());
  return buf;
}

/// Phases 1-3: raw consumer, bridge into durable grains, outbox relay rows/s.
void throughput(kafka::embedded_kafka& cluster, const persistence::pg_settings& pg, long records,
                int keys) {
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
      bench::print_result(
          {"kafka.bridge", rate, "records/s", raw_rate, "records/s", bench::ratio_at_least(0.5)});
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
    double relay_rate = records / since(start);
    std::printf("outbox relay: %.0f rows/s published and marked\n", relay_rate);
    bench::print_result({"kafka.relay", relay_rate, "rows/s", std::nullopt, "", std::nullopt});
    relay.stop();
  }
}

struct latency_options {
  int sparse_events = 40;
  double load_rate = 1000;
  double load_seconds = 5;
  int fetch_wait_ms = 5;
  bool no_commit_wake = false;
};

/// Phase 4: commit -> Kafka latency of the relay, sparse and under load, beside a raw producer.
void latency(kafka::embedded_kafka& cluster, const persistence::pg_settings& pg,
             const latency_options& lo) {
  // The relay's topic for product-created events, and one for the raw baseline.
  config::kafka_options ko; // the node's defaults: relay_sweep_ms 1000
  const auto topic = config::topic_map(ko).at("product-created");
  cluster.create_topic(topic, 6);
  cluster.create_topic("latency-raw", 6);
  tail reader{cluster.bootstrap(), {{topic, 6}, {"latency-raw", 6}}, lo.fetch_wait_ms};

  // Wired as tools/bazaar/node.cpp wires it: the relay first, then the storage whose persister
  // notifies it after each commit with events. The hook also notes when the commit returned,
  // for the writes' done callbacks that run after it on the same writer thread.
  static thread_local std::int64_t committed_us = 0;
  kafka::outbox_relay relay{pg, cluster.bootstrap(), ko};
  persistence::pg_storage::options so;
  so.writes.on_events_committed = [&relay, wake = !lo.no_commit_wake] {
    committed_us = wall_us();
    if (wake)
      relay.notify();
  };
  auto storage = std::make_shared<persistence::pg_storage>(pg, so);
  storage->wait_ready(seconds{10});
  relay.start();
  kafka::producer raw{cluster.bootstrap(), ko, {}};

  std::mt19937_64 rng{42};
  std::mutex mtx;
  std::map<std::string, std::int64_t> committed; // key -> commit time
  std::map<std::string, std::int64_t> sent;      // raw key -> time before produce()
  std::atomic<int> failed{0};
  auto commit_event = [&](const std::string& key) {
    persistence::event_record e;
    e.event_id = random_uuid(rng);
    e.event_type = "product-created";
    e.aggregate_type = "product";
    e.aggregate_id = key;
    e.sequence = 1;
    e.envelope = "{\"event_id\":\"" + e.event_id +
                 "\",\"event_type\":\"product-created\",\"aggregate_type\":\"product\","
                 "\"aggregate_id\":\"" +
                 key +
                 "\",\"version\":1,\"occurred_at\":\"2026-11-21T00:00:00.000Z\",\"data\":{"
                 "\"name\":\"bench\"},\"metadata\":{\"correlation_id\":\"bench\"}}";
    persistence::grain_write w;
    w.type = "product";
    w.key = key;
    w.version = 1;
    w.state = "{\"name\":\"bench\"}";
    w.event_seq = 1;
    w.events.push_back(std::move(e));
    w.done = [&, key](persistence::save_status st) {
      if (st != persistence::save_status::saved) {
        ++failed;
        return;
      }
      std::lock_guard<std::mutex> guard{mtx};
      committed[key] = committed_us;
    };
    storage->write(std::move(w));
  };
  auto send_raw = [&](const std::string& key) {
    {
      std::lock_guard<std::mutex> guard{mtx};
      sent[key] = wall_us();
    }
    std::string error;
    while (!raw.produce("latency-raw", key, "{}", {}, 0, &error))
      raw.poll(1);
    raw.poll(0);
  };
  // Receipt and CreateTime latencies (ms) of `keys` from their start times.
  auto measure = [&](const std::vector<std::string>& keys,
                     const std::map<std::string, std::int64_t>& start) {
    std::pair<std::vector<double>, std::vector<double>> out;
    for (const auto& k : keys) {
      auto a = reader.at(k);
      auto t0 = start.at(k);
      out.first.push_back(static_cast<double>(a.received_us - t0) / 1000.0);
      out.second.push_back(static_cast<double>(a.created_ms * 1000 - t0) / 1000.0);
    }
    return out;
  };
  auto wait_all = [&](const std::vector<std::string>& keys) {
    if (!reader.wait_for(keys, seconds{60})) {
      std::printf("latency: not every record arrived within 60 s\n");
      std::exit(1);
    }
    raw.poll(0);
  };

  // Warm up: connections, producer ids, metadata, the consumer's first fetches.
  commit_event("warm-relay");
  send_raw("warm-raw");
  wait_all({"warm-relay", "warm-raw"});

  std::printf("commit -> Kafka latency (%s; tailing consumer fetch.wait.max.ms=%d; "
              "relay_sweep_ms=%d)\n",
              lo.no_commit_wake ? "relay NOT notified at commit" : "relay notified at commit",
              lo.fetch_wait_ms, ko.relay_sweep_ms);
  auto report = [&](const char* what, const char* name, const std::vector<std::string>& keys,
                    const std::vector<std::string>& raw_keys) {
    wait_all(keys);
    wait_all(raw_keys);
    std::map<std::string, std::int64_t> c, r;
    {
      std::lock_guard<std::mutex> guard{mtx};
      c = committed;
      r = sent;
    }
    auto [received, created] = measure(keys, c);
    auto [raw_received, raw_created] = measure(raw_keys, r);
    std::printf("  %s, %zu events:\n", what, keys.size());
    std::printf("    relay, commit -> consumer receipt: %s\n", percentiles(received).c_str());
    std::printf("    relay, commit -> record CreateTime: %s\n", percentiles(created).c_str());
    std::printf("    raw producer, produce() -> consumer receipt: %s\n",
                percentiles(raw_received).c_str());
    bench::print_result({name, bench::quantile(received, 0.99), "ms",
                         bench::quantile(raw_received, 0.99), "ms", bench::figure_at_most(20)});
  };

  // (a) sparse: one event at a time, 100-300 ms apart (the same gaps for raw and relay).
  std::uniform_int_distribution<int> gap_ms{100, 300};
  std::vector<milliseconds> gaps;
  for (int i = 0; i < lo.sparse_events; ++i)
    gaps.emplace_back(gap_ms(rng));
  std::vector<std::string> sparse, sparse_raw;
  for (int i = 0; i < lo.sparse_events; ++i) {
    sparse.push_back("sparse-" + std::to_string(i));
    sparse_raw.push_back("raw-sparse-" + std::to_string(i));
  }
  for (int i = 0; i < lo.sparse_events; ++i) {
    commit_event(sparse[i]);
    std::this_thread::sleep_for(gaps[i] / 2);
    send_raw(sparse_raw[i]);
    std::this_thread::sleep_for(gaps[i] - gaps[i] / 2);
  }
  report("sparse (100-300 ms apart)", "kafka.commit_to_kafka_p99.sparse", sparse, sparse_raw);

  // (b) under load: a steady stream of commits, each event its own product.
  auto n = static_cast<int>(lo.load_rate * lo.load_seconds);
  std::vector<std::string> load, load_raw;
  for (int i = 0; i < n; ++i) {
    load.push_back("load-" + std::to_string(i));
    load_raw.push_back("raw-load-" + std::to_string(i));
  }
  auto start = clk::now();
  for (int i = 0; i < n; ++i) {
    std::this_thread::sleep_until(start +
                                  duration_cast<clk::duration>(duration<double>(i / lo.load_rate)));
    commit_event(load[i]);
    send_raw(load_raw[i]);
  }
  char what[96];
  std::snprintf(what, sizeof what, "under load (%.0f events/s for %.0f s)", lo.load_rate,
                lo.load_seconds);
  report(what, "kafka.commit_to_kafka_p99.load", load, load_raw);
  if (failed > 0)
    std::printf("  (%d writes failed)\n", failed.load());
  relay.stop();
  storage->stop();
}
} // namespace

int main(int argc, char** argv) {
  long records = 100000;
  int keys = 1000;
  std::string url = "postgresql://bazaar:bazaar@127.0.0.1:5432/bazaar";
  bool only_latency = false;
  latency_options lo;
  CLI::App app{"Kafka bridge and outbox relay against raw librdkafka"};
  app.add_option("--records", records, "Records produced");
  app.add_option("--keys", keys, "Distinct grain keys");
  app.add_option("--url", url, "PostgreSQL URL");
  app.add_flag("--only-latency", only_latency, "Run only the commit -> Kafka latency phase");
  app.add_option("--sparse-events", lo.sparse_events, "Events committed one at a time");
  app.add_option("--load-rate", lo.load_rate, "Events per second under load");
  app.add_option("--load-seconds", lo.load_seconds, "Seconds of load");
  app.add_option("--fetch-wait-ms", lo.fetch_wait_ms, "The tailing consumer's fetch.wait.max.ms");
  app.add_flag("--no-commit-wake", lo.no_commit_wake,
               "Do not notify the relay at commit (as the node did before)");
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
  if (!only_latency)
    throughput(cluster, pg, records, keys);
  latency(cluster, pg, lo);
  auto conn = persistence::connect(pg);
  pqxx::nontransaction n{*conn};
  n.exec("DROP SCHEMA " + persistence::quote_identifier(schema) + " CASCADE");
  return 0;
}
