#pragma once

/// One way to define a durable grain type. A definition G says what the grain is; the platform
/// makes it an actor that loads its snapshot before anything else (messages that arrive
/// meanwhile wait, in order), answers each message of its interface through G's handlers,
/// remembers idempotency answers, commits before it replies (pipelining later commands),
/// rolls back when storage fails, deactivates when fenced off, and leaves when idle.
/// Every durable grain can be observed (observer_list.hpp): (observe_atom, actor) answers the
/// committed state and sends the actor (observed_atom, state) after each later commit that
/// changed it. An observed grain is not collected as idle while it has observers (it stays
/// until they leave; a forced deactivation still happens, and observers notice it by
/// monitoring the grain).
///
///     struct ledger_grain {
///       static constexpr const char* type = "ledger";        // the grain type name
///       using state = ledger;                                // has `version`; ADL to_snapshot()
///       using interface = caf::typed_actor<                  // messages and what each answers
///           caf::replies_to<ledger_get>::with<ledger>,
///           caf::replies_to<runtime::kafka_record>::with<bool>>;
///       static ledger initial(const std::string& key);      // the state of a new grain
///       static std::optional<ledger> from_snapshot(const boost::json::value& v);
///       ledger on(const ledger& s, const ledger_get&) const; // a query: committed state
///       runtime::outcome<bool> on(runtime::command<ledger>& c,
///                                 const runtime::kafka_record& r) const;  // a command
///     };
///
/// Commands are messages with a handler taking a command<state>; queries take the state (a
/// query without arguments is answered once per committed version, shared by its readers). A
/// command whose reply type is the state answers the state as of its own commit. A
/// command's Idempotency-Key is its `idem` member (a Kafka record's is its event id); who asked
/// is its `meta` member. A command that carries no correlation id (a reminder; a record whose
/// envelope has none) takes the one `G::correlation_of(state)` gives, when G defines it (a saga
/// remembers the correlation id it started with, so that its timeouts' events carry it).
/// Every command is logged once its outcome is known (step_log.hpp), with its correlation id,
/// the grain and its subject (logging.hpp) where known. A definition object carries the type's
/// settings; one is shared by every activation of the type.

#include "bazaar/runtime/command.hpp"
#include "bazaar/runtime/grain_stub.hpp"
#include "bazaar/runtime/kafka_record.hpp"
#include "bazaar/runtime/message_traits.hpp"
#include "bazaar/runtime/observer_list.hpp"
#include "bazaar/runtime/reminders.hpp"
#include "bazaar/runtime/snapshot_text.hpp"
#include "bazaar/runtime/step_log.hpp"

#include "bazaar/runtime/atoms.hpp"
#include "bazaar/runtime/logging.hpp"

#include <caf/event_based_actor.hpp>
#include <caf/skip.hpp>
#include <caf/stateful_actor.hpp>

#include <array>
#include <memory>
#include <optional>
#include <tuple>
#include <type_traits>
#include <utility>

namespace bazaar::runtime {

/// The answer to a query without arguments, kept as a CAF message while the committed state it
/// was computed from (identified by its version) stays: repeated reads share it instead of
/// copying the state.
struct query_answer {
  std::uint64_t version = 0;
  caf::message answer;
};

/// The actor state of a durable grain of definition G.
template <class G>
struct durable_grain_state {
  std::optional<durable<typename G::state>> d;
  grain_context ctx;
  grain_refs refs;
  /// The command being handled (until its outcome is known), and its log line.
  /// (On the heap: an idle activation keeps only the pointer, not a command's 96 bytes.)
  std::unique_ptr<command<typename G::state>> current;
  step_note note;
  /// One per message of the interface (only queries without arguments use theirs).
  std::array<query_answer, caf::detail::tl_size<typename G::interface::signatures>::value> answers;
  /// Asked to deactivate while writes were in flight: leave once they are answered.
  bool leaving = false;
  /// Answered a message while nothing of it was ever stored, and asked itself to leave
  /// (if_never_stored); not asked again until that request is handled.
  bool unborn_check_sent = false;
  /// Who gets the committed state after each commit that changed it.
  observer_list observers;
  /// A command was refused transiently or a write failed since the last Kafka record that
  /// was not chained (kafka_record.hpp): chained records are refused until one that is not
  /// arrives. A new activation does not know what its predecessor saw, so it starts so.
  bool kafka_chain_broken = true;
  static inline const char* name = G::type;
};

template <class G>
using durable_grain_actor = caf::stateful_actor<durable_grain_state<G>>;

namespace detail {

template <class Reply>
std::function<void(const caf::error&)> fail_with(caf::typed_response_promise<Reply> rp) {
  return [rp](const caf::error& e) mutable { rp.deliver(e); };
}

template <class G, class = void>
struct has_correlation_of : std::false_type {};
template <class G>
struct has_correlation_of<
    G, std::void_t<decltype(G::correlation_of(std::declval<const typename G::state&>()))>>
    : std::true_type {};

/// The log context of the command being handled: its correlation id, the grain, the subject.
template <class G>
log_context context_of(durable_grain_actor<G>* self) {
  auto& st = self->state;
  return log_context{st.current->meta().correlation_id, st.ctx.id.type, st.ctx.id.key,
                     st.note.subject};
}

/// Logs the refusal of the command being handled, if its level is logged.
template <class G>
void log_refused(durable_grain_actor<G>* self, const core::failure& f) {
  auto& note = self->state.note;
  if (note.on)
    spdlog::log(note.level, "refused {}: {}: {}", note.what, core::to_string(f.code), f.message);
}

/// Wraps `w` so that the command being handled is logged once its write committed (or failed),
/// with the events it emitted; `w` itself when its level is not logged.
template <class G, class T>
waiter<T> logged(durable_grain_actor<G>* self, waiter<T> w) {
  auto& st = self->state;
  if (!st.note.on)
    return w;
  std::string subject = st.note.subject;
  std::string events;
  for (const auto& e : st.d->staged_events()) {
    events += events.empty() ? ": emits " : ", ";
    events += describe_envelope(e.envelope, subject);
  }
  struct line {
    spdlog::level::level_enum level;
    std::string text;
    std::string correlation_id;
    grain_id grain;
    std::string subject;
    void write(std::string_view outcome) const {
      log_scope scope{log_context{correlation_id, grain.type, grain.key, subject}};
      spdlog::log(level, "{}{}", text, outcome);
    }
  };
  auto l = std::make_shared<line>(line{st.note.level, "handled " + st.note.what + events,
                                       st.current->meta().correlation_id, st.ctx.id,
                                       std::move(subject)});
  return waiter<T>{[l, ok = std::move(w.ok)](const T& s) {
                     l->write("");
                     ok(s);
                   },
                   [l, fail = std::move(w.fail)](const caf::error& e) {
                     l->write(" (not committed: " + to_failure(e).message + ")");
                     fail(e);
                   }};
}

/// After a message to a grain whose state was never stored (an unknown key, read or refused): asks
/// itself to leave once the messages already queued are handled, unless a write or an observer
/// comes first (lifecycle's if_never_stored).
template <class G>
void leave_if_unborn(durable_grain_actor<G>* self) {
  auto& st = self->state;
  if (st.unborn_check_sent || st.d->committed().version != 0)
    return;
  st.unborn_check_sent = true;
  self->send(self, deactivate_atom::value, if_never_stored);
}

/// Delivers a command's outcome: commits and replies, refuses, or waits for a grain call.
template <class G, class Reply>
void finish(durable_grain_actor<G>* self, const idempotency& idem, outcome<Reply> out,
            caf::typed_response_promise<Reply> rp) {
  using state_type = typename G::state;
  auto& d = *self->state.d;
  log_scope scope{context_of(self)};
  if (out.is_deferred()) {
    auto start = std::move(out.start());
    start([self, idem, rp](outcome<Reply> next) { finish<G>(self, idem, std::move(next), rp); });
  } else if (out.refused()) {
    if (core::is_transient(out.refusal().code))
      self->state.kafka_chain_broken = true;
    log_refused(self, out.refusal());
    d.refuse(self, idem, out.refusal(), fail_with(rp));
    leave_if_unborn(self);
  } else {
    auto reply = std::move(out.reply());
    auto body = [&reply] { return encode(reply); };
    // What the command sends once its write committed (command::tell_after_commit).
    auto after = self->state.current->take_after_commit();
    if constexpr (std::is_same<Reply, state_type>::value) {
      // The reply is the state as of this command, which the write keeps anyway.
      d.commit(self, idem, body,
               logged(self, waiter<state_type>{[rp, after](const state_type& s) mutable {
                                                 rp.deliver(s);
                                                 for (auto& f : after)
                                                   f();
                                               },
                                               fail_with(rp)}));
    } else {
      d.commit(self, idem, body,
               logged(self, waiter<state_type>{[rp, reply, after](const state_type&) mutable {
                                                 rp.deliver(reply);
                                                 for (auto& f : after)
                                                   f();
                                               },
                                               fail_with(rp)}));
    }
  }
}

/// Answers a request whose key was seen before with the remembered answer.
template <class G, class Reply>
void replay(durable_grain_actor<G>* self, const persistence::idempotency_record& seen,
            caf::typed_response_promise<Reply> rp) {
  using state_type = typename G::state;
  auto& d = *self->state.d;
  if (seen.outcome != accepted_outcome) {
    d.answer_error(to_error(decode_refusal(seen)), fail_with(rp));
    return;
  }
  auto reply = decode<Reply>(seen.body);
  if (!reply) {
    d.answer_error(make_failure(core::errc::internal,
                                "the remembered answer to this Idempotency-Key cannot be read"),
                   fail_with(rp));
    return;
  }
  d.after_writes(waiter<state_type>{
      [rp, r = std::move(*reply)](const state_type&) mutable { rp.deliver(r); }, fail_with(rp)});
}

/// The answer to a query without arguments from the committed state, computed once per
/// committed version.
template <class G, class Reply, class Msg>
caf::result<Reply> shared_answer(durable_grain_actor<G>* self, const G& def, const Msg& msg,
                                 query_answer& cached) {
  const auto& committed = self->state.d->committed();
  if (cached.answer.empty() || cached.version != committed.version) {
    cached.answer = caf::make_message(Reply{def.on(committed, msg)});
    cached.version = committed.version;
  }
  caf::result<Reply> out{caf::skip};
  out.flag = caf::rt_value;
  out.value = cached.answer; // shared, copy-on-write: readers that only look copy nothing
  return out;
}

/// Notes how many messages wait behind the one being handled (activation::note_mailbox): the
/// queued ones CAF has taken in so far (reading it, unlike mailbox().size(), changes nothing).
template <class G>
void note_mailbox(durable_grain_actor<G>* self) {
  self->state.ctx.record->note_mailbox(self->mailbox().queue().total_task_size());
}

/// Handles one message of G's interface; `slot` is its position in the interface.
template <class G, class Reply, std::size_t Slot, class Msg>
caf::result<Reply> handle(durable_grain_actor<G>* self, const G& def, const Msg& msg) {
  using state_type = typename G::state;
  auto& st = self->state;
  auto& d = *st.d;
  st.ctx.record->touch();
  note_mailbox(self);
  if constexpr (is_query<G, Msg>::value) {
    if (d.settled()) {
      leave_if_unborn(self);
      if constexpr (std::is_empty<Msg>::value)
        return shared_answer<G, Reply>(self, def, msg, std::get<Slot>(st.answers));
      else
        return def.on(d.committed(), msg);
    }
    auto rp = self->template make_response_promise<Reply>();
    d.after_writes(waiter<state_type>{
        [rp, &def, msg](const state_type& s) mutable { rp.deliver(def.on(s, msg)); },
        fail_with(rp)});
    return rp;
  } else {
    auto rp = self->template make_response_promise<Reply>();
    auto idem = idempotency_of(msg);
    if constexpr (std::is_same<Msg, kafka_record>::value) {
      if (!msg.chained)
        st.kafka_chain_broken = false;
    }
    persistence::idempotency_record seen;
    switch (d.check(idem, seen)) {
    case key_check::conflict:
      d.answer_error(make_failure(core::errc::conflict,
                                  "this Idempotency-Key was already used with another request"),
                     fail_with(rp));
      return rp;
    case key_check::seen:
      replay<G>(self, seen, rp);
      return rp;
    case key_check::fresh:
      break;
    }
    if constexpr (std::is_same<Msg, kafka_record>::value) {
      if (msg.chained && st.kafka_chain_broken) {
        // An earlier record may have failed: this one must wait until it is retried.
        d.answer_error(make_failure(core::errc::unavailable,
                                    "an earlier record to this grain failed; deliver it first"),
                       fail_with(rp));
        return rp;
      }
    }
    auto meta = meta_of(msg);
    if constexpr (has_correlation_of<G>::value) {
      if (meta.correlation_id.empty())
        meta.correlation_id = G::correlation_of(d.current());
    }
    auto& note = st.note;
    note.level = step_level<Msg>();
    note.on = spdlog::should_log(note.level);
    if (note.on)
      note.what = step_name(msg);
    if constexpr (std::is_same<Msg, kafka_record>::value)
      note.subject = msg.subject;
    else
      note.subject.clear();
    st.current = std::make_unique<command<typename G::state>>(d, std::move(meta), self, st.refs);
    auto& cx = *st.current;
    log_scope scope{context_of(self)};
    finish<G>(self, idem, def.on(cx, msg), rp);
    return rp;
  }
}

template <class G, std::size_t Slot, class In, class Out>
auto handler_of(durable_grain_actor<G>* self, std::shared_ptr<const G> def,
                caf::typed_mpi<caf::detail::type_list<In>, caf::output_tuple<Out>>) {
  return [self, def](const In& msg) -> caf::result<Out> {
    return handle<G, Out, Slot>(self, *def, msg);
  };
}

/// The handlers of the grain's interface, one per message (a tuple of functions: the running
/// behavior is built from every handler at once, see durable_grain()).
template <class G, class... Sigs, std::size_t... Slots>
auto interface_handlers(durable_grain_actor<G>* self, std::shared_ptr<const G> def,
                        caf::detail::type_list<Sigs...>, std::index_sequence<Slots...>) {
  return std::make_tuple(handler_of<G, Slots>(self, def, Sigs{})...);
}

/// Leaves the catalog and quits, failing whatever still waits.
template <class G>
void leave(durable_grain_actor<G>* self) {
  auto& st = self->state;
  if (st.d)
    st.d->abandon(
        make_failure(core::errc::unavailable, "the grain is deactivating; retry the request"));
  st.ctx.host->remove(st.ctx.id, self->address());
  self->quit();
}

/// Storage's answers and deactivate requests, part of every running behavior. A grain
/// deactivates only when no write is in flight (a forced deactivation waits for them). After
/// a write that moved the committed version, the observers get the committed state.
template <class G>
auto lifecycle(durable_grain_actor<G>* self) {
  return std::make_tuple(
      [self](persisted_atom, std::uint64_t epoch, std::uint64_t write_no, std::uint8_t status) {
        auto& st = self->state;
        note_mailbox(self);
        auto before = st.d->committed().version;
        if (static_cast<persistence::save_status>(status) != persistence::save_status::saved)
          st.kafka_chain_broken = true;
        bool stay =
            st.d->on_persisted(epoch, write_no, static_cast<persistence::save_status>(status));
        if (!st.observers.empty() && st.d->committed().version != before)
          st.observers.notify(self, caf::make_message(observed_atom::value, st.d->committed()));
        if (!stay || (st.leaving && st.d->settled()))
          leave(self);
        else if (st.d->settled())
          leave_if_unborn(self); // a refusal's remembered key was all it wrote
      },
      [self](deactivate_atom, std::uint64_t touches) {
        auto& st = self->state;
        if (touches == if_never_stored) {
          st.unborn_check_sent = false;
          if (st.d->committed().version == 0 && st.d->settled() && st.observers.empty() &&
              self->mailbox().size() == 0)
            leave(self);
          return;
        }
        if (!st.ctx.record->idle_since(touches))
          return; // used since the collector looked
        if (touches != force_deactivation && !st.observers.empty()) {
          // Observed: not idle. The touch makes the collector look again after another idle
          // timeout, so the grain leaves once its observers are gone.
          st.ctx.record->touch();
          return;
        }
        if (st.d->settled())
          leave(self);
        else if (touches == force_deactivation)
          st.leaving = true; // leave once the writes in flight are answered
      });
}

/// Observers come and go: (observe_atom, who) adds one (monitored, so that it is dropped when
/// it goes down) and answers the committed state; (unobserve_atom, who) drops one.
template <class G>
auto observation(durable_grain_actor<G>* self) {
  return std::make_tuple(
      [self](observe_atom, const caf::actor& who) -> caf::result<typename G::state> {
        auto& st = self->state;
        if (!who)
          return make_failure(core::errc::bad_request, "observe needs an observer");
        st.ctx.record->touch();
        switch (st.observers.add(who)) {
        case observer_list::added::full:
          return make_failure(core::errc::unavailable, "this grain has too many observers");
        case observer_list::added::fresh:
          self->monitor(who);
          break;
        case observer_list::added::again:
          break;
        }
        st.ctx.record->set_observers(st.observers.size());
        return st.d->committed();
      },
      [self](unobserve_atom, const caf::actor& who) {
        auto& st = self->state;
        if (who && st.observers.remove(who.address())) {
          self->demonitor(who);
          st.ctx.record->set_observers(st.observers.size());
        }
      });
}

/// Operators look inside (grain_admin.hpp): (inspect_atom) answers the committed state as its
/// snapshot JSON with the version, the mailbox depth, the observers and whether writes are in
/// flight; (probe_atom) answers the mailbox depth. Neither counts as a use of the grain, so
/// looking does not keep an idle grain active.
template <class G>
auto inspection(durable_grain_actor<G>* self) {
  return std::make_tuple(
      [self](inspect_atom) -> std::string {
        auto& st = self->state;
        const auto& committed = st.d->committed();
        std::string out = "{\"state\":";
        out += snapshot_text(committed);
        out += ",\"version\":" + std::to_string(committed.version);
        out += ",\"mailbox\":" + std::to_string(self->mailbox().size());
        out += ",\"observers\":" + std::to_string(st.observers.size());
        out += ",\"writes_in_flight\":";
        out += st.d->settled() ? "false" : "true";
        out += '}';
        return out;
      },
      [self](probe_atom) -> std::uint64_t { return self->mailbox().size(); });
}

/// Drops an observer that went down.
template <class G>
void observer_down(durable_grain_actor<G>* self, const caf::down_msg& dm) {
  auto& st = self->state;
  if (st.observers.remove(dm.source))
    st.ctx.record->set_observers(st.observers.size());
}

/// The actor of one activation of G: asks storage for the snapshot and runs once it is
/// restored. If storage cannot be read, every message that waited is answered `unavailable`
/// and the activation ends, so that the next message activates (and loads) afresh.
template <class G>
caf::behavior durable_grain(durable_grain_actor<G>* self, grain_context ctx,
                            std::shared_ptr<const G> def, grain_services services) {
  self->state.ctx = ctx;
  services.storage->load(ctx.id.type, ctx.id.key,
                         [handle = caf::actor_cast<caf::actor>(self)](persistence::load_result r) {
                           caf::anon_send(handle, loaded_atom::value,
                                          std::make_shared<persistence::load_result>(std::move(r)));
                         });
  self->set_default_handler(caf::skip);
  return {
      [=](loaded_atom, const load_result_ptr& r) {
        auto& st = self->state;
        st.d.emplace(st.ctx, services);
        if (!r->ok || !st.d->restore(*r, &G::from_snapshot, G::initial(ctx.id.key))) {
          self->set_default_handler(
              [](caf::scheduled_actor*, caf::message_view&) -> caf::result<caf::message> {
                return make_failure(core::errc::unavailable,
                                    "storage is unavailable; retry the request");
              });
          self->become(caf::behavior{[self](deactivate_atom, std::uint64_t) { leave(self); }});
          self->send(self, deactivate_atom::value, force_deactivation);
          return;
        }
        self->set_default_handler(caf::print_and_drop);
        self->set_down_handler([self](caf::down_msg& dm) { observer_down(self, dm); });
        using signatures = typename G::interface::signatures;
        // One behavior of every handler, not four joined with or_else: each message_handler
        // and each join is an allocation of its own, kept by every idle activation.
        self->become(std::apply(
            [](auto&&... handlers) { return caf::behavior{std::move(handlers)...}; },
            std::tuple_cat(interface_handlers(
                               self, def, signatures{},
                               std::make_index_sequence<caf::detail::tl_size<signatures>::value>{}),
                           lifecycle(self), observation(self), inspection(self))));
      },
  };
}

} // namespace detail

/// Makes G an activatable grain type of `grains`: `definition` (with its settings) is shared by
/// every activation, which deactivates after `idle_timeout` without use. In a cluster, a
/// grain that lives on another node resolves to its remote stub (grain_stub.hpp).
template <class G>
void register_durable_grain(catalog& grains, G definition, grain_services services,
                            std::chrono::milliseconds idle_timeout) {
  auto def = std::make_shared<const G>(std::move(definition));
  grains.register_type(
      G::type,
      [def, services](caf::actor_system& sys, const grain_context& ctx) {
        return sys.spawn(&detail::durable_grain<G>, ctx, def, services);
      },
      idle_timeout,
      [](caf::actor_system& sys, const grain_context& ctx) {
        return sys.spawn(&grain_stub<G>, ctx);
      });
}

} // namespace bazaar::runtime
