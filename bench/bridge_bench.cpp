// The Kafka bridge feeding durable grains, beside a raw consumer doing the same durable work,
// on the same records of the same embedded cluster in the same run.
//
//   bench_bridge [--records 50000] [--keys 1000] [--hot-keys 10] [--partitions 6] [--url URL]
//                [--batch 500] [--goal 0.6]
//
// Two record sets, each in its own topic of --partitions partitions, produced once and read
// by both consumers (each in its own group, from the beginning):
//   spread: keys over --keys grains;  hot: the same number of records over --hot-keys grains
//   (many records per grain: where the bridge's pipelining and the persister's coalescing
//   matter).
// For each set:
//   raw: one librdkafka consumer thread; takes what the consumer has ready (up to --batch
//        records), parses each envelope, and in one transaction (one statement) inserts the
//        event ids (ON CONFLICT DO NOTHING: a record seen before has no effect) and upserts
//        each key's count and total for the fresh ones; then commits the offsets.
//   bridge: the bridge (node defaults but max_in_flight 5000) into test-only ledger grains
//        (tests/support/ledger_grain.hpp) on pg_storage (the group-commit persister): each
//        record's effect and its event id written durably before the offset is committed.
// Records/s of each from its first record to its last durably handled, and the ratio.
// Works in a private schema that is dropped at the end. Exits 3 if a ratio is below --goal.

#include "bazaar/config/options.hpp"
#include "bazaar/kafka/bridge.hpp"
#include "bazaar/kafka/embedded_kafka.hpp"
#include "bazaar/persistence/migrations.hpp"
#include "bazaar/persistence/pg_storage.hpp"
#include "bazaar/runtime/host.hpp"

#include "support/ledger_grain.hpp"

#include "bench_result.hpp"

#include <CLI/CLI.hpp>
#include <boost/json.hpp>
#include <caf/actor_system.hpp>
#include <caf/actor_system_config.hpp>
#include <librdkafka/rdkafka.h>
#include <pqxx/pqxx>
#include <spdlog/spdlog.h>

#include <cstdio>
#include <map>
#include <thread>
#include <unistd.h>

using namespace bazaar;
using namespace std::chrono;
using clk = steady_clock;

namespace {

double since(clk::time_point t) {
  return duration<double>(clk::now() - t).count();
}

std::string envelope(const std::string& topic, long i, const std::string& key) {
  return "{\"event_id\":\"" + topic + "-" + std::to_string(i) +
         "\",\"event_type\":\"payment-processed\",\"aggregate_type\":\"payment\","
         "\"aggregate_id\":\"" +
         key +
         "\",\"version\":1,\"occurred_at\":\"2026-11-21T00:00:00.000Z\",\"data\":{"
         "\"account\":\"" +
         key + "\",\"amount\":1},\"metadata\":{}}";
}

void produce(const std::string& bootstrap, const std::string& topic, long records, int keys) {
  char err[512];
  auto* conf = rd_kafka_conf_new();
  rd_kafka_conf_set(conf, "bootstrap.servers", bootstrap.c_str(), err, sizeof err);
  rd_kafka_conf_set(conf, "linger.ms", "5", err, sizeof err);
  rd_kafka_conf_set(conf, "log_level", "3", err, sizeof err);
  auto* p = rd_kafka_new(RD_KAFKA_PRODUCER, conf, err, sizeof err);
  for (long i = 0; i < records; ++i) {
    auto key = "acct-" + std::to_string(i % keys);
    auto value = envelope(topic, i, key);
    while (rd_kafka_producev(p, RD_KAFKA_V_TOPIC(topic.c_str()),
                             RD_KAFKA_V_KEY(key.data(), key.size()),
                             RD_KAFKA_V_VALUE(value.data(), value.size()),
                             RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY),
                             RD_KAFKA_V_END) == RD_KAFKA_RESP_ERR__QUEUE_FULL)
      rd_kafka_poll(p, 10);
  }
  rd_kafka_flush(p, 60000);
  rd_kafka_destroy(p);
}

/// `{a,b,c}`: a PostgreSQL array literal of plain words (the bench's ids and keys).
std::string array_literal(const std::vector<std::string>& v) {
  std::string s = "{";
  for (std::size_t i = 0; i < v.size(); ++i) {
    if (i > 0)
      s += ',';
    s += v[i];
  }
  return s + "}";
}

/// The raw consumer: records/s from its first record until all `records` are committed in
/// PostgreSQL (their effects and event ids) and their offsets committed.
double raw_consumer(const std::string& bootstrap, const std::string& topic,
                    const persistence::pg_settings& pg, long records, int batch_max) {
  auto conn = persistence::connect(pg);
  conn->prepare("apply",
                "WITH input(event_id, key, amount) AS ("
                "  SELECT * FROM unnest($1::text[], $2::text[], $3::bigint[])),"
                " fresh AS (INSERT INTO raw_events (event_id) SELECT event_id FROM input"
                "  ON CONFLICT DO NOTHING RETURNING event_id),"
                " effect AS (SELECT key, count(*) AS n, sum(amount) AS amount"
                "  FROM input JOIN fresh USING (event_id) GROUP BY key)"
                " INSERT INTO raw_ledger (key, count, total) SELECT key, n, amount FROM effect"
                " ON CONFLICT (key) DO UPDATE SET count = raw_ledger.count + EXCLUDED.count,"
                "  total = raw_ledger.total + EXCLUDED.total");
  char err[512];
  auto* conf = rd_kafka_conf_new();
  rd_kafka_conf_set(conf, "bootstrap.servers", bootstrap.c_str(), err, sizeof err);
  rd_kafka_conf_set(conf, "group.id", ("raw-" + topic).c_str(), err, sizeof err);
  rd_kafka_conf_set(conf, "enable.auto.commit", "false", err, sizeof err);
  rd_kafka_conf_set(conf, "auto.offset.reset", "earliest", err, sizeof err);
  rd_kafka_conf_set(conf, "fetch.wait.max.ms", "10", err, sizeof err);
  rd_kafka_conf_set(conf, "log_level", "3", err, sizeof err);
  auto* c = rd_kafka_new(RD_KAFKA_CONSUMER, conf, err, sizeof err);
  rd_kafka_poll_set_consumer(c);
  auto* list = rd_kafka_topic_partition_list_new(1);
  rd_kafka_topic_partition_list_add(list, topic.c_str(), RD_KAFKA_PARTITION_UA);
  rd_kafka_subscribe(c, list);
  rd_kafka_topic_partition_list_destroy(list);

  long done = 0;
  clk::time_point start{};
  std::vector<std::string> ids, keys, amounts;
  std::map<std::int32_t, std::int64_t> next_offsets;
  auto flush = [&] {
    if (ids.empty())
      return;
    {
      pqxx::work tx{*conn};
      tx.exec_prepared("apply", array_literal(ids), array_literal(keys), array_literal(amounts));
      tx.commit();
    }
    auto* offsets = rd_kafka_topic_partition_list_new(static_cast<int>(next_offsets.size()));
    for (const auto& [p, o] : next_offsets)
      rd_kafka_topic_partition_list_add(offsets, topic.c_str(), p)->offset = o;
    rd_kafka_commit(c, offsets, 1);
    rd_kafka_topic_partition_list_destroy(offsets);
    done += static_cast<long>(ids.size());
    ids.clear();
    keys.clear();
    amounts.clear();
    next_offsets.clear();
  };
  while (done < records) {
    // What is ready now, up to a batch; the first poll of a batch may wait for records.
    auto* m = rd_kafka_consumer_poll(c, ids.empty() ? 100 : 0);
    if (m == nullptr) {
      flush();
      continue;
    }
    if (m->err == RD_KAFKA_RESP_ERR_NO_ERROR) {
      if (start == clk::time_point{})
        start = clk::now(); // from the first record: the group join is not the consumer
      boost::system::error_code ec;
      auto v =
          boost::json::parse(std::string_view(static_cast<const char*>(m->payload), m->len), ec);
      if (!ec && v.is_object()) {
        const auto& o = v.as_object();
        const auto& data = o.at("data").as_object();
        ids.emplace_back(o.at("event_id").as_string());
        keys.emplace_back(data.at("account").as_string());
        amounts.push_back(std::to_string(data.at("amount").as_int64()));
      }
      next_offsets[m->partition] = m->offset + 1;
    }
    rd_kafka_message_destroy(m);
    if (static_cast<int>(ids.size()) >= batch_max)
      flush();
  }
  double rate = static_cast<double>(records) / since(start);
  rd_kafka_consumer_close(c);
  rd_kafka_destroy(c);
  return rate;
}

struct bridge_result {
  double rate = 0;
  std::uint64_t transactions = 0, writes = 0, rows = 0;
};

/// The bridge into ledger grains: records/s from its first handled record until all are.
bridge_result bridge_into_grains(const std::string& bootstrap, const std::string& topic,
                                 const persistence::pg_settings& pg, long records) {
  caf::actor_system_config cfg;
  config::runtime_options ro;
  ro.max_inflight = 100000;
  runtime::configure(cfg, ro);
  test::register_ledger_types(cfg);
  caf::actor_system sys{cfg};
  runtime::system_clock clock;
  auto storage = std::make_shared<persistence::pg_storage>(pg, persistence::pg_storage::options{});
  storage->wait_ready(seconds{10});
  bridge_result out;
  {
    runtime::host host{sys, clock, ro, seconds{30}};
    runtime::grain_services services;
    services.storage = storage;
    test::register_ledger(host.grains(), services);
    host.start();
    config::kafka_options ko;
    ko.group_id = "bridge-" + topic;
    ko.max_in_flight = 5000;
    kafka::bridge bridge{host.client(), bootstrap, ko, {{topic, "ledger", "account"}}};
    bridge.start();
    while (bridge.stats().handled.load() == 0)
      std::this_thread::sleep_for(milliseconds{1});
    auto start = clk::now();
    auto first = bridge.stats().handled.load();
    while (bridge.stats().handled.load() < static_cast<std::uint64_t>(records))
      std::this_thread::sleep_for(milliseconds{2});
    out.rate = static_cast<double>(records - static_cast<long>(first)) / since(start);
    const auto& w = storage->write_stats();
    out.transactions = w.transactions.load();
    out.writes = w.writes.load();
    out.rows = w.rows.load();
    bridge.stop();
    host.stop(seconds{5});
  }
  storage->stop();
  return out;
}

} // namespace

int main(int argc, char** argv) {
  long records = 50000;
  int keys = 1000;
  int hot_keys = 10;
  int partitions = 6;
  int batch = 500;
  double goal = 0.6;
  std::string url = "postgresql://bazaar:bazaar@127.0.0.1:5432/bazaar";
  if (const char* env = std::getenv("BAZAAR_POSTGRES_URL"))
    url = env;
  CLI::App app{"Kafka bridge into durable grains against a raw consumer doing the same work"};
  app.add_option("--records", records, "Records per set");
  app.add_option("--keys", keys, "Grains of the spread set");
  app.add_option("--hot-keys", hot_keys, "Grains of the hot set");
  app.add_option("--partitions", partitions, "Partitions of each topic");
  app.add_option("--batch", batch, "The raw consumer's largest batch");
  app.add_option("--goal", goal, "The least acceptable ratio bridge / raw");
  app.add_option("--url", url, "PostgreSQL URL (default: $BAZAAR_POSTGRES_URL)");
  CLI11_PARSE(app, argc, argv);
  spdlog::set_level(spdlog::level::warn);
  auto schema = "bench_bridge_" + std::to_string(getpid());
  persistence::pg_settings pg{url, schema, 2000, 30000};
  {
    auto conn = persistence::connect(pg);
    persistence::migrate(*conn, schema);
    pqxx::nontransaction n{*conn};
    n.exec("CREATE TABLE " + persistence::quote_identifier(schema) +
           ".raw_events (event_id text PRIMARY KEY)");
    n.exec("CREATE TABLE " + persistence::quote_identifier(schema) +
           ".raw_ledger (key text PRIMARY KEY, count bigint NOT NULL, total bigint NOT NULL)");
  }
  kafka::embedded_kafka cluster{3};
  std::printf("bench_bridge: %ld records per set, %d partitions, raw batches up to %d, nproc "
              "%u\n",
              records, partitions, batch, std::thread::hardware_concurrency());
  bool ok = true;
  for (const auto& [topic, k] : {std::pair<std::string, int>{"spread", keys}, {"hot", hot_keys}}) {
    cluster.create_topic(topic, partitions);
    cluster.create_topic(topic + ".dlq", 1);
    produce(cluster.bootstrap(), topic, records, k);
    auto raw = raw_consumer(cluster.bootstrap(), topic, pg, records, batch);
    auto b = bridge_into_grains(cluster.bootstrap(), topic, pg, records);
    double ratio = b.rate / raw;
    std::printf("%s (%d grains): bridge into durable grains %.0f records/s (%llu grain writes "
                "-> %llu rows in %llu transactions); raw consumer + batched upserts %.0f "
                "records/s; ratio %.2f (goal >= %.2f)\n",
                topic.c_str(), k, b.rate, static_cast<unsigned long long>(b.writes),
                static_cast<unsigned long long>(b.rows),
                static_cast<unsigned long long>(b.transactions), raw, ratio, goal);
    std::fflush(stdout);
    bench::print_result(
        {"bridge." + topic, b.rate, "records/s", raw, "records/s", bench::ratio_at_least(goal)});
    ok = ok && ratio >= goal;
  }
  {
    auto conn = persistence::connect(pg);
    pqxx::nontransaction n{*conn};
    n.exec("DROP SCHEMA " + persistence::quote_identifier(schema) + " CASCADE");
  }
  return ok ? 0 : 3;
}
