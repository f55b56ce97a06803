#include "bazaar/persistence/memory_snapshot_store.hpp"

namespace bazaar::persistence {

load_result memory_snapshot_store::load(const std::string& type, const std::string& key) {
  std::lock_guard<std::mutex> guard{mtx_};
  auto i = rows_.find({type, key});
  if (i == rows_.end())
    return load_result{true, std::nullopt, {}};
  return load_result{true, i->second, {}};
}

save_status memory_snapshot_store::save(const snapshot& s, std::uint64_t expected_version) {
  std::lock_guard<std::mutex> guard{mtx_};
  auto [i, inserted] = rows_.try_emplace({s.type, s.key}, s);
  if (inserted) {
    if (expected_version != 0) {
      rows_.erase(i);
      return save_status::conflict;
    }
    return save_status::saved;
  }
  if (i->second.version != expected_version)
    return save_status::conflict;
  i->second = s;
  return save_status::saved;
}

std::size_t memory_snapshot_store::size() const {
  std::lock_guard<std::mutex> guard{mtx_};
  return rows_.size();
}

} // namespace bazaar::persistence
