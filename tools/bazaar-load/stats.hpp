#pragma once

/// What a bazaar-load run measures: latencies by kind of request, outcomes by status, and a
/// timeline of one point per second; recorded by each worker thread into its own recorder and
/// merged by the main thread.

#include "histogram.hpp"

#include <array>
#include <cstdint>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

namespace bazaar::load {

/// The requests a scenario sends.
enum class request_kind { add, set, remove, clear, get, checkout, order };
constexpr std::size_t request_kinds = 7;
const char* to_string(request_kind k);

/// One second of the run (the last one may be shorter).
struct interval_point {
  double end_s = 0;   ///< seconds since the load began
  double seconds = 0; ///< length of the interval
  std::uint64_t requests = 0;
  std::uint64_t errors = 0;
  std::uint64_t dropped = 0;
  std::uint64_t p50 = 0, p90 = 0, p99 = 0, max = 0; ///< nanoseconds, 0 without requests
};

/// Totals of a run (or of one worker so far).
struct run_totals {
  latency_histogram latency;
  std::array<latency_histogram, request_kinds> by_kind;
  /// Iterations of the checkout scenario, from their intended start to their end.
  latency_histogram iteration;
  /// Checkout answered 202 to the order seen terminal (polled: late by up to one poll).
  latency_histogram order_time;
  /// The same orders from created to terminal by their own timeline, on the node's clock
  /// (exact to its milliseconds; orders whose timeline does not tell are left out).
  latency_histogram order_node_time;
  /// Answers by status ("200") and failures without one ("timeout", "connect", "closed").
  std::map<std::string, std::uint64_t> outcomes;
  std::uint64_t requests = 0;
  std::uint64_t errors = 0;
  std::uint64_t iterations = 0;
  std::uint64_t dropped = 0;

  void merge(const run_totals& other);
};

/// One worker's recorder: the worker records, the main thread takes intervals and totals.
class recorder {
 public:
  /// A request ended: `status` > 0 with its answer, else `failure`. Errors are answers other
  /// than 2xx and failures.
  void request(request_kind kind, int status, const std::string& failure, std::uint64_t nanos);
  void iteration(std::uint64_t nanos, bool timed);
  /// An order was seen terminal `nanos` after its checkout's 202; `node_nanos`, when its
  /// timeline tells, is its created-to-terminal time on the node's clock.
  void order(std::uint64_t nanos, std::optional<std::uint64_t> node_nanos);
  void dropped();

  /// The interval since the last call: its latencies and counts (and starts a new one).
  void take_interval(latency_histogram& latency, std::uint64_t& requests, std::uint64_t& errors,
                     std::uint64_t& dropped);
  run_totals totals() const;

 private:
  mutable std::mutex mutex_;
  run_totals totals_;
  latency_histogram interval_;
  std::uint64_t interval_requests_ = 0, interval_errors_ = 0, interval_dropped_ = 0;
};

} // namespace bazaar::load
