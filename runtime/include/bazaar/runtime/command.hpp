#pragma once

/// What a durable grain's command handler works with: the grain's current state to change, the
/// time, the events and reminders the command produces, and calls to other grains. The
/// platform does the rest (idempotency, reply after commit, pipelining, the fence):
///
///     runtime::outcome<domain::basket> on(command<domain::basket>& c, const basket_remove& cmd) {
///       auto& b = c.state();
///       if (b.remove(cmd.sku, c.now()))
///         c.emit("basket-item-removed", {{"customer_id", b.customer_id}, {"sku", cmd.sku}});
///       return b;
///     }
///
/// A handler that refuses returns the failure and has changed nothing.

#include "bazaar/runtime/durable.hpp"
#include "bazaar/runtime/grain_call.hpp"
#include "bazaar/runtime/grain_interface.hpp"
#include "bazaar/runtime/outcome.hpp"

#include <boost/json/object.hpp>
#include <caf/event_based_actor.hpp>

#include <string>
#include <type_traits>

namespace bazaar::runtime {

/// One command being handled; it lives in its grain's actor state until its outcome is known.
template <class T>
class command {
 public:
  command(durable<T>& d, command_meta meta, caf::event_based_actor* self, grain_refs& refs)
      : d_(&d), meta_(std::move(meta)), self_(self), refs_(&refs) {}

  command(const command&) = delete;
  command& operator=(const command&) = delete;

  /// The grain's state, including what earlier (possibly uncommitted) commands changed.
  T& state() { return d_->current(); }

  /// Wall-clock time now.
  core::timestamp_ms now() const { return d_->now(); }

  /// The grain's id.
  const grain_id& id() const { return d_->id(); }

  /// Who asked.
  const command_meta& meta() const { return meta_; }

  /// An event of this command, journaled and published with its changes.
  void emit(std::string event_type, boost::json::object data) {
    d_->emit(std::move(event_type), std::move(data), meta_);
  }

  /// Arms (or moves) a durable reminder of this grain, committed with this command.
  void arm_reminder(std::string name, core::timestamp_ms due) {
    d_->arm_reminder(std::move(name), due);
  }

  /// Removes a reminder, committed with this command.
  void disarm_reminder(std::string name) { d_->disarm_reminder(std::move(name)); }

  /// Asks grain `key` of type G and continues with `then(command, reply)` once it answered;
  /// a failed call refuses the command with the callee's failure. The grain handles nothing
  /// else meanwhile.
  template <class G, class Msg, class Then>
  auto ask(std::string key, Msg msg, Then then)
      -> std::invoke_result_t<Then, command&, reply_t<typename G::interface, Msg>&> {
    using reply = reply_t<typename G::interface, Msg>;
    using result = std::invoke_result_t<Then, command&, reply&>;
    // The command lives in its grain's actor state until its outcome is known (the grain
    // handles nothing else meanwhile), so the continuation refers to it.
    return result::deferred([cx = this, target = grain_id{G::type, std::move(key)},
                             msg = std::move(msg),
                             then = std::move(then)](typename result::resume_fn resume) mutable {
      auto* d = cx->d_;
      await_grain<reply>(
          cx->self_, d->context(), *cx->refs_, target, msg, d->services().call_timeout,
          [cx, then, resume](reply& r) mutable { resume(then(*cx, r)); },
          [resume](caf::error& e) mutable { resume(result{to_failure(e)}); });
    });
  }

 private:
  durable<T>* d_;
  command_meta meta_;
  caf::event_based_actor* self_;
  grain_refs* refs_;
};

} // namespace bazaar::runtime
