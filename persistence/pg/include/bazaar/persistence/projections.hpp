#pragma once

/// The read-side projections in PostgreSQL (migration 0006_read_models.sql): which events each
/// applies, and applying a batch of them exactly once. A batch is one transaction: for each
/// event the projection applies, its (projection, event_id) row goes into projection_applied
/// and, only when that row is new, its change into the projection's tables; so an event
/// delivered again changes nothing, whenever it comes. Synchronous, one connection: for one
/// projector thread.

#include "bazaar/persistence/pg.hpp"
#include "bazaar/persistence/projection_store.hpp"

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace bazaar::persistence {

/// Every projection: catalog, orders, notifications, sales.
const std::vector<projection_spec>& projections();

/// The projections in PostgreSQL as the projector's source.
projection_source pg_projections(pg_settings settings);

class pg_projection_store final : public projection_store {
 public:
  /// The store of projection `name` (one of projections()); throws std::invalid_argument for
  /// another name. Connects lazily.
  pg_projection_store(pg_settings settings, std::string name);
  ~pg_projection_store() override;

  pg_projection_store(const pg_projection_store&) = delete;
  pg_projection_store& operator=(const pg_projection_store&) = delete;

  const std::string& name() const override { return name_; }

  /// Applies the events in one transaction; nullopt (and `error`) when the database is
  /// unavailable or failed for a reason of the moment (nothing is applied: retry the batch).
  /// When the database refuses an event's data as invalid, the batch is applied again event
  /// by event and the refused events are skipped.
  std::optional<apply_outcome> apply(const std::vector<projected_event>& events,
                                     std::string& error) override;

 private:
  bool connected(std::string& error);

  pg_settings settings_;
  std::string name_;
  std::unique_ptr<pqxx::connection> conn_;
};

} // namespace bazaar::persistence
