#include "bazaar/runtime/events.hpp"

#include "bazaar/core/json_text.hpp"

#include <boost/json.hpp>

#include <random>

namespace bazaar::runtime {

namespace jt = core::json_text;

namespace {

void append_uuid(std::string& out) {
  static constexpr char hex[] = "0123456789abcdef";
  thread_local std::mt19937_64 rng{std::random_device{}()};
  std::uint64_t hi = rng(), lo = rng();
  hi = (hi & 0xffffffffffff0fffULL) | 0x0000000000004000ULL; // version 4
  lo = (lo & 0x3fffffffffffffffULL) | 0x8000000000000000ULL; // RFC 4122 variant
  char buf[36];
  char* p = buf;
  for (int i = 0; i < 16; ++i) {
    if (i == 4 || i == 6 || i == 8 || i == 10)
      *p++ = '-';
    std::uint64_t word = i < 8 ? hi : lo;
    auto byte = static_cast<unsigned>(word >> (56 - 8 * (i % 8))) & 0xff;
    *p++ = hex[byte >> 4];
    *p++ = hex[byte & 0xf];
  }
  out.append(buf, sizeof buf);
}

} // namespace

std::string new_uuid() {
  std::string out;
  append_uuid(out);
  return out;
}

persistence::event_record make_event(const grain_id& aggregate, std::uint64_t sequence,
                                     std::uint64_t version, core::timestamp_ms occurred_at_ms,
                                     std::string event_type, boost::json::object data,
                                     const command_meta& meta, const std::string& source) {
  persistence::event_record e;
  e.event_id.reserve(36);
  append_uuid(e.event_id);
  e.event_type = std::move(event_type);
  e.aggregate_type = aggregate.type;
  e.aggregate_id = aggregate.key;
  e.sequence = sequence;
  // The envelope's JSON, written straight into its string (docs/API.md "Events").
  auto& out = e.envelope;
  out.reserve(320 + e.event_type.size() + 2 * e.aggregate_id.size() +
              2 * meta.correlation_id.size() + meta.user_id.size() + source.size());
  out += "{\"event_id\":";
  jt::append_string(out, e.event_id);
  out += ",\"event_type\":";
  jt::append_string(out, e.event_type);
  out += ",\"aggregate_type\":";
  jt::append_string(out, e.aggregate_type);
  out += ",\"aggregate_id\":";
  jt::append_string(out, e.aggregate_id);
  out += ",\"version\":";
  jt::append_uint(out, version);
  out += ",\"sequence\":";
  jt::append_uint(out, sequence);
  out += ",\"occurred_at\":\"";
  core::append_rfc3339(out, occurred_at_ms);
  out += "\",\"data\":";
  jt::append_value(out, data);
  out += ",\"metadata\":{\"correlation_id\":";
  jt::append_string(out, meta.correlation_id);
  out += ",\"causation_id\":";
  jt::append_string(out, meta.correlation_id);
  out += ",\"user_id\":";
  jt::append_string(out, meta.user_id);
  out += ",\"source\":";
  jt::append_string(out, source);
  out += "}}";
  return e;
}

} // namespace bazaar::runtime
