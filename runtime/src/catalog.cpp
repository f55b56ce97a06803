#include "bazaar/runtime/catalog.hpp"

#include "bazaar/runtime/atoms.hpp"
#include "bazaar/runtime/errors.hpp"

#include <caf/send.hpp>

#include <algorithm>
#include <unordered_map>

namespace bazaar::runtime {

bool activation::idle_since(std::uint64_t observed_touches) const {
  return observed_touches == force_deactivation || touches() == observed_touches;
}

std::uint64_t activation::take_overdue_call(clock::steady_time now) {
  auto id = call_id_.load(std::memory_order_acquire);
  if (id == 0 || now.time_since_epoch().count() < call_deadline_ns_.load(std::memory_order_relaxed))
    return 0;
  // Only if the call is still the one whose deadline was read: a call that ended and a new one
  // that started meanwhile have other ids.
  return call_id_.compare_exchange_strong(id, 0, std::memory_order_acq_rel) ? id : 0;
}

catalog::catalog(caf::actor_system& sys, const clock& clk) : system_(sys), clock_(clk) {}

void catalog::register_type(std::string type, grain_factory factory,
                            std::chrono::milliseconds idle_timeout, grain_factory stub) {
  types_[std::move(type)] = grain_type{std::move(factory), idle_timeout, std::move(stub)};
}

void catalog::set_placement(std::shared_ptr<const grain_placement> placement) {
  placement_ = std::move(placement);
}

caf::actor catalog::spawn_locked(shard& s, std::size_t hash, const grain_id& id,
                                 const grain_type& type, bool remote) {
  auto record = std::make_shared<activation>(id, clock_.now(), clock_.wall_ms());
  record->touches_ = 1;
  record->idle_since_ = record->activated_at_;
  record->remote_ = remote;
  if (!remote)
    record->counters_ = type.counters.get();
  auto handle =
      (remote ? type.stub : type.factory)(system_, grain_context{id, record, shared_from_this()});
  record->handle_ = handle;
  // Whatever ends the actor (deactivation, crash), the catalog forgets it.
  std::weak_ptr<catalog> weak = shared_from_this();
  handle->attach_functor([weak, id, addr = handle.address()] {
    if (auto self = weak.lock())
      self->remove(id, addr);
  });
  s.active.insert(hash, std::move(record));
  if (remote) {
    stubs_.fetch_add(1, std::memory_order_acq_rel);
  } else {
    active_.fetch_add(1, std::memory_order_acq_rel);
    activations_total_.fetch_add(1);
    type.counters->active.fetch_add(1, std::memory_order_relaxed);
    type.counters->activations.fetch_add(1, std::memory_order_relaxed);
  }
  return handle;
}

caf::expected<caf::actor> catalog::resolve(const grain_id& id) {
  auto hash = grain_id_hash{}(id);
  auto& s = shard_of(hash);
  {
    std::lock_guard<std::mutex> guard{s.mtx};
    if (auto* found = s.active.find(id, hash)) {
      found->touch();
      return found->handle_;
    }
  }
  auto type = types_.find(id.type);
  if (type == types_.end())
    return make_failure(core::errc::not_found, "unknown grain type " + id.type);
  // Placement is asked outside the shard's lock (it reads the cluster's view).
  bool remote = placement_ && type->second.stub && !placement_->owner_elsewhere(id).empty();
  std::lock_guard<std::mutex> guard{s.mtx};
  // Re-check: another caller may have activated it while the lock was released.
  if (auto* found = s.active.find(id, hash)) {
    found->touch();
    return found->handle_;
  }
  if (closed_.load())
    return make_failure(core::errc::unavailable, "node is shutting down");
  return spawn_locked(s, hash, id, type->second, remote);
}

caf::expected<caf::actor> catalog::resolve_here(const grain_id& id) {
  auto hash = grain_id_hash{}(id);
  auto& s = shard_of(hash);
  auto type = types_.find(id.type);
  if (type == types_.end())
    return make_failure(core::errc::not_found, "unknown grain type " + id.type);
  caf::actor stale_stub;
  caf::actor handle;
  {
    std::lock_guard<std::mutex> guard{s.mtx};
    if (auto* found = s.active.find(id, hash)) {
      if (!found->remote_) {
        found->touch();
        return found->handle_;
      }
      // A stub kept from an earlier view: this node owns the grain now.
      stale_stub = found->handle_;
      s.active.erase(hash, found);
      stubs_.fetch_sub(1, std::memory_order_acq_rel);
    }
    if (closed_.load())
      return not_owner_error();
    handle = spawn_locked(s, hash, id, type->second, false);
  }
  if (stale_stub)
    caf::anon_send(stale_stub, deactivate_atom::value, force_deactivation);
  return handle;
}

std::size_t catalog::rebalance() {
  std::vector<caf::actor> leave;
  std::size_t moved = 0;
  std::vector<std::pair<grain_id, caf::actor>> local;
  for (auto& s : shards_) {
    std::lock_guard<std::mutex> guard{s.mtx};
    s.active.for_each([&](activation& a) {
      if (a.remote_)
        leave.push_back(a.handle_);
      else
        local.emplace_back(a.id(), a.handle_);
    });
  }
  if (placement_)
    for (auto& [id, handle] : local)
      if (!placement_->owner_elsewhere(id).empty()) {
        leave.push_back(handle);
        ++moved;
      }
  for (auto& handle : leave)
    caf::anon_send(handle, deactivate_atom::value, force_deactivation);
  return moved;
}

std::size_t catalog::drop_all() {
  std::vector<caf::actor> all;
  for (auto& s : shards_) {
    std::lock_guard<std::mutex> guard{s.mtx};
    s.active.for_each([&](activation& a) { all.push_back(a.handle_); });
  }
  for (auto& handle : all)
    caf::anon_send(handle, deactivate_atom::value, force_deactivation);
  return all.size();
}

void catalog::remove(const grain_id& id, const caf::actor_addr& who) {
  auto hash = grain_id_hash{}(id);
  auto& s = shard_of(hash);
  bool remote = false;
  type_counters* counters = nullptr;
  {
    std::lock_guard<std::mutex> guard{s.mtx};
    auto* found = s.active.find(id, hash);
    if (found == nullptr || found->handle_.address() != who)
      return;
    remote = found->remote_;
    counters = found->counters_;
    s.active.erase(hash, found);
  }
  if (remote) {
    stubs_.fetch_sub(1, std::memory_order_acq_rel);
    return;
  }
  if (counters != nullptr) { // the types' counters live as long as the catalog
    counters->active.fetch_sub(1, std::memory_order_relaxed);
    counters->deactivations.fetch_add(1, std::memory_order_relaxed);
  }
  if (active_.fetch_sub(1, std::memory_order_acq_rel) == 1 && closed_.load()) {
    std::lock_guard<std::mutex> guard{empty_mtx_};
    empty_cv_.notify_all();
  }
}

bool catalog::wait_until_empty(std::chrono::milliseconds timeout) {
  std::unique_lock<std::mutex> lock{empty_mtx_};
  return empty_cv_.wait_for(lock, timeout, [this] { return active_.load() == 0; });
}

void catalog::visit(const std::function<void(activation&, std::chrono::milliseconds)>& visit) {
  for (auto& s : shards_) {
    std::lock_guard<std::mutex> guard{s.mtx};
    s.active.for_each([&](activation& a) {
      auto type = types_.find(a.id().type);
      visit(a, type != types_.end() ? type->second.idle_timeout : std::chrono::milliseconds::max());
    });
  }
}

bool catalog::deactivate(const grain_id& id) {
  caf::actor handle;
  {
    auto hash = grain_id_hash{}(id);
    auto& s = shard_of(hash);
    std::lock_guard<std::mutex> guard{s.mtx};
    auto* found = s.active.find(id, hash);
    if (found == nullptr)
      return false;
    handle = found->handle_;
  }
  caf::anon_send(handle, deactivate_atom::value, force_deactivation);
  return true;
}

caf::actor catalog::find_local(const grain_id& id) const {
  auto hash = grain_id_hash{}(id);
  auto& s = shards_[hash & (shard_count - 1)];
  std::lock_guard<std::mutex> guard{s.mtx};
  const auto* found = s.active.find(id, hash);
  if (found == nullptr || found->remote_)
    return {};
  return found->handle_;
}

std::optional<activation_info> catalog::info(const grain_id& id) const {
  auto hash = grain_id_hash{}(id);
  auto& s = shards_[hash & (shard_count - 1)];
  auto now = clock_.now();
  std::lock_guard<std::mutex> guard{s.mtx};
  const auto* a = s.active.find(id, hash);
  if (a == nullptr || a->remote_)
    return std::nullopt;
  auto idle = std::chrono::duration_cast<std::chrono::milliseconds>(now - a->idle_since_);
  return activation_info{a->id(), idle.count(), a->activated_wall_ms_, a->version(),
                         a->observers()};
}

void catalog::close() {
  closed_ = true;
  drop_all();
}

std::size_t catalog::size() const {
  return active_.load(std::memory_order_acquire);
}

std::vector<type_stats> catalog::types() const {
  std::vector<type_stats> out;
  std::unordered_map<const type_counters*, std::size_t> slot;
  for (const auto& [name, t] : types_) {
    slot.emplace(t.counters.get(), out.size());
    type_stats ts;
    ts.type = name;
    ts.active = t.counters->active.load(std::memory_order_relaxed);
    ts.activations = t.counters->activations.load(std::memory_order_relaxed);
    ts.deactivations = t.counters->deactivations.load(std::memory_order_relaxed);
    out.push_back(std::move(ts));
  }
  for (auto& s : shards_) {
    std::lock_guard<std::mutex> guard{s.mtx};
    s.active.for_each([&](activation& a) {
      auto i = slot.find(a.counters_);
      if (i == slot.end())
        return; // a remote stub
      auto n = a.mailbox();
      out[i->second].mailbox_total += n;
      out[i->second].mailbox_max = std::max<std::uint64_t>(out[i->second].mailbox_max, n);
    });
  }
  std::sort(out.begin(), out.end(),
            [](const type_stats& a, const type_stats& b) { return a.type < b.type; });
  return out;
}

std::vector<activation_info> catalog::list(const std::string& type, std::size_t limit) const {
  std::vector<activation_info> out;
  auto now = clock_.now();
  for (auto& s : shards_) {
    std::lock_guard<std::mutex> guard{s.mtx};
    s.active.for_each([&](activation& a) {
      if (out.size() >= limit || a.remote_ || (!type.empty() && a.id().type != type))
        return;
      auto idle = std::chrono::duration_cast<std::chrono::milliseconds>(now - a.idle_since_);
      out.push_back(
          activation_info{a.id(), idle.count(), a.activated_wall_ms_, a.version(), a.observers()});
    });
    if (out.size() >= limit)
      break;
  }
  return out;
}

} // namespace bazaar::runtime
