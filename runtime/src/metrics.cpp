#include "bazaar/runtime/metrics.hpp"

#include <prometheus/registry.h>
#include <prometheus/text_serializer.h>

#include <algorithm>
#include <sstream>

namespace bazaar::runtime {

metrics::metrics() : registry_(std::make_shared<prometheus::Registry>()) {}

metrics::~metrics() = default;

void metrics::add_source(source s) {
  std::lock_guard<std::mutex> guard{mtx_};
  sources_.push_back(std::move(s));
}

std::string metrics::scrape() const {
  auto families = registry_->Collect();
  {
    std::lock_guard<std::mutex> guard{mtx_};
    for (const auto& s : sources_)
      s(families);
  }
  // One family per name: a source's family of a name the registry (or another source) has
  // too would be two TYPE lines for one name, which the format forbids.
  std::stable_sort(families.begin(), families.end(),
                   [](const auto& a, const auto& b) { return a.name < b.name; });
  std::vector<prometheus::MetricFamily> merged;
  for (auto& f : families) {
    if (!merged.empty() && merged.back().name == f.name && merged.back().type == f.type) {
      for (auto& m : f.metric)
        merged.back().metric.push_back(std::move(m));
      continue;
    }
    merged.push_back(std::move(f));
  }
  std::ostringstream out;
  prometheus::TextSerializer{}.Serialize(out, merged);
  return out.str();
}

namespace {

prometheus::MetricFamily family(std::string name, std::string help, prometheus::MetricType t) {
  prometheus::MetricFamily f;
  f.name = std::move(name);
  f.help = std::move(help);
  f.type = t;
  return f;
}

} // namespace

prometheus::MetricFamily counter_family(std::string name, std::string help) {
  return family(std::move(name), std::move(help), prometheus::MetricType::Counter);
}

prometheus::MetricFamily gauge_family(std::string name, std::string help) {
  return family(std::move(name), std::move(help), prometheus::MetricType::Gauge);
}

void add_sample(prometheus::MetricFamily& family, const label_list& labels, double value) {
  prometheus::ClientMetric m;
  for (const auto& [name, v] : labels)
    m.label.push_back(prometheus::ClientMetric::Label{name, v});
  if (family.type == prometheus::MetricType::Counter)
    m.counter.value = value;
  else
    m.gauge.value = value;
  family.metric.push_back(std::move(m));
}

std::vector<double> latency_buckets() {
  return {0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10};
}

} // namespace bazaar::runtime
