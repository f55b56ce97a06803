#pragma once

/// Runs the load: worker threads, each with its event loop and virtual users, in a closed loop
/// (each user starts its next iteration when the last ended) or an open loop (iterations start
/// on a schedule; latency counts from the scheduled time, and an iteration due while every user
/// is busy is dropped and counted), until the duration or the iteration budget is spent.

#include "basket_model.hpp"
#include "event_loop.hpp"
#include "options.hpp"
#include "shop.hpp"
#include "stats.hpp"

#include <boost/json/value.hpp>

#include <atomic>
#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace bazaar::load {

/// An order a checkout created, as last read.
struct order_record {
  std::string order_id;
  std::size_t customer = 0;
  std::string status;
  std::map<int, int> items; ///< sku index -> quantity, from the order as read
  bool terminal = false;
};

struct run_result {
  run_totals totals;
  std::vector<interval_point> timeline;
  std::vector<order_record> orders;
  /// Checkouts that never got an answer, even sent again with their Idempotency-Key.
  std::uint64_t checkouts_unknown = 0;
  std::uint64_t connections_opened = 0;
  double seconds = 0; ///< from the first iteration to the last answer
  /// CPU time this process spent during the load (user + system, all threads): when it nears
  /// `threads` seconds per second, the tool, not the node, limits the figures.
  double cpu_seconds = 0;
  bool interrupted = false;
};

/// Runs the load of `o` on the shop and model; `progress` (when set) is called once a second
/// with the point just ended and the totals so far. The load stops early, as at the end of its
/// duration, once `interrupted` holds (Ctrl-C).
run_result run_load(const load_options& o, const shop& s, basket_model& model,
                    const std::vector<target>& targets,
                    const std::function<void(const interval_point&, const run_totals&)>& progress,
                    const std::atomic<bool>& interrupted);

/// Whether an order status is one a checkout ends in (this tool ships nothing).
bool is_terminal(const std::string& status);

/// An order's own time from created to final, in milliseconds on the node's clock: from the
/// first entry of its `timeline` (`[{"status","at"}]`, `at` in RFC 3339) to its first terminal
/// one. nullopt when the order (a GET /api/v1/orders/{id} answer) has no such entries, a time
/// does not parse, or the final one comes before the first.
std::optional<std::int64_t> order_created_to_final_ms(const boost::json::value& order);

} // namespace bazaar::load
