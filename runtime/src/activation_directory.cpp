#include "bazaar/runtime/activation_directory.hpp"

#include "bazaar/runtime/catalog.hpp"

namespace bazaar::runtime {

activation* activation_directory::find(const grain_id& id, std::size_t hash) const {
  if (slots_.empty())
    return nullptr;
  for (auto i = index_of(hash);; i = (i + 1) & (slots_.size() - 1)) {
    const auto& s = slots_[i];
    if (!s.a)
      return nullptr;
    if (s.hash == hash && s.a->id() == id)
      return s.a.get();
  }
}

void activation_directory::insert(std::size_t hash, std::shared_ptr<activation> a) {
  // At most half full: probes stay short and a free slot always ends a search.
  if ((size_ + 1) * 2 > slots_.size())
    grow();
  auto i = index_of(hash);
  while (slots_[i].a)
    i = (i + 1) & (slots_.size() - 1);
  slots_[i] = slot{hash, std::move(a)};
  ++size_;
}

bool activation_directory::erase(std::size_t hash, const activation* a) {
  if (slots_.empty())
    return false;
  auto mask = slots_.size() - 1;
  auto i = index_of(hash);
  while (slots_[i].a && slots_[i].a.get() != a)
    i = (i + 1) & mask;
  if (!slots_[i].a)
    return false;
  slots_[i] = slot{};
  --size_;
  // Backward-shift deletion: move later slots of the probe run into the hole, so that no
  // search stops early at it (no tombstones).
  for (auto hole = i, j = (i + 1) & mask; slots_[j].a; j = (j + 1) & mask) {
    auto home = index_of(slots_[j].hash);
    // The slot at j may move to the hole if its home is not cyclically in (hole, j].
    bool stays = hole <= j ? (hole < home && home <= j) : (hole < home || home <= j);
    if (!stays) {
      slots_[hole] = std::move(slots_[j]);
      slots_[j] = slot{};
      hole = j;
    }
  }
  return true;
}

void activation_directory::for_each(const std::function<void(activation&)>& fn) const {
  for (const auto& s : slots_)
    if (s.a)
      fn(*s.a);
}

void activation_directory::grow() {
  std::vector<slot> old = std::move(slots_);
  slots_ = std::vector<slot>(old.empty() ? 16 : old.size() * 2);
  size_ = 0;
  for (auto& s : old)
    if (s.a)
      insert(s.hash, std::move(s.a));
}

} // namespace bazaar::runtime
