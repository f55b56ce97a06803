#include "bazaar/runtime/cluster.hpp"

#include "bazaar/runtime/atoms.hpp"
#include "bazaar/runtime/grain_router.hpp"

#include <caf/event_based_actor.hpp>
#include <caf/io/middleman.hpp>
#include <caf/io/middleman_actor.hpp>
#include <caf/openssl/manager.hpp>
#include <caf/openssl/publish.hpp>
#include <caf/send.hpp>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <set>
#include <stdexcept>

namespace bazaar::runtime {

namespace {

/// Asks the link actor to link a peer's router: (link_atom, node id, host, port).
using link_atom = caf::atom_constant<caf::atom("link")>;
/// Tells the link actor of a router a peer introduced: (intro_atom, node id, router).
using intro_atom = caf::atom_constant<caf::atom("intro")>;

bool tls_enabled(const config::cluster_options& opts) {
  return !opts.tls_certificate.empty();
}

std::string names(const std::vector<std::string>& ids) {
  std::string out;
  for (const auto& id : ids)
    out += (out.empty() ? "" : ", ") + id;
  return out.empty() ? "-" : out;
}

struct linker_state {
  std::set<std::string> linking;
  /// Peers that could not be linked: when to try again, and the pause after the next failure
  /// (doubling up to 5 s; a failed TLS handshake is not free for the links that work).
  std::map<std::string, std::pair<std::chrono::steady_clock::time_point, std::chrono::milliseconds>>
      backoff;
  std::map<caf::actor_addr, std::string> linked;
  static inline const char* name = "cluster_linker";
};

/// Connects to peers' routers without blocking anyone: a connect through the middleman (or
/// caf-openssl's manager) with a timeout; monitors each linked router and reports it lost.
caf::behavior cluster_linker(caf::stateful_actor<linker_state>* self, caf::io::middleman_actor mm,
                             std::weak_ptr<cluster> owner, std::chrono::milliseconds timeout,
                             std::string self_id, caf::actor self_router) {
  self->set_down_handler([self, owner](caf::down_msg& dm) {
    auto i = self->state.linked.find(dm.source);
    if (i == self->state.linked.end())
      return;
    auto node = i->second;
    self->state.linked.erase(i);
    if (auto c = owner.lock())
      c->unlinked(node, dm.source);
  });
  auto keep = [self, owner](const std::string& node, const caf::actor& router) {
    auto c = owner.lock();
    if (!router || !c)
      return;
    if (self->state.linked.emplace(router.address(), node).second)
      self->monitor(router);
    c->linked(node, router);
  };
  return {
      [keep](intro_atom, const std::string& node, const caf::actor& router) { keep(node, router); },
      [self, mm, owner, timeout, keep, self_id, self_router](
          link_atom, const std::string& node, const std::string& host, std::uint16_t port) {
        auto b = self->state.backoff.find(node);
        if (b != self->state.backoff.end() && std::chrono::steady_clock::now() < b->second.first)
          return; // failed a moment ago
        if (!self->state.linking.insert(node).second)
          return; // a connect is under way
        self->request(mm, timeout, caf::connect_atom::value, host, port)
            .then(
                [self, node, keep, self_id, self_router](
                    const caf::node_id&, caf::strong_actor_ptr& ptr, const std::set<std::string>&) {
                  self->state.linking.erase(node);
                  self->state.backoff.erase(node);
                  auto router = caf::actor_cast<caf::actor>(ptr);
                  keep(node, router);
                  if (router) // over the same connection, the peer learns this node's router
                    caf::anon_send(router, hello_atom::value, self_id, self_router);
                },
                [self, node, host, port](caf::error& e) {
                  self->state.linking.erase(node);
                  auto& [when, pause] = self->state.backoff[node];
                  pause = std::min(std::chrono::milliseconds{5000},
                                   std::max(std::chrono::milliseconds{200}, pause * 2));
                  when = std::chrono::steady_clock::now() + pause;
                  spdlog::debug("cluster: cannot link node {} at {}:{}: {}", node, host, port,
                                caf::to_string(e));
                });
      },
  };
}

} // namespace

void configure_cluster(caf::actor_system_config& cfg, const config::cluster_options& opts) {
  cfg.load<caf::io::middleman>();
  if (tls_enabled(opts)) {
    cfg.load<caf::openssl::manager>();
    cfg.openssl_certificate = opts.tls_certificate;
    cfg.openssl_key = opts.tls_key;
    cfg.openssl_cafile = opts.tls_ca_file;
    cfg.openssl_passphrase = opts.tls_passphrase;
  }
  cfg.add_message_type<grain_id>("bazaar.grain_id");
}

cluster::cluster(caf::actor_system& sys, std::shared_ptr<catalog> grains,
                 std::unique_ptr<persistence::membership_store> membership,
                 std::shared_ptr<persistence::node_lease> lease, config::cluster_options opts)
    : system_(sys), grains_(std::move(grains)), lease_(std::move(lease)), opts_(std::move(opts)),
      membership_(std::move(membership)) {
  views_.push_back(std::make_shared<const cluster_view>());
  view_.store(views_.back().get(), std::memory_order_release);
}

cluster::~cluster() {
  stop();
}

bool cluster::start(std::string node_id, int http_port, std::chrono::milliseconds timeout) {
  node_id_ = std::move(node_id);
  http_port_ = http_port;
  std::weak_ptr<cluster> weak = shared_from_this();
  router_ = system_.spawn(
      grain_router, grains_.lock(), admin_,
      [weak] {
        if (auto c = weak.lock())
          c->refresh_soon();
      },
      [weak](const std::string& node, const caf::actor& router) {
        if (auto c = weak.lock())
          c->introduced(node, router);
      });
  auto mm = tls_enabled(opts_) ? system_.openssl_manager().actor_handle()
                               : system_.middleman().actor_handle();
  linker_ = system_.spawn(cluster_linker, mm, weak,
                          std::chrono::milliseconds{std::max(500, opts_.failure_timeout_ms)},
                          node_id_, router_);
  auto bound = tls_enabled(opts_)
                   ? caf::openssl::publish(router_, opts_.port, opts_.bind.c_str(), true)
                   : system_.middleman().publish(router_, opts_.port, opts_.bind.c_str(), true);
  if (!bound) {
    stop();
    throw std::runtime_error("cluster: cannot listen on " + opts_.bind + ":" +
                             std::to_string(opts_.port) + ": " + caf::to_string(bound.error()));
  }
  port_ = *bound;
  spdlog::info("cluster: node {} listens for peers on {}:{}{}", node_id_, opts_.bind, port_,
               tls_enabled(opts_) ? " (TLS)" : "");
  thread_ = std::thread([this] { run(); });
  std::unique_lock<std::mutex> lock{joined_mtx_};
  return joined_cv_.wait_for(lock, timeout, [this] { return member(); });
}

bool cluster::member() const {
  return joined_.load() && view_.load(std::memory_order_acquire)->find(node_id_) != nullptr;
}

void cluster::run() {
  for (;;) {
    step();
    std::unique_lock<std::mutex> lock{mtx_};
    cv_.wait_for(lock, std::chrono::milliseconds{opts_.heartbeat_ms},
                 [this] { return stopping_ || poked_; });
    if (stopping_)
      return;
    poked_ = false;
  }
}

bool cluster::rejoin() {
  incarnation_ = membership_->join(node_id_, opts_.host, http_port_, port_);
  lease_->hold(node_id_, incarnation_);
  joined_ = true;
  joined_at_ = std::chrono::steady_clock::now();
  spdlog::info("cluster: node {} joins (incarnation {}, cluster port {})", node_id_, incarnation_,
               port_);
  return true;
}

void cluster::step() {
  static thread_local bool failing = false;
  auto grains = grains_.lock();
  if (!grains)
    return; // the node is going away
  try {
    if (!joined_) {
      // After losing the membership, join again only once every stale activation is gone:
      // a write of theirs must never commit under the new lease.
      if (incarnation_ != 0 && grains->size() > 0) {
        grains->drop_all();
        return;
      }
      rejoin();
    } else if (!membership_->heartbeat(node_id_, incarnation_,
                                       static_cast<std::int64_t>(grains->size()))) {
      // Declared dead by the others (frozen, cut off): they serve this node's grains now and
      // its writes are refused. Drop every activation; the node joins again as a new
      // incarnation once they are gone (above).
      joined_ = false;
      auto dropped = grains->drop_all();
      spdlog::error("cluster: node {} (incarnation {}) was declared dead by the others; "
                    "dropping its {} activations, then joining again",
                    node_id_, incarnation_, dropped);
      // Goes on to read the table: the view it adopts leaves this node out, so that nothing
      // is activated here until it joined again.
    }
    auto dead =
        membership_->declare_dead(std::chrono::milliseconds{opts_.failure_timeout_ms},
                                  std::chrono::milliseconds{std::max(50, opts_.heartbeat_ms / 2)});
    if (!dead.empty())
      spdlog::warn("cluster: declared dead after {} ms without a heartbeat: {}",
                   opts_.failure_timeout_ms, names(dead));
    auto rows = membership_->members();
    std::vector<cluster_member> alive;    // own grains: the view
    std::vector<cluster_member> linkable; // alive or joining: linked
    std::vector<member_status> table;
    bool self_joining = false;
    for (auto& r : rows) {
      cluster_member m{r.node_id, r.incarnation, r.host, r.http_port, r.cluster_port};
      if (r.status == "alive")
        alive.push_back(m);
      if (r.status == "alive" || r.status == "joining")
        linkable.push_back(m);
      if (r.node_id == node_id_ && r.incarnation == incarnation_ && r.status == "joining")
        self_joining = true;
      table.push_back(member_status{std::move(m), r.status, r.started_at_ms, r.heartbeat_at_ms,
                                    r.heartbeat_age_ms, r.activations, false});
    }
    {
      std::lock_guard<std::mutex> guard{peers_mtx_};
      table_ = std::move(table);
      linkable_.clear();
      for (const auto& m : linkable)
        linkable_.insert(m.id);
    }
    adopt(alive);
    if (joined_ && self_joining) {
      // Joining: linked by the others and linked to them first, owning nothing, so that the
      // calls that come once it owns grains find their way at once. Alive once linked to every
      // live member, or after the failure timeout (a member it cannot reach stays so).
      bool all_linked = std::all_of(alive.begin(), alive.end(), [&](const cluster_member& m) {
        return m.id == node_id_ || router_of(m.id);
      });
      auto waited = std::chrono::steady_clock::now() - joined_at_;
      if ((all_linked || waited > std::chrono::milliseconds{opts_.failure_timeout_ms}) &&
          membership_->activate(node_id_, incarnation_)) {
        spdlog::info("cluster: node {} is alive (linked to {} of {} members)", node_id_,
                     std::count_if(alive.begin(), alive.end(),
                                   [&](const cluster_member& m) { return router_of(m.id); }),
                     alive.size());
        refresh_soon();
      }
    }
    // One connection per pair of nodes: the node with the lower id connects and introduces its
    // own router over it (hello); the other waits to be introduced. (Each connecting to the
    // other gives two connections per pair, which caf-openssl keeps dropping.)
    // The introduction is repeated every heartbeat: a peer that did not know this node yet when
    // it first came learns it on the next.
    for (const auto& m : linkable) {
      if (m.id <= node_id_)
        continue;
      if (auto router = router_of(m.id))
        caf::anon_send(router, hello_atom::value, node_id_, router_);
      else
        caf::anon_send(linker_, link_atom::value, m.id, m.host,
                       static_cast<std::uint16_t>(m.cluster_port));
    }
    if (failing)
      spdlog::info("cluster: membership table reachable again");
    failing = false;
  } catch (const std::exception& e) {
    if (!failing)
      spdlog::error("cluster: membership step failed: {}", e.what());
    failing = true;
  }
}

void cluster::adopt(std::vector<cluster_member> alive) {
  const auto* old = view_.load(std::memory_order_acquire);
  if (view_changes_.load() > 0 && old->members() == alive)
    return;
  std::vector<std::string> came, gone;
  for (const auto& m : alive)
    if (old->find(m.id) == nullptr || !(*old->find(m.id) == m))
      came.push_back(m.id);
  for (const auto& m : old->members())
    if (std::none_of(alive.begin(), alive.end(), [&](const auto& a) { return a.id == m.id; }))
      gone.push_back(m.id);
  auto next = std::make_shared<const cluster_view>(node_id_, alive, old->epoch() + 1);
  {
    std::lock_guard<std::mutex> guard{peers_mtx_};
    for (auto i = peers_.begin(); i != peers_.end();)
      if (next->find(i->first) == nullptr && linkable_.count(i->first) == 0)
        i = peers_.erase(i);
      else
        ++i;
    views_.push_back(next);
  }
  view_.store(next.get(), std::memory_order_release);
  epoch_.fetch_add(1, std::memory_order_acq_rel);
  auto grains = grains_.lock();
  auto moved = grains ? grains->rebalance() : 0;
  spdlog::info("cluster: view {} of node {}: {} alive; joined: {}; gone: {}; {} grains moved "
               "away",
               next->epoch(), node_id_, alive.size(), names(came), names(gone), moved);
  view_changes_.fetch_add(1);
  {
    std::lock_guard<std::mutex> guard{joined_mtx_};
    joined_cv_.notify_all();
  }
}

void cluster::refresh_soon() {
  std::lock_guard<std::mutex> guard{mtx_};
  poked_ = true;
  cv_.notify_all();
}

void cluster::leave() {
  {
    std::lock_guard<std::mutex> guard{mtx_};
    stopping_ = true;
    cv_.notify_all();
  }
  if (thread_.joinable())
    thread_.join();
  if (!joined_.exchange(false))
    return;
  try {
    membership_->leave(node_id_, incarnation_);
    spdlog::info("cluster: node {} left the cluster", node_id_);
  } catch (const std::exception& e) {
    spdlog::error("cluster: could not mark node {} left ({}); the others declare it dead "
                  "after {} ms",
                  node_id_, e.what(), opts_.failure_timeout_ms);
  }
  std::vector<caf::actor> peers;
  {
    std::lock_guard<std::mutex> guard{peers_mtx_};
    for (const auto& [id, router] : peers_)
      peers.push_back(router);
  }
  for (const auto& router : peers)
    caf::anon_send(router, view_atom::value);
}

void cluster::stop() {
  leave();
  if (router_) {
    if (port_ != 0) {
      auto mm = tls_enabled(opts_) ? system_.openssl_manager().actor_handle()
                                   : system_.middleman().actor_handle();
      caf::anon_send(mm, caf::unpublish_atom::value, router_.address(), port_);
    }
    caf::anon_send_exit(router_, caf::exit_reason::user_shutdown);
    router_ = nullptr;
  }
  if (linker_) {
    caf::anon_send_exit(linker_, caf::exit_reason::user_shutdown);
    linker_ = nullptr;
  }
  std::lock_guard<std::mutex> guard{peers_mtx_};
  peers_.clear();
  epoch_.fetch_add(1, std::memory_order_acq_rel);
}

std::string cluster::owner_elsewhere(const grain_id& id) const {
  const auto* v = view_.load(std::memory_order_acquire);
  if (v->epoch() == 0)
    return joining;
  const auto& owner = v->owner_of(id);
  return owner == node_id_ ? std::string{} : owner;
}

caf::actor cluster::router_of(const std::string& node) const {
  if (node.empty())
    return router_;
  std::lock_guard<std::mutex> guard{peers_mtx_};
  auto i = peers_.find(node);
  return i == peers_.end() ? caf::actor{} : i->second;
}

std::vector<std::string> cluster::live_nodes() const {
  std::vector<std::string> out;
  auto v = view();
  if (v)
    for (const auto& m : v->members())
      out.push_back(m.id);
  return out;
}

std::chrono::milliseconds cluster::retry_budget() const {
  return std::chrono::milliseconds{opts_.failure_timeout_ms + 2 * opts_.heartbeat_ms + 1000};
}

std::shared_ptr<const cluster_view> cluster::view() const {
  std::lock_guard<std::mutex> guard{peers_mtx_};
  return views_.back();
}

std::vector<member_status> cluster::members() const {
  std::lock_guard<std::mutex> guard{peers_mtx_};
  auto out = table_;
  for (auto& m : out)
    m.connected = m.member.id == node_id_ || peers_.count(m.member.id) > 0;
  return out;
}

void cluster::linked(const std::string& node, const caf::actor& router) {
  {
    std::lock_guard<std::mutex> guard{peers_mtx_};
    if (linkable_.count(node) == 0)
      return; // not a member (any more, or yet: it is introduced again next heartbeat)
    auto& held = peers_[node];
    if (held == router)
      return;
    held = router;
  }
  epoch_.fetch_add(1, std::memory_order_acq_rel);
  spdlog::info("cluster: node {} linked to node {}", node_id_, node);
}

void cluster::introduced(const std::string& node, const caf::actor& router) {
  if (router_of(node) == router)
    return;
  if (linker_)
    caf::anon_send(linker_, intro_atom::value, node, router);
}

void cluster::unlinked(const std::string& node, const caf::actor_addr& router) {
  std::lock_guard<std::mutex> guard{peers_mtx_};
  auto i = peers_.find(node);
  if (i != peers_.end() && i->second.address() == router) {
    peers_.erase(i);
    epoch_.fetch_add(1, std::memory_order_acq_rel);
    spdlog::warn("cluster: node {} lost its link to node {}", node_id_, node);
  }
}

} // namespace bazaar::runtime
