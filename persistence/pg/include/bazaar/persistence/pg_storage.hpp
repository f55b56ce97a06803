#pragma once

/// Every storage role on PostgreSQL: the grain write path (the group-commit persister for
/// writes, the batched loader for activations), the reminder table and the journal reader,
/// with a monitor that applies the migrations and keeps watching the server. The node owns one
/// and hands its roles out as interfaces; it stops it directly.

#include "bazaar/persistence/grain_store.hpp"
#include "bazaar/persistence/journal.hpp"
#include "bazaar/persistence/persister.hpp"
#include "bazaar/persistence/pg_loader.hpp"
#include "bazaar/persistence/pg_monitor.hpp"
#include "bazaar/persistence/reminder_store.hpp"

#include <memory>
#include <mutex>
#include <string>

namespace bazaar::persistence {

class pg_storage final : public grain_store, public reminder_store, public journal {
 public:
  struct options {
    persister::options writes;
    int load_batch = 256;
    std::chrono::milliseconds monitor_interval{1000};
    /// How long the read side remembers the id of an event it applied (pg_monitor).
    std::chrono::seconds applied_events_retention{7 * 24 * 60 * 60};
  };

  pg_storage(pg_settings settings, options opts);
  ~pg_storage() override;

  void load(const std::string& type, const std::string& key,
            std::function<void(load_result)> done) override;
  void write(grain_write w) override;
  bool ready(std::string& why) const override;
  std::vector<due_reminder> claim_due(std::size_t limit, std::chrono::milliseconds lease) override;
  void history(const std::string& aggregate_type, const std::string& aggregate_id,
               std::function<void(std::optional<std::vector<std::string>>)> done) override;

  /// Waits up to `timeout` for the migrations; true once applied.
  bool wait_ready(std::chrono::milliseconds timeout) const;

  /// Finishes queued writes and stops every thread. Idempotent.
  void stop();

  const persister::stats& write_stats() const { return writes_.statistics(); }
  std::uint64_t loads() const { return loader_.loads(); }

  const pg_settings& settings() const { return settings_; }

 private:
  pg_settings settings_;
  pg_monitor monitor_;
  pg_loader loader_;
  persister writes_;
  std::mutex reminder_mtx_;
  std::unique_ptr<pqxx::connection> reminder_conn_; ///< claim_due only
};

} // namespace bazaar::persistence
