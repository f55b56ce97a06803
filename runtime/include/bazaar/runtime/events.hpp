#pragma once

/// Event envelopes (docs/API.md "Events") as grains journal them: `{"event_id", "event_type",
/// "aggregate_type", "aggregate_id", "version", "sequence", "occurred_at", "data",
/// "metadata": {"correlation_id", "causation_id", "user_id", "source"}}`.

#include "bazaar/core/time.hpp"
#include "bazaar/persistence/grain_store.hpp"
#include "bazaar/runtime/command_meta.hpp"
#include "bazaar/runtime/grain_id.hpp"

#include <boost/json/object.hpp>

#include <string>

namespace bazaar::runtime {

/// A random (version 4) UUID in its text form.
std::string new_uuid();

/// The envelope of one event as an outbox record with its per-aggregate sequence.
persistence::event_record make_event(const grain_id& aggregate, std::uint64_t sequence,
                                     std::uint64_t version, core::timestamp_ms occurred_at,
                                     std::string event_type, boost::json::object data,
                                     const command_meta& meta, const std::string& source);

} // namespace bazaar::runtime
