#pragma once

/// The HTTP metrics of a node: requests counted and timed by route pattern (never the raw
/// path, so that the series stay few), method and status. Each route gets its meter once,
/// when the server starts; a request then costs a scan of a few status slots, an atomic add
/// and a histogram observation (no lookup by labels, no string built).

#include <prometheus/counter.h>
#include <prometheus/family.h>
#include <prometheus/histogram.h>

#include <array>
#include <atomic>
#include <deque>
#include <mutex>
#include <string>

namespace prometheus {
class Registry;
}

namespace bazaar::gateway {

class http_metrics;

/// The requests of one route and method (or of the paths no route took).
class route_meter {
 public:
  route_meter(http_metrics& owner, std::string route, std::string method)
      : owner_(owner), route_(std::move(route)), method_(std::move(method)) {}

  route_meter(const route_meter&) = delete;
  route_meter& operator=(const route_meter&) = delete;

  /// One answer with `status`, `seconds` after the request was read. Any thread.
  void record(int status, double seconds);

 private:
  struct series {
    prometheus::Counter* requests = nullptr;
    prometheus::Histogram* latency = nullptr;
  };
  /// The series of `status`, made on its first use.
  series make(int status);

  /// Statuses seen so far (0: a free slot), each published after its series.
  static constexpr std::size_t slots = 8;
  std::array<std::atomic<int>, slots> status_{};
  std::array<series, slots> series_{};

  http_metrics& owner_;
  std::string route_;
  std::string method_;
};

class http_metrics {
 public:
  /// Adds bazaar_http_requests_total and bazaar_http_request_duration_seconds to `registry`,
  /// which must outlive this.
  explicit http_metrics(prometheus::Registry& registry);

  http_metrics(const http_metrics&) = delete;
  http_metrics& operator=(const http_metrics&) = delete;

  /// The meter of the route `method pattern` (e.g. "PUT", "/api/v1/basket/items/{sku}"),
  /// kept as long as this.
  route_meter& meter(const std::string& method, const std::string& pattern);

  /// The meter of requests that no route took (404, 405, refused while draining): route
  /// "unmatched", method "any".
  route_meter& unmatched() { return unmatched_; }

 private:
  friend class route_meter;

  std::mutex mtx_;
  prometheus::Family<prometheus::Counter>& requests_;
  prometheus::Family<prometheus::Histogram>& latency_;
  std::deque<route_meter> meters_; // never moves
  route_meter unmatched_;
};

} // namespace bazaar::gateway
