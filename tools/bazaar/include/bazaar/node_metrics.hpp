#pragma once

/// What one node shows at GET /metrics (docs/API.md, "Metrics"): the node's own registry
/// (runtime::metrics) fed by
/// - the gateway's HTTP meters (http_metrics.hpp),
/// - the persister's committed batches: batch sizes, commit latency, and the sagas' outcomes,
///   which the domain reads from the events those batches committed (domain::saga_ending_of),
///   so that neither the domain nor the grains know about metrics,
/// - the outbox relay's confirmed records (publish delay),
/// - and, at scrape time, the counters the parts keep anyway (catalog, grain client,
///   persister, Kafka bridge, relay, projections, cluster) and the log lines the process
///   dropped (runtime::log_lines_dropped).

#include "bazaar/gateway/http_metrics.hpp"
#include "bazaar/persistence/persister.hpp"
#include "bazaar/runtime/metrics.hpp"

#include <prometheus/counter.h>
#include <prometheus/histogram.h>

#include <chrono>
#include <functional>
#include <map>
#include <string>

namespace bazaar::runtime {
class catalog;
class grain_client;
class cluster;
} // namespace bazaar::runtime

namespace bazaar::kafka {
class bridge;
class outbox_relay;
class projector;
} // namespace bazaar::kafka

namespace bazaar {

/// The parts of a node that a scrape reads; any may be null (not running on this node).
struct metered_parts {
  const runtime::catalog* grains = nullptr;
  const runtime::grain_client* client = nullptr;
  const persistence::persister::stats* writes = nullptr;
  const kafka::bridge* bridge = nullptr;
  const kafka::outbox_relay* relay = nullptr;
  const kafka::projector* projector = nullptr;
  const runtime::cluster* cluster = nullptr;
};

class node_metrics {
 public:
  node_metrics();

  node_metrics(const node_metrics&) = delete;
  node_metrics& operator=(const node_metrics&) = delete;

  /// For persister::options::on_batch (this must outlive the persister's writer threads).
  std::function<void(const persistence::persister::batch_report&)> persister_batches();

  /// For outbox_relay::on_published (this must outlive the relay).
  std::function<void(std::chrono::milliseconds)> publish_delays();

  /// For kafka::bridge::on_handled (this must outlive the bridge).
  std::function<void(std::chrono::milliseconds, std::chrono::microseconds)> bridge_timings();

  /// Reads `parts` at every scrape from now on: they must outlive the scrapes (the node stops
  /// serving HTTP before it destroys them).
  void watch(const metered_parts& parts);

  /// For the HTTP server (which this must outlive).
  gateway::http_metrics& http() { return http_; }

  /// The page of GET /metrics.
  std::string scrape() const { return metrics_.scrape(); }

 private:
  /// Counts the sagas that the committed events of one write end.
  void sagas_of(const persistence::grain_write& w);

  runtime::metrics metrics_;
  gateway::http_metrics http_;
  prometheus::Histogram& batch_rows_;
  prometheus::Histogram& commit_seconds_;
  prometheus::Histogram& publish_delay_;
  prometheus::Histogram& record_delay_;
  prometheus::Histogram& handle_seconds_;
  prometheus::Family<prometheus::Counter>& sagas_;
  prometheus::Family<prometheus::Histogram>& saga_seconds_;
  /// The counters and histograms of the outcomes (made at start, so that they show from 0).
  std::map<std::string, prometheus::Counter*> saga_counts_;
  std::map<std::string, prometheus::Histogram*> saga_durations_;
};

} // namespace bazaar
