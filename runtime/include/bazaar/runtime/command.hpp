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

#include <functional>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

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

  /// Removes a reminder of another grain, committed with this command (a saga's last write
  /// removes the reminder its order armed to start it again).
  void disarm_reminder_of(const grain_id& of, std::string name) {
    d_->disarm_reminder_of(of, std::move(name));
  }

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

  /// Asks every grain of `calls` (key and message, grains of type G) at once and continues
  /// with `then(command, answers)` once all answered: answers[i] is the reply of calls[i] or
  /// the failure of that call (each is bounded by the call timeout). A failed call does not
  /// refuse the command: `then` decides. The grain handles nothing else meanwhile.
  template <class G, class Msg, class Then>
  auto ask_all(std::vector<std::pair<std::string, Msg>> calls, Then then)
      -> std::invoke_result_t<Then, command&,
                              std::vector<answer<reply_t<typename G::interface, Msg>>>&> {
    using reply = reply_t<typename G::interface, Msg>;
    using answers = std::vector<answer<reply>>;
    using result = std::invoke_result_t<Then, command&, answers&>;
    return result::deferred([cx = this, calls = std::move(calls),
                             then = std::move(then)](typename result::resume_fn resume) mutable {
      struct gather {
        answers got;
        std::size_t waiting;
      };
      auto g = std::make_shared<gather>(gather{answers(calls.size()), calls.size()});
      if (calls.empty()) {
        resume(then(*cx, g->got));
        return;
      }
      auto* d = cx->d_;
      for (std::size_t i = 0; i < calls.size(); ++i) {
        auto done = [cx, g, then, resume](std::size_t at, answer<reply> a) mutable {
          g->got[at] = std::move(a);
          if (--g->waiting == 0)
            resume(then(*cx, g->got));
        };
        await_grain<reply>(
            cx->self_, d->context(), *cx->refs_, grain_id{G::type, calls[i].first}, calls[i].second,
            d->services().call_timeout, [done, i](reply& r) mutable { done(i, answer<reply>{r}); },
            [done, i](caf::error& e) mutable { done(i, answer<reply>{to_failure(e)}); },
            /*tracked=*/false);
      }
    });
  }

  /// Once this command's write committed, sends `msg` (answered with a bool) to grain `id`
  /// without waiting for its answer (tell_grain); nothing is sent when the command is refused
  /// or its write fails. Not durable by itself: what it asks for must be asked again by a
  /// reminder committed with this command.
  template <class Msg>
  void tell_after_commit(grain_id id, Msg msg) {
    after_commit_.push_back([self = self_, ctx = &d_->context(), refs = refs_, id = std::move(id),
                             msg = std::move(msg)] { tell_grain(self, *ctx, *refs, id, msg); });
  }

  /// What runs once the command's write committed (the platform takes it, durable_grain.hpp).
  std::vector<std::function<void()>> take_after_commit() { return std::move(after_commit_); }

 private:
  durable<T>* d_;
  command_meta meta_;
  caf::event_based_actor* self_;
  grain_refs* refs_;
  std::vector<std::function<void()>> after_commit_;
};

} // namespace bazaar::runtime
