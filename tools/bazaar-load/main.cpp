/// bazaar-load: load tests against a Bazaar node or cluster that users can trust. It seeds its
/// own products, drives baskets (and checkouts) from virtual users in a closed or an open loop,
/// reports latency percentiles from a high-dynamic-range histogram, and ends with a consistency
/// check of everything the node acknowledged. Exit 0 when the check passed, 1 when it failed
/// (or nothing succeeded), 2 for bad usage or a node it could not set up.

#include "bazaar/config/options.hpp"
#include "checks.hpp"
#include "options.hpp"
#include "report.hpp"
#include "runner.hpp"
#include "shop.hpp"

#include <CLI/CLI.hpp>
#include <boost/json.hpp>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <csignal>
#include <cstdlib>
#include <fstream>
#include <iostream>
#include <random>
#include <sstream>

namespace {

using namespace bazaar::load;

/// "30s", "500ms", "2m", "1h" or a number of seconds; nullopt for anything else.
std::optional<std::chrono::milliseconds> parse_duration(const std::string& text) {
  std::size_t end = 0;
  double value = 0;
  try {
    value = std::stod(text, &end);
  } catch (const std::exception&) {
    return std::nullopt;
  }
  auto unit = text.substr(end);
  double factor = unit == "ms"                  ? 1
                  : unit == "s" || unit.empty() ? 1e3
                  : unit == "m"                 ? 60e3
                  : unit == "h"                 ? 3600e3
                                                : -1;
  if (factor < 0 || value < 0 || !std::isfinite(value))
    return std::nullopt;
  return std::chrono::milliseconds{static_cast<std::int64_t>(value * factor)};
}

CLI::Validator duration_check() {
  return CLI::Validator(
      [](const std::string& text) -> std::string {
        return parse_duration(text) ? std::string{}
                                    : "\"" + text + "\" is not a duration such as 30s, 500ms, 2m";
      },
      "DURATION");
}

/// "add=40,set=20,remove=10,get=30,clear=0" (any of them; those not named keep their weight).
std::string parse_mix(const std::string& text, operation_mix& mix) {
  std::stringstream in{text};
  std::string part;
  while (std::getline(in, part, ',')) {
    auto eq = part.find('=');
    if (eq == std::string::npos)
      return "--mix: \"" + part + "\" is not NAME=WEIGHT";
    auto name = part.substr(0, eq);
    double weight = 0;
    try {
      std::size_t used = 0;
      weight = std::stod(part.substr(eq + 1), &used);
      if (used != part.size() - eq - 1 || weight < 0 || !std::isfinite(weight))
        throw std::invalid_argument{"weight"};
    } catch (const std::exception&) {
      return "--mix: the weight of " + name + " must be a number >= 0";
    }
    if (name == "add")
      mix.add = weight;
    else if (name == "set")
      mix.set = weight;
    else if (name == "remove")
      mix.remove = weight;
    else if (name == "get")
      mix.get = weight;
    else if (name == "clear")
      mix.clear = weight;
    else
      return "--mix: unknown operation \"" + name + "\" (add, set, remove, get, clear)";
  }
  if (mix.add + mix.set + mix.remove + mix.get + mix.clear <= 0)
    return "--mix: at least one weight must be above 0";
  return {};
}

std::string random_run_id() {
  std::random_device device;
  std::mt19937_64 rng{(static_cast<std::uint64_t>(device()) << 32) ^ device() ^
                      static_cast<std::uint64_t>(::getpid())};
  static const char* hex = "0123456789abcdef";
  std::string id;
  for (int i = 0; i < 8; ++i)
    id += hex[rng() % 16];
  return id;
}

std::atomic<bool> interrupted{false};

/// The first Ctrl-C ends the load as its duration would (the report and checks follow); the
/// second one ends the process.
void on_interrupt(int) {
  if (interrupted.exchange(true))
    std::_Exit(130);
}

} // namespace

int main(int argc, char** argv) {
  load_options o;
  CLI::App app{"bazaar-load: load tests against Bazaar basket (and checkout) grains over HTTP, "
               "with a consistency check of every acknowledged write"};
  app.footer("Exit status: 0 when the consistency check passed, 1 when it failed or no request "
             "succeeded, 2 for bad usage or a node that could not be set up.\nExample: "
             "bazaar-load basket --url http://127.0.0.1:8080 --duration 30s --concurrency 64 "
             "--chart basket.svg");
  std::string scenario_name = "basket";
  std::string duration = "", timeout = "10s", poll = "100ms", order_timeout = "60s", settle = "60s",
              distribution = "zipf", mix_text;
  bool no_keepalive = false, no_check = false, progress = false, no_progress = false;
  app.add_option("scenario", scenario_name,
                 "basket (add/set/remove/get on customers' baskets), checkout (fill a basket, "
                 "check out, follow the order to confirmed or cancelled) or mixed")
      ->check(CLI::IsMember({"basket", "checkout", "mixed"}))
      ->capture_default_str();
  app.add_option("--url", o.urls,
                 "A node's base URL; repeat it to spread the virtual users over a cluster's nodes "
                 "(default http://127.0.0.1:8080, or BAZAAR_URL)");
  app.add_option("-c,--concurrency", o.concurrency,
                 "Closed loop: virtual users, each on its own connection. Open loop: the most "
                 "iterations in flight")
      ->capture_default_str()
      ->check(CLI::Range(1, 100000));
  app.add_option("--rate", o.rate,
                 "Open loop: iterations started per second on a fixed schedule, latency timed "
                 "from when each was due; an iteration due while --concurrency are in flight is "
                 "dropped and counted")
      ->check(CLI::Range(0.0, 10000000.0));
  app.add_option("-d,--duration", duration, "How long to start iterations (30s, 500ms, 2m)")
      ->check(duration_check());
  app.add_option("-n,--requests", o.requests,
                 "Iterations to start at most (basket: one request each; checkout: one order "
                 "each). Without --duration nor --requests the load lasts 10 s");
  app.add_option("--threads", o.threads, "Worker threads, each with its own event loop")
      ->capture_default_str()
      ->check(CLI::Range(1, 64));
  app.add_option("--jwt-secret", o.jwt_secret,
                 "The nodes' auth.jwt_secret, to mint customer and admin tokens (default: "
                 "BAZAAR_JWT_SECRET, else the development secret of a node without one)");
  app.add_option("--customers", o.customers, "Customers (one basket each)")
      ->capture_default_str()
      ->check(CLI::Range(std::size_t{1}, std::size_t{10000000}));
  app.add_option("--skus", o.skus, "Products the run creates")
      ->capture_default_str()
      ->check(CLI::Range(std::size_t{1}, std::size_t{100000}));
  app.add_option("--distribution", distribution, "How customers and skus are chosen")
      ->check(CLI::IsMember({"zipf", "uniform"}))
      ->capture_default_str();
  app.add_option("--zipf-exponent", o.zipf_exponent, "Zipf's s: rank k is chosen with weight 1/k^s")
      ->capture_default_str()
      ->check(CLI::Range(0.0, 10.0));
  app.add_option(
      "--mix", mix_text,
      "Weights of the basket operations (default add=40,set=20,remove=10,get=30,clear=0)");
  app.add_option("--checkout-share", o.checkout_share, "mixed: the share of checkouts")
      ->capture_default_str()
      ->check(CLI::Range(0.0, 1.0));
  app.add_option("--lines", o.max_lines, "checkout: lines added before checking out, 1..N")
      ->capture_default_str()
      ->check(CLI::Range(1, 100));
  app.add_option("--decline", o.decline_share,
                 "checkout: the share of payments with the declining test card")
      ->capture_default_str()
      ->check(CLI::Range(0.0, 1.0));
  app.add_option("--stock", o.stock, "Stock of each product the run creates")
      ->capture_default_str()
      ->check(CLI::Range(std::int64_t{0}, std::int64_t{1000000000}));
  app.add_option("--timeout", timeout, "Longest wait for one answer")
      ->capture_default_str()
      ->check(duration_check());
  app.add_option("--poll", poll, "checkout: how often an order is read until it is final")
      ->capture_default_str()
      ->check(duration_check());
  app.add_option("--order-timeout", order_timeout,
                 "checkout: how long a virtual user follows its order (the final check goes on)")
      ->capture_default_str()
      ->check(duration_check());
  app.add_option("--settle", settle,
                 "After the load: how long the checks wait for orders and stock to settle")
      ->capture_default_str()
      ->check(duration_check());
  app.add_flag("--no-keepalive", no_keepalive, "A new connection for every request");
  app.add_option("--run-id", o.run_id,
                 "Names the run's customers and products (load-<id>-c<i>, load-<id>-s<i>); "
                 "random by default, so that runs never share baskets");
  app.add_option("--seed", o.seed,
                 "Seed of the virtual users' choices (default: derived from the run id)");
  app.add_option("--json", o.json_file, "Also write the report as JSON to this file");
  app.add_option("--chart", o.chart_file,
                 "Write an SVG chart of throughput and latency percentiles over time");
  app.add_flag("--progress", progress, "Print the live progress line even when not on a terminal");
  app.add_flag("--no-progress", no_progress, "No live progress line");
  app.add_flag("--no-check", no_check, "Skip the consistency check");
  // Test-only: proves the check catches a lost write (the model records an acknowledged add
  // that was never sent). Never changes what is sent to the node.
  app.add_flag("--inject-lost-write", o.inject_lost_write)->group("");
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    // --help answers 0; every usage error exits 2, as the footer says.
    return app.exit(e) == 0 ? 0 : 2;
  }

  auto usage = [](const std::string& why) {
    std::cerr << "bazaar-load: " << why << "\n";
    return 2;
  };
  o.scenario = scenario_name == "checkout" ? scenario::checkout
               : scenario_name == "mixed"  ? scenario::mixed
                                           : scenario::basket;
  if (o.urls.empty()) {
    const char* env = std::getenv("BAZAAR_URL");
    o.urls.push_back(env && *env ? env : "http://127.0.0.1:8080");
  }
  if (o.jwt_secret.empty()) {
    const char* env = std::getenv("BAZAAR_JWT_SECRET");
    o.jwt_secret = env && *env ? env : bazaar::config::auth_options{}.jwt_secret;
  }
  if (!duration.empty())
    o.duration = *parse_duration(duration);
  if (o.duration.count() == 0 && o.requests == 0)
    o.duration = std::chrono::seconds{10};
  o.timeout = *parse_duration(timeout);
  o.poll = *parse_duration(poll);
  o.order_timeout = *parse_duration(order_timeout);
  o.settle = *parse_duration(settle);
  if (o.timeout.count() < 1)
    return usage("--timeout must be at least 1 ms");
  if (o.poll.count() < 1)
    return usage("--poll must be at least 1 ms");
  o.zipf = distribution == "zipf";
  if (!mix_text.empty())
    if (auto bad = parse_mix(mix_text, o.mix); !bad.empty())
      return usage(bad);
  if (o.customers <= static_cast<std::size_t>(o.concurrency))
    return usage("--customers (" + std::to_string(o.customers) +
                 ") must be more than --concurrency (" + std::to_string(o.concurrency) +
                 "): a customer's basket is used by one virtual user at a time, so that what "
                 "the node acknowledged can be checked");
  if (o.run_id.empty())
    o.run_id = random_run_id();
  else if (o.run_id.size() > 32 ||
           o.run_id.find_first_not_of(
               "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789") !=
               std::string::npos)
    return usage("--run-id must be 1..32 letters and digits");
  if (o.seed == 0)
    o.seed = std::hash<std::string>{}(o.run_id) | 1;
  o.check = !no_check;
  o.keep_alive = !no_keepalive;
  o.progress = !no_progress && (progress || ::isatty(2));

  std::vector<target> targets;
  try {
    for (const auto& url : o.urls)
      targets.push_back(target::resolve(url));
  } catch (const std::exception& e) {
    return usage(e.what());
  }

  shop s = shop::make(o);
  sync_client setup{targets.front(), o.timeout};
  try {
    seed_products(setup, s, o);
  } catch (const std::exception& e) {
    return usage("cannot set up the run on " + o.urls.front() + ": " + e.what());
  }
  basket_model model{o.customers};

  auto on_second = [&](const interval_point& p, const run_totals& t) {
    if (o.progress)
      std::cerr << "\r" << progress_line(o, p, t) << "    " << std::flush;
  };
  std::signal(SIGINT, on_interrupt);
  auto run = run_load(o, s, model, targets, on_second, interrupted);
  std::signal(SIGINT, SIG_DFL);
  if (o.progress)
    std::cerr << "\n";

  if (o.inject_lost_write)
    model.inject_lost_write(0, 0, 1);
  basket_check baskets;
  std::optional<checkout_check> checkouts;
  if (o.check) {
    if (o.progress)
      std::cerr << "checking consistency...\n";
    baskets = check_baskets(setup, s, model);
    if (o.scenario != scenario::basket)
      checkouts = check_orders(setup, s, run.orders, run.checkouts_unknown, o);
  }

  load_report report{o, run, baskets, checkouts};
  print_report(std::cout, report);
  if (!o.json_file.empty()) {
    std::ofstream out{o.json_file};
    out << boost::json::serialize(report_json(report)) << "\n";
    if (!out)
      std::cerr << "bazaar-load: cannot write " << o.json_file << "\n";
    else
      std::cout << "  report       " << o.json_file << "\n";
  }
  if (!o.chart_file.empty()) {
    std::ofstream out{o.chart_file};
    write_chart(out, report);
    if (!out)
      std::cerr << "bazaar-load: cannot write " << o.chart_file << "\n";
    else
      std::cout << "  chart        " << o.chart_file << "\n";
  }
  auto succeeded = run.totals.requests - run.totals.errors;
  if (succeeded == 0) {
    std::cerr << "bazaar-load: no request succeeded\n";
    return 1;
  }
  return report.passed() ? 0 : 1;
}
