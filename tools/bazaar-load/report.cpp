#include "report.hpp"

#include <boost/json.hpp>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <iomanip>
#include <sstream>

namespace bazaar::load {

namespace json = boost::json;

namespace {

std::string fixed(double v, int decimals) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.*f", decimals, v);
  return buf;
}

/// 1234567 -> "1,234,567".
std::string grouped(std::uint64_t n) {
  auto digits = std::to_string(n);
  std::string out;
  for (std::size_t i = 0; i < digits.size(); ++i) {
    if (i > 0 && (digits.size() - i) % 3 == 0)
      out += ',';
    out += digits[i];
  }
  return out;
}

double ms(std::uint64_t nanos) {
  return static_cast<double>(nanos) / 1e6;
}

std::string describe_load(const load_options& o) {
  std::ostringstream s;
  s << to_string(o.scenario) << ", ";
  if (o.rate > 0)
    s << "open loop at " << fixed(o.rate, o.rate < 10 ? 1 : 0) << " iterations/s (at most "
      << o.concurrency << " in flight)";
  else
    s << "closed loop, " << o.concurrency << " virtual users";
  s << ", " << o.threads << (o.threads == 1 ? " thread" : " threads");
  if (o.duration.count() > 0)
    s << ", " << fixed(static_cast<double>(o.duration.count()) / 1000.0, 1) << " s";
  if (o.requests > 0)
    s << ", at most " << o.requests << " iterations";
  if (!o.keep_alive)
    s << ", a new connection per request";
  return s.str();
}

json::object histogram_json(const latency_histogram& h) {
  return json::object{{"count", h.count()},
                      {"mean_ms", ms(static_cast<std::uint64_t>(h.mean()))},
                      {"p50_ms", ms(h.percentile(50))},
                      {"p90_ms", ms(h.percentile(90))},
                      {"p99_ms", ms(h.percentile(99))},
                      {"p99_9_ms", ms(h.percentile(99.9))},
                      {"max_ms", ms(h.max())}};
}

} // namespace

const char* to_string(scenario s) {
  switch (s) {
  case scenario::basket:
    return "basket";
  case scenario::checkout:
    return "checkout";
  case scenario::mixed:
    return "mixed";
  }
  return "?";
}

std::string format_ms(std::uint64_t nanos) {
  double v = ms(nanos);
  return fixed(v, v < 1 ? 3 : v < 10 ? 2 : v < 100 ? 1 : 0) + " ms";
}

std::string progress_line(const load_options& o, const interval_point& p, const run_totals& t) {
  std::ostringstream s;
  s << "[" << std::setw(5) << fixed(p.end_s, 0) << " s] " << std::setw(8)
    << fixed(p.seconds > 0 ? static_cast<double>(p.requests) / p.seconds : 0, 0) << " req/s  "
    << "requests " << grouped(t.requests) << "  errors " << grouped(t.errors) << "  p99 "
    << format_ms(t.latency.percentile(99));
  if (o.rate > 0)
    s << "  dropped " << grouped(t.dropped);
  return s.str();
}

void print_report(std::ostream& out, const load_report& r) {
  const auto& o = r.options;
  const auto& t = r.run.totals;
  out << "bazaar-load " << describe_load(o) << "\n";
  out << "  against";
  for (const auto& url : o.urls)
    out << " " << url;
  out << "\n  run " << o.run_id << ": " << o.customers << " customers, " << o.skus << " skus, "
      << (o.zipf ? "Zipf (s = " + fixed(o.zipf_exponent, 2) + ")" : std::string{"uniform"})
      << " choice\n\n";

  if (r.run.interrupted)
    out << "  interrupted  (Ctrl-C): the load ended early; the checks ran as usual\n";
  double rate = r.run.seconds > 0 ? static_cast<double>(t.requests) / r.run.seconds : 0;
  out << "  requests     " << grouped(t.requests) << " in " << fixed(r.run.seconds, 1)
      << " s = " << fixed(rate, 1) << " /s, iterations " << grouped(t.iterations)
      << ", connections opened " << grouped(r.run.connections_opened) << "\n";
  double busy = r.run.seconds > 0 ? r.run.cpu_seconds / r.run.seconds : 0;
  out << "  client CPU   " << fixed(100 * busy, 0) << " % of a core ("
      << fixed(t.requests ? 1e6 * r.run.cpu_seconds / static_cast<double>(t.requests) : 0, 1)
      << " us per request)";
  if (busy > 0.85 * o.threads)
    out << ": the tool is near its limit; add --threads or use another machine";
  out << "\n";
  out << "  errors       " << grouped(t.errors) << " ("
      << fixed(t.requests ? 100.0 * static_cast<double>(t.errors) / static_cast<double>(t.requests)
                          : 0,
               2)
      << " %)";
  if (o.rate > 0)
    out << ", dropped iterations " << grouped(t.dropped) << " (due while all " << o.concurrency
        << " were in flight)";
  out << "\n  latency      p50 " << format_ms(t.latency.percentile(50)) << "   p90 "
      << format_ms(t.latency.percentile(90)) << "   p99 " << format_ms(t.latency.percentile(99))
      << "   p99.9 " << format_ms(t.latency.percentile(99.9)) << "   max "
      << format_ms(t.latency.max()) << "   mean "
      << format_ms(static_cast<std::uint64_t>(t.latency.mean())) << "\n";
  if (o.rate > 0)
    out << "               (from each iteration's scheduled start: waiting for a turn counts)\n";
  out << "\n  by request   " << std::setw(10) << "count" << std::setw(12) << "p50" << std::setw(12)
      << "p99" << std::setw(12) << "max"
      << "\n";
  for (std::size_t k = 0; k < request_kinds; ++k) {
    const auto& h = t.by_kind[k];
    if (h.count() == 0)
      continue;
    out << "    " << std::left << std::setw(9) << to_string(static_cast<request_kind>(k))
        << std::right << std::setw(10) << grouped(h.count()) << std::setw(12)
        << format_ms(h.percentile(50)) << std::setw(12) << format_ms(h.percentile(99))
        << std::setw(12) << format_ms(h.max()) << "\n";
  }
  // An order is read every --poll until final: the first figure is late by up to one poll
  // (and a read's round trip); its own timeline gives the second, exact on the node's clock.
  auto order_line = [&out](const char* name, const latency_histogram& h, const std::string& how) {
    out << "    " << std::left << std::setw(9) << name << std::right << std::setw(10)
        << grouped(h.count()) << std::setw(12) << format_ms(h.percentile(50)) << std::setw(12)
        << format_ms(h.percentile(99)) << std::setw(12) << format_ms(h.max()) << "   (" << how
        << ")\n";
  };
  if (t.order_time.count() > 0) {
    auto poll = std::to_string(o.poll.count()) + " ms";
    order_line("to final", t.order_time,
               "checkout's 202 to the order seen confirmed or cancelled, read every " + poll +
                   ": late by up to " + poll + " plus a read's round trip");
  }
  if (t.order_node_time.count() > 0)
    order_line("  on node", t.order_node_time,
               "the same orders, created to final by their own timeline on the node's clock: "
               "exact to the millisecond");
  out << "\n  answers     ";
  for (const auto& [what, n] : t.outcomes)
    out << " " << what << ": " << grouped(n);
  out << "\n";

  if (!o.check) {
    out << "\n  consistency  not checked (--no-check)\n";
    return;
  }
  const auto& b = r.baskets;
  out << "\n  consistency  baskets: " << grouped(b.customers_read) << " read back, "
      << grouped(b.counts.answers_checked) << " answers compared during the load; lost writes "
      << b.counts.lost_writes << ", phantom writes " << b.counts.phantom_writes
      << ", version regressions " << b.counts.version_regressions << ", outcomes unknown "
      << b.counts.unknown_outcomes;
  if (b.read_failures > 0)
    out << ", baskets that could not be read " << b.read_failures;
  out << "\n";
  for (const auto& a : b.anomalies)
    out << "    " << a << "\n";
  if (r.checkouts) {
    const auto& c = *r.checkouts;
    out << "               orders: " << grouped(c.orders) << " created, " << grouped(c.confirmed)
        << " confirmed, " << grouped(c.cancelled) << " cancelled";
    if (!c.cancel_reasons.empty()) {
      out << " (";
      bool first = true;
      for (const auto& [reason, n] : c.cancel_reasons) {
        out << (first ? "" : ", ") << reason << " " << n;
        first = false;
      }
      out << ")";
    }
    out << ", not terminal " << c.not_terminal << "; units sold " << grouped(c.units_sold) << "\n";
    for (const auto& id : c.not_terminal_ids)
      out << "    not terminal: " << id << "\n";
    if (c.checkouts_unknown > 0)
      out << "    " << c.checkouts_unknown
          << " checkouts got no answer even when sent again: stock cannot be verified\n";
    out << "               stock: " << (c.stock_mismatches.empty() ? "conserved" : "NOT conserved")
        << " over " << r.options.skus << " products\n";
    std::size_t shown = 0;
    for (const auto& m : c.stock_mismatches) {
      if (++shown > 10) {
        out << "    ... and " << c.stock_mismatches.size() - 10 << " more\n";
        break;
      }
      if (m.stock < 0)
        out << "    " << m.sku << ": could not be read\n";
      else
        out << "    " << m.sku << ": stock " << m.stock << " (expected " << m.expected_stock
            << "), reserved " << m.reserved << " (expected " << m.expected_reserved << ")\n";
    }
  }
  out << "  consistency check " << (r.passed() ? "passed" : "FAILED") << "\n";
}

json::object report_json(const load_report& r) {
  const auto& o = r.options;
  const auto& t = r.run.totals;
  json::object j;
  j["scenario"] = to_string(o.scenario);
  j["urls"] = json::value_from(o.urls);
  j["run_id"] = o.run_id;
  j["mode"] = o.rate > 0 ? "open" : "closed";
  j["concurrency"] = o.concurrency;
  if (o.rate > 0)
    j["rate"] = o.rate;
  j["threads"] = o.threads;
  j["customers"] = o.customers;
  j["skus"] = o.skus;
  j["distribution"] = o.zipf ? "zipf" : "uniform";
  j["seconds"] = r.run.seconds;
  j["interrupted"] = r.run.interrupted;
  j["requests"] = t.requests;
  j["iterations"] = t.iterations;
  j["throughput"] = r.run.seconds > 0 ? static_cast<double>(t.requests) / r.run.seconds : 0.0;
  j["errors"] = t.errors;
  j["client_cpu_seconds"] = r.run.cpu_seconds;
  j["dropped"] = t.dropped;
  j["connections_opened"] = r.run.connections_opened;
  j["latency"] = histogram_json(t.latency);
  json::object kinds;
  for (std::size_t k = 0; k < request_kinds; ++k)
    if (t.by_kind[k].count() > 0)
      kinds[to_string(static_cast<request_kind>(k))] = histogram_json(t.by_kind[k]);
  j["by_request"] = std::move(kinds);
  if (t.order_time.count() > 0) {
    // Seen final by a read every order_poll_ms: late by up to that much.
    j["order_to_final"] = histogram_json(t.order_time);
    j["order_poll_ms"] = o.poll.count();
  }
  if (t.order_node_time.count() > 0)
    j["order_to_final_on_node"] = histogram_json(t.order_node_time); // by the order's timeline
  json::object outcomes;
  for (const auto& [what, n] : t.outcomes)
    outcomes[what] = n;
  j["answers"] = std::move(outcomes);
  json::array timeline;
  for (const auto& p : r.run.timeline)
    timeline.push_back(json::object{{"t", p.end_s},
                                    {"seconds", p.seconds},
                                    {"requests", p.requests},
                                    {"errors", p.errors},
                                    {"dropped", p.dropped},
                                    {"p50_ms", ms(p.p50)},
                                    {"p90_ms", ms(p.p90)},
                                    {"p99_ms", ms(p.p99)},
                                    {"max_ms", ms(p.max)}});
  j["timeline"] = std::move(timeline);
  json::object consistency;
  consistency["checked"] = o.check;
  if (o.check) {
    const auto& b = r.baskets;
    consistency["baskets"] = json::object{{"read_back", b.customers_read},
                                          {"answers_compared", b.counts.answers_checked},
                                          {"lost_writes", b.counts.lost_writes},
                                          {"phantom_writes", b.counts.phantom_writes},
                                          {"version_regressions", b.counts.version_regressions},
                                          {"unknown_outcomes", b.counts.unknown_outcomes},
                                          {"not_readable", b.read_failures},
                                          {"anomalies", json::value_from(b.anomalies)},
                                          {"passed", b.passed()}};
    if (r.checkouts) {
      const auto& c = *r.checkouts;
      json::object reasons;
      for (const auto& [reason, n] : c.cancel_reasons)
        reasons[reason] = n;
      json::array mismatches;
      for (const auto& m : c.stock_mismatches)
        mismatches.push_back(json::object{{"sku", m.sku},
                                          {"stock", m.stock},
                                          {"expected_stock", m.expected_stock},
                                          {"reserved", m.reserved},
                                          {"expected_reserved", m.expected_reserved}});
      consistency["orders"] = json::object{{"created", c.orders},
                                           {"confirmed", c.confirmed},
                                           {"cancelled", c.cancelled},
                                           {"cancel_reasons", std::move(reasons)},
                                           {"not_terminal", c.not_terminal},
                                           {"checkouts_unknown", c.checkouts_unknown},
                                           {"units_sold", c.units_sold},
                                           {"stock_mismatches", std::move(mismatches)},
                                           {"passed", c.passed()}};
    }
  }
  consistency["passed"] = r.passed();
  j["consistency"] = std::move(consistency);
  return j;
}

namespace {

/// One plotted panel: its place on the canvas and its scales.
struct panel {
  double x, y, w, h;   ///< canvas pixels
  double t_max;        ///< seconds at the right edge
  double v_min, v_max; ///< value at the bottom and top edges
  bool log = false;

  double px(double t) const { return x + (t_max > 0 ? t / t_max : 0) * w; }
  double py(double v) const {
    double f = log ? (std::log10(std::max(v, v_min)) - std::log10(v_min)) /
                         (std::log10(v_max) - std::log10(v_min))
                   : (v - v_min) / (v_max - v_min);
    return y + h - std::clamp(f, 0.0, 1.0) * h;
  }
};

/// m × 10^k as the double nearest that decimal number (an integer m): an exact product for
/// k >= 0, a correctly rounded quotient of exact numbers below (10^-k is exact up to 10^22).
double decimal(double m, int k) {
  return k >= 0 ? m * std::pow(10.0, k) : m / std::pow(10.0, -k);
}

std::string escape(const std::string& s) {
  std::string out;
  for (char c : s) {
    if (c == '<')
      out += "&lt;";
    else if (c == '>')
      out += "&gt;";
    else if (c == '&')
      out += "&amp;";
    else
      out += c;
  }
  return out;
}

/// Draws a panel's frame, its value ticks (each with its label) and its time ticks, which
/// end at the right edge (the panel's t_max is the last of them).
void axes(std::ostream& out, const panel& p, const std::string& label,
          const std::vector<std::pair<double, std::string>>& value_ticks,
          const std::vector<double>& time_ticks) {
  out << "<rect x='" << p.x << "' y='" << p.y << "' width='" << p.w << "' height='" << p.h
      << "' fill='none' stroke='#888'/>\n";
  for (const auto& [v, text] : value_ticks) {
    double yy = p.py(v);
    out << "<line x1='" << p.x << "' x2='" << p.x + p.w << "' y1='" << yy << "' y2='" << yy
        << "' stroke='#ddd'/>\n<text x='" << p.x - 6 << "' y='" << yy + 4 << "' text-anchor='end'>"
        << escape(text) << "</text>\n";
  }
  double step = time_ticks.size() > 1 ? time_ticks[1] : 1;
  for (double t : time_ticks)
    out << "<line x1='" << p.px(t) << "' x2='" << p.px(t) << "' y1='" << p.y + p.h << "' y2='"
        << p.y + p.h + 4 << "' stroke='#888'/>\n<text x='" << p.px(t) << "' y='" << p.y + p.h + 16
        << "' text-anchor='middle'>" << tick_label(t, step) << " s</text>\n";
  out << "<text x='" << p.x << "' y='" << p.y - 8 << "' font-weight='bold'>" << escape(label)
      << "</text>\n";
}

/// A line through `pts`, broken where a point is missing (NaN: a second without answers).
void series(std::ostream& out, const panel& p, const std::vector<std::pair<double, double>>& pts,
            const char* colour, const char* name, double legend_x) {
  bool open = false;
  for (const auto& [t, v] : pts) {
    if (std::isnan(v)) {
      if (open)
        out << "'/>\n";
      open = false;
      continue;
    }
    if (!open)
      out << "<polyline fill='none' stroke='" << colour << "' stroke-width='1.5' points='";
    open = true;
    out << fixed(p.px(t), 1) << "," << fixed(p.py(v), 1) << " ";
  }
  if (open)
    out << "'/>\n";
  out << "<rect x='" << legend_x << "' y='" << p.y - 18 << "' width='10' height='10' fill='"
      << colour << "'/><text x='" << legend_x + 14 << "' y='" << p.y - 9 << "'>" << name
      << "</text>\n";
}

} // namespace

std::vector<double> axis_ticks(double max, int at_most) {
  at_most = std::max(at_most, 1);
  if (!(max > 0) || !std::isfinite(max))
    max = 1;
  // From a step too small to fit (at most a tenth of an even split's) up to the first that
  // fits, the smallest; the tolerance counts 0.3 / 0.05 (5.999… or 6.000…1 in doubles) as 6.
  for (int k = static_cast<int>(std::floor(std::log10(max / at_most))) - 1;; ++k)
    for (double m : {1.0, 2.0, 5.0}) {
      double steps = std::max(1.0, std::ceil(max / decimal(m, k) - 1e-9));
      if (steps > at_most)
        continue;
      std::vector<double> ticks;
      for (int i = 0; i <= static_cast<int>(steps); ++i)
        ticks.push_back(decimal(m * i, k));
      return ticks;
    }
}

std::string tick_label(double value, double step) {
  // A step of m × 10^-d (m of 1, 2 or 5) makes every tick a multiple of 10^-d: d decimals
  // print it exactly. (The tolerance keeps a step of 0.1 computed as 0.09999… at 1.)
  int decimals =
      step >= 1 || !(step > 0) ? 0 : static_cast<int>(std::ceil(-std::log10(step) - 1e-9));
  return fixed(value, decimals);
}

void write_chart(std::ostream& out, const load_report& r) {
  const auto& timeline = r.run.timeline;
  double t_max = 1;
  double rate_max = 1;
  double lat_max = 1, lat_min = 1e9;
  std::vector<std::pair<double, double>> ok, errors, p50, p90, p99, mx;
  for (const auto& pt : timeline) {
    t_max = std::max(t_max, pt.end_s);
    // A point shorter than a fifth of a second (the tail) would show a rate it did not hold.
    if (pt.seconds >= 0.2) {
      double rate = static_cast<double>(pt.requests - pt.errors) / pt.seconds;
      double err = static_cast<double>(pt.errors) / pt.seconds;
      ok.emplace_back(pt.end_s, rate);
      errors.emplace_back(pt.end_s, err);
      rate_max = std::max({rate_max, rate, err});
    }
    if (pt.requests == 0 || pt.max == 0) {
      for (auto* line : {&p50, &p90, &p99, &mx})
        line->emplace_back(pt.end_s, std::nan(""));
    } else {
      p50.emplace_back(pt.end_s, ms(pt.p50));
      p90.emplace_back(pt.end_s, ms(pt.p90));
      p99.emplace_back(pt.end_s, ms(pt.p99));
      mx.emplace_back(pt.end_s, ms(pt.max));
      lat_max = std::max(lat_max, ms(pt.max));
      lat_min = std::min(lat_min, std::max(ms(pt.p50), 0.001));
    }
  }
  // Whole decades: from 10^k_lo to 10^k_hi milliseconds.
  int k_lo = static_cast<int>(std::floor(std::log10(std::min(lat_min, lat_max))));
  int k_hi = std::max(k_lo + 1, static_cast<int>(std::ceil(std::log10(lat_max * 1.01))));
  double lo = decimal(1, k_lo), hi = decimal(1, k_hi);
  // Both panels end on a whole number of time steps, the upper one on a whole number of rate
  // steps, so that every tick falls on a value its label shows exactly.
  auto time_ticks = axis_ticks(t_max, 8);
  auto rate_ticks = axis_ticks(rate_max * 1.05, 5);
  panel top{80, 70, 820, 230, time_ticks.back(), 0, rate_ticks.back()};
  panel bottom{80, 370, 820, 260, time_ticks.back(), lo, hi, true};

  out << "<?xml version='1.0' encoding='UTF-8'?>\n"
         "<svg xmlns='http://www.w3.org/2000/svg' width='940' height='680' "
         "font-family='sans-serif' font-size='11'>\n<rect width='100%' height='100%' "
         "fill='white'/>\n";
  out << "<text x='80' y='24' font-size='14' font-weight='bold'>bazaar-load "
      << escape(describe_load(r.options)) << "</text>\n";
  std::string urls;
  for (const auto& u : r.options.urls)
    urls += (urls.empty() ? "" : ", ") + u;
  out << "<text x='80' y='42'>" << escape(urls) << ": " << grouped(r.run.totals.requests)
      << " requests, " << grouped(r.run.totals.errors) << " errors, p99 "
      << format_ms(r.run.totals.latency.percentile(99)) << ", consistency "
      << (r.options.check ? (r.passed() ? "passed" : "FAILED") : "not checked") << "</text>\n";

  std::vector<std::pair<double, std::string>> rate_labels;
  for (double v : rate_ticks)
    rate_labels.emplace_back(v, tick_label(v, rate_ticks[1]));
  axes(out, top, "throughput (answers per second)", rate_labels, time_ticks);
  series(out, top, ok, "#1f77b4", "2xx/s", 560);
  series(out, top, errors, "#d62728", "errors/s", 640);

  // Log scale: 1, 2 and 5 of each decade, each labelled with the decimals it needs itself.
  std::vector<std::pair<double, std::string>> lat_labels;
  for (int k = k_lo; k <= k_hi; ++k)
    for (double m : {1.0, 2.0, 5.0})
      if (k < k_hi || m == 1)
        lat_labels.emplace_back(decimal(m, k), tick_label(decimal(m, k), decimal(m, k)) + " ms");
  axes(out, bottom, "latency per second (log scale)", lat_labels, time_ticks);
  series(out, bottom, p50, "#2ca02c", "p50", 480);
  series(out, bottom, p90, "#1f77b4", "p90", 540);
  series(out, bottom, p99, "#ff7f0e", "p99", 600);
  series(out, bottom, mx, "#d62728", "max", 660);
  out << "<text x='" << bottom.x + bottom.w / 2 << "' y='668' text-anchor='middle'>"
      << "seconds since the load began</text>\n</svg>\n";
}

} // namespace bazaar::load
