#pragma once

/// What bazaar-load tells: the text report (like wrk's and k6's summaries), the same as JSON
/// for scripts, and an SVG chart of throughput and latency percentiles over time.

#include "checks.hpp"
#include "options.hpp"
#include "runner.hpp"

#include <boost/json/object.hpp>

#include <optional>
#include <ostream>
#include <string>

namespace bazaar::load {

struct load_report {
  const load_options& options;
  const run_result& run;
  const basket_check& baskets;
  const std::optional<checkout_check>& checkouts;

  bool passed() const {
    return (!options.check || baskets.passed()) &&
           (!options.check || !checkouts || checkouts->passed());
  }
};

/// Milliseconds from nanoseconds, with three significant figures or so ("12.3 ms").
std::string format_ms(std::uint64_t nanos);

void print_report(std::ostream& out, const load_report& r);
boost::json::object report_json(const load_report& r);
/// The chart: throughput (answers/s and errors/s) above, latency p50/p90/p99/max below on a
/// logarithmic scale, both against seconds since the start.
void write_chart(std::ostream& out, const load_report& r);

/// The one live line shown on a terminal while the load runs.
std::string progress_line(const load_options& o, const interval_point& p, const run_totals& t);

} // namespace bazaar::load
