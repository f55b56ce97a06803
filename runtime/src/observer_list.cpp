#include "bazaar/runtime/observer_list.hpp"

#include <algorithm>

namespace bazaar::runtime {

observer_list::added observer_list::add(const caf::actor& who) {
  auto addr = who.address();
  if (std::any_of(observers_.begin(), observers_.end(),
                  [&addr](const caf::actor& o) { return o.address() == addr; }))
    return added::again;
  if (observers_.size() >= limit_)
    return added::full;
  observers_.push_back(who);
  return added::fresh;
}

bool observer_list::remove(const caf::actor_addr& who) {
  auto i = std::find_if(observers_.begin(), observers_.end(),
                        [&who](const caf::actor& o) { return o.address() == who; });
  if (i == observers_.end())
    return false;
  *i = std::move(observers_.back());
  observers_.pop_back();
  return true;
}

} // namespace bazaar::runtime
