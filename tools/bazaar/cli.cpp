// The node executable's command line: `bazaar serve [--config FILE] [--set ...]`,
// `config-keys`, `kafka-mock`.

#include "bazaar/cli.hpp"

#include "bazaar/config/loader.hpp"
#include "bazaar/kafka/embedded_kafka.hpp"
#include "bazaar/node.hpp"
#include "bazaar/runtime/logging.hpp"

#include <CLI/CLI.hpp>
#include <spdlog/spdlog.h>

#include <csignal>
#include <fstream>
#include <iostream>
#include <optional>
#include <pthread.h>

namespace {

/// Blocks SIGINT/SIGTERM in every thread started from here on, so that only sigwait sees them.
sigset_t block_stop_signals() {
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGINT);
  sigaddset(&set, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &set, nullptr);
  std::signal(SIGPIPE, SIG_IGN);
  return set;
}

/// The node's options from file, environment and overrides; prints the error and returns
/// nullopt when a value is invalid.
std::optional<bazaar::config::node_options>
load_options(const std::string& config_file, const std::vector<std::string>& overrides) {
  bazaar::config::load_request request;
  if (!config_file.empty())
    request.file = config_file;
  request.env = bazaar::config::environment();
  request.overrides = overrides;
  auto loaded = bazaar::config::load(request);
  if (auto* bad = std::get_if<bazaar::config::config_error>(&loaded)) {
    std::cerr << "bazaar: invalid configuration: " << bad->key << ": " << bad->message << "\n";
    return std::nullopt;
  }
  return std::get<bazaar::config::node_options>(std::move(loaded));
}

int serve(const std::string& config_file, const std::vector<std::string>& overrides,
          std::vector<bazaar::grain_extension> extensions) {
  auto loaded = load_options(config_file, overrides);
  if (!loaded)
    return 2;
  if (auto exposed = bazaar::config::check_exposure(*loaded)) {
    std::cerr << "bazaar: invalid configuration: " << exposed->key << ": " << exposed->message
              << "\n";
    return 2;
  }
  auto opts = std::move(*loaded);
  bazaar::runtime::setup_logging(opts.log);
  // However serve returns (SIGINT/SIGTERM, or an error), the log's queue is written out after
  // the node's last line and before the process exits.
  struct write_out_log {
    ~write_out_log() { bazaar::runtime::shutdown_logging(); }
  } write_out_log;
  if (opts.auth.jwt_secret == bazaar::config::auth_options{}.jwt_secret)
    spdlog::warn("auth.jwt_secret is the development default; set BAZAAR_JWT_SECRET");
  auto signals = block_stop_signals();
  try {
    bazaar::node node{std::move(opts), std::move(extensions)};
    node.start();
    int sig = 0;
    sigwait(&signals, &sig);
    spdlog::info("received {}, shutting down", sig == SIGINT ? "SIGINT" : "SIGTERM");
    node.stop();
  } catch (const std::invalid_argument& e) {
    spdlog::error("configuration error: {}", e.what());
    return 2;
  } catch (const std::exception& e) {
    spdlog::error("node failed: {}", e.what());
    return 1;
  }
  return 0;
}

/// `bazaar kafka-mock`: the embedded Kafka as a process of its own, for several local nodes.
int kafka_mock(int brokers, int partitions, const std::string& bootstrap_file,
               const std::vector<std::string>& overrides) {
  auto loaded = load_options({}, overrides);
  if (!loaded)
    return 2;
  const auto& kafka = loaded->kafka;
  auto signals = block_stop_signals();
  try {
    bazaar::kafka::embedded_kafka cluster{brokers};
    cluster.create_topics(bazaar::config::topics_with_dead_letters(kafka), partitions);
    std::cout << cluster.bootstrap() << std::endl;
    if (!bootstrap_file.empty()) {
      std::ofstream out{bootstrap_file};
      out << cluster.bootstrap() << "\n";
      if (!out) {
        std::cerr << "bazaar: cannot write " << bootstrap_file << "\n";
        return 1;
      }
    }
    int sig = 0;
    sigwait(&signals, &sig);
  } catch (const std::exception& e) {
    std::cerr << "bazaar: " << e.what() << "\n";
    return 1;
  }
  return 0;
}

} // namespace

int bazaar::run_cli(int argc, char** argv, std::vector<grain_extension> extensions) {
  CLI::App app{"Bazaar node: an actor runtime with in-memory grains for a shop backend"};
  app.require_subcommand(1);
  std::string config_file;
  std::vector<std::string> overrides;
  auto* serve_cmd =
      app.add_subcommand("serve", "Run a node in the foreground until SIGINT/SIGTERM");
  serve_cmd->add_option("--config,-c", config_file,
                        "INI config file (see config/bazaar.example.ini)");
  serve_cmd->add_option("--set", overrides, "Override a key: section.key=value (repeatable)");
  auto* keys_cmd = app.add_subcommand(
      "config-keys", "List every config key, its environment variable and default");
  int brokers = 3, partitions = 6;
  std::string bootstrap_file;
  auto* mock_cmd = app.add_subcommand(
      "kafka-mock", "Run librdkafka's mock Kafka cluster (memory only) until SIGINT/SIGTERM; "
                    "prints its bootstrap list");
  mock_cmd->add_option("--brokers", brokers, "Brokers")->check(CLI::Range(1, 9));
  mock_cmd->add_option("--partitions", partitions, "Partitions of each topic")
      ->check(CLI::Range(1, 256));
  mock_cmd->add_option("--bootstrap-file", bootstrap_file, "Also write the bootstrap list here");
  mock_cmd->add_option("--set", overrides, "Override a key (kafka.topics.*)");
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e) == 0 ? 0 : 2;
  }
  if (*mock_cmd)
    return kafka_mock(brokers, partitions, bootstrap_file, overrides);
  if (*keys_cmd) {
    std::cout << bazaar::config::describe_keys();
    return 0;
  }
  return serve(config_file, overrides, std::move(extensions));
}
