#pragma once

/// The per-node catalog: which grains are active here, and the one place that activates them.
/// Callers resolve a grain id to a live actor through it (get or activate); grains leave it
/// when they deactivate or terminate. Thread-safe: the gateway's I/O threads and actors call
/// it concurrently; it is sharded so that lookups rarely contend. The idle collector
/// (idle_collector.hpp) sweeps it.

#include "bazaar/runtime/activation_directory.hpp"
#include "bazaar/runtime/clock.hpp"
#include "bazaar/runtime/grain_id.hpp"
#include "bazaar/runtime/placement.hpp"

#include <caf/actor.hpp>
#include <caf/actor_system.hpp>
#include <caf/expected.hpp>

#include <algorithm>
#include <array>
#include <atomic>
#include <chrono>
#include <climits>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

namespace bazaar::runtime {

class catalog;
struct type_counters;

/// One live activation of a grain on this node.
class activation {
 public:
  activation(grain_id id, clock::steady_time activated_at, std::int64_t activated_wall_ms)
      : id_(std::move(id)), activated_at_(activated_at), activated_wall_ms_(activated_wall_ms) {}

  const grain_id& id() const { return id_; }
  clock::steady_time activated_at() const { return activated_at_; }
  std::int64_t activated_wall_ms() const { return activated_wall_ms_; }

  /// How many times callers resolved this grain or it handled a message; the idle collector
  /// watches it to find idleness.
  std::uint64_t touches() const { return touches_.load(std::memory_order_acquire); }

  /// Counts a use (a caller resolved the grain, or it handled a message of its interface).
  /// Only the first use since the idle collector last looked changes the count: all the
  /// collector needs to know is whether there was one, and a plain read is cheaper than
  /// writing a counter that other threads read.
  void touch() {
    if (touches_.load(std::memory_order_relaxed) == seen_touches_.load(std::memory_order_relaxed))
      touches_.fetch_add(1, std::memory_order_acq_rel);
  }

  /// Whether a (deactivate_atom, touches) request still holds: it was forced, or nobody
  /// resolved the grain since the collector looked.
  bool idle_since(std::uint64_t observed_touches) const;

  /// The grain awaits the answer to the request with this response id until `deadline`
  /// (a grain awaits at most one call at a time); the sweep of the idle collector answers it
  /// with a timeout error once the deadline passed (grain_call.hpp).
  void call_started(std::uint64_t response_id, clock::steady_time deadline) {
    call_deadline_ns_.store(deadline.time_since_epoch().count(), std::memory_order_relaxed);
    call_id_.store(response_id, std::memory_order_release);
  }
  void call_ended() { call_id_.store(0, std::memory_order_release); }

  /// The response id of the awaited call if its deadline passed at `now` (0 otherwise); the
  /// caller of this owns the timeout of that call.
  std::uint64_t take_overdue_call(clock::steady_time now);

  /// The state version the grain last reported (for inspection).
  std::uint64_t version() const { return version_.load(std::memory_order_relaxed); }
  void set_version(std::uint64_t v) { version_.store(v, std::memory_order_relaxed); }

  /// How many observers the grain has (observer_list.hpp; for inspection).
  std::size_t observers() const { return observers_.load(std::memory_order_relaxed); }
  void set_observers(std::size_t n) { observers_.store(n, std::memory_order_relaxed); }

  /// The actor of this activation.
  const caf::actor& handle() const { return handle_; }

  /// A remote stub (grain_stub.hpp): the grain lives on another node, this forwards to it.
  bool remote() const { return remote_; }

  /// Since when the idle collector has seen this activation untouched.
  clock::steady_time idle_since() const { return idle_since_; }

  /// The grain notes how many messages wait in its mailbox (read by the grain itself while it
  /// handles one: CAF's mailbox is not safe to read from another thread); written only when it
  /// changed. For metrics: what the grain last saw, which is 0 once it handled the last one.
  void note_mailbox(std::size_t waiting) {
    auto n = static_cast<std::uint32_t>(std::min<std::size_t>(waiting, UINT32_MAX));
    if (mailbox_.load(std::memory_order_relaxed) != n)
      mailbox_.store(n, std::memory_order_relaxed);
  }
  std::uint32_t mailbox() const { return mailbox_.load(std::memory_order_relaxed); }

 private:
  friend class catalog;
  friend class idle_collector;

  // What a resolve reads, together at the front: the actor, the touch counts, the type.
  caf::actor handle_;
  std::atomic<std::uint64_t> touches_{0};
  // Collector bookkeeping, written under the shard's mutex (seen_touches_ is also read by
  // touch() without it).
  std::atomic<std::uint64_t> seen_touches_{0};
  grain_id id_;
  clock::steady_time activated_at_;
  std::int64_t activated_wall_ms_;
  std::atomic<std::uint64_t> version_{0};
  std::atomic<std::size_t> observers_{0};
  std::atomic<std::uint32_t> mailbox_{0};
  /// The counters of this activation's type (null for remote stubs).
  type_counters* counters_ = nullptr;
  std::atomic<std::uint64_t> call_id_{0};
  std::atomic<clock::steady_time::rep> call_deadline_ns_{0};
  clock::steady_time idle_since_;
  bool deactivation_requested_ = false;
  bool remote_ = false;
};

using activation_ptr = std::shared_ptr<activation>;

/// A grain type's activations since start, for metrics; a scrape reads them.
struct type_counters {
  std::atomic<std::uint64_t> active{0};
  std::atomic<std::uint64_t> activations{0};
  std::atomic<std::uint64_t> deactivations{0};
};

/// One grain type as metrics show it.
struct type_stats {
  std::string type;
  std::uint64_t active = 0;
  std::uint64_t activations = 0;
  std::uint64_t deactivations = 0;
  /// Messages waiting in the mailboxes of its activations, as each grain last saw its own
  /// (activation::note_mailbox): their sum, and the largest.
  std::uint64_t mailbox_total = 0;
  std::uint64_t mailbox_max = 0;
};

/// What a grain factory gets to build an activation.
struct grain_context {
  grain_id id;
  activation_ptr record;
  std::shared_ptr<catalog> host;
};

/// Spawns the actor of one activation; the actor must load its state before it handles
/// commands and must answer (deactivate_atom, touches) as grain_shell.hpp describes.
using grain_factory = std::function<caf::actor(caf::actor_system&, const grain_context&)>;

/// A row of the catalog, for inspection.
struct activation_info {
  grain_id id;
  std::int64_t idle_ms = 0;
  std::int64_t activated_wall_ms = 0;
  std::uint64_t version = 0;
  std::size_t observers = 0;
};

class catalog : public std::enable_shared_from_this<catalog> {
 public:
  catalog(caf::actor_system& sys, const clock& clk);

  catalog(const catalog&) = delete;
  catalog& operator=(const catalog&) = delete;

  /// Makes a grain type activatable; `idle_timeout` is how long an untouched activation stays.
  /// `stub` spawns the remote stub of a grain of the type that lives on another node
  /// (grain_stub.hpp); a type without one is always activated here.
  void register_type(std::string type, grain_factory factory,
                     std::chrono::milliseconds idle_timeout, grain_factory stub = {});

  /// Whether `type` was registered (every node of a cluster registers the same types).
  bool knows_type(const std::string& type) const { return types_.count(type) != 0; }

  /// Places grains across a cluster: from now on a grain that is not active here and that
  /// `placement` says lives elsewhere resolves to a remote stub. Set before serving.
  void set_placement(std::shared_ptr<const grain_placement> placement);
  const grain_placement* placement() const { return placement_.get(); }

  /// The actor to send a grain's messages to: its activation here (activated if needed), or
  /// the remote stub that forwards to the node that owns it. Errors: unknown grain type
  /// (not_found), catalog closed for shutdown (unavailable).
  caf::expected<caf::actor> resolve(const grain_id& id);

  /// The grain's activation on this node, activated if needed regardless of placement (a
  /// remote stub of it is dropped): what a router serves for its node. Errors as resolve;
  /// closed for shutdown is not_owner_error() (placement.hpp), so that callers go elsewhere.
  caf::expected<caf::actor> resolve_here(const grain_id& id);

  /// After the cluster's view changed: asks every grain active here that placement now puts
  /// elsewhere to persist and deactivate, and every remote stub to leave (callers resolve
  /// again). Returns how many grains were asked to move.
  std::size_t rebalance();

  /// Asks every grain active here (and every remote stub) to deactivate at once, and stays
  /// open: the node lost its membership (its writes are refused meanwhile). Returns how many.
  std::size_t drop_all();

  /// Forgets an activation if it is still the registered one (by actor address).
  void remove(const grain_id& id, const caf::actor_addr& who);

  /// Calls `visit(activation, idle timeout of its type)` for every activation, holding the
  /// lock of the activation's shard (the idle collector's sweep).
  void visit(const std::function<void(activation&, std::chrono::milliseconds)>& visit);

  /// Asks one grain to deactivate regardless of idleness; false if it is not active here.
  bool deactivate(const grain_id& id);

  /// The actor of the grain's activation on this node, or an invalid handle when it is not
  /// active here (a remote stub is not an activation).
  caf::actor find_local(const grain_id& id) const;

  /// The catalog's row of the grain's activation on this node, if it is active here.
  std::optional<activation_info> info(const grain_id& id) const;

  /// Refuses new activations and asks every active grain to deactivate.
  void close();

  /// After close(): waits up to `timeout` until every grain has left; true when all did.
  bool wait_until_empty(std::chrono::milliseconds timeout);

  /// Grains active on this node (remote stubs not counted).
  std::size_t size() const;

  /// Remote stubs held now.
  std::size_t stubs() const { return stubs_.load(std::memory_order_acquire); }

  /// Active grains, optionally of one type, at most `limit`.
  std::vector<activation_info> list(const std::string& type, std::size_t limit) const;

  /// Activations made since start, for metrics and tests.
  std::uint64_t activations_total() const { return activations_total_.load(); }

  /// Every registered type with its counters and its activations' mailboxes, sorted by type.
  /// Visits every activation (under each shard's lock in turn): for scrapes, not hot paths.
  std::vector<type_stats> types() const;

  const clock& time() const { return clock_; }
  caf::actor_system& system() const { return system_; }

 private:
  struct grain_type {
    grain_factory factory;
    std::chrono::milliseconds idle_timeout;
    grain_factory stub;
    std::shared_ptr<type_counters> counters = std::make_shared<type_counters>();
  };
  struct shard {
    mutable std::mutex mtx;
    activation_directory active;
  };
  /// A power of two: the low bits of an id's hash pick its shard, the rest its slot.
  static constexpr std::size_t shard_count = 64;

  shard& shard_of(std::size_t hash) { return shards_[hash & (shard_count - 1)]; }

  /// Spawns and registers an activation (or a remote stub) of `id`; `s` is locked by the
  /// caller and holds no activation of `id`.
  caf::actor spawn_locked(shard& s, std::size_t hash, const grain_id& id, const grain_type& type,
                          bool remote);

  caf::actor_system& system_;
  const clock& clock_;
  // Written only before the node serves (register_type), read concurrently after.
  std::unordered_map<std::string, grain_type> types_;
  std::array<shard, shard_count> shards_;
  std::atomic<bool> closed_{false};
  std::atomic<std::uint64_t> activations_total_{0};
  std::atomic<std::size_t> active_{0};
  std::atomic<std::size_t> stubs_{0};
  std::shared_ptr<const grain_placement> placement_;
  std::mutex empty_mtx_;
  std::condition_variable empty_cv_;
};

} // namespace bazaar::runtime
