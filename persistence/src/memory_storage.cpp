#include "bazaar/persistence/memory_storage.hpp"

namespace bazaar::persistence {

void memory_storage::load(const std::string& type, const std::string& key,
                          std::function<void(load_result)> done) {
  {
    std::lock_guard<std::mutex> guard{mtx_};
    if (!available_) {
      done(load_result{false, std::nullopt});
      return;
    }
  }
  done(snapshots_.load(type, key));
}

void memory_storage::write(grain_write w) {
  save_status status = save_status::saved;
  {
    std::lock_guard<std::mutex> guard{mtx_};
    if (!available_) {
      status = save_status::unavailable;
    } else if (!w.state.empty()) {
      status = snapshots_.save(snapshot{w.type, w.key, w.version, w.state, w.event_seq},
                               w.expected_version);
    }
    if (status == save_status::saved) {
      events_.insert(events_.end(), w.events.begin(), w.events.end());
      for (auto& k : w.keys)
        keys_.try_emplace({k.scope, k.key}, k);
      for (auto& r : w.reminders) {
        auto name = w.type + "/" + w.key + "/" + r.name;
        if (r.remove)
          reminders_.erase(name);
        else
          reminders_[name] = r.due_at_ms;
      }
    }
  }
  w.done(status);
}

bool memory_storage::ready(std::string& why) const {
  std::lock_guard<std::mutex> guard{mtx_};
  if (!available_)
    why = "memory storage set unavailable";
  return available_;
}

void memory_storage::set_available(bool available) {
  std::lock_guard<std::mutex> guard{mtx_};
  available_ = available;
}

std::vector<event_record> memory_storage::events() const {
  std::lock_guard<std::mutex> guard{mtx_};
  return events_;
}

std::map<std::string, std::int64_t> memory_storage::reminders() const {
  std::lock_guard<std::mutex> guard{mtx_};
  return reminders_;
}

} // namespace bazaar::persistence
