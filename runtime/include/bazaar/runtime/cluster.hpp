#pragma once

/// A node's part in the cluster. Nodes share one membership store (membership_store.hpp;
/// PostgreSQL's table in production), which says who is alive:
/// - joining registers the node with a new incarnation and takes the write lease on it
///   (node_lease.hpp), so that grain writes commit only while the membership holds; a joining
///   node owns nothing until it is linked to every live member (or the failure timeout
///   passed), then it turns itself alive and grains move to it;
/// - a thread heartbeats every `heartbeat`, declares dead the members whose heartbeat is
///   older than `failure_timeout`, and reads who is alive; a change makes a new view
///   (cluster_view.hpp), logged, after which the catalog moves what the view moved
///   (catalog::rebalance);
/// - a node that finds itself declared dead (it was frozen or cut off) drops every activation
///   (their writes are refused meanwhile) and joins again as a new incarnation;
/// - leave() marks the node left and tells the others, who take over at once.
///
/// Calls reach the owner over CAF's network layer: each node publishes its grain router on
/// the cluster port (TLS through caf-openssl when a certificate is configured, so that only
/// nodes holding the cluster's CA-signed certificate can talk to it), and keeps a link to
/// the router of every live peer: one connection per pair, made by the node with the lower id,
/// which introduces its own router over it (hello_atom). The cluster is the catalog's
/// placement (placement.hpp).

#include "bazaar/config/options.hpp"
#include "bazaar/persistence/membership_store.hpp"
#include "bazaar/persistence/node_lease.hpp"
#include "bazaar/runtime/catalog.hpp"
#include "bazaar/runtime/cluster_view.hpp"

#include <caf/actor.hpp>
#include <caf/actor_system.hpp>
#include <caf/actor_system_config.hpp>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <vector>

namespace bazaar::runtime {

/// Loads CAF's network layer (and caf-openssl when `opts.tls` has a certificate) and registers
/// what crosses it. Call before the actor_system is constructed.
void configure_cluster(caf::actor_system_config& cfg, const config::cluster_options& opts);

/// A member as the table shows it, for /admin/cluster.
struct member_status {
  cluster_member member;
  std::string status; ///< alive, left or dead
  std::int64_t started_at_ms = 0;
  std::int64_t heartbeat_at_ms = 0;
  std::int64_t heartbeat_age_ms = 0;
  std::int64_t activations = 0;
  bool connected = false; ///< this node holds a link to its router
};

class cluster final : public grain_placement, public std::enable_shared_from_this<cluster> {
 public:
  /// `membership` is used by the membership thread only; `lease` is the one the node's grain
  /// writes are fenced with.
  cluster(caf::actor_system& sys, std::shared_ptr<catalog> grains,
          std::unique_ptr<persistence::membership_store> membership,
          std::shared_ptr<persistence::node_lease> lease, config::cluster_options opts);
  ~cluster() override;

  cluster(const cluster&) = delete;
  cluster& operator=(const cluster&) = delete;

  /// Publishes the router on the cluster port and starts the membership thread, which joins
  /// as `node_id` (serving HTTP on `http_port`). Throws std::runtime_error when the port
  /// cannot be bound. Waits up to `timeout` until the node is an alive member (false: not yet,
  /// e.g. the database is unreachable; the thread keeps trying). Before the first view every
  /// grain is placed nowhere: calls wait in their stubs.
  bool start(std::string node_id, int http_port, std::chrono::milliseconds timeout);

  /// Graceful leave: marks the node left and tells every peer to look again. The grains must
  /// have been persisted and deactivated before (the router answers "not mine" meanwhile).
  void leave();

  /// Stops the thread and the router; idempotent.
  void stop();

  // grain_placement
  std::string owner_elsewhere(const grain_id& id) const override;
  caf::actor router_of(const std::string& node) const override;
  std::vector<std::string> live_nodes() const override;
  std::chrono::milliseconds retry_budget() const override;
  std::uint64_t epoch() const override { return epoch_.load(std::memory_order_acquire); }

  /// Wakes the membership thread to look at the table now (a peer left).
  void refresh_soon();

  const std::string& node_id() const { return node_id_; }
  std::uint16_t port() const { return port_; }
  std::shared_ptr<const cluster_view> view() const;
  /// The membership table as last read, with which peers this node is linked to.
  std::vector<member_status> members() const;
  /// True while the node holds its membership.
  bool joined() const { return joined_.load(); }
  /// True while the node holds its membership and is alive in its own view (owns grains).
  bool member() const;
  /// Views adopted since start.
  std::uint64_t view_changes() const { return view_changes_.load(); }

  /// The owner of every grain before the first view: no node, so calls wait.
  static constexpr const char* joining = "(joining)";

  /// The node's local grain admin actor (grain_admin.hpp), to which the router hands other
  /// nodes' admin requests for the grains here. Set before start().
  void set_admin(caf::actor admin) { admin_ = std::move(admin); }

  /// Called by the router when a peer introduced its router (hello_atom): the link actor
  /// monitors it.
  void introduced(const std::string& node, const caf::actor& router);

  /// Called by the link actor (cluster.cpp) when a peer's router is linked or lost.
  void linked(const std::string& node, const caf::actor& router);
  void unlinked(const std::string& node, const caf::actor_addr& router);

 private:
  void run();
  void step();
  void adopt(std::vector<cluster_member> alive);
  bool rejoin();

  caf::actor_system& system_;
  /// Weak: the catalog holds the cluster (its placement), not the other way round.
  std::weak_ptr<catalog> grains_;
  std::shared_ptr<persistence::node_lease> lease_;
  config::cluster_options opts_;
  std::string node_id_;
  int http_port_ = 0;
  std::unique_ptr<persistence::membership_store> membership_; ///< membership thread only
  std::uint16_t port_ = 0;
  caf::actor router_;
  caf::actor linker_;
  caf::actor admin_;

  /// The current view, read without a lock on every routed call; every view adopted stays
  /// alive (in views_) until the cluster is destroyed, so a reader never sees one freed.
  /// Views change only when nodes join or leave.
  std::atomic<const cluster_view*> view_{nullptr};
  std::vector<std::shared_ptr<const cluster_view>> views_; ///< under peers_mtx_
  /// Bumped by every view and every link gained or lost (grain_placement::epoch).
  std::atomic<std::uint64_t> epoch_{1};
  mutable std::mutex peers_mtx_;
  std::map<std::string, caf::actor> peers_; ///< node id -> its router
  std::vector<member_status> table_;        ///< under peers_mtx_
  std::set<std::string> linkable_;          ///< joining or alive members; under peers_mtx_

  std::atomic<bool> joined_{false};
  std::int64_t incarnation_ = 0; ///< membership thread only (and leave() after stop)
  std::chrono::steady_clock::time_point joined_at_; ///< membership thread only
  std::atomic<std::uint64_t> view_changes_{0};

  std::mutex mtx_;
  std::condition_variable cv_;
  bool stopping_ = false;
  bool poked_ = false;
  std::mutex joined_mtx_;
  std::condition_variable joined_cv_;
  std::thread thread_;
};

} // namespace bazaar::runtime
