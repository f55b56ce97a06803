#pragma once

/// Every storage role in process memory, for unit tests: a memory_snapshot_store plus the
/// events, idempotency answers and reminders written, all applied at once and atomically.

#include "bazaar/persistence/grain_store.hpp"
#include "bazaar/persistence/journal.hpp"
#include "bazaar/persistence/memory_snapshot_store.hpp"
#include "bazaar/persistence/reminder_store.hpp"

#include <map>
#include <mutex>

namespace bazaar::persistence {

class memory_storage final : public grain_store, public reminder_store, public journal {
 public:
  void load(const std::string& type, const std::string& key,
            std::function<void(load_result)> done) override;
  void write(grain_write w) override;
  bool ready(std::string& why) const override;
  std::vector<due_reminder> claim_due(std::size_t limit, std::chrono::milliseconds lease) override;
  void history(const std::string& aggregate_type, const std::string& aggregate_id,
               std::function<void(std::optional<std::vector<std::string>>)> done) override;

  /// The clock reminders are compared with (milliseconds since the epoch); tests move it.
  void set_now(std::int64_t now_ms);

  /// Makes every following load and write fail as `unavailable` (an outage), or not.
  void set_available(bool available);

  /// Makes every following write take effect but answer `unknown`, as a COMMIT whose answer
  /// was lost (pqxx::in_doubt_error), or not.
  void set_commit_in_doubt(bool in_doubt);

  memory_snapshot_store& snapshots() { return snapshots_; }
  std::vector<event_record> events() const;
  std::map<std::string, std::int64_t> reminders() const; ///< "type/key/name" -> due_at_ms

 private:
  mutable std::mutex mtx_;
  memory_snapshot_store snapshots_;
  std::vector<event_record> events_;
  std::map<std::string, std::vector<idempotency_record>> keys_; ///< by "type/key"
  std::map<std::string, std::int64_t> reminders_;
  bool available_ = true;
  bool in_doubt_ = false;
  std::int64_t now_ms_ = 0;
};

} // namespace bazaar::persistence
