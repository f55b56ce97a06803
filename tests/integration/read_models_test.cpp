// The read side's projector on the embedded Kafka cluster (real protocol on loopback) and the
// real PostgreSQL: events produced as the write side publishes them are applied once to each
// projection, whatever is redelivered, restarted, undecodable or refused meanwhile; the
// queries (pg_read_models) answer from what was applied.

#include "bazaar/config/loader.hpp"
#include "bazaar/kafka/embedded_kafka.hpp"
#include "bazaar/kafka/projector.hpp"
#include "bazaar/persistence/migrations.hpp"
#include "bazaar/persistence/pg_monitor.hpp"
#include "bazaar/persistence/pg_read_models.hpp"
#include "bazaar/persistence/projections.hpp"

#include "support/envelopes.hpp"
#include "support/eventually.hpp"
#include "support/pg_schema.hpp"
#include "support/raw_producer.hpp"

#include <catch2/catch.hpp>
#include <pqxx/pqxx>

#include <future>
#include <thread>

using namespace bazaar;
using namespace std::chrono_literals;
namespace json = boost::json;

namespace {

using test::eventually;

/// 2026-11-21T09:00:00Z plus `minutes`.
core::timestamp_ms at_minute(int minutes) {
  return *core::parse_rfc3339("2026-11-21T09:00:00Z") + minutes * 60'000LL;
}

/// A schema with the migrations applied, an embedded cluster with the configured topics (3
/// partitions each), and the kafka options of a test.
struct read_side {
  test::pg_schema schema;
  kafka::embedded_kafka cluster{1};
  config::kafka_options kafka;
  std::map<std::string, std::string> topic;

  read_side() {
    {
      auto conn = persistence::connect(schema.settings());
      persistence::migrate(*conn, schema.name());
    }
    kafka.group_id = "readside-" + schema.name();
    kafka.session_timeout_ms = 6000;
    topic = config::topic_map(kafka);
    std::set<std::string> names;
    for (const auto& [event, t] : topic)
      names.insert(t);
    names.insert("not-an-event-topic");
    cluster.create_topics(std::vector<std::string>(names.begin(), names.end()), 3);
  }

  persistence::pg_settings settings(int statement_timeout_ms = 10000) const {
    auto s = schema.settings();
    s.statement_timeout_ms = statement_timeout_ms;
    return s;
  }

  void produce(const std::vector<test::test_event>& events) {
    test::raw_producer p{cluster.bootstrap()};
    for (const auto& e : events)
      p.send(e.topic, e.key, e.value);
    p.flush();
  }

  std::int64_t count(const std::string& sql) const { return std::stoll(schema.scalar(sql)); }
};

/// The status of projection `name`.
kafka::projection_status status_of(const kafka::projector& p, const std::string& name) {
  for (auto& s : p.status())
    if (s.name == name)
      return s;
  FAIL("no projection " << name);
  return {};
}

/// Whether every assigned partition of `name` is known and committed up to its end.
bool caught_up(const kafka::projector& p, const std::string& name) {
  auto s = status_of(p, name);
  if (s.partitions.empty())
    return false;
  for (const auto& part : s.partitions)
    if (part.lag != 0)
      return false;
  return true;
}

/// Runs an asynchronous read_models query and waits for its answer.
template <class T, class Call>
std::optional<T> query(Call call) {
  std::promise<std::optional<T>> answer;
  auto f = answer.get_future();
  call([&answer](std::optional<T> v) { answer.set_value(std::move(v)); });
  REQUIRE(f.wait_for(20s) == std::future_status::ready);
  return f.get();
}

kafka::projector::options only(std::vector<std::string> names) {
  kafka::projector::options o;
  o.only = std::move(names);
  o.retry_backoff = 50ms;
  o.max_backoff = 200ms;
  return o;
}

} // namespace

TEST_CASE("an event delivered twice is applied once: no second notification, no double count",
          "[read_models]") {
  read_side rs;
  const auto& t = rs.topic;
  json::array items{test::order_line("mug", 2, 1500)};
  auto created =
      test::order_created(t.at("order-created"), "e-o1", "o-1", "alice", items, at_minute(0));
  auto confirmed = test::order_status(t.at("order-status-changed"), "e-o1-c", "o-1", "alice", items,
                                      "paid", "confirmed", 4, at_minute(1));
  auto low = test::test_event{
      t.at("product-low-stock"), "mug",
      test::envelope("e-low", "product-low-stock", "product", "mug", 7, at_minute(1),
                     json::object{{"sku", "mug"}, {"available", 1}, {"threshold", 2}})};
  // Each event twice, the second copy after others (as a redelivery comes).
  rs.produce({created, confirmed, low, created, confirmed, low});
  kafka::projector p{persistence::pg_projections(rs.settings()), rs.cluster.bootstrap(), rs.kafka,
                     only({})};
  p.start();
  REQUIRE(eventually([&] {
    return caught_up(p, "orders") && caught_up(p, "notifications") && caught_up(p, "sales");
  }));
  CHECK(status_of(p, "orders").applied == 2);
  CHECK(status_of(p, "orders").duplicates == 2);
  CHECK(status_of(p, "notifications").applied == 2);
  CHECK(status_of(p, "notifications").duplicates == 2);
  CHECK(status_of(p, "sales").applied == 1);
  CHECK(status_of(p, "sales").duplicates == 1);
  CHECK(rs.count("SELECT count(*) FROM read_notifications") == 2);
  CHECK(rs.count("SELECT count(*) FROM read_notifications WHERE template = 'order_confirmed' AND "
                 "customer_id = 'alice' AND order_id = 'o-1' AND channel = 'email'") == 1);
  CHECK(rs.count("SELECT count(*) FROM read_notifications WHERE template = 'low_stock' AND "
                 "customer_id = 'admin'") == 1);
  CHECK(rs.count("SELECT count(*) FROM read_orders") == 1);
  CHECK(rs.schema.scalar("SELECT status FROM read_orders WHERE order_id = 'o-1'") == "confirmed");
  persistence::pg_read_models models{rs.settings(), {}};
  models.start();
  auto report = query<domain::sales_report>(
      [&](auto done) { models.sales(std::nullopt, std::nullopt, std::move(done)); });
  REQUIRE(report);
  CHECK(report->orders_confirmed == 1);
  CHECK(report->revenue_cents == 3000);
  REQUIRE(report->top_products.size() == 1);
  CHECK(report->top_products[0].quantity == 2);
  p.stop();
}

TEST_CASE("the projector resumes after a restart where it committed, and a group that reads "
          "everything again changes nothing",
          "[read_models]") {
  read_side rs;
  const auto& t = rs.topic;
  std::vector<test::test_event> first;
  for (int i = 0; i < 20; ++i)
    first.push_back(test::product_created(t.at("product-created"), "e-p" + std::to_string(i),
                                          "sku-" + std::to_string(i), "Thing " + std::to_string(i),
                                          "", "things", 100 + i, 5));
  rs.produce(first);
  {
    kafka::projector p{persistence::pg_projections(rs.settings()), rs.cluster.bootstrap(), rs.kafka,
                       only({"catalog"})};
    p.start();
    REQUIRE(eventually([&] { return caught_up(p, "catalog"); }));
    CHECK(status_of(p, "catalog").applied == 20);
    p.stop();
  }
  rs.produce({test::product_created(t.at("product-created"), "e-p20", "sku-20", "Thing 20", "",
                                    "things", 120, 5)});
  {
    // The same group again: it goes on after what it committed, re-reading nothing.
    kafka::projector p{persistence::pg_projections(rs.settings()), rs.cluster.bootstrap(), rs.kafka,
                       only({"catalog"})};
    p.start();
    REQUIRE(eventually([&] { return caught_up(p, "catalog"); }));
    CHECK(status_of(p, "catalog").consumed == 1);
    CHECK(status_of(p, "catalog").applied == 1);
    CHECK(status_of(p, "catalog").duplicates == 0);
    p.stop();
  }
  {
    // A new group (as after a reset) reads all 21 again: every one is a duplicate.
    auto kafka = rs.kafka;
    kafka.group_id += "-reset";
    kafka::projector p{persistence::pg_projections(rs.settings()), rs.cluster.bootstrap(), kafka,
                       only({"catalog"})};
    p.start();
    REQUIRE(eventually([&] { return caught_up(p, "catalog"); }));
    CHECK(status_of(p, "catalog").applied == 0);
    CHECK(status_of(p, "catalog").duplicates == 21);
    p.stop();
  }
  CHECK(rs.count("SELECT count(*) FROM read_products WHERE created") == 21);
  CHECK(rs.count("SELECT count(*) FROM projection_applied WHERE projection = 'catalog'") == 21);
}

TEST_CASE("a record that is not an event is skipped and counted, and the projection goes on",
          "[read_models]") {
  read_side rs;
  const auto& t = rs.topic;
  const auto& topic = t.at("product-created");
  rs.produce({{topic, "x", "not json at all"},
              {topic, "y", R"({"event_id":"e-1","event_type":"product-created"})"},
              {topic, "z",
               test::envelope("e-bad", "product-created", "product", "z", 1, at_minute(0),
                              json::object{{"sku", "z"}})},
              test::product_created(topic, "e-good", "good", "Good", "", "things", 100, 1)});
  kafka::projector p{persistence::pg_projections(rs.settings()), rs.cluster.bootstrap(), rs.kafka,
                     only({"catalog"})};
  p.start();
  REQUIRE(eventually([&] { return caught_up(p, "catalog"); }));
  auto s = status_of(p, "catalog");
  CHECK(s.consumed == 4);
  CHECK(s.undecodable == 2); // not JSON; no version, occurred_at or data
  CHECK(s.rejected == 1);    // product-created without name or price
  CHECK(s.applied == 1);
  CHECK(rs.count("SELECT count(*) FROM read_products") == 1);
  p.stop();
}

TEST_CASE("while PostgreSQL refuses, a projection retries its batch, shows its lag and commits "
          "nothing past what it applied",
          "[read_models]") {
  read_side rs;
  const auto& t = rs.topic;
  // Another session holds the notifications table: the projector's statements time out.
  pqxx::connection blocker{persistence::with_timeouts(rs.schema.url(), 2000)};
  auto hold = std::make_unique<pqxx::work>(blocker);
  hold->exec("SET LOCAL search_path TO " + persistence::quote_identifier(rs.schema.name()));
  hold->exec("LOCK TABLE read_notifications IN ACCESS EXCLUSIVE MODE");
  rs.produce({test::test_event{
      t.at("product-low-stock"), "mug",
      test::envelope("e-low-1", "product-low-stock", "product", "mug", 3, at_minute(0),
                     json::object{{"sku", "mug"}, {"available", 1}, {"threshold", 2}})}});
  kafka::projector p{persistence::pg_projections(rs.settings(300)), rs.cluster.bootstrap(),
                     rs.kafka, only({"notifications"})};
  p.start();
  REQUIRE(eventually([&] {
    auto s = status_of(p, "notifications");
    return s.retries >= 2 && !s.waiting_for.empty() && s.lag == 1;
  }));
  CHECK(status_of(p, "notifications").applied == 0);
  hold->abort(); // the database serves again
  hold.reset();
  REQUIRE(eventually([&] { return caught_up(p, "notifications"); }));
  auto s = status_of(p, "notifications");
  CHECK(s.applied == 1);
  CHECK(s.waiting_for.empty());
  CHECK(rs.count("SELECT count(*) FROM read_notifications") == 1);
  p.stop();
}

TEST_CASE("product events arriving out of order across topics keep the newest value of each "
          "field",
          "[read_models]") {
  read_side rs;
  const auto& t = rs.topic;
  auto stock_v3 = test::test_event{
      t.at("stock-updated"), "lamp",
      test::envelope("e-s3", "stock-updated", "product", "lamp", 3, at_minute(2),
                     json::object{{"sku", "lamp"}, {"stock", 7}, {"reserved", 2}})};
  auto stock_v2 = test::test_event{
      t.at("stock-updated"), "lamp",
      test::envelope("e-s2", "stock-updated", "product", "lamp", 2, at_minute(1),
                     json::object{{"sku", "lamp"}, {"stock", 9}, {"reserved", 0}})};
  auto renamed_v4 =
      test::test_event{t.at("product-updated"), "lamp",
                       test::envelope("e-u4", "product-updated", "product", "lamp", 4, at_minute(3),
                                      json::object{{"sku", "lamp"}, {"price_cents", 4500}})};
  // Newer stock first, then the older one, then creation (v1, stock 10), then a price change.
  rs.produce({stock_v3, stock_v2});
  kafka::projector p{persistence::pg_projections(rs.settings()), rs.cluster.bootstrap(), rs.kafka,
                     only({"catalog"})};
  p.start();
  REQUIRE(
      eventually([&] { return caught_up(p, "catalog") && status_of(p, "catalog").applied == 2; }));
  // Known only from stock events: not listed yet.
  CHECK(rs.count("SELECT count(*) FROM read_products WHERE created") == 0);
  rs.produce({test::product_created(t.at("product-created"), "e-c1", "lamp", "Lamp", "Bright",
                                    "lighting", 4000, 10, 1),
              renamed_v4});
  REQUIRE(
      eventually([&] { return status_of(p, "catalog").applied == 4 && caught_up(p, "catalog"); }));
  persistence::pg_read_models models{rs.settings(), {}};
  models.start();
  domain::product_query q;
  auto page = query<domain::product_page>([&](auto done) { models.products(q, std::move(done)); });
  REQUIRE(page);
  REQUIRE(page->items.size() == 1);
  const auto& lamp = page->items[0];
  CHECK(lamp.name == "Lamp");
  CHECK(lamp.price_cents == 4500);
  CHECK(lamp.stock == 7);
  CHECK(lamp.reserved == 2);
  CHECK(lamp.version == 4);
  p.stop();
}

TEST_CASE("the read side forgets the event ids it applied longer ago than "
          "postgres.applied_events_retention_s, and only those") {
  test::pg_schema schema;
  {
    auto conn = persistence::connect(schema.settings());
    persistence::migrate(*conn, schema.name());
  }
  // 10,000 orders' worth of ids applied two minutes ago, and one just now.
  schema.exec("INSERT INTO projection_applied (projection, event_id, applied_at) "
              "SELECT 'sales', 'old-' || g, now() - interval '2 minutes' "
              "FROM generate_series(1, 10000) AS g");
  schema.exec("INSERT INTO projection_applied (projection, event_id) VALUES ('sales', 'new-1')");
  persistence::pg_monitor monitor{schema.settings(), std::chrono::milliseconds{50},
                                  std::chrono::seconds{60}};
  CHECK(
      eventually([&] { return schema.scalar("SELECT count(*) FROM projection_applied") == "1"; }));
  CHECK(schema.scalar("SELECT event_id FROM projection_applied") == "new-1");
}
