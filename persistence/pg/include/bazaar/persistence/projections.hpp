#pragma once

/// The read-side projections in PostgreSQL (migration 0006_read_models.sql): which events each
/// applies, and applying a batch of them exactly once. A batch is one transaction: for each
/// event the projection applies, its (projection, event_id) row goes into projection_applied
/// and, only when that row is new, its change into the projection's tables; so an event
/// delivered again changes nothing, whenever it comes. Synchronous, one connection: for one
/// projector thread.

#include "bazaar/persistence/pg.hpp"

#include <boost/json/object.hpp>

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

namespace bazaar::persistence {

/// An event envelope (docs/API.md "Events") decoded.
struct projected_event {
  std::string event_id;
  std::string event_type;
  std::string aggregate_id;
  std::uint64_t version = 0;
  std::int64_t occurred_at_ms = 0;
  boost::json::object data;
};

/// Decodes an envelope: event_id, event_type (non-empty strings), aggregate_id (string),
/// version (integer >= 0), occurred_at (RFC 3339), data (object). The reason when it is not one.
std::variant<projected_event, std::string> decode_envelope(std::string_view value);

/// A projection and the event types it applies.
struct projection_spec {
  std::string name;
  std::vector<std::string> event_types;
};

/// Every projection: catalog, orders, notifications, sales.
const std::vector<projection_spec>& projections();

/// What applying a batch did.
struct apply_outcome {
  /// Events applied now.
  std::size_t applied = 0;
  /// Events this projection had applied before (redelivered): skipped.
  std::size_t duplicates = 0;
  /// Events of types the projection does not apply.
  std::size_t ignored = 0;
  /// Events whose data the projection cannot use (a field missing or of the wrong type, or
  /// refused by the database as invalid data): skipped. `problems` says why.
  std::size_t rejected = 0;
  std::vector<std::string> problems;
};

class projection_store {
 public:
  /// The store of projection `name` (one of projections()); throws std::invalid_argument for
  /// another name. Connects lazily.
  projection_store(pg_settings settings, std::string name);
  ~projection_store();

  projection_store(const projection_store&) = delete;
  projection_store& operator=(const projection_store&) = delete;

  const std::string& name() const { return name_; }

  /// Applies the events in one transaction; nullopt (and `error`) when the database is
  /// unavailable or failed for a reason of the moment (nothing is applied: retry the batch).
  /// When the database refuses an event's data as invalid, the batch is applied again event
  /// by event and the refused events are skipped.
  std::optional<apply_outcome> apply(const std::vector<projected_event>& events,
                                     std::string& error);

 private:
  bool connected(std::string& error);

  pg_settings settings_;
  std::string name_;
  std::unique_ptr<pqxx::connection> conn_;
};

} // namespace bazaar::persistence
