// GET /metrics (docs/API.md "Metrics"): a node on real PostgreSQL with the embedded Kafka,
// scraped over HTTP on loopback. The page must be valid Prometheus text exposition format
// (checked line by line by a strict parser below), its counters must move with what the node
// does, it needs no token, and it shows neither secrets nor raw paths.

#include "bazaar/config/loader.hpp"
#include "support/api_checks.hpp"
#include "support/eventually.hpp"
#include "support/http_client.hpp"
#include "support/test_node.hpp"

#include <boost/json.hpp>
#include <catch2/catch.hpp>

#include <cmath>
#include <cstdlib>
#include <map>
#include <optional>
#include <regex>
#include <set>
#include <sstream>
#include <string>
#include <vector>

namespace json = boost::json;
using bazaar::test::bearer;
using bazaar::test::eventually;
using bazaar::test::http_connection;
using bazaar::test::http_response;
using bazaar::test::test_node;

namespace {

// -- a strict parser of the text exposition format (version 0.0.4) ------------------------

using labels = std::map<std::string, std::string>;

struct sample {
  std::string name;
  labels l;
  double value = 0;
};

struct family {
  std::string type;
  bool has_help = false;
  std::vector<sample> samples;
};

struct exposition {
  std::map<std::string, family> families;
  /// Every sample by "name{k=v,...}" (labels sorted).
  std::map<std::string, double> values;
  std::vector<std::string> errors;
};

bool is_metric_name(const std::string& s) {
  static const std::regex re{"[a-zA-Z_:][a-zA-Z0-9_:]*"};
  return std::regex_match(s, re);
}

bool is_label_name(const std::string& s) {
  static const std::regex re{"[a-zA-Z_][a-zA-Z0-9_]*"};
  return std::regex_match(s, re) && s.rfind("__", 0) != 0;
}

/// A sample value or timestamp as Go's ParseFloat takes them (what Prometheus uses).
std::optional<double> parse_float(const std::string& s) {
  if (s.empty())
    return std::nullopt;
  std::string lower;
  for (char c : s)
    lower += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  if (lower == "nan")
    return std::nan("");
  if (lower == "+inf" || lower == "inf")
    return HUGE_VAL;
  if (lower == "-inf")
    return -HUGE_VAL;
  static const std::regex re{"[+-]?([0-9]+(\\.[0-9]*)?|\\.[0-9]+)([eE][+-]?[0-9]+)?"};
  if (!std::regex_match(s, re))
    return std::nullopt;
  return std::strtod(s.c_str(), nullptr);
}

std::string key_of(const std::string& name, const labels& l) {
  std::string k = name + "{";
  bool first = true;
  for (const auto& [n, v] : l) {
    k += (first ? "" : ",") + n + "=" + v;
    first = false;
  }
  return k + "}";
}

/// The family a sample name belongs to, given the family being read.
bool belongs(const std::string& sample_name, const std::string& fam, const std::string& type) {
  if (sample_name == fam)
    return type != "histogram";
  if (type == "histogram")
    return sample_name == fam + "_bucket" || sample_name == fam + "_sum" ||
           sample_name == fam + "_count";
  if (type == "summary")
    return sample_name == fam + "_sum" || sample_name == fam + "_count";
  return false;
}

/// Parses `{a="x",b="y"}` from `line` at `i` (which points at '{'); advances `i` past '}'.
std::optional<labels> parse_labels(const std::string& line, std::size_t& i, std::string& why) {
  labels out;
  ++i; // '{'
  for (;;) {
    if (i < line.size() && line[i] == '}') {
      ++i;
      return out;
    }
    auto eq = line.find('=', i);
    if (eq == std::string::npos) {
      why = "a label without '='";
      return std::nullopt;
    }
    auto name = line.substr(i, eq - i);
    if (!is_label_name(name)) {
      why = "label name '" + name + "'";
      return std::nullopt;
    }
    i = eq + 1;
    if (i >= line.size() || line[i] != '"') {
      why = "label value not quoted";
      return std::nullopt;
    }
    ++i;
    std::string value;
    bool closed = false;
    while (i < line.size()) {
      char c = line[i++];
      if (c == '"') {
        closed = true;
        break;
      }
      if (c == '\\') {
        if (i >= line.size()) {
          why = "a lone backslash";
          return std::nullopt;
        }
        char e = line[i++];
        if (e == '\\' || e == '"')
          value += e;
        else if (e == 'n')
          value += '\n';
        else {
          why = std::string("escape \\") + e + " in a label value";
          return std::nullopt;
        }
      } else {
        value += c;
      }
    }
    if (!closed) {
      why = "unterminated label value";
      return std::nullopt;
    }
    if (!out.emplace(name, value).second) {
      why = "label " + name + " twice";
      return std::nullopt;
    }
    if (i < line.size() && line[i] == ',') {
      ++i;
      continue;
    }
    if (i < line.size() && line[i] == '}') {
      ++i;
      return out;
    }
    why = "expected ',' or '}' after a label";
    return std::nullopt;
  }
}

/// Help text: only `\\` and `\n` are escapes.
bool valid_help(const std::string& text) {
  for (std::size_t i = 0; i < text.size(); ++i)
    if (text[i] == '\\') {
      if (i + 1 >= text.size() || (text[i + 1] != '\\' && text[i + 1] != 'n'))
        return false;
      ++i;
    }
  return true;
}

exposition parse_exposition(const std::string& page) {
  exposition out;
  auto error = [&out](std::size_t n, const std::string& line, const std::string& why) {
    out.errors.push_back("line " + std::to_string(n) + ": " + why + ": " + line);
  };
  if (page.empty() || page.back() != '\n')
    out.errors.push_back("the page does not end with a newline");
  std::istringstream in{page};
  std::string line;
  std::size_t n = 0;
  std::string current;        // the family whose samples are being read
  std::set<std::string> done; // families whose samples ended
  while (std::getline(in, line)) {
    ++n;
    if (line.empty()) {
      error(n, line, "an empty line");
      continue;
    }
    if (line[0] == '#') {
      static const std::regex help{"# HELP ([^ ]+) (.*)"};
      static const std::regex type{"# TYPE ([^ ]+) (counter|gauge|histogram|summary|untyped)"};
      std::smatch m;
      if (std::regex_match(line, m, help)) {
        auto name = m[1].str();
        if (!is_metric_name(name))
          error(n, line, "metric name");
        if (!valid_help(m[2].str()))
          error(n, line, "help text escapes");
        auto& f = out.families[name];
        if (f.has_help)
          error(n, line, "a second HELP");
        if (!f.samples.empty())
          error(n, line, "HELP after samples");
        f.has_help = true;
      } else if (std::regex_match(line, m, type)) {
        auto name = m[1].str();
        if (!is_metric_name(name))
          error(n, line, "metric name");
        auto& f = out.families[name];
        if (!f.type.empty())
          error(n, line, "a second TYPE");
        if (!f.samples.empty())
          error(n, line, "TYPE after samples");
        f.type = m[2].str();
        if (!current.empty() && current != name)
          done.insert(current);
        current = name;
      } else {
        error(n, line, "a comment that is neither HELP nor TYPE");
      }
      continue;
    }
    // name [labels] value [timestamp]
    std::size_t i = 0;
    while (i < line.size() && line[i] != '{' && line[i] != ' ')
      ++i;
    auto name = line.substr(0, i);
    if (!is_metric_name(name)) {
      error(n, line, "metric name");
      continue;
    }
    labels l;
    if (i < line.size() && line[i] == '{') {
      std::string why;
      auto parsed = parse_labels(line, i, why);
      if (!parsed) {
        error(n, line, why);
        continue;
      }
      l = std::move(*parsed);
    }
    if (i >= line.size() || line[i] != ' ') {
      error(n, line, "no space before the value");
      continue;
    }
    auto rest = line.substr(i + 1);
    auto space = rest.find(' ');
    auto value = parse_float(rest.substr(0, space));
    if (!value) {
      error(n, line, "value");
      continue;
    }
    if (space != std::string::npos) {
      static const std::regex ts{"-?[0-9]+"};
      if (!std::regex_match(rest.substr(space + 1), ts)) {
        error(n, line, "timestamp");
        continue;
      }
    }
    if (current.empty() || !belongs(name, current, out.families[current].type)) {
      error(n, line, "a sample outside its family (TYPE first, samples together)");
      continue;
    }
    if (done.count(current) != 0)
      error(n, line, "a family's samples apart");
    auto& f = out.families[current];
    if (f.type == "counter" && *value < 0)
      error(n, line, "a negative counter");
    f.samples.push_back(sample{name, l, *value});
    if (!out.values.emplace(key_of(name, l), *value).second)
      error(n, line, "the same series twice");
  }
  // Histograms: per label set, buckets with ascending `le` ending at +Inf, cumulative counts,
  // a _sum, and a _count equal to the +Inf bucket.
  for (const auto& [name, f] : out.families) {
    if (f.type.empty())
      out.errors.push_back(name + ": no TYPE");
    if (f.type != "histogram")
      continue;
    std::map<std::string, std::vector<std::pair<double, double>>> buckets;
    std::map<std::string, double> sums, counts;
    for (const auto& s : f.samples) {
      auto rest = s.l;
      if (s.name == name + "_bucket") {
        auto le = rest.find("le");
        if (le == rest.end()) {
          out.errors.push_back(name + ": a bucket without le");
          continue;
        }
        auto bound = parse_float(le->second);
        rest.erase(le);
        if (!bound) {
          out.errors.push_back(name + ": le " + le->second);
          continue;
        }
        buckets[key_of(name, rest)].emplace_back(*bound, s.value);
      } else if (s.name == name + "_sum") {
        sums[key_of(name, rest)] = s.value;
      } else {
        counts[key_of(name, rest)] = s.value;
      }
    }
    if (buckets.empty())
      out.errors.push_back(name + ": a histogram without buckets");
    for (const auto& [series, b] : buckets) {
      for (std::size_t k = 1; k < b.size(); ++k) {
        if (!(b[k].first > b[k - 1].first))
          out.errors.push_back(series + ": le not ascending");
        if (b[k].second < b[k - 1].second)
          out.errors.push_back(series + ": bucket counts not cumulative");
      }
      if (b.empty() || !std::isinf(b.back().first))
        out.errors.push_back(series + ": the last bucket is not +Inf");
      if (sums.count(series) == 0)
        out.errors.push_back(series + ": no _sum");
      if (counts.count(series) == 0 || (!b.empty() && counts[series] != b.back().second))
        out.errors.push_back(series + ": _count is not the +Inf bucket");
    }
  }
  return out;
}

// -- the node ---------------------------------------------------------------------------------

struct scraped {
  exposition e;
  /// A series' value; 0 when absent (a series shows from its first event on).
  double operator()(const std::string& name, const labels& l = {}) const {
    auto i = e.values.find(key_of(name, l));
    return i == e.values.end() ? 0 : i->second;
  }
  bool has(const std::string& name, const labels& l = {}) const {
    return e.values.count(key_of(name, l)) != 0;
  }
};

/// A node whose checkout crosses Kafka at every step (saga.transport kafka), so that a
/// checkout moves the bridge's counters too.
bazaar::config::node_options kafka_transport() {
  auto opts = bazaar::test::test_node_options();
  opts.saga.transport = "kafka";
  return opts;
}

struct shop {
  test_node node{kafka_transport()};
  http_connection c = node.connect();
  std::string admin = node.admin_token();
  int keys = 0;

  /// Waits until the bridge was given every partition of the routed topics (a fresh group
  /// takes seconds to form; the saga waits on it).
  shop() {
    REQUIRE(eventually([&] {
      auto r = c.request("GET", "/admin/kafka", "", bearer(admin));
      REQUIRE(r.status == 200);
      auto k = r.json().as_object();
      const auto& b = k.at("bridge").as_object();
      return b.contains("partitions") &&
             b.at("partitions").as_array().size() ==
                 bazaar::config::topic_routes(node.node().options().kafka).size() *
                     static_cast<std::size_t>(node.node().options().kafka.partitions);
    }));
  }

  http_response get_metrics() { return c.request("GET", "/metrics"); }

  scraped scrape() {
    auto r = get_metrics();
    REQUIRE(r.status == 200);
    scraped s{parse_exposition(r.body)};
    INFO(r.body);
    for (const auto& e : s.e.errors)
      FAIL_CHECK(e);
    REQUIRE(s.e.errors.empty());
    return s;
  }

  void product(const std::string& sku) {
    auto r = c.request("POST", "/api/v1/products",
                       json::serialize(bazaar::test::product_fields(sku, 500, 100)), bearer(admin));
    INFO(r.body);
    REQUIRE(r.status == 201);
  }

  std::string checkout(const std::string& customer, const std::string& sku,
                       const std::string& card) {
    auto token = node.customer_token(customer);
    auto r = bazaar::test::add_item(c, token, sku, 1);
    INFO(r.body);
    REQUIRE(r.status == 200);
    auto h = bearer(token);
    h.emplace_back("Idempotency-Key", "metrics-" + std::to_string(++keys));
    r = c.request("POST", "/api/v1/basket/checkout",
                  json::serialize(json::object{{"payment", {{"card_token", card}}}}), h);
    INFO(r.body);
    REQUIRE(r.status == 202);
    return std::string(r.json().at("order_id").as_string());
  }

  void await_status(const std::string& customer, const std::string& id, const std::string& status) {
    std::string body;
    bool reached = eventually([&] {
      auto r = c.request("GET", "/api/v1/orders/" + id, "", bearer(node.customer_token(customer)));
      body = r.body;
      return r.status == 200 && r.json().at("status") == json::value(status);
    });
    INFO(body);
    REQUIRE(reached);
  }
};

const labels basket_add{{"route", "/api/v1/basket/items"}, {"method", "POST"}, {"status", "200"}};

} // namespace

TEST_CASE("every line of /metrics is valid Prometheus text format, histograms included") {
  shop s;
  s.product("SKU-M1");
  auto token = s.node.customer_token("metrics-parse");
  REQUIRE(bazaar::test::add_item(s.c, token, "SKU-M1", 1).status == 200);
  REQUIRE(s.c.request("GET", "/no/such/path").status == 404);
  auto m = s.scrape();
  // Every family the documentation lists is there, with its type.
  const std::map<std::string, std::string> expected{
      {"bazaar_http_requests_total", "counter"},
      {"bazaar_http_request_duration_seconds", "histogram"},
      {"bazaar_grains_active", "gauge"},
      {"bazaar_grain_activations_total", "counter"},
      {"bazaar_grain_deactivations_total", "counter"},
      {"bazaar_grain_mailbox_depth", "gauge"},
      {"bazaar_grain_mailbox_depth_max", "gauge"},
      {"bazaar_grain_calls_in_flight", "gauge"},
      {"bazaar_persister_batch_rows", "histogram"},
      {"bazaar_persister_commit_seconds", "histogram"},
      {"bazaar_persister_transactions_total", "counter"},
      {"bazaar_persister_fenced_writes_total", "counter"},
      {"bazaar_kafka_produced_total", "counter"},
      {"bazaar_kafka_consumed_total", "counter"},
      {"bazaar_kafka_consumer_lag", "gauge"},
      {"bazaar_kafka_dead_lettered_total", "counter"},
      {"bazaar_outbox_backlog", "gauge"},
      {"bazaar_outbox_publish_delay_seconds", "histogram"},
      {"bazaar_kafka_record_delay_seconds", "histogram"},
      {"bazaar_kafka_bridge_handle_seconds", "histogram"},
      {"bazaar_sagas_total", "counter"},
      {"bazaar_saga_duration_seconds", "histogram"},
      {"bazaar_cluster_members", "gauge"},
      {"bazaar_log_lines_dropped_total", "counter"},
  };
  for (const auto& [name, type] : expected) {
    INFO(name);
    REQUIRE(m.e.families.count(name) == 1);
    CHECK(m.e.families.at(name).type == type);
    CHECK(m.e.families.at(name).has_help);
  }
  // Counters follow the naming convention.
  for (const auto& [name, f] : m.e.families)
    if (f.type == "counter") {
      INFO(name);
      CHECK(name.size() > 6);
      CHECK(name.compare(name.size() - 6, 6, "_total") == 0);
    }
  // The parser itself refuses what the format forbids.
  const std::vector<std::string> bad{
      "# TYPE x counter\nx{a=\"b\"} 1\nx{a=\"b\"} 2\n",  // one series twice
      "x 1\n",                                           // a sample before its TYPE
      "# TYPE x counter\nx{a=\"\\q\"} 1\n",              // a bad escape
      "# TYPE x counter\nx{1a=\"b\"} 1\n",               // a bad label name
      "# TYPE x counter\nx one\n",                       // a bad value
      "# TYPE x gauge\nx 1\n# TYPE y gauge\ny 1\nx 2\n", // samples apart
      "# TYPE h histogram\nh_bucket{le=\"1\"} 2\nh_bucket{le=\"0.5\"} 3\n"
      "h_bucket{le=\"+Inf\"} 3\nh_sum 1\nh_count 3\n",                  // le not ascending
      "# TYPE h histogram\nh_bucket{le=\"1\"} 2\nh_sum 1\nh_count 2\n", // no +Inf
      "# TYPE x counter\nx 1",                                          // no final newline
  };
  for (const auto& page : bad) {
    INFO(page);
    CHECK(!parse_exposition(page).errors.empty());
  }
  CHECK(parse_exposition("# HELP x a \\\\ b\\n\n# TYPE x counter\nx{a=\"q\\\"\\\\\\n\"} 1 123\n")
            .errors.empty());
}

TEST_CASE("the counters of /metrics move with requests, grains, commits, Kafka and sagas") {
  shop s;
  s.product("SKU-M2");
  auto before = s.scrape();
  constexpr int writes = 7;
  auto token = s.node.customer_token("metrics-counter");
  for (int i = 0; i < writes; ++i) {
    auto r = bazaar::test::add_item(s.c, token, "SKU-M2", 1);
    INFO(r.body);
    REQUIRE(r.status == 200);
  }
  auto after = s.scrape();
  // HTTP: by route pattern, method and status, counted and timed.
  CHECK(after("bazaar_http_requests_total", basket_add) -
            before("bazaar_http_requests_total", basket_add) ==
        writes);
  CHECK(after("bazaar_http_request_duration_seconds_count", basket_add) -
            before("bazaar_http_request_duration_seconds_count", basket_add) ==
        writes);
  CHECK(after("bazaar_http_request_duration_seconds_sum", basket_add) >
        before("bazaar_http_request_duration_seconds_sum", basket_add));
  // Grains: the basket was activated here and is active.
  CHECK(after("bazaar_grain_activations_total", {{"type", "basket"}}) >
        before("bazaar_grain_activations_total", {{"type", "basket"}}));
  CHECK(after("bazaar_grains_active", {{"type", "basket"}}) >= 1);
  // Persister: the writes were committed in transactions, each measured.
  CHECK(after("bazaar_persister_transactions_total") >
        before("bazaar_persister_transactions_total"));
  CHECK(after("bazaar_persister_writes_total") - before("bazaar_persister_writes_total") >= writes);
  CHECK(after("bazaar_persister_commit_seconds_count") >
        before("bazaar_persister_commit_seconds_count"));
  // One transaction per write at least (each waited for its answer before the next).
  CHECK(after("bazaar_persister_batch_rows_sum") - before("bazaar_persister_batch_rows_sum") >=
        writes);
  // Cluster: this node, alive.
  CHECK(after("bazaar_cluster_members", {{"status", "alive"}}) == 1);
  CHECK(after("bazaar_cluster_members", {{"status", "dead"}}) == 0);

  // A checkout confirmed and one declined end their sagas, through Kafka.
  const labels confirmed{{"outcome", "confirmed"}, {"reason", "none"}};
  const labels declined{{"outcome", "cancelled"}, {"reason", "payment_declined"}};
  REQUIRE(after.has("bazaar_sagas_total", confirmed)); // shown from 0
  auto ok = s.checkout("metrics-buyer", "SKU-M2", "tok_ok");
  auto no = s.checkout("metrics-decliner", "SKU-M2", "tok_decline");
  s.await_status("metrics-buyer", ok, "confirmed");
  s.await_status("metrics-decliner", no, "cancelled");
  scraped end;
  bool moved = eventually([&] {
    end = s.scrape();
    return end("bazaar_sagas_total", confirmed) == after("bazaar_sagas_total", confirmed) + 1 &&
           end("bazaar_sagas_total", declined) == after("bazaar_sagas_total", declined) + 1;
  });
  CHECK(moved);
  CHECK(end("bazaar_sagas_total", confirmed) == after("bazaar_sagas_total", confirmed) + 1);
  CHECK(end("bazaar_sagas_total", declined) == after("bazaar_sagas_total", declined) + 1);
  CHECK(end("bazaar_saga_duration_seconds_count", {{"outcome", "confirmed"}}) ==
        after("bazaar_saga_duration_seconds_count", {{"outcome", "confirmed"}}) + 1);
  CHECK(end("bazaar_saga_duration_seconds_count", {{"outcome", "cancelled"}}) ==
        after("bazaar_saga_duration_seconds_count", {{"outcome", "cancelled"}}) + 1);
  CHECK(end("bazaar_kafka_produced_total", {{"producer", "outbox_relay"}}) >
        after("bazaar_kafka_produced_total", {{"producer", "outbox_relay"}}));
  CHECK(end("bazaar_kafka_consumed_total", {{"consumer", "bridge"}}) >
        after("bazaar_kafka_consumed_total", {{"consumer", "bridge"}}));
  CHECK(end("bazaar_outbox_publish_delay_seconds_count") >
        after("bazaar_outbox_publish_delay_seconds_count"));
  // Each step of the kafka transport is a record the bridge handed to a grain: timed twice.
  CHECK(end("bazaar_kafka_record_delay_seconds_count") >=
        after("bazaar_kafka_record_delay_seconds_count") + 5);
  CHECK(end("bazaar_kafka_bridge_handle_seconds_count") >=
        after("bazaar_kafka_bridge_handle_seconds_count") + 5);
  CHECK(end("bazaar_grain_activations_total", {{"type", "checkout"}}) >= 2);
  CHECK(end("bazaar_http_requests_total",
            {{"route", "/api/v1/orders/{id}"}, {"method", "GET"}, {"status", "200"}}) >= 2);
}

TEST_CASE("/metrics needs no token, labels by route pattern, and shows no secret") {
  shop s;
  s.product("SKU-M3");
  auto token = s.node.customer_token("metrics-secret-customer");
  REQUIRE(
      s.c.request("PUT", "/api/v1/basket/items/SKU-M3", "{\"quantity\":2}", bearer(token)).status ==
      200);
  auto before = s.scrape();
  REQUIRE(s.c.request("GET", "/no/such/secret-path-xyz").status == 404);
  REQUIRE(s.c.request("GET", "/api/v1/basket").status == 401); // no token
  auto r = s.get_metrics();
  REQUIRE(r.status == 200);
  CHECK(r.header("Content-Type").rfind("text/plain; version=0.0.4", 0) == 0);
  scraped m{parse_exposition(r.body)};
  REQUIRE(m.e.errors.empty());
  // Paths no route takes count under one label value; raw paths and parameters never show.
  const labels unmatched{{"route", "unmatched"}, {"method", "any"}, {"status", "404"}};
  CHECK(m("bazaar_http_requests_total", unmatched) ==
        before("bazaar_http_requests_total", unmatched) + 1);
  CHECK(m("bazaar_http_requests_total",
          {{"route", "/api/v1/basket"}, {"method", "GET"}, {"status", "401"}}) >= 1);
  CHECK(m.has("bazaar_http_requests_total",
              {{"route", "/api/v1/basket/items/{sku}"}, {"method", "PUT"}, {"status", "200"}}));
  for (const auto& leak :
       {std::string{"secret-path-xyz"}, std::string{"SKU-M3"}, std::string{"metrics-secret"},
        std::string{bazaar::test::test_jwt_secret}, s.node.node().options().postgres.url, token,
        std::string{"Bearer"}, std::string{"password"}}) {
    INFO(leak);
    CHECK(r.body.find(leak) == std::string::npos);
  }
}
