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
#include <vector>

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

/// The ticks of a chart axis from 0: 0, step, 2 step, ... up to the first multiple of the step
/// at or above `max` (the axis then ends there, on a whole number of steps), with the step the
/// smallest of 1, 2 or 5 times a power of ten that needs at most `at_most` steps. Each tick is
/// the double nearest its decimal value (what its label reads back as). A `max` <= 0 (or not
/// finite) is taken as 1.
std::vector<double> axis_ticks(double max, int at_most);

/// A tick's label: `value` with as many decimals as `step` (1, 2 or 5 times a power of ten)
/// needs, so that every multiple of the step reads exactly ("0.5", "1.5", "2.0"; "0.05").
std::string tick_label(double value, double step);

/// The one live line shown on a terminal while the load runs.
std::string progress_line(const load_options& o, const interval_point& p, const run_totals& t);

} // namespace bazaar::load
