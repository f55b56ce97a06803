#pragma once

/// The grain write path: asynchronous loads and writes, so that no actor thread ever waits for
/// the database. A write carries a grain's new snapshot (version-fenced) together with the
/// events, idempotency answers and reminder changes of the same commands; all of it commits in
/// one transaction or none of it does.

#include "bazaar/persistence/snapshot_store.hpp"

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
  std::string envelope;       ///< JSON text (docs/API.md envelope)
};

/// Arms (or re-arms) a reminder, or removes it.
struct reminder_change {
  std::string name;
  std::int64_t due_at_ms = 0;
  bool remove = false;
  /// The grain whose reminder it is when not the writing grain's own (a removal only: a
  /// saga's last write removes the reminder its order armed to start it again).
  std::string grain_type;
  std::string grain_key;
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

class grain_store {
 public:
  virtual ~grain_store() = default;

  /// Loads a grain's snapshot and its remembered idempotency answers; `done` runs exactly once.
  virtual void load(const std::string& type, const std::string& key,
                    std::function<void(load_result)> done) = 0;

  /// Queues a write; never waits for the database.
  virtual void write(grain_write w) = 0;

  /// True when loads and writes can succeed now; otherwise `why` says what is wrong.
  virtual bool ready(std::string& why) const = 0;
};

} // namespace bazaar::persistence
