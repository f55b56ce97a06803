/// bazaarctl: the administration command line of Bazaar. Global options load the same
/// configuration as a node (file, environment, --set); each subcommand registers itself with
/// register_*_command() and runs with the loaded options.

#include "bazaar/config/loader.hpp"
#include "bazaar/gateway/jwt.hpp"
#include "commands.hpp"

#include <CLI/CLI.hpp>

#include <chrono>
#include <cstdint>
#include <functional>
#include <iostream>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace {

using bazaar::ctl::command;
using bazaar::ctl::usage_error;

/// Options of `bazaarctl token`.
struct token_flags {
  std::string subject;
  std::string role = "customer";
  std::int64_t ttl_seconds = 3600;
};

/// Longest accepted token lifetime: ten years.
constexpr std::int64_t max_ttl_seconds = 10LL * 365 * 24 * 60 * 60;

/// Adds `token`: prints a bearer token signed with auth.jwt_secret.
command register_token_command(CLI::App& app) {
  auto flags = std::make_shared<token_flags>();
  CLI::App* sub = app.add_subcommand("token", "Print a signed bearer token (JWT, HS256)");
  sub->add_option("--sub", flags->subject, "Subject (customer id), 1..64 of [A-Za-z0-9._:-]")
      ->required()
      ->check(CLI::Validator(
          [](const std::string& text) -> std::string {
            if (bazaar::auth::is_valid_subject(text))
              return {};
            return "\"" + text + "\" is not a valid subject (1..64 characters of [A-Za-z0-9._:-])";
          },
          "SUBJECT"));
  sub->add_option("--role", flags->role, "Role claim")
      ->required()
      ->check(CLI::IsMember({"customer", "admin"}));
  sub->add_option("--ttl", flags->ttl_seconds, "Lifetime in seconds")
      ->capture_default_str()
      ->check(CLI::Range(std::int64_t{1}, max_ttl_seconds));

  auto run = [flags](const bazaar::config::node_options& options) {
    const auto parsed_role = bazaar::auth::parse_role(flags->role);
    if (!parsed_role) {
      std::cerr << "bazaarctl: --role: \"" << flags->role << "\" is not one of customer, admin\n";
      return usage_error;
    }
    if (options.auth.jwt_secret == bazaar::config::auth_options{}.jwt_secret)
      std::cerr << "bazaarctl: warning: signing with the built-in development secret "
                   "(set auth.jwt_secret or BAZAAR_JWT_SECRET)\n";
    const auto now = std::chrono::duration_cast<std::chrono::seconds>(
                         std::chrono::system_clock::now().time_since_epoch())
                         .count();
    bazaar::auth::claims claims;
    claims.subject = flags->subject;
    claims.user_role = *parsed_role;
    claims.expires_at = static_cast<std::int64_t>(now) + flags->ttl_seconds;
    const std::string token = bazaar::auth::sign(claims, options.auth.jwt_secret);
    if (token.empty()) {
      std::cerr << "bazaarctl: token: signing failed\n";
      return 1;
    }
    std::cout << token << '\n';
    return 0;
  };
  return {sub, std::move(run)};
}

/// Parses the command line, loads the configuration and runs the chosen subcommand.
int run(int argc, char** argv) {
  CLI::App app{"bazaarctl - administration tool for Bazaar nodes", "bazaarctl"};
  app.require_subcommand(1);
  app.failure_message([](const CLI::App*, const CLI::Error& e) {
    return "bazaarctl: " + std::string(e.what()) + "\nRun with --help for more information.\n";
  });

  std::optional<std::string> config_file;
  std::vector<std::string> overrides;
  app.add_option("--config", config_file, "INI config file (see config/bazaar.example.ini)");
  app.add_option("--set", overrides, "Override a configuration key, e.g. --set http.port=9090")
      ->type_name("KEY=VALUE")
      ->allow_extra_args(false);
  app.footer("Configuration keys (file [section] key, environment variable, or --set):\n" +
             bazaar::config::describe_keys());

  auto connection = std::make_shared<bazaar::ctl::connection_flags>();
  app.add_option("--url", connection->url,
                 "The node to ask (any node of a cluster answers for all)")
      ->envname("BAZAAR_URL")
      ->default_val("http://127.0.0.1:8080")
      ->capture_default_str();
  app.add_option("--token", connection->token,
                 "Admin bearer token (default: one minted from auth.jwt_secret, valid 5 min)")
      ->envname("BAZAAR_ADMIN_TOKEN");
  app.add_flag("--json", connection->json, "Print the node's JSON answer instead of a table");
  app.add_option("--timeout", connection->timeout_ms, "Milliseconds to wait for the node")
      ->capture_default_str()
      ->check(CLI::Range(std::int64_t{100}, std::int64_t{600000}));
  app.fallthrough(); // global options may follow the subcommand: bazaarctl grains --json

  std::vector<command> commands;
  commands.push_back(register_token_command(app));
  for (auto& c : bazaar::ctl::register_admin_commands(app, connection))
    commands.push_back(std::move(c));

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    const int status = app.exit(e);
    return status == 0 ? 0 : usage_error;
  }

  bazaar::config::load_request request;
  request.file = config_file;
  request.env = bazaar::config::environment();
  request.overrides = overrides;
  auto loaded = bazaar::config::load(request);
  if (const auto* error = std::get_if<bazaar::config::config_error>(&loaded)) {
    std::cerr << "bazaarctl: " << error->key << ": " << error->message << '\n';
    return usage_error;
  }
  const auto& options = std::get<bazaar::config::node_options>(loaded);

  for (const auto& cmd : commands) {
    if (cmd.app->parsed())
      return cmd.run(options);
  }
  std::cerr << "bazaarctl: no subcommand given\n";
  return usage_error;
}

} // namespace

int main(int argc, char** argv) {
  try {
    return run(argc, argv);
  } catch (const std::exception& e) {
    std::cerr << "bazaarctl: " << e.what() << '\n';
    return 1;
  }
}
