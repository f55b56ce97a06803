#include "bazaar/runtime/events.hpp"

#include <boost/json.hpp>

#include <cstdio>
#include <random>

namespace bazaar::runtime {

std::string new_uuid() {
  thread_local std::mt19937_64 rng{std::random_device{}()};
  std::uint64_t hi = rng(), lo = rng();
  hi = (hi & 0xffffffffffff0fffULL) | 0x0000000000004000ULL; // version 4
  lo = (lo & 0x3fffffffffffffffULL) | 0x8000000000000000ULL; // RFC 4122 variant
  char buf[37];
  std::snprintf(buf, sizeof buf, "%08x-%04x-%04x-%04x-%012llx", static_cast<unsigned>(hi >> 32),
                static_cast<unsigned>((hi >> 16) & 0xffff), static_cast<unsigned>(hi & 0xffff),
                static_cast<unsigned>(lo >> 48),
                static_cast<unsigned long long>(lo & 0xffffffffffffULL));
  return buf;
}

persistence::event_record make_event(const grain_id& aggregate, std::uint64_t sequence,
                                     std::uint64_t version, core::timestamp_ms occurred_at_ms,
                                     std::string event_type, boost::json::object data,
                                     const command_meta& meta, const std::string& source) {
  persistence::event_record e;
  e.event_id = new_uuid();
  e.event_type = std::move(event_type);
  e.aggregate_type = aggregate.type;
  e.aggregate_id = aggregate.key;
  e.sequence = sequence;
  boost::json::object metadata{{"correlation_id", meta.correlation_id},
                               {"causation_id", meta.correlation_id},
                               {"user_id", meta.user_id},
                               {"source", source}};
  boost::json::object envelope{{"event_id", e.event_id},
                               {"event_type", e.event_type},
                               {"aggregate_type", e.aggregate_type},
                               {"aggregate_id", e.aggregate_id},
                               {"version", version},
                               {"sequence", sequence},
                               {"occurred_at", core::format_rfc3339(occurred_at_ms)},
                               {"data", std::move(data)},
                               {"metadata", std::move(metadata)}};
  e.envelope = boost::json::serialize(envelope);
  return e;
}

} // namespace bazaar::runtime
