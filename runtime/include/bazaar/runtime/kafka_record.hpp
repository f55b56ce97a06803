#pragma once

/// A Kafka record delivered to a grain by the bridge. The grain answers `true` once it has
/// durably handled the record, remembering its event_id with the effect (in the same
/// transaction), so that a record delivered again has no second effect.
///
/// The bridge pipelines the records of one grain: it sends a grain's next record before the
/// answer to the previous one came (`chained`). A durable grain refuses a new chained record
/// (`unavailable`, nothing happens) once a command or write of its own failed transiently
/// since the last record that was not chained, and a new activation starts that way: a record
/// that failed is retried by the bridge ahead of the records behind it, so their effects keep
/// the partition's order (durable_grain.hpp).

#include "bazaar/runtime/command_meta.hpp"

#include <caf/meta/type_name.hpp>

#include <cstdint>
#include <string>

namespace bazaar::runtime {

struct kafka_record {
  std::string topic;
  std::int32_t partition = 0;
  std::int64_t offset = 0;
  std::string event_id;
  std::string event_type;
  /// The record's value: the event envelope (docs/API.md) as JSON text.
  std::string envelope;
  /// Sent while an earlier record to the same grain had not been answered yet.
  bool chained = false;
  /// Who caused the event: the envelope's metadata.correlation_id and user_id. The events the
  /// grain emits while handling the record carry them on (through Kafka to the next grain).
  command_meta meta{};
  /// For log lines: the envelope's subject (subject_in of its data, "" if none), and the event
  /// described by its type and its data's type/status/to/reason (step_log.hpp).
  std::string subject{};
  std::string detail{};
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, kafka_record& x) {
  return f(caf::meta::type_name("bazaar.kafka_record"), x.topic, x.partition, x.offset, x.event_id,
           x.event_type, x.envelope, x.chained, x.meta, x.subject, x.detail);
}

} // namespace bazaar::runtime
