#pragma once

/// The persistent half of every durable grain. A grain accepts commands one at a time into
/// `current()`; `commit` hands what changed to storage (the snapshot when the version moved,
/// the events, reminder changes and the idempotency answer of the command) and keeps the
/// command's reply waiting until that write committed. Commands may pipeline: later commands
/// are accepted while earlier writes are in flight, and replies leave strictly in order.
/// When a write fails the grain forgets every uncommitted change and answers the waiting
/// commands `unavailable` (nothing happened); when a write is fenced off (another activation
/// wrote), the grain must deactivate. Reads answer the committed state.
///
/// The state type T has a `version` that every accepted change increments, and
/// `to_snapshot(const T&)` (found by ADL) gives its stored JSON form.

#include "bazaar/runtime/catalog.hpp"
#include "bazaar/runtime/command_meta.hpp"
#include "bazaar/runtime/errors.hpp"
#include "bazaar/runtime/events.hpp"
#include "bazaar/runtime/grain_services.hpp"
#include "bazaar/runtime/remembered.hpp"
#include "bazaar/runtime/snapshot_text.hpp"

#include <boost/json.hpp>
#include <caf/actor_cast.hpp>
#include <caf/allowed_unsafe_message_type.hpp>
#include <caf/send.hpp>
#include <spdlog/spdlog.h>

#include <functional>
#include <list>
#include <map>
#include <memory>

namespace bazaar::runtime {

/// Storage's answer to a write: (persisted_atom, epoch, write number, save_status).
using persisted_atom = caf::atom_constant<caf::atom("persisted")>;
/// A grain's snapshot arrived: (loaded_atom, load_result_ptr).
using loaded_atom = caf::atom_constant<caf::atom("loaded")>;

using load_result_ptr = std::shared_ptr<persistence::load_result>;

} // namespace bazaar::runtime

CAF_ALLOW_UNSAFE_MESSAGE_TYPE(bazaar::runtime::load_result_ptr)

namespace bazaar::runtime {

/// How a command's reply is delivered once its write committed (or failed): `ok` gets the
/// state as of that command.
template <class T>
struct waiter {
  std::function<void(const T&)> ok;
  std::function<void(const caf::error&)> fail;
};

/// What an idempotency key says about a request.
enum class key_check {
  fresh,    ///< not seen: run the command
  seen,     ///< answered before with the same request: replay that answer
  conflict, ///< used before with another request
};

template <class T>
class durable {
 public:
  /// `ctx` is the activation's own (its actor state's), which outlives this.
  durable(const grain_context& ctx, grain_services services)
      : ctx_(&ctx), services_(std::move(services)) {}

  const grain_id& id() const { return ctx_->id; }
  T& current() { return current_; }
  const T& committed() const { return committed_; }
  core::timestamp_ms now() const { return ctx_->host->time().wall_ms(); }
  const grain_services& services() const { return services_; }
  const grain_context& context() const { return *ctx_; }

  /// Adopts a loaded snapshot (or `initial` when there is none); false if it is unreadable.
  template <class FromJson>
  bool restore(const persistence::load_result& r, FromJson from_json, T initial) {
    current_ = std::move(initial);
    if (r.found) {
      boost::system::error_code ec;
      auto value = boost::json::parse(r.found->state, ec);
      auto state = ec ? std::nullopt : from_json(value);
      if (!state) {
        spdlog::error("snapshot of {} is not readable", id().str());
        return false;
      }
      current_ = std::move(*state);
      event_seq_ = committed_event_seq_ = r.found->event_seq;
    }
    committed_ = current_;
    stored_version_ = submitted_version_ = current_.version;
    for (const auto& k : r.keys)
      keys_[k.scope + '\n' + k.key] = k;
    ctx_->record->set_version(current_.version);
    return true;
  }

  /// Whether this request was answered before; `seen` gets the remembered answer.
  key_check check(const idempotency& idem, persistence::idempotency_record& seen) const {
    if (!idem.present())
      return key_check::fresh;
    auto i = keys_.find(idem.scope + '\n' + idem.key);
    if (i == keys_.end() || i->second.expires_at_ms <= now())
      return key_check::fresh;
    if (i->second.fingerprint != idem.fingerprint)
      return key_check::conflict;
    seen = i->second;
    return key_check::seen;
  }

  /// Runs `w` once the writes in flight committed (their failure fails it instead).
  void after_writes(waiter<T> w) {
    if (pending_.empty())
      w.ok(committed_);
    else
      pending_.back().waiters.push_back(std::move(w));
  }

  /// Delivers `e` to `fail` once the writes in flight committed.
  void answer_error(const caf::error& e, std::function<void(const caf::error&)> fail) {
    after_writes(waiter<T>{[fail, e](const T&) { fail(e); }, fail});
  }

  /// Stages an event of the command being handled.
  void emit(std::string event_type, boost::json::object data, const command_meta& meta) {
    staged_events_.push_back(make_event(id(), ++event_seq_, current_.version, now(),
                                        std::move(event_type), std::move(data), meta,
                                        services_.source));
  }

  /// The events of the command being handled, not handed to storage yet.
  const std::vector<persistence::event_record>& staged_events() const { return staged_events_; }

  void arm_reminder(std::string name, core::timestamp_ms due_ms) {
    staged_reminders_.push_back(
        persistence::reminder_change{std::move(name), due_ms, false, {}, {}});
  }

  void disarm_reminder(std::string name) {
    staged_reminders_.push_back(persistence::reminder_change{std::move(name), 0, true, {}, {}});
  }

  void disarm_reminder_of(const grain_id& of, std::string name) {
    staged_reminders_.push_back(
        persistence::reminder_change{std::move(name), 0, true, of.type, of.key});
  }

  /// Writes what the command changed and answers `w` once it committed. When the request had
  /// a key, `reply_body()` is remembered for it as an accepted answer.
  template <class Self, class ReplyBody>
  void commit(Self* self, const idempotency& idem, ReplyBody reply_body, waiter<T> w) {
    bool changed = current_.version != submitted_version_;
    if (!changed && staged_events_.empty() && staged_reminders_.empty() && !idem.present()) {
      after_writes(std::move(w));
      return;
    }
    std::vector<persistence::idempotency_record> keys;
    if (idem.present())
      keys.push_back(remember(idem, accepted_outcome, reply_body()));
    submit(self, changed, std::move(keys), std::move(w));
  }

  /// Answers a refused command with `f` (the handler changed nothing). A refusal that is not
  /// transient is remembered for the request's key first (a write of the key alone), so that
  /// a retry gets the same answer.
  template <class Self>
  void refuse(Self* self, const idempotency& idem, const core::failure& f,
              std::function<void(const caf::error&)> fail) {
    auto error = to_error(f);
    staged_events_.clear();
    staged_reminders_.clear();
    if (!idem.present() || core::is_transient(f.code)) {
      answer_error(error, std::move(fail));
      return;
    }
    std::vector<persistence::idempotency_record> keys;
    keys.push_back(remember(idem, refusal_outcome(f), encode_refusal(f)));
    submit(self, false, std::move(keys), waiter<T>{[fail, error](const T&) { fail(error); }, fail});
  }

  /// Takes storage's answer to write `write_no`; false when the grain must deactivate.
  bool on_persisted(std::uint64_t epoch, std::uint64_t write_no, persistence::save_status s) {
    if (epoch != epoch_)
      return true; // an answer to writes already given up
    switch (s) {
    case persistence::save_status::saved:
      while (!pending_.empty() && pending_.front().write_no <= write_no) {
        auto p = std::move(pending_.front());
        pending_.pop_front();
        committed_ = std::move(p.state);
        stored_version_ = committed_.version;
        committed_event_seq_ = p.event_seq;
        for (auto& w : p.waiters)
          w.ok(committed_);
      }
      return true;
    case persistence::save_status::unavailable:
      give_up(
          make_failure(core::errc::unavailable, "storage is unavailable; the change was not made"));
      return true;
    case persistence::save_status::unknown:
      // The commit may have been made: the caller learns that the outcome is unknown (a retry
      // with the same Idempotency-Key is safe), and the grain leaves so that its next
      // activation loads what storage really holds.
      spdlog::warn("{}: storage did not confirm a commit; deactivating", id().str());
      give_up(make_failure(core::errc::timeout,
                           "storage did not confirm the change; its outcome is unknown"));
      return false;
    case persistence::save_status::conflict:
      spdlog::warn("{} was written by another activation; deactivating", id().str());
      give_up(make_failure(core::errc::unavailable, "the grain moved; retry the request"));
      return false;
    }
    return true;
  }

  /// No write in flight.
  bool settled() const { return pending_.empty(); }

  /// Fails every waiting reply (the grain is going away).
  void abandon(const caf::error& e) { give_up(e); }

 private:
  struct pending_write {
    std::uint64_t write_no = 0;
    std::uint64_t event_seq = 0;
    T state;
    std::vector<std::string> keys_added;
    std::vector<waiter<T>> waiters;
  };

  persistence::idempotency_record remember(const idempotency& idem, int outcome, std::string body) {
    persistence::idempotency_record r{idem.scope,       idem.key,
                                      idem.fingerprint, outcome,
                                      std::move(body),  now() + services_.idempotency_ttl.count()};
    keys_[idem.scope + '\n' + idem.key] = r;
    return r;
  }

  template <class Self>
  void submit(Self* self, bool changed, std::vector<persistence::idempotency_record> keys,
              waiter<T> w) {
    persistence::grain_write gw;
    gw.type = id().type;
    gw.key = id().key;
    gw.expected_version = submitted_version_;
    gw.version = current_.version;
    if (changed)
      gw.state = snapshot_text(current_); // the state type's own JSON form
    gw.event_seq = event_seq_;
    gw.events = std::move(staged_events_);
    gw.reminders = std::move(staged_reminders_);
    staged_events_.clear();
    staged_reminders_.clear();
    pending_write p;
    p.write_no = ++write_no_;
    p.event_seq = event_seq_;
    p.state = current_;
    for (const auto& k : keys)
      p.keys_added.push_back(k.scope + '\n' + k.key);
    p.waiters.push_back(std::move(w));
    gw.keys = std::move(keys);
    gw.done = [handle = caf::actor_cast<caf::actor>(self), epoch = epoch_,
               no = p.write_no](persistence::save_status status) {
      caf::anon_send(handle, persisted_atom::value, epoch, no, static_cast<std::uint8_t>(status));
    };
    submitted_version_ = current_.version;
    ctx_->record->set_version(current_.version);
    pending_.push_back(std::move(p));
    services_.storage->write(std::move(gw));
  }

  void give_up(const caf::error& e) {
    auto failed = std::move(pending_);
    pending_.clear();
    for (auto& p : failed)
      for (const auto& k : p.keys_added)
        keys_.erase(k);
    current_ = committed_;
    submitted_version_ = stored_version_;
    event_seq_ = committed_event_seq_;
    staged_events_.clear();
    staged_reminders_.clear();
    ++epoch_;
    ctx_->record->set_version(current_.version);
    for (auto& p : failed)
      for (auto& w : p.waiters)
        w.fail(e);
  }

  const grain_context* ctx_; // not a copy: an idle activation keeps one
  grain_services services_;
  T current_;
  T committed_;
  std::uint64_t stored_version_ = 0;
  std::uint64_t submitted_version_ = 0;
  std::uint64_t event_seq_ = 0;
  std::uint64_t committed_event_seq_ = 0;
  std::uint64_t epoch_ = 0;
  std::uint64_t write_no_ = 0;
  // A list, not a deque: an idle grain has no pending write, and libstdc++'s deque allocates
  // its map and a 512-byte block even empty (a tenth of an idle basket grain's memory).
  std::list<pending_write> pending_;
  std::vector<persistence::event_record> staged_events_;
  std::vector<persistence::reminder_change> staged_reminders_;
  std::map<std::string, persistence::idempotency_record> keys_;
};

} // namespace bazaar::runtime
