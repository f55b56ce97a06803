#pragma once

/// The real `bazaar` executable as a child process, for tests that kill or restart it:
/// started on a free loopback port with its own PostgreSQL schema, stopped by its pid.

#include "bazaar/gateway/jwt.hpp"

#include <chrono>
#include <cstdint>
#include <string>
#include <vector>

#include <sys/types.h>

#ifndef BAZAAR_BIN
#error "BAZAAR_BIN must name the bazaar executable"
#endif

namespace bazaar::test {

/// A TCP port on 127.0.0.1 that was free a moment ago.
std::uint16_t free_port();

/// How a process that was expected to end ended: its exit status (or -signal, or -1 when it
/// had to be killed after the time allowed) and what it wrote to stdout and stderr.
struct process_exit {
  int status = -1;
  std::string output;
};

/// Runs `binary serve` with `--set` overrides (http.port=0 on 127.0.0.1, postgres.schema and
/// the test secret are added) and waits at most `within` for it to end by itself; kills it
/// by pid after that. For configurations the node must refuse.
process_exit run_until_exit(const std::string& binary, std::string schema,
                            std::vector<std::string> sets,
                            std::chrono::milliseconds within = std::chrono::seconds{20});

class node_process {
 public:
  /// Starts `bazaar serve` (or `binary serve`) with `--set` overrides (http.port,
  /// postgres.schema and the test secret are added) and waits until /readyz answers 200
  /// (throws after `ready_within`). With `output_file`, the process's stdout and stderr (its
  /// log) go to that file (truncated first) instead of the test's own.
  node_process(std::string schema, std::vector<std::string> sets = {},
               std::chrono::milliseconds ready_within = std::chrono::seconds{20},
               std::string binary = BAZAAR_BIN, std::string output_file = {});
  /// Kills the process (SIGKILL) if it still runs.
  ~node_process();

  node_process(const node_process&) = delete;
  node_process& operator=(const node_process&) = delete;

  std::uint16_t port() const { return port_; }
  pid_t pid() const { return pid_; }

  /// Sends `sig` and waits for the process to end; returns its exit status (or -signal).
  int stop(int sig, std::chrono::milliseconds within = std::chrono::seconds{10});

  /// The secret the node signs tokens with.
  static const char* secret() { return "fault-test-secret-123"; }

  /// A token for `sub` with `role`, signed with secret(), valid for an hour.
  static std::string token(const std::string& sub, auth::role role = auth::role::customer);

 private:
  pid_t pid_ = -1;
  std::uint16_t port_ = 0;
};

/// `bazaar kafka-mock` as a process of its own (the embedded cluster outside any node), so
/// that nodes can be killed and started again against the same Kafka, as against a real one;
/// stopped by its pid. `args` are passed after `kafka-mock` (e.g. --partitions 3, --set ...).
class kafka_mock_process {
 public:
  explicit kafka_mock_process(std::vector<std::string> args = {});
  ~kafka_mock_process();

  kafka_mock_process(const kafka_mock_process&) = delete;
  kafka_mock_process& operator=(const kafka_mock_process&) = delete;

  const std::string& bootstrap() const { return bootstrap_; }

 private:
  pid_t pid_ = -1;
  std::string file_;
  std::string bootstrap_;
};

} // namespace bazaar::test
