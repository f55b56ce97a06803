#include "bazaar/config/loader.hpp"

#include <catch2/catch.hpp>

#include <algorithm>
#include <atomic>
#include <cctype>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <variant>

#include <unistd.h>

namespace cfg = bazaar::config;
namespace fs = std::filesystem;

namespace {

/// A scratch folder under the system temp directory, removed with everything in it.
class temp_folder {
 public:
  temp_folder() {
    static std::atomic<int> counter{0};
    path_ = fs::temp_directory_path() /
            ("bazaar-config-test-" + std::to_string(::getpid()) + "-" + std::to_string(++counter));
    fs::create_directories(path_);
  }
  ~temp_folder() {
    std::error_code ec;
    fs::remove_all(path_, ec);
  }
  temp_folder(const temp_folder&) = delete;
  temp_folder& operator=(const temp_folder&) = delete;

  /// Writes `text` to a file named `name` in the folder and returns its path.
  std::string write(const std::string& name, const std::string& text) const {
    const fs::path file = path_ / name;
    std::ofstream out(file);
    out << text;
    return file.string();
  }

  /// The folder itself.
  const fs::path& path() const { return path_; }

 private:
  fs::path path_;
};

/// Loads and requires success.
cfg::node_options load_ok(const cfg::load_request& request) {
  auto result = cfg::load(request);
  if (const auto* error = std::get_if<cfg::config_error>(&result))
    FAIL("unexpected error: " << error->key << ": " << error->message);
  return std::get<cfg::node_options>(result);
}

/// Loads and requires an error.
cfg::config_error load_error(const cfg::load_request& request) {
  auto result = cfg::load(request);
  REQUIRE(std::holds_alternative<cfg::config_error>(result));
  return std::get<cfg::config_error>(result);
}

/// A request with only overrides.
cfg::load_request with_sets(std::vector<std::string> overrides) {
  cfg::load_request request;
  request.overrides = std::move(overrides);
  return request;
}

/// A request with only a file.
cfg::load_request with_file(const std::string& path) {
  cfg::load_request request;
  request.file = path;
  return request;
}

/// The sample config shipped in config/.
std::string example_ini_path() {
  const fs::path next_to_source = fs::path(__FILE__).parent_path().parent_path().parent_path() /
                                  "config" / "bazaar.example.ini";
  if (fs::exists(next_to_source))
    return next_to_source.string();
  return "config/bazaar.example.ini";
}

/// Every key of node_options, as section.field.
const std::vector<std::string> all_keys = {
    "http.host",
    "http.port",
    "http.threads",
    "http.max_body_bytes",
    "http.request_timeout_ms",
    "http.header_timeout_ms",
    "http.keepalive_timeout_ms",
    "http.sse_keepalive_ms",
    "auth.jwt_secret",
    "runtime.max_threads",
    "runtime.scheduler_policy",
    "runtime.dispatchers",
    "runtime.max_inflight",
    "runtime.collection_interval_ms",
    "runtime.call_timeout_ms",
    "grains.idle_timeout_ms",
    "log.level",
    "log.format",
    "log.queue_lines",
    "postgres.url",
    "postgres.schema",
    "postgres.writers",
    "postgres.batch_max_rows",
    "postgres.batch_linger_ms",
    "postgres.connect_timeout_ms",
    "postgres.reminder_poll_ms",
    "postgres.applied_events_retention_s",
    "basket.ttl_s",
    "inventory.reservation_retention_s",
    "saga.transport",
    "saga.resume_after_ms",
    "saga.reservation_timeout_ms",
    "saga.payment_timeout_ms",
    "payment.decline_rate",
    "payment.seed",
    "kafka.bootstrap_servers",
    "kafka.group_id",
    "kafka.mock_brokers",
    "kafka.republish_window_s",
    "kafka.partitions",
    "kafka.max_in_flight",
    "kafka.max_attempts",
    "kafka.retry_backoff_ms",
    "kafka.fetch_wait_max_ms",
    "kafka.session_timeout_ms",
    "kafka.message_timeout_ms",
    "kafka.relay_sweep_ms",
    "kafka.topics.order-created",
    "kafka.topics.product-reservation",
    "kafka.topics.product-reserved",
    "kafka.topics.payment-pending",
    "kafka.topics.payment-processed",
    "kafka.topics.order-status-changed",
    "kafka.topics.product-deactivated",
    "kafka.topics.product-low-stock",
    "kafka.topics.stock-updated",
    "kafka.topics.basket-checked-out",
    "kafka.topics.product-created",
    "kafka.topics.product-updated",
    "kafka.topics.product-activated",
    "kafka.topics.basket-item-added",
    "kafka.topics.basket-item-updated",
    "kafka.topics.basket-item-removed",
    "kafka.topics.basket-cleared",
    "kafka.topics.basket-expired",
    "cluster.node_id",
    "cluster.host",
    "cluster.bind",
    "cluster.port",
    "cluster.heartbeat_ms",
    "cluster.failure_timeout_ms",
    "cluster.tls.certificate",
    "cluster.tls.key",
    "cluster.tls.ca_file",
    "cluster.tls.passphrase",
};

/// Whether two option sets are equal field by field.
bool same(const cfg::node_options& a, const cfg::node_options& b) {
  return a.http.host == b.http.host && a.http.port == b.http.port &&
         a.http.threads == b.http.threads && a.http.max_body_bytes == b.http.max_body_bytes &&
         a.http.request_timeout_ms == b.http.request_timeout_ms &&
         a.http.header_timeout_ms == b.http.header_timeout_ms &&
         a.http.keepalive_timeout_ms == b.http.keepalive_timeout_ms &&
         a.http.sse_keepalive_ms == b.http.sse_keepalive_ms &&
         a.auth.jwt_secret == b.auth.jwt_secret && a.runtime.max_threads == b.runtime.max_threads &&
         a.runtime.scheduler_policy == b.runtime.scheduler_policy &&
         a.runtime.dispatchers == b.runtime.dispatchers &&
         a.runtime.max_inflight == b.runtime.max_inflight &&
         a.runtime.collection_interval_ms == b.runtime.collection_interval_ms &&
         a.runtime.call_timeout_ms == b.runtime.call_timeout_ms &&
         a.grains.idle_timeout_ms == b.grains.idle_timeout_ms &&
         a.grains.types.size() == b.grains.types.size() && a.log.level == b.log.level &&
         a.log.format == b.log.format && a.log.queue_lines == b.log.queue_lines &&
         a.postgres.url == b.postgres.url &&
         a.kafka.bootstrap_servers == b.kafka.bootstrap_servers &&
         a.kafka.routes.size() == b.kafka.routes.size() && a.cluster.node_id == b.cluster.node_id &&
         a.cluster.port == b.cluster.port && a.cluster.host == b.cluster.host &&
         a.cluster.bind == b.cluster.bind && a.cluster.heartbeat_ms == b.cluster.heartbeat_ms &&
         a.cluster.failure_timeout_ms == b.cluster.failure_timeout_ms &&
         a.cluster.tls_certificate == b.cluster.tls_certificate;
}

} // namespace

TEST_CASE("an empty request yields the built-in defaults") {
  const auto options = load_ok({});
  CHECK(same(options, cfg::node_options{}));
  CHECK(options.http.port == 8080);
  CHECK(options.auth.jwt_secret == "bazaar-dev-secret-change-me");
  CHECK(options.log.format == "json");
  CHECK(options.log.queue_lines == 8192);
  CHECK(load_ok(with_sets({"log.queue_lines=0"})).log.queue_lines == 0); // synchronous
}

TEST_CASE("a config file sets keys by section, skipping comments and stripping quotes") {
  temp_folder dir;
  const auto path = dir.write("node.ini", "# a comment\n"
                                          "; another comment\n"
                                          "\n"
                                          "   \n"
                                          "[http]\n"
                                          "port = 9090\n"
                                          "  host=127.0.0.1  \n"
                                          "\t# indented comment\n"
                                          "[ auth ]\n"
                                          "jwt_secret = \"  spaced secret#1 \"\n"
                                          "[log]\n"
                                          "level = debug\r\n"
                                          "format = \"text\"\n"
                                          "[postgres]\n"
                                          "url = postgresql://u:p@db/bazaar?sslmode=disable\n"
                                          "[http]\n"
                                          "threads = 4\n");
  const auto options = load_ok(with_file(path));
  CHECK(options.http.port == 9090);
  CHECK(options.http.host == "127.0.0.1");
  CHECK(options.http.threads == 4);
  CHECK(options.auth.jwt_secret == "  spaced secret#1 ");
  CHECK(options.log.level == "debug");
  CHECK(options.log.format == "text");
  CHECK(options.postgres.url == "postgresql://u:p@db/bazaar?sslmode=disable");
  CHECK(options.runtime.scheduler_policy == "stealing");
}

TEST_CASE("an empty quoted value sets an empty string") {
  temp_folder dir;
  const auto path =
      dir.write("node.ini", "[cluster]\nnode_id = \"\"\n[kafka]\nbootstrap_servers =\n");
  const auto options = load_ok(with_file(path));
  CHECK(options.cluster.node_id.empty());
  CHECK(options.kafka.bootstrap_servers.empty());
}

TEST_CASE("an environment variable overrides the config file") {
  temp_folder dir;
  const auto path = dir.write("node.ini", "[http]\nport = 9090\nthreads = 3\n");
  cfg::load_request request = with_file(path);
  request.env = {{"BAZAAR_HTTP_PORT", "9191"}};
  const auto options = load_ok(request);
  CHECK(options.http.port == 9191);
  CHECK(options.http.threads == 3);
}

TEST_CASE("a --set override beats the environment, the file and the defaults") {
  temp_folder dir;
  const auto path =
      dir.write("node.ini", "[http]\nport = 9090\nthreads = 3\n[log]\nlevel = warn\n");
  cfg::load_request request = with_file(path);
  request.env = {{"BAZAAR_HTTP_PORT", "9191"}, {"BAZAAR_HTTP_THREADS", "5"}};
  request.overrides = {"http.port=9292"};
  const auto options = load_ok(request);
  CHECK(options.http.port == 9292);        // --set
  CHECK(options.http.threads == 5);        // environment
  CHECK(options.log.level == "warn");      // file
  CHECK(options.http.host == "127.0.0.1"); // default
}

TEST_CASE("the development defaults listen on loopback, beyond it the public secret is refused") {
  CHECK(load_ok({}).http.host == "127.0.0.1");
  CHECK_FALSE(cfg::check_exposure(load_ok({})));
  for (const char* host : {"127.0.0.1", "127.0.0.2", "::1", "localhost"})
    CHECK_FALSE(cfg::check_exposure(load_ok(with_sets({std::string("http.host=") + host}))));
  for (const char* host : {"0.0.0.0", "::", "10.0.0.5", "example.org"}) {
    INFO(host);
    const auto error = cfg::check_exposure(load_ok(with_sets({std::string("http.host=") + host})));
    REQUIRE(error);
    CHECK(error->key == "auth.jwt_secret");
    CHECK_THAT(error->message, Catch::Contains("public development secret"));
    CHECK_THAT(error->message, Catch::Contains(host));
    // A secret of one's own makes it fine, from any source.
    auto request = with_sets({std::string("http.host=") + host});
    request.env = {{"BAZAAR_JWT_SECRET", "a-secret-of-our-own"}};
    CHECK_FALSE(cfg::check_exposure(load_ok(request)));
  }
}

TEST_CASE("later --set overrides win over earlier ones and keep the value verbatim") {
  const auto options =
      load_ok(with_sets({"log.level=error", "log.level=trace", "postgres.url=host=db user=x"}));
  CHECK(options.log.level == "trace");
  CHECK(options.postgres.url == "host=db user=x");
}

TEST_CASE("every key has a BAZAAR_SECTION_FIELD environment variable") {
  cfg::load_request request;
  request.env = {{"BAZAAR_GRAINS_IDLE_TIMEOUT_MS", "1234"},
                 {"BAZAAR_RUNTIME_SCHEDULER_POLICY", "sharing"},
                 {"BAZAAR_AUTH_JWT_SECRET", "long-name-secret"},
                 {"BAZAAR_KAFKA_BOOTSTRAP_SERVERS", "k1:9092,k2:9092"},
                 {"BAZAAR_HTTP_MAX_BODY_BYTES", "2048"}};
  const auto options = load_ok(request);
  CHECK(options.grains.idle_timeout_ms == 1234);
  CHECK(options.runtime.scheduler_policy == "sharing");
  CHECK(options.auth.jwt_secret == "long-name-secret");
  CHECK(options.kafka.bootstrap_servers == "k1:9092,k2:9092");
  CHECK(options.http.max_body_bytes == 2048);
}

TEST_CASE("short environment aliases set their keys") {
  cfg::load_request request;
  request.env = {{"BAZAAR_JWT_SECRET", "alias-secret"},
                 {"BAZAAR_POSTGRES_URL", "postgresql://db/bazaar"},
                 {"BAZAAR_KAFKA_BOOTSTRAP", "kafka:9092"},
                 {"BAZAAR_NODE_ID", "node-7"},
                 {"BAZAAR_CLUSTER_PORT", "5000"}};
  const auto options = load_ok(request);
  CHECK(options.auth.jwt_secret == "alias-secret");
  CHECK(options.postgres.url == "postgresql://db/bazaar");
  CHECK(options.kafka.bootstrap_servers == "kafka:9092");
  CHECK(options.cluster.node_id == "node-7");
  CHECK(options.cluster.port == 5000);
}

TEST_CASE("the long environment name wins over its short alias") {
  cfg::load_request request;
  request.env = {{"BAZAAR_JWT_SECRET", "short-secret"},
                 {"BAZAAR_AUTH_JWT_SECRET", "long-secret"},
                 {"BAZAAR_KAFKA_BOOTSTRAP", "short:9092"},
                 {"BAZAAR_KAFKA_BOOTSTRAP_SERVERS", "long:9092"},
                 {"BAZAAR_NODE_ID", "bad alias value is never looked at"},
                 {"BAZAAR_CLUSTER_NODE_ID", "long-node"}};
  const auto options = load_ok(request);
  CHECK(options.auth.jwt_secret == "long-secret");
  CHECK(options.kafka.bootstrap_servers == "long:9092");
  CHECK(options.cluster.node_id == "long-node");
}

TEST_CASE("unknown BAZAAR_ and unrelated environment variables are ignored") {
  cfg::load_request request;
  request.env = {{"BAZAAR_SOMETHING_ELSE", "x"},
                 {"BAZAAR_HTTP", "y"},
                 {"HTTP_PORT", "abc"},
                 {"PATH", "/usr/bin"}};
  CHECK(same(load_ok(request), cfg::node_options{}));
}

TEST_CASE("an invalid environment value is an error naming the key and the variable") {
  cfg::load_request request;
  request.env = {{"BAZAAR_HTTP_PORT", "abc"}};
  const auto error = load_error(request);
  CHECK(error.key == "http.port");
  CHECK_THAT(error.message, Catch::StartsWith("\"abc\" is not an integer"));
  CHECK_THAT(error.message, Catch::Contains("BAZAAR_HTTP_PORT"));

  request.env = {{"BAZAAR_JWT_SECRET", "short"}};
  CHECK(load_error(request).key == "auth.jwt_secret");
}

TEST_CASE("each invalid value is reported with its key and the reason") {
  struct bad_case {
    std::string key;
    std::string value;
    std::string message;
  };
  const std::vector<bad_case> cases = {
      {"http.port", "abc", "\"abc\" is not an integer"},
      {"http.port", "70000", "70000 is out of range 0..65535"},
      {"http.port", "-1", "-1 is out of range 0..65535"},
      {"http.port", "99999999999999999999999", "99999999999999999999999 is out of range 0..65535"},
      {"http.port", "80x", "\"80x\" is not an integer"},
      {"http.port", " 80", "\" 80\" is not an integer"},
      {"http.port", "+80", "\"+80\" is not an integer"},
      {"http.port", "", "\"\" is not an integer"},
      {"http.port", "8.0", "\"8.0\" is not an integer"},
      {"http.threads", "0", "0 is out of range 1..256"},
      {"http.threads", "257", "257 is out of range 1..256"},
      {"http.max_body_bytes", "1023", "1023 is out of range 1024..1073741824"},
      {"http.max_body_bytes", "1073741825", "1073741825 is out of range 1024..1073741824"},
      {"http.request_timeout_ms", "0", "0 is out of range 1..86400000"},
      {"http.header_timeout_ms", "86400001", "86400001 is out of range 1..86400000"},
      {"http.keepalive_timeout_ms", "0", "0 is out of range 1..86400000"},
      {"runtime.max_threads", "-1", "-1 is out of range 0..256"},
      {"runtime.dispatchers", "257", "257 is out of range 0..256"},
      {"runtime.max_inflight", "0", "0 is out of range 1..10000000"},
      {"runtime.max_inflight", "10000001", "10000001 is out of range 1..10000000"},
      {"runtime.collection_interval_ms", "0", "0 is out of range 1..86400000"},
      {"runtime.call_timeout_ms", "x", "\"x\" is not an integer"},
      {"grains.idle_timeout_ms", "0", "0 is out of range 1..86400000"},
      {"grains.basket.idle_timeout_ms", "0", "0 is out of range 1..86400000"},
      {"grains.product.idle_timeout_ms", "86400001", "86400001 is out of range 1..86400000"},
      {"cluster.port", "65536", "65536 is out of range 0..65535"},
      {"cluster.heartbeat_ms", "5", "5 is out of range 10..60000"},
      {"runtime.scheduler_policy", "fifo", "\"fifo\" is not one of stealing, sharing"},
      {"log.level", "verbose", "\"verbose\" is not one of trace, debug, info, warn, error, off"},
      {"log.level", "INFO", "\"INFO\" is not one of trace, debug, info, warn, error, off"},
      {"log.format", "xml", "\"xml\" is not one of json, text"},
      {"saga.transport", "http", "\"http\" is not one of grains, kafka"},
      {"saga.resume_after_ms", "10", "10 is out of range 100..86400000"},
      {"log.queue_lines", "-1", "-1 is out of range 0..1000000"},
      {"auth.jwt_secret", "short", "must be at least 8 characters long (got 5)"},
      {"http.host", "", "must not be empty"},
  };
  for (const auto& c : cases) {
    INFO(c.key << "=" << c.value);
    const auto error = load_error(with_sets({c.key + "=" + c.value}));
    CHECK(error.key == c.key);
    CHECK(error.message == c.message);
  }
}

TEST_CASE("values at the edges of their ranges are accepted") {
  const auto options = load_ok(with_sets({
      "http.port=0",
      "http.threads=256",
      "http.max_body_bytes=1073741824",
      "http.request_timeout_ms=86400000",
      "runtime.max_threads=256",
      "runtime.dispatchers=0",
      "runtime.max_inflight=10000000",
      "cluster.port=65535",
      "auth.jwt_secret=12345678",
      "runtime.scheduler_policy=sharing",
      "log.level=off",
  }));
  CHECK(options.http.port == 0);
  CHECK(options.http.threads == 256);
  CHECK(options.http.max_body_bytes == 1073741824u);
  CHECK(options.http.request_timeout_ms == 86400000);
  CHECK(options.runtime.max_threads == 256);
  CHECK(options.runtime.max_inflight == 10000000);
  CHECK(options.cluster.port == 65535);
  CHECK(options.auth.jwt_secret == "12345678");
  CHECK(options.log.level == "off");
}

TEST_CASE("an invalid value in the file names the key and the line") {
  temp_folder dir;
  const auto path = dir.write("node.ini", "[log]\n\nformat = xml\n");
  const auto error = load_error(with_file(path));
  CHECK(error.key == "log.format");
  CHECK_THAT(error.message, Catch::StartsWith("\"xml\" is not one of json, text"));
  CHECK_THAT(error.message, Catch::Contains(path + ":3"));
}

TEST_CASE("an unknown key in the file is an error naming it") {
  temp_folder dir;
  const auto error = load_error(with_file(dir.write("node.ini", "[http]\nprot = 80\n")));
  CHECK(error.key == "http.prot");
  CHECK_THAT(error.message, Catch::Contains("unknown key"));
}

TEST_CASE("an unknown section in the file is an error naming it") {
  temp_folder dir;
  const auto error = load_error(with_file(dir.write("node.ini", "[htpp]\nport = 80\n")));
  CHECK(error.key == "htpp");
  CHECK_THAT(error.message, Catch::Contains("unknown section"));
}

TEST_CASE("a key outside any section is an error naming it") {
  temp_folder dir;
  const auto error = load_error(with_file(dir.write("node.ini", "port = 80\n[http]\n")));
  CHECK(error.key == "port");
  CHECK_THAT(error.message, Catch::Contains("outside any [section]"));
}

TEST_CASE("a syntax error in the file names file:line") {
  temp_folder dir;
  for (const std::string bad : {"just some words", "[http", "[]", "= 80", "// comment"}) {
    INFO(bad);
    const auto path = dir.write("node.ini", "# header\n[http]\n" + bad + "\n");
    const auto error = load_error(with_file(path));
    CHECK(error.key == path + ":3");
    CHECK_FALSE(error.message.empty());
  }
}

TEST_CASE("a missing or unreadable config file is an error about --config") {
  temp_folder dir;
  auto error = load_error(with_file((dir.path() / "does-not-exist.ini").string()));
  CHECK(error.key == "--config");
  CHECK_THAT(error.message, Catch::Contains("does-not-exist.ini"));

  error = load_error(with_file(dir.path().string()));
  CHECK(error.key == "--config");
}

TEST_CASE("an unknown key or a missing = in --set is an error naming it") {
  auto error = load_error(with_sets({"http.prot=80"}));
  CHECK(error.key == "http.prot");
  CHECK_THAT(error.message, Catch::Contains("unknown key"));

  error = load_error(with_sets({"port=80"}));
  CHECK(error.key == "port");

  error = load_error(with_sets({"http.port"}));
  CHECK(error.key == "http.port");
  CHECK_THAT(error.message, Catch::Contains("section.key=value"));
}

TEST_CASE("the first error wins, in the order file, environment, overrides") {
  temp_folder dir;
  cfg::load_request request = with_file(dir.write("node.ini", "[http]\nthreads = 0\n"));
  request.env = {{"BAZAAR_LOG_LEVEL", "loud"}};
  request.overrides = {"nope.nope=1"};
  CHECK(load_error(request).key == "http.threads");
  request.file.reset();
  CHECK(load_error(request).key == "log.level");
  request.env.clear();
  CHECK(load_error(request).key == "nope.nope");
}

TEST_CASE("the example config file loads unchanged and holds the defaults") {
  const auto options = load_ok(with_file(example_ini_path()));
  CHECK(same(options, cfg::node_options{}));
}

TEST_CASE("the example config file mentions every key") {
  std::ifstream in(example_ini_path());
  REQUIRE(in);
  const std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  for (const auto& key : all_keys) {
    const auto dot = key.rfind('.');
    INFO(key);
    CHECK_THAT(text, Catch::Contains("[" + key.substr(0, dot) + "]"));
    CHECK_THAT(text, Catch::Contains("\n" + key.substr(dot + 1) + " = "));
  }
}

TEST_CASE("describe_keys mentions every key with its environment variable and default") {
  const std::string text = cfg::describe_keys();
  for (const auto& key : all_keys) {
    INFO(key);
    CHECK_THAT(text, Catch::Contains(key));
    std::string env = "BAZAAR_";
    for (char c : key)
      env += c == '.' || c == '-' ? '_'
                                  : static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
    CHECK_THAT(text, Catch::Contains(env));
  }
  for (const char* alias : {"BAZAAR_JWT_SECRET", "BAZAAR_POSTGRES_URL", "BAZAAR_KAFKA_BOOTSTRAP",
                            "BAZAAR_NODE_ID", "BAZAAR_CLUSTER_PORT"})
    CHECK_THAT(text, Catch::Contains(alias));
  CHECK_THAT(text, Catch::Contains("8080"));
  CHECK_THAT(text, Catch::Contains("1048576"));
  CHECK_THAT(text, Catch::Contains("stealing"));
  // One line per key, one for the per-grain-type family and two for the routes.
  CHECK_THAT(text, Catch::Contains("grains.<type>.idle_timeout_ms"));
  CHECK_THAT(text, Catch::Contains("BAZAAR_GRAINS_<TYPE>_IDLE_TIMEOUT_MS"));
  CHECK_THAT(text, Catch::Contains("kafka.routes.<event>.grain_type"));
  CHECK_THAT(text, Catch::Contains("kafka.routes.<event>.key_field"));
  CHECK_THAT(text, Catch::Contains("BAZAAR_KAFKA_ROUTES_<EVENT>_GRAIN_TYPE"));
  CHECK(std::count(text.begin(), text.end(), '\n') == static_cast<long>(all_keys.size()) + 3);
}

TEST_CASE("environment() reflects the process environment") {
  REQUIRE(::setenv("BAZAAR_CONFIG_TEST_PROBE", "a=b", 1) == 0);
  const auto env = cfg::environment();
  ::unsetenv("BAZAAR_CONFIG_TEST_PROBE");
  const auto found = env.find("BAZAAR_CONFIG_TEST_PROBE");
  REQUIRE(found != env.end());
  CHECK(found->second == "a=b");
}

TEST_CASE("topic names come from kafka.topics, in a file section, the environment or --set") {
  temp_folder dir;
  auto file = dir.write("topics.ini", "[kafka.topics]\norder-created = shop.orders\n");
  cfg::load_request r;
  r.file = file;
  r.env = {{"BAZAAR_KAFKA_TOPICS_STOCK_UPDATED", "shop.stock"}};
  r.overrides = {"kafka.topics.basket-cleared=shop.baskets"};
  auto loaded = cfg::load(r);
  REQUIRE(std::holds_alternative<cfg::node_options>(loaded));
  auto topics = cfg::topic_map(std::get<cfg::node_options>(loaded).kafka);
  CHECK(topics["order-created"] == "shop.orders");
  CHECK(topics["stock-updated"] == "shop.stock");
  CHECK(topics["basket-cleared"] == "shop.baskets");
  CHECK(topics["payment-pending"] == "payment-pending");
  auto bad = cfg::load(cfg::load_request{std::nullopt, {}, {"kafka.topics.order-created=a b"}});
  REQUIRE(std::holds_alternative<cfg::config_error>(bad));
  CHECK(std::get<cfg::config_error>(bad).key == "kafka.topics.order-created");
}

TEST_CASE("each grain type takes its own settings from file, environment and --set") {
  temp_folder dir;
  cfg::load_request request;
  request.file = dir.write(
      "node.ini", "[grains]\nidle_timeout_ms = 1000\n[grains.basket]\nidle_timeout_ms = 2000\n");
  request.env = {{"BAZAAR_GRAINS_ORDER_IDLE_TIMEOUT_MS", "3000"},
                 {"BAZAAR_GRAINS_CHECKOUT_SAGA_IDLE_TIMEOUT_MS", "4000"}};
  request.overrides = {"grains.product.idle_timeout_ms=5000"};
  const auto options = load_ok(request);
  CHECK(options.grains.idle_timeout_ms == 1000);
  CHECK(options.grains.idle_timeout_of("basket") == 2000);
  CHECK(options.grains.idle_timeout_of("order") == 3000);
  CHECK(options.grains.idle_timeout_of("checkout_saga") == 4000);
  CHECK(options.grains.idle_timeout_of("product", 9000) == 5000);
  // A type without its own setting: its own default if it has one, else the common one.
  CHECK(options.grains.idle_timeout_of("payment", 9000) == 9000);
  CHECK(options.grains.idle_timeout_of("payment") == 1000);
}

TEST_CASE("a per-type key with a malformed type or an unknown setting is refused") {
  CHECK(load_error(with_sets({"grains.Basket.idle_timeout_ms=5"})).key ==
        "grains.Basket.idle_timeout_ms");
  CHECK(load_error(with_sets({"grains.basket.idle_timeout=5"})).message == "unknown key");
  cfg::load_request request;
  request.env = {{"BAZAAR_GRAINS_9X_IDLE_TIMEOUT_MS", "5"}};
  CHECK(load_error(request).key == "BAZAAR_GRAINS_9X_IDLE_TIMEOUT_MS");
}

TEST_CASE("the shop's consuming grains are routed by default, and a route can be turned off") {
  const auto routes = cfg::topic_routes(load_ok({}).kafka);
  REQUIRE(routes.size() == 5);
  const std::vector<std::vector<std::string>> expected = {
      {"order-created", "checkout", "order_id"},
      {"payment-pending", "payment", "payment_id"},
      {"payment-processed", "checkout", "order_id"},
      {"product-reservation", "inventory", "sku"},
      {"product-reserved", "checkout", "order_id"}};
  for (std::size_t i = 0; i < routes.size(); ++i) {
    CHECK(routes[i].topic == expected[i][0]);
    CHECK(routes[i].grain_type == expected[i][1]);
    CHECK(routes[i].key_field == expected[i][2]);
  }
  CHECK(cfg::topic_routes(load_ok(with_file(example_ini_path())).kafka).size() == 5);
  auto off = load_ok(with_sets(
      {"kafka.routes.payment-pending.grain_type=", "kafka.routes.payment-pending.key_field="}));
  CHECK(cfg::topic_routes(off.kafka).size() == 4);
}

TEST_CASE("the saga's timeouts and the payment simulation are configuration, checked") {
  auto o = load_ok(with_sets({"saga.reservation_timeout_ms=1500", "saga.payment_timeout_ms=2500",
                              "payment.decline_rate=0.25", "payment.seed=7"}));
  CHECK(o.saga.reservation_timeout_ms == 1500);
  CHECK(o.saga.payment_timeout_ms == 2500);
  CHECK(o.payment.decline_rate == 0.25);
  CHECK(o.payment.seed == 7);
  CHECK(load_error(with_sets({"payment.decline_rate=1.5"})).key == "payment.decline_rate");
  CHECK(load_error(with_sets({"payment.decline_rate=half"})).key == "payment.decline_rate");
  CHECK(load_error(with_sets({"saga.payment_timeout_ms=0"})).key == "saga.payment_timeout_ms");
}

TEST_CASE("bridge routes come per event type from file, environment and --set, on the event's "
          "topic") {
  temp_folder dir;
  cfg::load_request request;
  request.file = dir.write("routes.ini", "[kafka.topics]\norder-created = shop.orders\n"
                                         "[kafka.routes.order-created]\ngrain_type = checkout\n"
                                         "key_field = order_id\n");
  request.env = {{"BAZAAR_KAFKA_ROUTES_PRODUCT_RESERVATION_GRAIN_TYPE", "inventory"},
                 {"BAZAAR_KAFKA_ROUTES_PRODUCT_RESERVATION_KEY_FIELD", "sku"}};
  request.overrides = {"kafka.routes.payment-pending.grain_type=payment",
                       "kafka.routes.payment-pending.key_field=payment_id",
                       "kafka.routes.stock-updated.grain_type=ledger"};
  request.overrides.push_back("kafka.routes.payment-processed.grain_type=");
  request.overrides.push_back("kafka.routes.product-reserved.grain_type=");
  request.overrides.push_back("kafka.routes.payment-processed.key_field=");
  request.overrides.push_back("kafka.routes.product-reserved.key_field=");
  const auto routes = cfg::topic_routes(load_ok(request).kafka);
  REQUIRE(routes.size() == 4);
  CHECK(routes[0].topic == "payment-pending");
  CHECK(routes[0].grain_type == "payment");
  CHECK(routes[0].key_field == "payment_id");
  CHECK(routes[1].topic == "product-reservation");
  CHECK(routes[1].grain_type == "inventory");
  CHECK(routes[1].key_field == "sku");
  CHECK(routes[2].topic == "shop.orders");
  CHECK(routes[2].grain_type == "checkout");
  CHECK(routes[2].key_field == "order_id");
  CHECK(routes[2].events == std::vector<std::string>{"order-created"});
  CHECK(routes[3].topic == "stock-updated");
  CHECK(routes[3].key_field.empty()); // the record key
  // --set may unset a route of the file.
  request.overrides.push_back("kafka.routes.order-created.grain_type=");
  request.overrides.push_back("kafka.routes.order-created.key_field=");
  CHECK(cfg::topic_routes(load_ok(request).kafka).size() == 3);
}

TEST_CASE("event types that share a topic route it alike, or loading fails naming the key") {
  auto same = load_ok(with_sets({"kafka.routes.basket-cleared.grain_type=audit",
                                 "kafka.routes.basket-expired.grain_type=audit"}));
  auto routes = cfg::topic_routes(same.kafka);
  auto shared = std::find_if(routes.begin(), routes.end(),
                             [](const cfg::topic_route& r) { return r.topic == "basket-events"; });
  REQUIRE(shared != routes.end());
  CHECK(shared->events == std::vector<std::string>{"basket-cleared", "basket-expired"});
  auto bad = load_error(with_sets({"kafka.routes.basket-cleared.grain_type=audit",
                                   "kafka.routes.basket-expired.grain_type=audit",
                                   "kafka.routes.basket-expired.key_field=customer_id"}));
  CHECK(bad.key == "kafka.routes.basket-expired.grain_type");
  CHECK_THAT(bad.message, Catch::Contains("basket-events"));
  CHECK_THAT(bad.message, Catch::Contains("kafka.routes.basket-cleared"));
}

TEST_CASE("a malformed route is refused naming its key") {
  CHECK(load_error(with_sets({"kafka.routes.order-created.grain_type=Checkout"})).key ==
        "kafka.routes.order-created.grain_type");
  CHECK(load_error(with_sets({"kafka.routes.order-created.key_field=order id"})).key ==
        "kafka.routes.order-created.key_field");
  // An event type without a topic, or an unknown setting: unknown keys.
  auto unknown = load_error(with_sets({"kafka.routes.order-deleted.grain_type=checkout"}));
  CHECK(unknown.key == "kafka.routes.order-deleted.grain_type");
  CHECK(unknown.message == "unknown key");
  CHECK(load_error(with_sets({"kafka.routes.order-created.grain=checkout"})).message ==
        "unknown key");
  // A key field without a grain type.
  auto half = load_error(with_sets(
      {"kafka.routes.order-created.grain_type=", "kafka.routes.order-created.key_field=order_id"}));
  CHECK(half.key == "kafka.routes.order-created.key_field");
  CHECK_THAT(half.message, Catch::Contains("kafka.routes.order-created.grain_type"));
  // In a file: an unknown event type is an unknown section.
  temp_folder dir;
  auto file = dir.write("bad.ini", "[kafka.routes.nope]\ngrain_type = checkout\n");
  CHECK(load_error(with_file(file)).key == "kafka.routes.nope");
  cfg::load_request request;
  request.env = {{"BAZAAR_KAFKA_ROUTES_ORDER_CREATED_GRAIN_TYPE", "check-out"}};
  auto env = load_error(request);
  CHECK(env.key == "kafka.routes.order-created.grain_type");
  CHECK_THAT(env.message, Catch::Contains("BAZAAR_KAFKA_ROUTES_ORDER_CREATED_GRAIN_TYPE"));
}

TEST_CASE("with the grains transport the routes to the checkout saga are off, with kafka they "
          "stay as configured") {
  auto grains = load_ok(with_sets({}));
  CHECK(grains.saga.transport == "grains");
  cfg::apply_saga_transport(grains);
  for (const auto& r : cfg::topic_routes(grains.kafka))
    CHECK(r.grain_type != "checkout");
  CHECK(cfg::topic_routes(grains.kafka).size() == 2); // product-reservation, payment-pending

  auto kafka = load_ok(with_sets({"saga.transport=kafka"}));
  cfg::apply_saga_transport(kafka);
  std::size_t to_saga = 0;
  for (const auto& r : cfg::topic_routes(kafka.kafka))
    to_saga += r.grain_type == "checkout" ? 1 : 0;
  CHECK(to_saga == 3);
}
