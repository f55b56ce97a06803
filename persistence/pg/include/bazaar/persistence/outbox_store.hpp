#pragma once

/// The outbox as the relay sees it: unpublished rows in commit-safe order, marking rows
/// published, the backlog, and the relay lease. One node relays at a time (it holds a session
/// advisory lock on its connection; a node that dies drops it), so rows of one aggregate are
/// published in their sequence order. Synchronous, one connection: for the relay's thread.

#include "bazaar/persistence/pg.hpp"

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace bazaar::persistence {

struct outbox_row {
  std::int64_t id = 0;
  std::string event_id;
  std::string event_type;
  std::string aggregate_type;
  std::string aggregate_id;
  std::uint64_t sequence = 0;
  std::string envelope;
  /// When it was committed: ms since the epoch on PostgreSQL's clock.
  std::int64_t committed_ms = 0;
};

class outbox_store {
 public:
  explicit outbox_store(pg_settings settings);
  ~outbox_store();

  /// Tries to hold the relay lease; true while this store holds it. Any database error drops
  /// the connection (and so the lease) and returns false.
  bool lead();

  /// Unpublished rows with id > after_id, oldest first, at most `limit`; nullopt on error.
  std::optional<std::vector<outbox_row>> unpublished(std::int64_t after_id, std::size_t limit);

  /// Marks rows published; false on error (they will be published again: at least once).
  bool mark_published(const std::vector<std::int64_t>& ids);

  /// Rows not published yet; -1 on error.
  std::int64_t backlog();

  /// Marks the rows published within the last `window` unpublished again, so that they are
  /// published again (consumers remember event ids: a second delivery has no second effect);
  /// how many, or -1 on error.
  std::int64_t unpublish_since(std::chrono::seconds window);

 private:
  bool ensure_connected();

  pg_settings settings_;
  std::unique_ptr<pqxx::connection> conn_;
  bool leading_ = false;
};

} // namespace bazaar::persistence
