#pragma once

/// bazaarctl's subcommands. Each registers itself on the CLI11 app and runs with the loaded
/// configuration once it is chosen, returning the exit status: 0 ok, 1 failed (the node
/// refused, failed or could not be reached), 2 usage.

#include "bazaar/config/options.hpp"

#include <CLI/CLI.hpp>

#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <vector>

namespace bazaar::ctl {

/// Exit status of a usage or configuration error.
constexpr int usage_error = 2;
/// Exit status of a command that failed.
constexpr int failed = 1;

using command_fn = std::function<int(const config::node_options&)>;

/// A registered subcommand: its CLI11 node and what to run when it is chosen.
struct command {
  CLI::App* app = nullptr;
  command_fn run;
};

/// Options every command that talks to a node shares.
struct connection_flags {
  std::string url;   ///< --url, BAZAAR_URL
  std::string token; ///< --token, BAZAAR_ADMIN_TOKEN; empty: minted from auth.jwt_secret
  bool json = false; ///< --json: the node's answer as JSON instead of a table
  std::int64_t timeout_ms = 30000;
};

/// Adds cluster, grains, grain, deactivate, kafka, dlq, sagas and events.
std::vector<command> register_admin_commands(CLI::App& app,
                                             std::shared_ptr<connection_flags> flags);

/// "30s", "500ms", "2m", "1h" or a number of milliseconds; nullopt when unreadable.
std::optional<std::int64_t> parse_duration_ms(const std::string& text);

} // namespace bazaar::ctl
