#pragma once

/// The storage role of the read side's projections (kafka::projector uses it): which
/// projections there are with the event types each applies, and a store per projection that
/// applies a batch of events exactly once (an event delivered again changes nothing).
/// PostgreSQL's: persistence/projections.hpp.

#include <boost/json/object.hpp>

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
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

/// A projection and the event types it applies.
struct projection_spec {
  std::string name;
  std::vector<std::string> event_types;
};

/// What applying a batch did.
struct apply_outcome {
  /// Events applied now.
  std::size_t applied = 0;
  /// Events this projection had applied before (redelivered): skipped.
  std::size_t duplicates = 0;
  /// Events of types the projection does not apply.
  std::size_t ignored = 0;
  /// Events whose data the projection cannot use (a field missing or of the wrong type, or
  /// refused by the store as invalid data): skipped. `problems` says why.
  std::size_t rejected = 0;
  std::vector<std::string> problems;
};

/// One projection's store; used by one thread.
class projection_store {
 public:
  virtual ~projection_store() = default;

  virtual const std::string& name() const = 0;

  /// Applies the events at once (all or none); nullopt (and `error`) when the store is
  /// unavailable or failed for a reason of the moment (nothing is applied: retry the batch).
  /// Events whose data the store refuses are skipped and counted as rejected.
  virtual std::optional<apply_outcome> apply(const std::vector<projected_event>& events,
                                             std::string& error) = 0;
};

/// The projections of a read side, and how to open the store of one of them.
struct projection_source {
  std::vector<projection_spec> projections;
  /// The store of projection `name` (one of `projections`).
  std::function<std::unique_ptr<projection_store>(const std::string& name)> open;
};

} // namespace bazaar::persistence
