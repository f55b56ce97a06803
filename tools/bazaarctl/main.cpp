/// bazaarctl: the administration command line of Bazaar. Global options load the same
/// configuration as a node (file, environment, --set); each subcommand registers itself with
/// register_*_command() and runs with the loaded options.

#include "bazaar/config/loader.hpp"
#include "bazaar/gateway/jwt.hpp"
#include "commands.hpp"

#include <CLI/CLI.hpp>

#include <algorithm>
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

/// How many single-character edits turn `a` into `b` (Levenshtein).
std::size_t edit_distance(const std::string& a, const std::string& b) {
  std::vector<std::size_t> row(b.size() + 1);
  for (std::size_t j = 0; j <= b.size(); ++j)
    row[j] = j;
  for (std::size_t i = 1; i <= a.size(); ++i) {
    std::size_t diagonal = row[0];
    row[0] = i;
    for (std::size_t j = 1; j <= b.size(); ++j) {
      const std::size_t above = row[j];
      row[j] = std::min({row[j] + 1, row[j - 1] + 1, diagonal + (a[i - 1] == b[j - 1] ? 0 : 1)});
      diagonal = above;
    }
  }
  return row[b.size()];
}

/// Why no command was recognised: the first word that is neither an option nor an option's
/// value, with the closest command, or that none was given.
std::string no_command(int argc, char** argv, const CLI::App& app) {
  static const std::vector<std::string> with_value{"--config", "--set", "--url", "--token",
                                                   "--timeout"};
  std::string word;
  for (int i = 1; i < argc && word.empty(); ++i) {
    const std::string arg = argv[i];
    if (arg.rfind("-", 0) == 0) {
      if (arg.find('=') == std::string::npos &&
          std::find(with_value.begin(), with_value.end(), arg) != with_value.end())
        ++i; // its value
      continue;
    }
    word = arg;
  }
  std::string names, closest;
  std::size_t best = 3; // a suggestion at most two edits away
  for (const auto* sub : app.get_subcommands([](const CLI::App*) { return true; })) {
    names += (names.empty() ? "" : ", ") + sub->get_name();
    const auto d = edit_distance(word, sub->get_name());
    if (d < best) {
      best = d;
      closest = sub->get_name();
    }
  }
  if (word.empty())
    return "a command is required: one of " + names;
  return "unknown command \"" + word + "\"" +
         (closest.empty() ? "" : " (did you mean \"" + closest + "\"?)") + "; the commands are " +
         names;
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
  app.footer("The configuration is a node's (--config FILE, BAZAAR_* environment variables, "
             "--set KEY=VALUE):\n`bazaar config-keys` lists every key, its variable and default.");

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
    if (app.get_subcommands().empty() && dynamic_cast<const CLI::RequiredError*>(&e) != nullptr) {
      // No command was recognised: say which word was taken for one, not "A subcommand is
      // required".
      std::cerr << "bazaarctl: " << no_command(argc, argv, app) << "\nRun with --help for more "
                << "information.\n";
      return usage_error;
    }
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
