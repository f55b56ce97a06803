#pragma once

/// What a bazaar-load run was asked to do (the command line, checked).

#include <chrono>
#include <cstdint>
#include <string>
#include <vector>

namespace bazaar::load {

enum class scenario { basket, checkout, mixed };

const char* to_string(scenario s);

/// Relative weights of the basket operations.
struct operation_mix {
  double add = 40, set = 20, remove = 10, get = 30, clear = 0;
};

struct load_options {
  load::scenario scenario = scenario::basket;
  std::vector<std::string> urls;
  /// Closed loop: virtual users, each with one connection, each starting its next iteration as
  /// soon as the last ended. Open loop: the most iterations in flight at once.
  int concurrency = 64;
  /// Open loop when > 0: iterations started per second, on schedule.
  double rate = 0;
  std::chrono::milliseconds duration{0};
  std::uint64_t requests = 0; ///< iterations to start, 0 for no bound
  int threads = 1;
  std::string jwt_secret;

  std::size_t customers = 1000;
  std::size_t skus = 50;
  bool zipf = true;
  double zipf_exponent = 1.0;
  operation_mix mix;
  double checkout_share = 0.1; ///< mixed: the share of iterations that check out
  int max_lines = 3;           ///< checkout: lines added before checking out (1..max)
  double decline_share = 0;    ///< checkouts paying with the declining test card
  std::int64_t stock = 1000000;

  std::chrono::milliseconds timeout{10000};
  std::chrono::milliseconds poll{100};
  std::chrono::milliseconds order_timeout{60000};
  std::chrono::milliseconds settle{60000};
  bool keep_alive = true;
  std::string run_id;
  std::uint64_t seed = 0;

  std::string json_file;
  std::string chart_file;
  bool progress = false;
  bool check = true;
  bool inject_lost_write = false;
};

} // namespace bazaar::load
