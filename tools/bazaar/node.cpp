#include "bazaar/node.hpp"

#include "bazaar/actors/registry.hpp"
#include "bazaar/gateway/http_server.hpp"
#include "bazaar/gateway/routes.hpp"
#include "bazaar/persistence/memory_snapshot_store.hpp"
#include "bazaar/runtime/host.hpp"

#include <caf/actor_system.hpp>
#include <caf/actor_system_config.hpp>
#include <spdlog/spdlog.h>

namespace bazaar {

struct node::impl {
  config::node_options opts;
  runtime::system_clock clock;
  caf::actor_system_config cfg;
  std::unique_ptr<caf::actor_system> system;
  std::shared_ptr<persistence::snapshot_store> store;
  std::unique_ptr<runtime::host> host;
  std::unique_ptr<gateway::http_server> http;
  bool started = false;
  bool stopped = false;
};

node::node(config::node_options opts) : impl_(std::make_unique<impl>()) {
  auto& d = *impl_;
  d.opts = std::move(opts);
  actors::register_types(d.cfg);
  runtime::configure(d.cfg, d.opts.runtime);
  d.system = std::make_unique<caf::actor_system>(d.cfg);
  // Foundation stage: snapshots live in process memory (see README, "Durability").
  d.store = std::make_shared<persistence::memory_snapshot_store>();
  d.host = std::make_unique<runtime::host>(
    *d.system, d.clock, d.opts.runtime, std::chrono::milliseconds{d.opts.http.request_timeout_ms});
  actors::register_grains(
    d.host->grains(), d.opts.grains,
    actors::grain_services{d.store, std::chrono::milliseconds{d.opts.runtime.call_timeout_ms}});
  auto* host = d.host.get();
  auto routes = gateway::make_routes(d.host->client(), [host] {
    return std::vector<gateway::readiness_check>{
      {"runtime", true, std::to_string(host->grains().size()) + " active grains"},
      {"storage", true, "in-memory snapshot store"},
    };
  });
  d.http = std::make_unique<gateway::http_server>(d.opts.http, d.opts.auth, std::move(routes));
}

node::~node() { stop(); }

void node::start() {
  auto& d = *impl_;
  d.host->start();
  d.http->start();
  d.started = true;
  spdlog::info("node serving HTTP on {}:{} with {} CAF worker threads", d.opts.http.host,
               d.http->port(), runtime::effective_threads(d.opts.runtime));
}

void node::stop() {
  auto& d = *impl_;
  if (d.stopped)
    return;
  d.stopped = true;
  if (d.started) {
    spdlog::info("node stopping: draining {} requests in flight", d.http->inflight());
    d.http->drain(std::chrono::milliseconds{d.opts.http.request_timeout_ms});
  }
  d.host->stop(std::chrono::milliseconds{2000});
  d.http->stop();
  d.http.reset();
  d.host.reset();
  d.system.reset();
  if (d.started)
    spdlog::info("node stopped");
}

std::uint16_t node::http_port() const { return impl_->http->port(); }

const config::node_options& node::options() const { return impl_->opts; }

runtime::host& node::grains() { return *impl_->host; }

caf::actor_system& node::system() { return *impl_->system; }

} // namespace bazaar
