#include "bazaar/node.hpp"

#include "admin_hooks.hpp"
#include "node_config.hpp"
#include "node_kafka.hpp"
#include "node_storage.hpp"

#include "bazaar/actors/registry.hpp"
#include "bazaar/config/loader.hpp"
#include "bazaar/domain/events.hpp"
#include "bazaar/gateway/http_server.hpp"
#include "bazaar/gateway/routes.hpp"
#include "bazaar/node_metrics.hpp"
#include "bazaar/persistence/pg_membership.hpp"
#include "bazaar/runtime/cluster.hpp"
#include "bazaar/runtime/host.hpp"
#include "bazaar/runtime/logging.hpp"
#include "bazaar/runtime/reminder_service.hpp"

#include <caf/actor_system.hpp>
#include <caf/actor_system_config.hpp>
#include <spdlog/spdlog.h>

#include <functional>
#include <thread>
#include <vector>

namespace bazaar {

namespace {

/// One stage of a node: started in the order of node::impl::stages, stopped in reverse.
struct stage {
  const char* name;
  std::function<void()> start;
  std::function<void()> stop;
};

} // namespace

struct node::impl {
  config::node_options opts;
  /// GET /metrics; outlives every part that reports to it.
  node_metrics metrics;
  node_kafka kafka;
  runtime::system_clock clock;
  caf::actor_system_config cfg;
  std::unique_ptr<caf::actor_system> system;
  node_storage storage;
  std::unique_ptr<runtime::host> host;
  std::unique_ptr<runtime::reminder_service> reminders;
  /// Membership and routing between nodes, when storage is configured (a node alone is a
  /// cluster of one).
  std::shared_ptr<runtime::cluster> cluster;
  /// The Kafka bridge into grains: only when something is routed and storage is configured.
  std::unique_ptr<kafka::bridge> bridge;
  /// Operators' access to grains (every node) and to Kafka (with storage).
  std::unique_ptr<runtime::grain_admin> grain_admin;
  std::unique_ptr<kafka::kafka_admin> kafka_admin;
  std::unique_ptr<gateway::http_server> http;
  /// What start() starts, in order; stop() stops them in reverse.
  std::vector<stage> stages;
  bool started = false;
  bool stopped = false;

  void make_actor_system(const std::vector<grain_extension>& extensions);
  void make_grains(const std::vector<grain_extension>& extensions);
  void make_admin();
  void make_http(const std::vector<grain_extension>& extensions);
  void list_stages();
  std::vector<gateway::readiness_check> readiness() const;
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
  // Each stage below builds its parts; nothing runs before start() but the embedded Kafka,
  // the actor system and the storage's writers.
  auto routes = checked_bridge_routes(d.opts, extensions);
  d.kafka = make_node_kafka(d.opts);
  d.make_actor_system(extensions);
  d.storage = make_node_storage(d.opts, d.kafka.bootstrap, d.kafka.embedded != nullptr, d.metrics);
  d.make_grains(extensions);
  d.bridge = make_bridge(d.opts, d.kafka, d.storage.pg != nullptr, std::move(routes),
                         d.host->client(), d.metrics);
  d.make_admin();
  d.metrics.watch({&d.host->grains(), &d.host->client(),
                   d.storage.pg ? &d.storage.pg->write_stats() : nullptr, d.bridge.get(),
                   d.storage.relay.get(), d.storage.projector.get(), d.cluster.get()});
  d.make_http(extensions);
  d.list_stages();
}

void node::impl::make_actor_system(const std::vector<grain_extension>& extensions) {
  actors::register_types(cfg);
  for (const auto& e : extensions)
    e.register_types(cfg);
  runtime::configure(cfg, opts.runtime);
  runtime::configure_cluster(cfg, opts.cluster);
  system = std::make_unique<caf::actor_system>(cfg);
}

void node::impl::make_grains(const std::vector<grain_extension>& extensions) {
  host = std::make_unique<runtime::host>(*system, clock, opts.runtime,
                                         std::chrono::milliseconds{opts.http.request_timeout_ms});
  if (storage.pg) {
    // The node id needs the bound HTTP port, so the cluster joins in start(); until then
    // grains are placed nowhere and calls wait (grain_stub.hpp).
    cluster = std::make_shared<runtime::cluster>(
        *system, host->grains_ptr(), std::make_unique<persistence::pg_membership>(storage.settings),
        storage.lease, opts.cluster);
    host->grains().set_placement(cluster);
  }
  runtime::grain_services services;
  services.storage = storage.grain_store;
  services.call_timeout = std::chrono::milliseconds{opts.runtime.call_timeout_ms};
  services.source = "bazaar/" + node_name(opts);
  actors::register_grains(host->grains(), opts, services);
  for (const auto& e : extensions)
    e.register_grains(host->grains(), services);
  runtime::reminder_service::options ro;
  ro.poll_interval = std::chrono::milliseconds{opts.postgres.reminder_poll_ms};
  reminders =
      std::make_unique<runtime::reminder_service>(storage.reminder_store, host->client(), ro);
}

void node::impl::make_admin() {
  grain_admin = std::make_unique<runtime::grain_admin>(*system, host->grains_ptr(), [this] {
    return cluster ? cluster->node_id() : node_name(opts, http->port());
  });
  if (cluster)
    cluster->set_admin(grain_admin->local());
  if (storage.pg)
    kafka_admin = std::make_unique<kafka::kafka_admin>(kafka.bootstrap, opts.kafka);
}

void node::impl::make_http(const std::vector<grain_extension>& extensions) {
  admin_parts admin;
  admin.kafka_options = &opts.kafka;
  admin.bootstrap = kafka.bootstrap;
  admin.embedded_kafka = kafka.embedded != nullptr;
  admin.grains = grain_admin.get();
  admin.kafka = kafka_admin.get();
  admin.relay = storage.relay.get();
  admin.bridge = bridge.get();
  admin.projector = storage.projector.get();
  admin.sagas = storage.read_models.get();
  admin.cluster = cluster.get();
  gateway::route_context routes;
  routes.grains = &host->client();
  routes.history = storage.history.get();
  routes.read_models = storage.read_models.get();
  for (const auto& e : extensions)
    if (e.add_routes)
      routes.more_routes.push_back(e.add_routes);
  routes.admin = admin_hooks_for(std::move(admin));
  routes.metrics = [this] { return metrics.scrape(); };
  routes.ready = [this] { return readiness(); };
  http = std::make_unique<gateway::http_server>(
      opts.http, opts.auth, gateway::make_routes(std::move(routes)), clock, &metrics.http());
}

std::vector<gateway::readiness_check> node::impl::readiness() const {
  std::string why;
  bool storage_ok = storage.grain_store->ready(why);
  std::vector<gateway::readiness_check> checks{
      {"runtime", true, std::to_string(host->grains().size()) + " active grains"},
      {"storage", storage_ok, storage_ok ? "PostgreSQL reachable" : why},
  };
  if (cluster) {
    auto v = cluster->view();
    bool in = cluster->member();
    checks.push_back({"cluster", in,
                      in ? "node " + cluster->node_id() + ", " +
                               std::to_string(v->members().size()) + " nodes alive"
                         : "node " + cluster->node_id() + " is not a member of the cluster now"});
  }
  return checks;
}

/// The stop order is the start order reversed, after the gateway stopped taking requests
/// (it answers new ones 503 and waits for those in flight, node.hpp). So the consumers hand
/// their last records to grains that still run; grains persist while the node still holds
/// its cluster membership and storage; the node leaves the cluster once its grains are
/// persisted, so the others take them over at once; the relay publishes what the last
/// commits added after storage's writers stopped.
void node::impl::list_stages() {
  auto* s = &storage;
  stages.push_back({"relay",
                    [s] {
                      if (s->relay)
                        s->relay->start();
                    },
                    [s] {
                      if (s->relay)
                        s->relay->stop();
                    }});
  stages.push_back({"storage",
                    [this] {
                      auto timeout =
                          std::chrono::milliseconds{opts.postgres.connect_timeout_ms + 1000};
                      if (storage.pg && !storage.pg->wait_ready(timeout)) {
                        std::string why;
                        storage.pg->ready(why);
                        spdlog::error("starting without storage: {}; the node is not ready until "
                                      "it is",
                                      why);
                      }
                      if (storage.read_models)
                        storage.read_models->start();
                    },
                    [this] {
                      kafka_admin.reset(); // answers what still waits
                      if (storage.read_models)
                        storage.read_models->stop();
                      if (storage.pg)
                        storage.pg->stop();
                    }});
  // Serving before the node joined: calls wait for placement, and /health/ready says why the
  // node is not ready. The node id needs the bound port.
  stages.push_back({"http",
                    [this] {
                      http->start();
                      runtime::set_log_node(node_name(opts, http->port()));
                    },
                    [this] { http->stop(); }});
  stages.push_back({"cluster",
                    [this] {
                      if (!cluster)
                        return;
                      auto id = node_name(opts, http->port());
                      auto timeout =
                          std::chrono::milliseconds{opts.postgres.connect_timeout_ms + 2000};
                      if (!cluster->start(id, http->port(), timeout))
                        spdlog::error("cluster: node {} could not join yet (membership table "
                                      "unreachable); it keeps trying and serves once it joined",
                                      id);
                    },
                    [this] {
                      if (cluster)
                        cluster->stop();
                    }});
  stages.push_back({"grains",
                    [this] {
                      host->start();
                      reminders->start();
                    },
                    [this] {
                      reminders->stop();
                      // Grains answer their last writes and quit while storage still runs;
                      // meanwhile the router tells other nodes' calls to go elsewhere.
                      host->stop(std::chrono::milliseconds{2000});
                    }});
  stages.push_back({"consumers",
                    [this] {
                      if (bridge)
                        bridge->start();
                      if (storage.projector)
                        storage.projector->start();
                    },
                    [this] {
                      // The bridge commits what grains handled and leaves its group; the
                      // projector commits what it applied and leaves its groups. Each close can
                      // wait for a group's rebalance (about kafka.session_timeout_ms on the
                      // embedded Kafka), so the two leave at once.
                      std::thread projector_leaves;
                      if (storage.projector)
                        projector_leaves = std::thread([this] { storage.projector->stop(); });
                      if (bridge)
                        bridge->stop();
                      if (projector_leaves.joinable())
                        projector_leaves.join();
                    }});
}

node::~node() {
  stop();
}

void node::start() {
  auto& d = *impl_;
  for (auto& s : d.stages)
    s.start();
  d.started = true;
  spdlog::info("node serving HTTP on {}:{} with {} CAF worker threads", d.opts.http.host,
               d.http->port(), runtime::effective_threads(d.opts.runtime));
}

bool node::ready(std::string& why) const {
  const auto& d = *impl_;
  if (!d.storage.grain_store->ready(why))
    return false;
  if (d.cluster && d.started && !d.cluster->member()) {
    why = "node " + d.cluster->node_id() + " is not a member of the cluster now";
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
  // Every stage's stop is safe when it never started (start() may have thrown half-way).
  for (auto s = d.stages.rbegin(); s != d.stages.rend(); ++s) {
    s->stop();
    took(s->name);
  }
  // Users before what they use: the bridge, admin and HTTP call grains, grains use storage.
  // Storage's roles stay (stopped): ready() still answers.
  d.http.reset();
  d.kafka_admin.reset();
  d.grain_admin.reset();
  d.bridge.reset();
  d.storage.projector.reset();
  d.storage.read_models.reset();
  d.reminders.reset();
  d.cluster.reset();
  d.host.reset();
  d.storage.relay.reset();
  d.system.reset();
  d.kafka.embedded.reset();
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
