#pragma once

/// Event envelopes (API.md "Events") for the outbox/journal.

#include "bazaar/actors/protocol.hpp"
#include "bazaar/persistence/grain_storage.hpp"
#include "bazaar/runtime/grain_id.hpp"

#include <boost/json/object.hpp>

#include <string>

namespace bazaar::actors {

/// A random (version 4) UUID in its text form.
std::string new_uuid();

/// The envelope of one event: `{"event_id", "event_type", "aggregate_type", "aggregate_id",
/// "version", "occurred_at", "data", "metadata": {"correlation_id", "causation_id",
/// "user_id", "source"}}`, as an outbox record with its per-aggregate sequence.
persistence::event_record make_event(const runtime::grain_id& aggregate, std::uint64_t sequence,
                                     std::uint64_t version, std::int64_t occurred_at_ms,
                                     std::string event_type, boost::json::object data,
                                     const command_meta& meta, const std::string& source);

} // namespace bazaar::actors
