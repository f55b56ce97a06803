// The read side's projector: events applied to PostgreSQL projections (one transaction per
// batch, each event id recorded), beside a raw librdkafka consumer reading the same records
// in the same run.
//
//   bench_projector [--records 20000] [--orders 5000] [--url URL] [--projection sales]
//                   [--fetch-wait-ms 100]
//
// 1. raw: a plain consumer (own group) reads every record of the topic: records/s
// 2. projector: the projection (default sales; "all" runs all four, each its own group)
//    applies every record; records/s from start until every partition is committed to its end
// The records are order-status-changed envelopes (to confirmed/shipped/delivered/cancelled in
// turn, one order per --records/--orders events), so every projection has work for each.

#include "bazaar/config/loader.hpp"
#include "bazaar/kafka/embedded_kafka.hpp"
#include "bazaar/kafka/producer.hpp"
#include "bazaar/kafka/projector.hpp"
#include "bazaar/persistence/migrations.hpp"
#include "bazaar/persistence/pg.hpp"
#include "bazaar/persistence/projections.hpp"

#include "bench_result.hpp"

#include <CLI/CLI.hpp>
#include <boost/json.hpp>
#include <librdkafka/rdkafka.h>
#include <pqxx/pqxx>

#include <chrono>
#include <cstdio>
#include <optional>
#include <stdexcept>
#include <thread>

using namespace bazaar;
using steady = std::chrono::steady_clock;

namespace {

double seconds_since(steady::time_point t0) {
  return std::chrono::duration<double>(steady::now() - t0).count();
}

/// Reads `n` records of `topic` with a fresh group; seconds taken.
double raw_consume(const std::string& bootstrap, const std::string& topic, int n) {
  char err[512];
  auto* conf = rd_kafka_conf_new();
  rd_kafka_conf_set(conf, "bootstrap.servers", bootstrap.c_str(), err, sizeof err);
  rd_kafka_conf_set(conf, "group.id", "bench-raw", err, sizeof err);
  rd_kafka_conf_set(conf, "auto.offset.reset", "earliest", err, sizeof err);
  rd_kafka_conf_set(conf, "fetch.wait.max.ms", "10", err, sizeof err);
  rd_kafka_conf_set(conf, "log_level", "3", err, sizeof err);
  auto* rk = rd_kafka_new(RD_KAFKA_CONSUMER, conf, err, sizeof err);
  rd_kafka_poll_set_consumer(rk);
  auto* topics = rd_kafka_topic_partition_list_new(1);
  rd_kafka_topic_partition_list_add(topics, topic.c_str(), RD_KAFKA_PARTITION_UA);
  rd_kafka_subscribe(rk, topics);
  rd_kafka_topic_partition_list_destroy(topics);
  int seen = 0;
  steady::time_point t0{};
  auto deadline = steady::now() + std::chrono::seconds{120};
  while (seen < n && steady::now() < deadline) {
    if (auto* m = rd_kafka_consumer_poll(rk, 100)) {
      if (m->err == RD_KAFKA_RESP_ERR_NO_ERROR) {
        if (seen++ == 0)
          t0 = steady::now(); // from the first record: group join is not the consumer's rate
        boost::system::error_code ec;
        auto v = boost::json::parse(
            boost::json::string_view{static_cast<const char*>(m->payload), m->len}, ec);
        (void)v;
      }
      rd_kafka_message_destroy(m);
    }
  }
  double s = seconds_since(t0);
  rd_kafka_consumer_close(rk);
  rd_kafka_destroy(rk);
  if (seen < n)
    throw std::runtime_error("raw consumer saw only " + std::to_string(seen) + " records");
  return s;
}

} // namespace

int main(int argc, char** argv) {
  CLI::App app{"read-side projector throughput"};
  int records = 20000, orders = 5000;
  std::string url = "postgresql://bazaar:bazaar@127.0.0.1:5432/bazaar", projection = "sales";
  app.add_option("--records", records);
  app.add_option("--orders", orders);
  app.add_option("--url", url);
  app.add_option("--projection", projection);
  int fetch_wait_ms = kafka::projector::options{}.fetch_wait_max_ms;
  app.add_option("--fetch-wait-ms", fetch_wait_ms);
  CLI11_PARSE(app, argc, argv);
  if (const char* env = std::getenv("BAZAAR_POSTGRES_URL"); env != nullptr && *env)
    url = env;

  const std::string schema = "bench_projector_" + std::to_string(getpid());
  persistence::pg_settings settings{url, schema, 2000, 30000};
  {
    auto conn = persistence::connect(persistence::pg_settings{url, "public", 2000, 30000});
    persistence::migrate(*conn, schema);
  }
  kafka::embedded_kafka cluster{1};
  config::kafka_options kafka;
  kafka.group_id = "bench";
  const auto topic = config::topic_map(kafka).at("order-status-changed");
  std::vector<std::string> all_topics;
  for (const auto& [event, t] : config::topic_map(kafka))
    all_topics.push_back(t);
  cluster.create_topics(all_topics, 6);

  // Produce: per order confirmed, shipped, delivered, then cancelled for every 4th.
  {
    kafka::producer p{cluster.bootstrap(), kafka, nullptr};
    const char* steps[] = {"confirmed", "shipped", "delivered", "cancelled"};
    for (int i = 0; i < records; ++i) {
      int order = i % orders, step = (i / orders) % 4;
      std::string id = "o-" + std::to_string(order);
      boost::json::array items{boost::json::object{{"sku", "sku-" + std::to_string(order % 50)},
                                                   {"name", "x"},
                                                   {"quantity", 1 + order % 3},
                                                   {"unit_price_cents", 1000},
                                                   {"line_total_cents", 1000 * (1 + order % 3)}}};
      boost::json::object env{
          {"event_id", "e-" + std::to_string(i)},
          {"event_type", "order-status-changed"},
          {"aggregate_type", "order"},
          {"aggregate_id", id},
          {"version", 4 + i / orders},
          {"occurred_at", "2026-11-21T09:00:00.000Z"},
          {"data", boost::json::object{{"order_id", id},
                                       {"customer_id", "c-" + std::to_string(order % 100)},
                                       {"from", ""},
                                       {"to", steps[step]},
                                       {"reason", ""},
                                       {"total_cents", 1000 * (1 + order % 3)},
                                       {"currency", "USD"},
                                       {"items", items}}},
          {"metadata", boost::json::object{}}};
      std::string why;
      while (!p.produce(topic, id, boost::json::serialize(env), {}, i, &why))
        p.poll(10);
      p.poll(0);
    }
    p.flush(60000);
  }

  double raw = raw_consume(cluster.bootstrap(), topic, records);
  std::printf("raw consumer:  %d records in %.2f s = %.0f records/s\n", records, raw,
              records / raw);

  kafka::projector::options o;
  o.fetch_wait_max_ms = fetch_wait_ms;
  if (projection != "all")
    o.only = {projection};
  kafka::projector p{persistence::pg_projections(settings), cluster.bootstrap(), kafka, o};
  p.start();
  std::optional<steady::time_point> t0; // the first record taken (group join left out)
  std::uint64_t applied = 0;
  auto deadline = steady::now() + std::chrono::minutes{10};
  for (;;) {
    bool done = true;
    applied = 0;
    for (const auto& s : p.status()) {
      applied += s.applied;
      if (!t0 && s.consumed > 0)
        t0 = steady::now();
      if (s.name == "sales" || s.name == "orders" || s.name == "notifications")
        done = done && s.consumed == static_cast<std::uint64_t>(records) && s.lag == 0 &&
               !s.partitions.empty();
    }
    if (done || steady::now() > deadline)
      break;
    std::this_thread::sleep_for(std::chrono::milliseconds{5});
  }
  double took = t0 ? seconds_since(*t0) : 0;
  p.stop();
  std::printf("projector (%s): %llu events applied in %.2f s (from the first record) = %.0f "
              "events/s; raw/projector = %.1f\n",
              projection.c_str(), static_cast<unsigned long long>(applied), took, applied / took,
              (records / raw) / (applied / took));
  bench::print_result({"projector." + projection, took > 0 ? applied / took : 0, "events/s",
                       raw > 0 ? records / raw : 0, "records/s", std::nullopt});
  try {
    pqxx::connection c{url};
    pqxx::nontransaction n{c};
    n.exec("DROP SCHEMA " + persistence::quote_identifier(schema) + " CASCADE");
  } catch (const std::exception& e) {
    std::fprintf(stderr, "dropping %s: %s\n", schema.c_str(), e.what());
  }
  return 0;
}
