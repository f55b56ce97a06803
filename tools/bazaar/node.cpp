#include "bazaar/node.hpp"

#include "admin_hooks.hpp"

#include "bazaar/actors/registry.hpp"
#include "bazaar/config/loader.hpp"
#include "bazaar/core/time.hpp"
#include "bazaar/domain/events.hpp"
#include "bazaar/gateway/http_server.hpp"
#include "bazaar/gateway/routes.hpp"
#include "bazaar/kafka/bridge.hpp"
#include "bazaar/kafka/embedded_kafka.hpp"
#include "bazaar/kafka/outbox_relay.hpp"
#include "bazaar/kafka/projector.hpp"
#include "bazaar/node_metrics.hpp"
#include "bazaar/persistence/commit_listener.hpp"
#include "bazaar/persistence/pg_read_models.hpp"
#include "bazaar/persistence/pg_storage.hpp"
#include "bazaar/runtime/cluster.hpp"
#include "bazaar/runtime/event_history.hpp"
#include "bazaar/runtime/host.hpp"
#include "bazaar/runtime/logging.hpp"
#include "bazaar/runtime/reminder_service.hpp"

#include <caf/actor_system.hpp>
#include <caf/actor_system_config.hpp>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <thread>
#include <unistd.h>

namespace bazaar {

namespace {

/// cluster.node_id, else "<host name>:<HTTP port>" (the bound one when the configured port is
/// 0, so that nodes on one machine differ).
std::string node_name(const config::node_options& opts, std::uint16_t bound_port = 0) {
  if (!opts.cluster.node_id.empty())
    return opts.cluster.node_id;
  char host[256] = {0};
  gethostname(host, sizeof host - 1);
  return std::string{host} + ":" + std::to_string(bound_port != 0 ? bound_port : opts.http.port);
}

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

/// Every grain type the node hosts, each with whether it handles Kafka records.
std::map<std::string, bool> grain_types(const config::node_options& opts,
                                        const std::vector<grain_extension>& extensions) {
  std::map<std::string, bool> types = std::apply(
      [](const auto&... g) {
        return std::map<std::string, bool>{
            {std::decay_t<decltype(g)>::type, handles_kafka_records<std::decay_t<decltype(g)>>}...};
      },
      actors::shop_grains(opts));
  for (const auto& e : extensions)
    types.insert(e.types.begin(), e.types.end());
  return types;
}

/// What the bridge consumes with. librdkafka's mock broker (the embedded Kafka) holds a fetch
/// that finds nothing for its whole wait, even when a record arrives meanwhile (a real broker
/// answers at once). Where the bridge is on the checkout's waiting path (saga.transport =
/// kafka) on the embedded Kafka, it waits at most 2 ms: about 4 ms less per hop at half load,
/// for about 6 % of a core more while idle (docs/BENCHMARKS.md, issue 20).
config::kafka_options bridge_kafka_options(const config::node_options& opts, bool embedded) {
  auto k = opts.kafka;
  if (embedded && opts.saga.transport == "kafka")
    k.fetch_wait_max_ms = std::min(k.fetch_wait_max_ms, 2);
  return k;
}

/// The bridge's routes from kafka.routes; throws std::invalid_argument naming the key when a
/// route names a grain type that does not exist or does not handle Kafka records.
std::vector<kafka::route> bridge_routes(const config::node_options& opts,
                                        const std::map<std::string, bool>& types) {
  std::vector<kafka::route> out;
  for (const auto& r : config::topic_routes(opts.kafka)) {
    auto t = types.find(r.grain_type);
    if (t == types.end() || !t->second) {
      std::string known;
      for (const auto& [name, kafka] : types)
        if (kafka)
          known += (known.empty() ? "" : ", ") + name;
      throw std::invalid_argument(
          "kafka.routes." + r.events.front() + ".grain_type: " +
          (t == types.end() ? "there is no grain type \"" + r.grain_type + "\""
                            : "grain type \"" + r.grain_type + "\" does not handle Kafka records") +
          " (types that do: " + (known.empty() ? std::string{"none"} : known) + ")");
    }
    out.push_back(kafka::route{r.topic, r.grain_type, r.key_field});
  }
  return out;
}

/// The projections for /admin/kafka: counters and the group lag of each partition.
boost::json::array projections_json(const kafka::projector* projector) {
  boost::json::array out;
  if (projector == nullptr)
    return out;
  for (const auto& s : projector->status()) {
    boost::json::array topics, partitions;
    for (const auto& t : s.topics)
      topics.emplace_back(t);
    for (const auto& p : s.partitions)
      partitions.push_back(boost::json::object{
          {"topic", p.topic},
          {"partition", p.partition},
          {"committed", p.committed},
          {"high_watermark", p.high_watermark},
          {"lag", p.lag < 0 ? boost::json::value(nullptr) : boost::json::value(p.lag)}});
    out.push_back(boost::json::object{{"name", s.name},
                                      {"group_id", s.group_id},
                                      {"topics", std::move(topics)},
                                      {"running", s.running},
                                      {"consumed", s.consumed},
                                      {"applied", s.applied},
                                      {"duplicates", s.duplicates},
                                      {"ignored", s.ignored},
                                      {"undecodable", s.undecodable},
                                      {"rejected", s.rejected},
                                      {"retries", s.retries},
                                      {"waiting_for", s.waiting_for},
                                      {"lag", s.lag},
                                      {"partitions", std::move(partitions)}});
  }
  return out;
}

} // namespace

struct node::impl {
  config::node_options opts;
  /// GET /metrics; outlives every part that reports to it.
  node_metrics metrics;
  std::unique_ptr<kafka::embedded_kafka> embedded;
  std::string bootstrap;
  std::unique_ptr<kafka::outbox_relay> relay;
  /// The Kafka bridge into grains: only when something is routed and storage is configured.
  std::unique_ptr<kafka::bridge> bridge;
  /// The read side, when storage is configured: projections fed from Kafka, and their queries.
  std::unique_ptr<kafka::projector> projector;
  std::unique_ptr<persistence::pg_read_models> read_models;
  runtime::system_clock clock;
  caf::actor_system_config cfg;
  std::unique_ptr<caf::actor_system> system;
  /// PostgreSQL, when configured: the node starts and stops it.
  std::shared_ptr<persistence::pg_storage> pg;
  /// The storage roles, served by `pg` or by unconfigured_storage.
  std::shared_ptr<persistence::grain_store> grain_store;
  std::shared_ptr<persistence::reminder_store> reminder_store;
  std::unique_ptr<runtime::event_history> history;
  std::unique_ptr<runtime::host> host;
  std::unique_ptr<runtime::reminder_service> reminders;
  /// Membership and routing between nodes, when storage is configured (a node alone is a
  /// cluster of one).
  std::shared_ptr<persistence::node_lease> lease;
  std::shared_ptr<runtime::cluster> cluster;
  /// Operators' access to grains (every node) and to Kafka (with storage: the bridge runs).
  std::unique_ptr<runtime::grain_admin> grain_admin;
  std::unique_ptr<kafka::kafka_admin> kafka_admin;
  persistence::pg_settings pg_settings;
  std::unique_ptr<gateway::http_server> http;
  bool started = false;
  bool stopped = false;
};

node::node(config::node_options opts, std::vector<grain_extension> extensions)
    : impl_(std::make_unique<impl>()) {
  auto& d = *impl_;
  d.opts = std::move(opts);
  config::apply_saga_transport(d.opts);
  // Log lines name the node and never show its secrets (runtime/logging.hpp).
  runtime::set_log_node(node_name(d.opts));
  runtime::set_log_subject(domain::events::log_subject);
  runtime::add_log_secret(d.opts.auth.jwt_secret);
  runtime::add_log_secret(runtime::password_in(d.opts.postgres.url));
  // Checked before anything starts: a bad route is a configuration error.
  auto routes = bridge_routes(d.opts, grain_types(d.opts, extensions));
  if (d.opts.cluster.failure_timeout_ms < 2 * d.opts.cluster.heartbeat_ms)
    throw std::invalid_argument(
        "cluster.failure_timeout_ms: " + std::to_string(d.opts.cluster.failure_timeout_ms) +
        " must be at least twice cluster.heartbeat_ms (" +
        std::to_string(d.opts.cluster.heartbeat_ms) +
        "), or every node would declare the others dead between two heartbeats");
  d.bootstrap = d.opts.kafka.bootstrap_servers;
  if (d.bootstrap.empty()) {
    // Embedded default: librdkafka's mock cluster in this process (README: its limits).
    d.embedded = std::make_unique<kafka::embedded_kafka>(d.opts.kafka.mock_brokers);
    d.bootstrap = d.embedded->bootstrap();
    d.embedded->create_topics(config::topics_with_dead_letters(d.opts.kafka),
                              d.opts.kafka.partitions);
    spdlog::info("embedded Kafka (mock, {} brokers, {} partitions per topic) at {}",
                 d.opts.kafka.mock_brokers, d.opts.kafka.partitions, d.bootstrap);
  }
  actors::register_types(d.cfg);
  for (const auto& e : extensions)
    e.register_types(d.cfg);
  runtime::configure(d.cfg, d.opts.runtime);
  runtime::configure_cluster(d.cfg, d.opts.cluster);
  d.system = std::make_unique<caf::actor_system>(d.cfg);
  const auto& pg = d.opts.postgres;
  if (pg.url.empty()) {
    auto none = std::make_shared<unconfigured_storage>();
    d.grain_store = none;
    d.reminder_store = none;
    d.history = std::make_unique<runtime::event_history>(none);
  } else {
    persistence::pg_settings settings{pg.url, pg.schema, pg.connect_timeout_ms,
                                      std::max(d.opts.http.request_timeout_ms, 1000)};
    d.relay = std::make_unique<kafka::outbox_relay>(settings, d.bootstrap, d.opts.kafka);
    // The embedded Kafka starts empty: what the last run published and nobody consumed yet
    // (a saga's next step, a commit of stock) would be lost. Published again; consumers
    // remember the event ids they handled (idempotency keys, kept 24 h).
    if (d.embedded)
      d.relay->republish_on_lead(std::chrono::hours{24});
    persistence::pg_storage::options so;
    so.writes.writers = pg.writers;
    so.writes.batch_max_rows = pg.batch_max_rows;
    so.writes.linger = std::chrono::milliseconds{pg.batch_linger_ms};
    // Commits with events wake the relay. Safe at shutdown: stop() stops pg_storage, joining
    // the writer threads that call this, before it stops and destroys the relay.
    so.writes.on_events_committed = [relay = d.relay.get()] { relay->notify(); };
    // ... and the relay of whichever node leads, through PostgreSQL (commit_listener.hpp).
    so.writes.notify_channel = persistence::commit_channel(pg.schema);
    so.writes.notify_wanted = [relay = d.relay.get()] { return !relay->leading(); };
    so.writes.on_batch = d.metrics.persister_batches();
    d.relay->on_published(d.metrics.publish_delays());
    // Grain writes commit only while this node holds its cluster membership.
    d.lease = std::make_shared<persistence::node_lease>();
    d.relay->listen_for_commits(so.writes.notify_channel,
                                [lease = d.lease] { return lease->get().first; });
    so.writes.lease = d.lease;
    d.pg_settings = settings;
    d.pg = std::make_shared<persistence::pg_storage>(settings, so);
    d.grain_store = d.pg;
    d.reminder_store = d.pg;
    d.history = std::make_unique<runtime::event_history>(d.pg);
    d.projector = std::make_unique<kafka::projector>(settings, d.bootstrap, d.opts.kafka);
    d.read_models = std::make_unique<persistence::pg_read_models>(
        settings, persistence::pg_read_models::options{2, 1000});
  }
  d.host =
      std::make_unique<runtime::host>(*d.system, d.clock, d.opts.runtime,
                                      std::chrono::milliseconds{d.opts.http.request_timeout_ms});
  if (d.pg) {
    // The node id needs the bound HTTP port, so the cluster joins in start(); until then
    // grains are placed nowhere and calls wait (grain_stub.hpp).
    d.cluster = std::make_shared<runtime::cluster>(*d.system, d.host->grains_ptr(), d.pg_settings,
                                                   d.lease, d.opts.cluster);
    d.host->grains().set_placement(d.cluster);
  }
  auto* self = this;
  d.grain_admin = std::make_unique<runtime::grain_admin>(*d.system, d.host->grains_ptr(), [self] {
    auto& me = *self->impl_;
    return me.cluster ? me.cluster->node_id() : node_name(me.opts, me.http->port());
  });
  if (d.cluster)
    d.cluster->set_admin(d.grain_admin->local());
  if (d.pg)
    d.kafka_admin = std::make_unique<kafka::kafka_admin>(d.bootstrap, d.opts.kafka);
  runtime::grain_services services;
  services.storage = d.grain_store;
  services.call_timeout = std::chrono::milliseconds{d.opts.runtime.call_timeout_ms};
  services.source = "bazaar/" + node_name(d.opts);
  actors::register_grains(d.host->grains(), d.opts, services);
  for (const auto& e : extensions)
    e.register_grains(d.host->grains(), services);
  if (!routes.empty()) {
    if (d.pg)
      d.bridge = std::make_unique<kafka::bridge>(
          d.host->client(), d.bootstrap, bridge_kafka_options(d.opts, d.embedded != nullptr),
          std::move(routes));
    if (d.bridge) {
      d.bridge->on_handled(d.metrics.bridge_timings());
      // The embedded Kafka is this node's alone: no consumer group to wait for.
      if (d.embedded)
        d.bridge->take_every_partition(d.opts.kafka.partitions);
    } else {
      spdlog::warn("kafka.routes are configured but postgres.url is not: the Kafka bridge "
                   "does not run (grains could not handle records durably)");
    }
  }
  runtime::reminder_service::options ro;
  ro.poll_interval = std::chrono::milliseconds{pg.reminder_poll_ms};
  d.reminders = std::make_unique<runtime::reminder_service>(d.reminder_store, d.host->client(), ro);
  gateway::route_context routes_ctx;
  routes_ctx.grains = &d.host->client();
  routes_ctx.history = d.history.get();
  routes_ctx.read_models = d.read_models.get();
  for (const auto& e : extensions)
    if (e.add_routes)
      routes_ctx.more_routes.push_back(e.add_routes);
  admin_parts admin;
  admin.grains = d.grain_admin.get();
  admin.kafka = d.kafka_admin.get();
  admin.sagas = d.read_models.get();
  admin.groups = [self] {
    auto& me = *self->impl_;
    std::vector<admin_parts::consumer_group> groups;
    std::vector<std::string> routed;
    for (const auto& r : config::topic_routes(me.opts.kafka))
      if (!r.grain_type.empty())
        routed.push_back(r.topic);
    if (me.bridge)
      groups.push_back({me.opts.kafka.group_id, "bridge", routed});
    if (me.projector)
      for (const auto& s : me.projector->status())
        groups.push_back({s.group_id, "projection " + s.name, s.topics});
    return groups;
  };
  admin.kafka_local = [self] {
    auto& me = *self->impl_;
    boost::json::array topics;
    for (const auto& t : config::topics_with_dead_letters(me.opts.kafka))
      topics.emplace_back(t);
    boost::json::object relay{{"running", me.relay != nullptr}};
    if (me.relay) {
      relay["leading"] = me.relay->leading();
      relay["published"] = me.relay->published();
      relay["outbox_backlog"] = me.relay->backlog();
    }
    boost::json::object bridge{{"running", me.bridge != nullptr && me.bridge->running()},
                               {"group_id", me.opts.kafka.group_id},
                               {"assignment", me.bridge != nullptr && me.bridge->sole_consumer()
                                                  ? "every_partition"
                                                  : "consumer_group"}};
    boost::json::array routes;
    for (const auto& r : config::topic_routes(me.opts.kafka)) {
      boost::json::array events;
      for (const auto& e : r.events)
        events.emplace_back(e);
      routes.push_back(boost::json::object{{"topic", r.topic},
                                           {"events", std::move(events)},
                                           {"grain_type", r.grain_type},
                                           {"key_field", r.key_field.empty()
                                                             ? boost::json::value(nullptr)
                                                             : boost::json::value(r.key_field)}});
    }
    bridge["routes"] = std::move(routes);
    if (me.bridge) {
      const auto& s = me.bridge->stats();
      bridge["consumed"] = s.consumed.load();
      bridge["handled"] = s.handled.load();
      bridge["retried"] = s.retried.load();
      bridge["dead_lettered"] = s.dead_lettered.load();
      bridge["committed"] = s.committed.load();
      bridge["in_flight"] = s.in_flight.load();
      bridge["pauses"] = s.pauses.load();
      boost::json::array partitions;
      for (const auto& p : me.bridge->partitions())
        partitions.push_back(boost::json::object{
            {"topic", p.topic},
            {"partition", p.partition},
            {"committed", p.committed},
            {"high_watermark", p.high_watermark},
            {"lag", p.lag < 0 ? boost::json::value(nullptr) : boost::json::value(p.lag)}});
      bridge["partitions"] = std::move(partitions);
    }
    return boost::json::value{{"bootstrap_servers", me.bootstrap},
                              {"embedded", me.embedded != nullptr},
                              {"partitions", me.opts.kafka.partitions},
                              {"topics", std::move(topics)},
                              {"relay", std::move(relay)},
                              {"bridge", std::move(bridge)},
                              {"projections", projections_json(me.projector.get())}};
  };
  if (d.cluster)
    admin.cluster = [self] {
      auto& c = *self->impl_->cluster;
      auto view = c.view();
      boost::json::array nodes;
      for (const auto& m : c.members())
        nodes.push_back(boost::json::object{
            {"id", m.member.id},
            {"address", m.member.host + ":" + std::to_string(m.member.cluster_port)},
            {"http_port", m.member.http_port},
            {"status", m.status},
            {"incarnation", m.member.incarnation},
            {"started_at", core::format_rfc3339(m.started_at_ms)},
            {"last_heartbeat", core::format_rfc3339(m.heartbeat_at_ms)},
            {"heartbeat_age_ms", m.heartbeat_age_ms},
            {"activations", m.activations},
            {"in_view", view->find(m.member.id) != nullptr},
            {"linked", m.connected}});
      return boost::json::value{{"node_id", c.node_id()},
                                {"joined", c.joined()},
                                {"view_epoch", view->epoch()},
                                {"alive", view->members().size()},
                                {"nodes", std::move(nodes)}};
    };
  d.metrics.watch({&d.host->grains(), &d.host->client(), d.pg ? &d.pg->write_stats() : nullptr,
                   d.bridge.get(), d.relay.get(), d.projector.get(), d.cluster.get()});
  routes_ctx.metrics = [self] { return self->impl_->metrics.scrape(); };
  routes_ctx.admin = admin_hooks_for(std::move(admin));
  routes_ctx.ready = [self] {
    std::string why;
    bool storage_ok = self->impl_->grain_store->ready(why);
    std::vector<gateway::readiness_check> checks{
        {"runtime", true, std::to_string(self->impl_->host->grains().size()) + " active grains"},
        {"storage", storage_ok, storage_ok ? "PostgreSQL reachable" : why},
    };
    if (const auto& c = self->impl_->cluster) {
      auto v = c->view();
      bool in = c->member();
      checks.push_back(
          {"cluster", in,
           in ? "node " + c->node_id() + ", " + std::to_string(v->members().size()) + " nodes alive"
              : "node " + c->node_id() + " is not a member of the cluster now"});
    }
    return checks;
  };
  d.http = std::make_unique<gateway::http_server>(d.opts.http, d.opts.auth,
                                                  gateway::make_routes(std::move(routes_ctx)),
                                                  d.clock, &d.metrics.http());
}

node::~node() {
  stop();
}

void node::start() {
  auto& d = *impl_;
  if (d.pg &&
      !d.pg->wait_ready(std::chrono::milliseconds{d.opts.postgres.connect_timeout_ms + 1000})) {
    std::string why;
    d.pg->ready(why);
    spdlog::error("starting without storage: {}; the node is not ready until it is", why);
  }
  d.host->start();
  d.reminders->start();
  if (d.relay)
    d.relay->start();
  if (d.bridge)
    d.bridge->start(); // after the grains are registered and the host runs
  if (d.read_models)
    d.read_models->start();
  if (d.projector)
    d.projector->start();
  d.http->start();
  runtime::set_log_node(node_name(d.opts, d.http->port()));
  if (d.cluster) {
    auto id = node_name(d.opts, d.http->port());
    if (!d.cluster->start(id, d.http->port(),
                          std::chrono::milliseconds{d.opts.postgres.connect_timeout_ms + 2000}))
      spdlog::error("cluster: node {} could not join yet (membership table unreachable); it "
                    "keeps trying and serves once it joined",
                    id);
  }
  d.started = true;
  spdlog::info("node serving HTTP on {}:{} with {} CAF worker threads", d.opts.http.host,
               d.http->port(), runtime::effective_threads(d.opts.runtime));
}

bool node::ready(std::string& why) const {
  if (!impl_->grain_store->ready(why))
    return false;
  if (impl_->cluster && impl_->started && !impl_->cluster->member()) {
    why = "node " + impl_->cluster->node_id() + " is not a member of the cluster now";
    return false;
  }
  return true;
}

void node::stop() {
  auto& d = *impl_;
  if (d.stopped)
    return;
  d.stopped = true;
  // Each stage's time goes into the last line, so that a slow shutdown says where it waited.
  std::string stages;
  auto t = std::chrono::steady_clock::now();
  auto took = [&](const char* stage) {
    auto now = std::chrono::steady_clock::now();
    stages += fmt::format("{}{} {} ms", stages.empty() ? "" : ", ", stage,
                          std::chrono::duration_cast<std::chrono::milliseconds>(now - t).count());
    t = now;
  };
  if (d.started) {
    spdlog::info("node stopping: draining {} requests in flight", d.http->inflight());
    d.http->drain(std::chrono::milliseconds{d.opts.http.request_timeout_ms});
    took("drain");
  }
  // The bridge commits what grains handled and leaves its group while the grains still run;
  // the projector commits what it applied and leaves its groups. Each close can wait for a
  // group's rebalance (about kafka.session_timeout_ms on the embedded Kafka), so the two
  // leave at once rather than one after the other.
  std::thread projector_leaves;
  if (d.projector)
    projector_leaves = std::thread([&d] { d.projector->stop(); });
  if (d.bridge)
    d.bridge->stop();
  if (projector_leaves.joinable())
    projector_leaves.join();
  took("consumers");
  d.reminders->stop();
  // Grains answer their last writes and quit while storage still runs; meanwhile the router
  // tells other nodes' calls to go elsewhere, and once the grains are persisted the node
  // leaves the cluster and the others take them over at once.
  d.host->stop(std::chrono::milliseconds{2000});
  took("grains");
  if (d.cluster)
    d.cluster->stop();
  took("cluster");
  d.http->stop();
  took("http");
  d.kafka_admin.reset(); // answers what still waits
  if (d.read_models)
    d.read_models->stop();
  if (d.pg)
    d.pg->stop();
  took("storage");
  if (d.relay)
    d.relay->stop(); // publishes what the last commits added, then stops
  took("relay");
  d.relay.reset();
  d.bridge.reset();
  d.projector.reset();
  d.read_models.reset();
  d.http.reset();
  d.reminders.reset();
  d.cluster.reset();
  d.grain_admin.reset();
  d.host.reset();
  d.system.reset();
  d.embedded.reset();
  took("the rest");
  if (d.started)
    spdlog::info("node stopped ({})", stages);
}

std::uint16_t node::http_port() const {
  return impl_->http->port();
}

const config::node_options& node::options() const {
  return impl_->opts;
}

runtime::host& node::grains() {
  return *impl_->host;
}

caf::actor_system& node::system() {
  return *impl_->system;
}

} // namespace bazaar
