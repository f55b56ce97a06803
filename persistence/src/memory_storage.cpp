#include "bazaar/persistence/memory_storage.hpp"

namespace bazaar::persistence {

void memory_storage::load(const std::string& type, const std::string& key,
                          std::function<void(load_result)> done) {
  {
    std::lock_guard<std::mutex> guard{mtx_};
    if (!available_) {
      done(load_result{false, std::nullopt, {}});
      return;
    }
  }
  auto result = snapshots_.load(type, key);
  {
    std::lock_guard<std::mutex> guard{mtx_};
    if (auto i = keys_.find(type + "/" + key); i != keys_.end())
      result.keys = i->second;
  }
  done(std::move(result));
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
      auto& mine = keys_[w.type + "/" + w.key];
      for (auto& k : w.keys)
        mine.push_back(k);
      for (auto& r : w.reminders) {
        auto name = r.grain_type.empty() ? w.type + "/" + w.key + "/" + r.name
                                         : r.grain_type + "/" + r.grain_key + "/" + r.name;
        if (r.remove)
          reminders_.erase(name);
        else
          reminders_[name] = r.due_at_ms;
      }
      if (in_doubt_)
        status = save_status::unknown; // made, but the answer is "lost"
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

void memory_storage::set_commit_in_doubt(bool in_doubt) {
  std::lock_guard<std::mutex> guard{mtx_};
  in_doubt_ = in_doubt;
}

void memory_storage::set_available(bool available) {
  std::lock_guard<std::mutex> guard{mtx_};
  available_ = available;
}

std::vector<due_reminder> memory_storage::claim_due(std::size_t limit,
                                                    std::chrono::milliseconds lease) {
  std::lock_guard<std::mutex> guard{mtx_};
  std::vector<due_reminder> due;
  if (!available_)
    return due;
  for (auto& [name, at] : reminders_) {
    if (due.size() >= limit)
      break;
    if (at > now_ms_)
      continue;
    auto first = name.find('/');
    auto second = name.find('/', first + 1);
    due.push_back(due_reminder{name.substr(0, first), name.substr(first + 1, second - first - 1),
                               name.substr(second + 1)});
    at = now_ms_ + lease.count();
  }
  return due;
}

void memory_storage::history(const std::string& aggregate_type, const std::string& aggregate_id,
                             std::function<void(std::optional<std::vector<std::string>>)> done) {
  std::vector<std::string> out;
  bool available = false;
  {
    std::lock_guard<std::mutex> guard{mtx_};
    available = available_;
    for (const auto& e : events_)
      if (available && e.aggregate_type == aggregate_type && e.aggregate_id == aggregate_id)
        out.push_back(e.envelope);
  }
  if (available)
    done(std::move(out));
  else
    done(std::nullopt);
}

void memory_storage::set_now(std::int64_t now_ms) {
  std::lock_guard<std::mutex> guard{mtx_};
  now_ms_ = now_ms;
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
