#pragma once

/// The persistent half of every grain shell. A grain accepts commands one at a time into
/// `current()`; `commit` hands what changed to storage (the snapshot when the version moved,
/// the events, reminder changes and the idempotency answer of the command) and keeps the
/// command's reply waiting until that write committed. Commands may pipeline: later commands
/// are accepted while earlier writes are in flight, and replies leave strictly in order.
/// When a write fails the grain forgets every uncommitted change and answers the waiting
/// commands 503 (nothing happened); when a write is fenced off (another activation wrote),
/// the grain must deactivate. Reads answer the committed state.

#include "bazaar/actors/protocol.hpp"
#include "bazaar/actors/registry.hpp"
#include "bazaar/domain/json_codec.hpp"
#include "bazaar/runtime/errors.hpp"

#include "bazaar/actors/events.hpp"

#include <boost/json.hpp>
#include <caf/actor_cast.hpp>
#include <caf/allowed_unsafe_message_type.hpp>
#include <caf/send.hpp>
#include <spdlog/spdlog.h>

#include <deque>
#include <functional>
#include <map>
#include <memory>

namespace bazaar::actors {

/// Storage's answer to a write: (persisted_atom, epoch, write number, save_status).
using persisted_atom = caf::atom_constant<caf::atom("persisted")>;
/// A grain's snapshot arrived: (loaded_atom, load_result_ptr).
using loaded_atom = caf::atom_constant<caf::atom("loaded")>;

using load_result_ptr = std::shared_ptr<persistence::load_result>;

} // namespace bazaar::actors

CAF_ALLOW_UNSAFE_MESSAGE_TYPE(bazaar::actors::load_result_ptr)

namespace bazaar::actors {

/// How a command's reply is delivered once its write committed (or failed).
template <class T>
struct waiter {
  std::function<void(const T&)> ok;
  std::function<void(const caf::error&)> fail;
};

/// A waiter that delivers `render(state)` through a response promise.
template <class T, class Reply, class Render>
waiter<T> reply_with(caf::typed_response_promise<Reply> rp, Render render) {
  return waiter<T>{[rp, render](const T& state) mutable { rp.deliver(render(state)); },
                   [rp](const caf::error& e) mutable { rp.deliver(e); }};
}

/// A waiter that delivers the state itself.
template <class T>
waiter<T> reply_state(caf::typed_response_promise<T> rp) {
  return reply_with<T>(rp, [](const T& state) { return state; });
}

template <class T>
class durable {
 public:
  using body_fn = std::function<std::string(const T&)>;

  durable(runtime::grain_context ctx, grain_services services)
      : ctx_(std::move(ctx)), services_(std::move(services)) {}

  const runtime::grain_id& id() const { return ctx_.id; }
  T& current() { return current_; }
  const T& committed() const { return committed_; }
  std::int64_t now() const { return ctx_.host->time().wall_ms(); }
  const grain_services& services() const { return services_; }

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
    ctx_.record->set_version(current_.version);
    return true;
  }

  /// The answer already given to this idempotency key (a replay error), a conflict when the
  /// key came with another body, or nothing when the request is new.
  std::optional<caf::error> check(const idempotency& idem) const {
    if (!idem.present())
      return std::nullopt;
    auto i = keys_.find(idem.scope + '\n' + idem.key);
    if (i == keys_.end() || i->second.expires_at_ms <= now())
      return std::nullopt;
    if (i->second.fingerprint != idem.fingerprint)
      return runtime::make_failure(domain::errc::conflict,
                                   "this Idempotency-Key was already used with another request");
    return runtime::make_replay(i->second.status, i->second.body);
  }

  /// Delivers `e` to `w` once the writes in flight committed (their failure fails it instead).
  void answer_error(const caf::error& e, waiter<T> w) {
    if (pending_.empty()) {
      w.fail(e);
      return;
    }
    pending_.back().waiters.push_back(waiter<T>{[fail = w.fail, e](const T&) { fail(e); }, w.fail});
  }

  /// Answers with the committed state, after the writes in flight.
  void answer_state(waiter<T> w) {
    if (pending_.empty())
      w.ok(committed_);
    else
      pending_.back().waiters.push_back(std::move(w));
  }

  /// Stages an event of the command being handled.
  void emit(std::string event_type, boost::json::object data, const command_meta& meta) {
    staged_events_.push_back(make_event(id(), ++event_seq_, current_.version, now(),
                                        std::move(event_type), std::move(data), meta,
                                        services_.source));
  }

  void arm_reminder(std::string name, std::int64_t due_ms) {
    staged_reminders_.push_back(persistence::reminder_change{std::move(name), due_ms, false});
  }

  void disarm_reminder(std::string name) {
    staged_reminders_.push_back(persistence::reminder_change{std::move(name), 0, true});
  }

  /// Writes what the command changed and answers `w` once it committed. The idempotency
  /// answer, when the request had a key, is `success_status` with `body(state)`.
  template <class Self>
  void commit(Self* self, const idempotency& idem, const body_fn& body, waiter<T> w) {
    bool changed = current_.version != submitted_version_;
    if (!changed && staged_events_.empty() && staged_reminders_.empty() && !idem.present()) {
      answer_state(std::move(w));
      return;
    }
    std::vector<persistence::idempotency_record> keys;
    if (idem.present())
      keys.push_back(remember(idem, idem.success_status, body(current_)));
    submit(self, changed, std::move(keys), std::move(w));
  }

  /// Answers a refused command with `f`; when the request had a key the answer is
  /// remembered first (a write of the key alone), as API.md asks for 4xx answers.
  template <class Self>
  void refuse(Self* self, const idempotency& idem, const domain::failure& f, waiter<T> w) {
    auto error = runtime::to_error(f);
    staged_events_.clear();
    staged_reminders_.clear();
    if (!idem.present() || domain::http_status(f.code) >= 500) {
      answer_error(error, std::move(w));
      return;
    }
    std::vector<persistence::idempotency_record> keys;
    keys.push_back(remember(idem, domain::http_status(f.code), domain::error_body(f)));
    submit(self, false, std::move(keys),
           waiter<T>{[fail = w.fail, error](const T&) { fail(error); }, w.fail});
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
      give_up(runtime::make_failure(domain::errc::unavailable,
                                    "storage is unavailable; the change was not made"));
      return true;
    case persistence::save_status::conflict:
      spdlog::warn("{} was written by another activation; deactivating", id().str());
      give_up(
          runtime::make_failure(domain::errc::unavailable, "the grain moved; retry the request"));
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

  persistence::idempotency_record remember(const idempotency& idem, int status, std::string body) {
    persistence::idempotency_record r{idem.scope,       idem.key,
                                      idem.fingerprint, status,
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
      gw.state = boost::json::serialize(to_snapshot(current_)); // ADL: the state type's own
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
    ctx_.record->set_version(current_.version);
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
    ctx_.record->set_version(current_.version);
    for (auto& p : failed)
      for (auto& w : p.waiters)
        w.fail(e);
  }

  runtime::grain_context ctx_;
  grain_services services_;
  T current_;
  T committed_;
  std::uint64_t stored_version_ = 0;
  std::uint64_t submitted_version_ = 0;
  std::uint64_t event_seq_ = 0;
  std::uint64_t committed_event_seq_ = 0;
  std::uint64_t epoch_ = 0;
  std::uint64_t write_no_ = 0;
  std::deque<pending_write> pending_;
  std::vector<persistence::event_record> staged_events_;
  std::vector<persistence::reminder_change> staged_reminders_;
  std::map<std::string, persistence::idempotency_record> keys_;
};

} // namespace bazaar::actors
