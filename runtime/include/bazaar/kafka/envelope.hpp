#pragma once

/// Reading a Kafka record's value as an event envelope (docs/API.md "Events").

#include "bazaar/persistence/projection_store.hpp"

#include <string>
#include <string_view>
#include <variant>

namespace bazaar::kafka {

/// Decodes an envelope: event_id, event_type (non-empty strings), aggregate_id (string),
/// version (integer >= 0), occurred_at (RFC 3339), data (object). The reason when it is not one.
std::variant<persistence::projected_event, std::string> decode_envelope(std::string_view value);

} // namespace bazaar::kafka
