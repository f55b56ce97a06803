#include "bazaar/runtime/host.hpp"

#include <algorithm>
#include <thread>

namespace bazaar::runtime {

int effective_threads(const config::runtime_options& opts) {
  if (opts.max_threads > 0)
    return opts.max_threads;
  return std::max(1u, std::thread::hardware_concurrency());
}

void configure(caf::actor_system_config& cfg, const config::runtime_options& opts) {
  cfg.set("scheduler.max-threads", static_cast<std::size_t>(effective_threads(opts)));
  cfg.set("scheduler.policy",
          opts.scheduler_policy == "sharing" ? caf::atom("sharing") : caf::atom("stealing"));
  cfg.set("logger.verbosity", caf::atom("quiet"));
}

host::host(caf::actor_system& sys, const clock& clk, const config::runtime_options& opts,
           std::chrono::milliseconds request_timeout)
    : system_(sys), opts_(opts), catalog_(std::make_shared<catalog>(sys, clk)),
      collector_(catalog_) {
  grain_client::options client_opts;
  client_opts.dispatchers = opts.dispatchers > 0 ? opts.dispatchers : effective_threads(opts);
  client_opts.max_inflight = opts.max_inflight;
  client_opts.timeout = request_timeout;
  client_ = std::make_unique<grain_client>(sys, catalog_, client_opts);
}

host::~host() {
  stop(std::chrono::milliseconds{2000});
}

void host::start() {
  collector_.start(std::chrono::milliseconds{opts_.collection_interval_ms});
}

void host::stop(std::chrono::milliseconds grace) {
  if (stopped_)
    return;
  stopped_ = true;
  catalog_->close();
  catalog_->wait_until_empty(grace);
  collector_.stop();
  client_->stop();
}

} // namespace bazaar::runtime
