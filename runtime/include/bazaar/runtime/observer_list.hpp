#pragma once

/// The observers of one grain activation (Orleans' grain observers): actors that get the
/// grain's committed state after every commit that changed it, as the message
/// (observed_atom, state). The list is bounded and holds each observer once; the grain
/// monitors its observers and drops one when it goes down (observer_list::remove), so an
/// observer that vanishes costs nothing after its down message. Observers learn that the
/// activation ended by monitoring it (grain_observation.hpp re-observes the next one).

#include <caf/actor.hpp>
#include <caf/actor_addr.hpp>
#include <caf/message.hpp>
#include <caf/send.hpp>

#include <cstddef>
#include <vector>

namespace bazaar::runtime {

class observer_list {
 public:
  /// Observers of one activation past which more are refused.
  static constexpr std::size_t default_limit = 4096;

  explicit observer_list(std::size_t limit = default_limit) : limit_(limit) {}

  enum class added {
    fresh, ///< a new observer: the grain monitors it
    again, ///< observing already (a re-observe): nothing changes
    full,  ///< refused: the list is at its bound
  };

  /// Adds `who` unless it observes already or the list is full.
  added add(const caf::actor& who);

  /// Drops the observer at `who`; false if it was not observing.
  bool remove(const caf::actor_addr& who);

  std::size_t size() const { return observers_.size(); }
  bool empty() const { return observers_.empty(); }
  std::size_t limit() const { return limit_; }

  /// Sends `msg` to every observer, as `self`. One message is shared by all of them (CAF
  /// messages are copy-on-write), so a commit costs one state copy whatever their number.
  template <class Self>
  void notify(Self* self, const caf::message& msg) const {
    for (const auto& o : observers_)
      self->send(o, msg);
  }

 private:
  std::size_t limit_;
  std::vector<caf::actor> observers_;
};

} // namespace bazaar::runtime
