#pragma once

/// The metrics of one node, in the Prometheus text exposition format (GET /metrics). Two kinds:
/// - measured as things happen, in the node's own prometheus::Registry (never a process-global
///   one: a test process runs several nodes): what nothing else keeps, such as latency
///   histograms;
/// - read at scrape time from the counters the components keep anyway (atomics for their
///   status pages): each component is a `source` that appends metric families when the page
///   is scraped, so that no hot path counts twice.
/// Thread-safe: sources are added before the node serves; scrape() runs on any thread.

#include <prometheus/metric_family.h>

#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

namespace prometheus {
class Registry;
}

namespace bazaar::runtime {

class metrics {
 public:
  /// Appends families read at scrape time.
  using source = std::function<void(std::vector<prometheus::MetricFamily>&)>;

  metrics();
  ~metrics();

  metrics(const metrics&) = delete;
  metrics& operator=(const metrics&) = delete;

  /// Where metrics measured as they happen live.
  prometheus::Registry& registry() { return *registry_; }

  /// Adds a source; it runs at each scrape, on the scraping thread, and must be quick.
  void add_source(source s);

  /// Every family in the text format (version 0.0.4), sorted by name.
  std::string scrape() const;

 private:
  std::shared_ptr<prometheus::Registry> registry_;
  mutable std::mutex mtx_;
  std::vector<source> sources_;
};

/// Helpers for sources: a family, and one sample of it.
using label_list = std::vector<std::pair<std::string, std::string>>;

prometheus::MetricFamily counter_family(std::string name, std::string help);
prometheus::MetricFamily gauge_family(std::string name, std::string help);

/// Adds a sample with `labels` to a counter or gauge family.
void add_sample(prometheus::MetricFamily& family, const label_list& labels, double value);

/// Histogram bucket bounds for latencies in seconds, 0.5 ms to 10 s.
std::vector<double> latency_buckets();

} // namespace bazaar::runtime
