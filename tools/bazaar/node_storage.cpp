#include "node_storage.hpp"

#include "bazaar/persistence/commit_listener.hpp"
#include "bazaar/persistence/projections.hpp"

#include <algorithm>
#include <chrono>

namespace bazaar {

namespace {

/// Storage of a node whose postgres.url is empty: never ready, every load and write fails.
class unconfigured_storage final : public persistence::grain_store,
                                   public persistence::reminder_store,
                                   public persistence::journal {
 public:
  void load(const std::string&, const std::string&,
            std::function<void(persistence::load_result)> done) override {
    done(persistence::load_result{false, std::nullopt, {}});
  }
  void write(persistence::grain_write w) override { w.done(persistence::save_status::unavailable); }
  bool ready(std::string& why) const override {
    why = "postgres.url is not configured (set BAZAAR_POSTGRES_URL)";
    return false;
  }
  std::vector<persistence::due_reminder> claim_due(std::size_t,
                                                   std::chrono::milliseconds) override {
    return {};
  }
  void history(const std::string&, const std::string&,
               std::function<void(std::optional<std::vector<std::string>>)> done) override {
    done(std::nullopt);
  }
};

} // namespace

node_storage make_node_storage(const config::node_options& opts, const std::string& bootstrap,
                               bool embedded_kafka, node_metrics& metrics) {
  node_storage s;
  const auto& pg = opts.postgres;
  if (pg.url.empty()) {
    auto none = std::make_shared<unconfigured_storage>();
    s.grain_store = none;
    s.reminder_store = none;
    s.history = std::make_unique<runtime::event_history>(none);
    return s;
  }
  s.settings = persistence::pg_settings{pg.url, pg.schema, pg.connect_timeout_ms,
                                        std::max(opts.http.request_timeout_ms, 1000)};
  s.relay = std::make_unique<kafka::outbox_relay>(s.settings, bootstrap, opts.kafka);
  // The embedded Kafka starts empty: what the last run published and nobody consumed yet
  // (a saga's next step, a commit of stock) would be lost. Published again; consumers
  // remember the event ids they handled (idempotency keys, kept 24 h).
  if (embedded_kafka)
    s.relay->republish_on_lead(std::chrono::seconds{opts.kafka.republish_window_s});
  s.relay->on_published(metrics.publish_delays());
  persistence::pg_storage::options so;
  so.applied_events_retention = std::chrono::seconds{pg.applied_events_retention_s};
  so.writes.writers = pg.writers;
  so.writes.batch_max_rows = pg.batch_max_rows;
  so.writes.linger = std::chrono::milliseconds{pg.batch_linger_ms};
  so.writes.on_batch = metrics.persister_batches();
  // Commits with events wake the relay. Safe at shutdown: the node stops pg_storage, joining
  // the writer threads that call this, before it stops and destroys the relay.
  so.writes.on_events_committed = [relay = s.relay.get()] { relay->notify(); };
  // ... and the relay of whichever node leads, through PostgreSQL (commit_listener.hpp).
  so.writes.notify_channel = persistence::commit_channel(pg.schema);
  so.writes.notify_wanted = [relay = s.relay.get()] { return !relay->leading(); };
  s.lease = std::make_shared<persistence::node_lease>();
  s.relay->listen_for_commits(so.writes.notify_channel,
                              [lease = s.lease] { return lease->get().first; });
  so.writes.lease = s.lease;
  s.pg = std::make_shared<persistence::pg_storage>(s.settings, so);
  s.grain_store = s.pg;
  s.reminder_store = s.pg;
  s.history = std::make_unique<runtime::event_history>(s.pg);
  s.projector = std::make_unique<kafka::projector>(persistence::pg_projections(s.settings),
                                                   bootstrap, opts.kafka);
  // Two query threads (a connection each), at most 1,000 queries waiting for one.
  s.read_models = std::make_unique<persistence::pg_read_models>(
      s.settings, persistence::pg_read_models::options{2, 1000});
  return s;
}

} // namespace bazaar
