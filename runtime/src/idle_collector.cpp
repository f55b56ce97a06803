#include "bazaar/runtime/idle_collector.hpp"

#include "bazaar/runtime/atoms.hpp"

#include <caf/event_based_actor.hpp>
#include <caf/message_id.hpp>
#include <caf/send.hpp>

#include <vector>

namespace bazaar::runtime {

namespace {

/// Runs `sweep()` every `interval` until told to stop.
caf::behavior ticker(caf::event_based_actor* self, std::shared_ptr<catalog> grains,
                     caf::timespan interval) {
  self->delayed_send(self, interval, tick_atom::value);
  return {
      [=](tick_atom) {
        idle_collector::sweep(*grains);
        self->delayed_send(self, interval, tick_atom::value);
      },
      [=](stop_atom) { self->quit(); },
  };
}

} // namespace

idle_collector::sweep_result idle_collector::sweep(catalog& grains) {
  auto now = grains.time().now();
  std::vector<std::pair<caf::actor, std::uint64_t>> idle;
  std::vector<std::pair<caf::actor, std::uint64_t>> overdue;
  grains.visit([&](activation& a, std::chrono::milliseconds idle_timeout) {
    if (auto call = a.take_overdue_call(now))
      overdue.emplace_back(a.handle_, call);
    auto touches = a.touches();
    if (touches != a.seen_touches_.load(std::memory_order_relaxed)) {
      a.seen_touches_.store(touches, std::memory_order_relaxed);
      a.idle_since_ = now;
      a.deactivation_requested_ = false;
      return;
    }
    if (!a.deactivation_requested_ && now - a.idle_since_ >= idle_timeout) {
      a.deactivation_requested_ = true;
      idle.emplace_back(a.handle_, touches);
    }
  });
  for (auto& [handle, touches] : idle)
    caf::anon_send(handle, deactivate_atom::value, touches);
  // The answer CAF's own request timer would give, sent to the response id the grain awaits.
  for (auto& [handle, response_id] : overdue)
    caf::actor_cast<caf::abstract_actor*>(handle)->eq_impl(
        caf::message_id{response_id}, nullptr, nullptr, caf::make_error(caf::sec::request_timeout));
  return sweep_result{idle.size(), overdue.size()};
}

void idle_collector::start(std::chrono::milliseconds interval) {
  ticker_ = grains_->system().spawn(ticker, grains_, caf::timespan{interval});
}

void idle_collector::stop() {
  if (ticker_) {
    caf::anon_send(ticker_, stop_atom::value);
    ticker_ = nullptr;
  }
}

} // namespace bazaar::runtime
