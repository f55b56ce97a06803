#pragma once

/// What grains persist through: asynchronous loads and writes, so that no actor thread ever
/// waits for the database. A write carries a grain's new snapshot (version-fenced) together
/// with the events, idempotency answers and reminder changes of the same commands; all of it
/// commits in one transaction or none of it does.

#include "bazaar/persistence/snapshot_store.hpp"

#include <chrono>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

namespace bazaar::persistence {

/// One event envelope for the outbox/journal.
struct event_record {
  std::string event_id; ///< UUID
  std::string event_type;
  std::string aggregate_type;
  std::string aggregate_id;
  std::uint64_t sequence = 0; ///< per aggregate, from 1
  std::string envelope;       ///< JSON text (API.md envelope)
};

/// Arms (or re-arms) a reminder, or removes it.
struct reminder_change {
  std::string name;
  std::int64_t due_at_ms = 0;
  bool remove = false;
};

struct grain_write {
  std::string type;
  std::string key;
  /// The version stored now, which this write replaces (0: nothing stored yet).
  std::uint64_t expected_version = 0;
  /// The version written; equal to expected_version when `state` is empty.
  std::uint64_t version = 0;
  /// The new snapshot as JSON text; empty when only events, keys or reminders are written.
  std::string state;
  std::uint64_t event_seq = 0;
  std::vector<event_record> events;
  std::vector<idempotency_record> keys;
  std::vector<reminder_change> reminders;
  /// Runs exactly once with the outcome, on a storage thread or at once.
  std::function<void(save_status)> done;
};

/// A reminder whose time has come, claimed for delivery.
struct due_reminder {
  std::string type;
  std::string key;
  std::string name;
};

class grain_storage {
 public:
  virtual ~grain_storage() = default;

  /// Loads a grain's snapshot; `done` runs exactly once.
  virtual void load(const std::string& type, const std::string& key,
                    std::function<void(load_result)> done) = 0;

  /// Queues a write; never waits for the database.
  virtual void write(grain_write w) = 0;

  /// True when loads and writes can succeed now; otherwise `why` says what is wrong.
  virtual bool ready(std::string& why) const = 0;

  /// Claims up to `limit` due reminders, leasing each for `lease` (it fires again after the
  /// lease unless its grain re-arms or removes it meanwhile). Blocking; for the reminder
  /// service's own thread. Empty when the store is unavailable.
  virtual std::vector<due_reminder> claim_due_reminders(std::size_t limit,
                                                        std::chrono::milliseconds lease) = 0;

  /// The journal of one aggregate (event envelopes as JSON text, oldest first); `done` gets
  /// nullopt when the store is unavailable.
  virtual void history(const std::string& aggregate_type, const std::string& aggregate_id,
                       std::function<void(std::optional<std::vector<std::string>>)> done) = 0;
};

} // namespace bazaar::persistence
