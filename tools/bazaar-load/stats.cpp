#include "stats.hpp"

namespace bazaar::load {

const char* to_string(request_kind k) {
  switch (k) {
  case request_kind::add:
    return "add";
  case request_kind::set:
    return "set";
  case request_kind::remove:
    return "remove";
  case request_kind::clear:
    return "clear";
  case request_kind::get:
    return "get";
  case request_kind::checkout:
    return "checkout";
  case request_kind::order:
    return "order";
  }
  return "?";
}

void run_totals::merge(const run_totals& other) {
  latency.merge(other.latency);
  for (std::size_t i = 0; i < request_kinds; ++i)
    by_kind[i].merge(other.by_kind[i]);
  iteration.merge(other.iteration);
  order_time.merge(other.order_time);
  order_node_time.merge(other.order_node_time);
  for (const auto& [what, n] : other.outcomes)
    outcomes[what] += n;
  requests += other.requests;
  errors += other.errors;
  iterations += other.iterations;
  dropped += other.dropped;
}

void recorder::request(request_kind kind, int status, const std::string& failure,
                       std::uint64_t nanos) {
  bool error = status < 200 || status > 299;
  std::lock_guard lock{mutex_};
  ++totals_.requests;
  ++interval_requests_;
  if (error) {
    ++totals_.errors;
    ++interval_errors_;
  }
  ++totals_.outcomes[status > 0 ? std::to_string(status) : failure];
  // Every answer's latency counts, errors included; a request without one has none.
  if (status > 0) {
    totals_.latency.record(nanos);
    totals_.by_kind[static_cast<std::size_t>(kind)].record(nanos);
    interval_.record(nanos);
  }
}

void recorder::iteration(std::uint64_t nanos, bool timed) {
  std::lock_guard lock{mutex_};
  ++totals_.iterations;
  if (timed)
    totals_.iteration.record(nanos);
}

void recorder::order(std::uint64_t nanos, std::optional<std::uint64_t> node_nanos) {
  std::lock_guard lock{mutex_};
  totals_.order_time.record(nanos);
  if (node_nanos)
    totals_.order_node_time.record(*node_nanos);
}

void recorder::dropped() {
  std::lock_guard lock{mutex_};
  ++totals_.dropped;
  ++interval_dropped_;
}

void recorder::take_interval(latency_histogram& latency, std::uint64_t& requests,
                             std::uint64_t& errors, std::uint64_t& dropped) {
  std::lock_guard lock{mutex_};
  latency.merge(interval_);
  requests += interval_requests_;
  errors += interval_errors_;
  dropped += interval_dropped_;
  interval_.reset();
  interval_requests_ = interval_errors_ = interval_dropped_ = 0;
}

run_totals recorder::totals() const {
  std::lock_guard lock{mutex_};
  return totals_;
}

} // namespace bazaar::load
