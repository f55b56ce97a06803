#include "bazaar/gateway/http_metrics.hpp"

#include "bazaar/runtime/metrics.hpp"

#include <prometheus/registry.h>

namespace bazaar::gateway {

void route_meter::record(int status, double seconds) {
  for (std::size_t i = 0; i < slots; ++i) {
    auto seen = status_[i].load(std::memory_order_acquire);
    if (seen == status) {
      series_[i].requests->Increment();
      series_[i].latency->Observe(seconds);
      return;
    }
    if (seen == 0)
      break;
  }
  auto s = make(status);
  s.requests->Increment();
  s.latency->Observe(seconds);
}

route_meter::series route_meter::make(int status) {
  std::lock_guard<std::mutex> guard{owner_.mtx_};
  std::size_t i = 0;
  for (; i < slots; ++i) {
    auto seen = status_[i].load(std::memory_order_relaxed);
    if (seen == status)
      return series_[i];
    if (seen == 0)
      break;
  }
  // Family::Add gives the series made before for the same labels.
  prometheus::Labels labels{
      {"route", route_}, {"method", method_}, {"status", std::to_string(status)}};
  series s{&owner_.requests_.Add(labels), &owner_.latency_.Add(labels, runtime::latency_buckets())};
  if (i < slots) {
    series_[i] = s;
    status_[i].store(status, std::memory_order_release);
  }
  return s;
}

http_metrics::http_metrics(prometheus::Registry& registry)
    : requests_(prometheus::BuildCounter()
                    .Name("bazaar_http_requests_total")
                    .Help("HTTP requests answered, by route pattern, method and status")
                    .Register(registry)),
      latency_(prometheus::BuildHistogram()
                   .Name("bazaar_http_request_duration_seconds")
                   .Help("Time from a request read to its answer written, by route pattern, "
                         "method and status")
                   .Register(registry)),
      unmatched_(*this, "unmatched", "any") {}

route_meter& http_metrics::meter(const std::string& method, const std::string& pattern) {
  std::lock_guard<std::mutex> guard{mtx_};
  return meters_.emplace_back(*this, pattern, method);
}

} // namespace bazaar::gateway
