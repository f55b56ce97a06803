#pragma once

/// The machine-readable line every benchmark prints for each headline figure, beside its own
/// human output; bench/run_all.sh collects them and bench/results_table.py tabulates them:
///
///   BENCH_RESULT {"name":"grains.get.w10","figure":548334,"unit":"op/s","baseline":646542,
///                 "baseline_unit":"op/s","ratio":0.848,"goal":"ratio ≥ 0.7","met":true}
///
/// (one line of JSON). The ratio is figure / baseline (null without a baseline). A goal is on
/// the ratio or on the figure itself; "met" is null without a goal or without what it needs.
/// bench/bench_result.py prints the same line for the Python and shell benchmarks.

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <optional>
#include <string>
#include <vector>

namespace bazaar::bench {

/// A benchmark's goal for one figure: the ratio (or the figure) at least or at most `value`.
struct goal {
  bool on_ratio = true;
  bool at_least = true;
  double value = 0;
};

inline goal ratio_at_least(double v) {
  return goal{true, true, v};
}
inline goal ratio_at_most(double v) {
  return goal{true, false, v};
}
inline goal figure_at_least(double v) {
  return goal{false, true, v};
}
inline goal figure_at_most(double v) {
  return goal{false, false, v};
}

/// One headline figure, its raw baseline from the same run (if it has one) and its goal.
struct result {
  std::string name;
  double figure = 0;
  std::string unit;
  std::optional<double> baseline;
  std::string baseline_unit;
  std::optional<goal> target;
};

namespace detail {

/// A JSON string literal (the names and units here are plain text; quotes and controls are
/// escaped all the same).
inline std::string json_string(const std::string& s) {
  std::string out = "\"";
  for (char c : s) {
    if (c == '"' || c == '\\') {
      out += '\\';
      out += c;
    } else if (static_cast<unsigned char>(c) < 0x20) {
      char buf[8];
      std::snprintf(buf, sizeof buf, "\\u%04x", c);
      out += buf;
    } else {
      out += c;
    }
  }
  return out + "\"";
}

/// A JSON number, or null for a missing or non-finite value.
inline std::string json_number(std::optional<double> v) {
  if (!v || !std::isfinite(*v))
    return "null";
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.10g", *v);
  return buf;
}

/// "ratio ≥ 0.7", "≤ 20 ms": a goal as the table shows it.
inline std::string goal_text(const goal& g, const std::string& unit) {
  std::string text = g.on_ratio ? "ratio " : "";
  text += g.at_least ? "\u2265 " : "\u2264 ";
  text += json_number(g.value);
  if (!g.on_ratio && !unit.empty())
    text += " " + unit;
  return text;
}

} // namespace detail

/// Prints the BENCH_RESULT line of `r` on stdout (and flushes); returns whether its goal was
/// met (true without a goal).
inline bool print_result(const result& r) {
  std::optional<double> ratio;
  if (r.baseline && *r.baseline > 0 && std::isfinite(r.figure))
    ratio = r.figure / *r.baseline;
  std::string met = "null";
  bool ok = true;
  if (r.target) {
    std::optional<double> subject = r.target->on_ratio ? ratio : std::optional<double>{r.figure};
    if (subject && std::isfinite(*subject)) {
      ok = r.target->at_least ? *subject >= r.target->value : *subject <= r.target->value;
      met = ok ? "true" : "false";
    }
  }
  std::string line =
      "BENCH_RESULT {\"name\":" + detail::json_string(r.name) +
      ",\"figure\":" + detail::json_number(r.figure) + ",\"unit\":" + detail::json_string(r.unit) +
      ",\"baseline\":" + detail::json_number(r.baseline) +
      ",\"baseline_unit\":" + detail::json_string(r.baseline_unit) +
      ",\"ratio\":" + detail::json_number(ratio) + ",\"goal\":" +
      (r.target ? detail::json_string(detail::goal_text(*r.target, r.unit)) : "null") +
      ",\"met\":" + met + "}";
  std::printf("%s\n", line.c_str());
  std::fflush(stdout);
  return ok;
}

/// The q-quantile of `samples` (nearest rank); 0 without samples.
inline double quantile(std::vector<double> samples, double q) {
  if (samples.empty())
    return 0;
  std::sort(samples.begin(), samples.end());
  auto i = static_cast<std::size_t>(std::ceil(q * static_cast<double>(samples.size())));
  return samples[std::min(samples.size() - 1, i == 0 ? 0 : i - 1)];
}

} // namespace bazaar::bench
