#include "bazaar/runtime/grain_observation.hpp"

namespace bazaar::runtime {

bool observation_set::admit() {
  std::lock_guard<std::mutex> guard{mtx_};
  if (stopped_ || live_.size() + reserved_ >= limit_)
    return false;
  ++reserved_;
  return true;
}

void observation_set::release() {
  std::lock_guard<std::mutex> guard{mtx_};
  --reserved_;
}

void observation_set::add(const caf::actor& observer) {
  bool stopped = false;
  {
    std::lock_guard<std::mutex> guard{mtx_};
    --reserved_;
    stopped = stopped_;
    if (!stopped)
      live_.emplace(observer.id(), observer);
  }
  if (stopped) {
    caf::anon_send(observer, stop_atom::value);
    return;
  }
  // Runs at once if the observer already ended.
  std::weak_ptr<observation_set> weak = shared_from_this();
  observer->attach_functor([weak, id = observer.id()] {
    if (auto self = weak.lock())
      self->remove(id);
  });
}

void observation_set::remove(caf::actor_id id) {
  std::lock_guard<std::mutex> guard{mtx_};
  live_.erase(id);
}

std::size_t observation_set::size() const {
  std::lock_guard<std::mutex> guard{mtx_};
  return live_.size();
}

void observation_set::stop() {
  std::vector<caf::actor> all;
  {
    std::lock_guard<std::mutex> guard{mtx_};
    stopped_ = true;
    for (auto& [id, observer] : live_)
      all.push_back(observer);
  }
  for (auto& observer : all)
    caf::anon_send(observer, stop_atom::value);
}

} // namespace bazaar::runtime
