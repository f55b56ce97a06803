#pragma once

/// Where grains keep their state between activations: one snapshot per grain, keyed by
/// (grain type, key), with a version. A write names the version it expects to replace, so two
/// activations of one grain can never both commit (optimistic concurrency, like an ETag).

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace bazaar::persistence {

struct snapshot {
  std::string type;
  std::string key;
  std::uint64_t version = 0;
  /// The grain's state as JSON text.
  std::string state;
  /// Events the grain has journaled so far (its per-aggregate event sequence).
  std::uint64_t event_seq = 0;
};

enum class save_status {
  saved,
  /// The stored version was not the expected one: another activation wrote meanwhile.
  conflict,
  /// The store cannot be reached now; nothing was written.
  unavailable,
  /// The store did not confirm the commit (the connection broke during COMMIT): the write may
  /// or may not have been made. Not `unavailable`, which promises that nothing was written.
  unknown,
};

/// The first answer to a request with an Idempotency-Key (or to a Kafka record, keyed by its
/// event id), remembered by the grain that had the effect: the outcome of the command and its
/// serialized body. What the outcome codes mean is the grains' business (the runtime stores 0
/// for a reply and an error code otherwise); storage keeps both as they are.
struct idempotency_record {
  std::string scope; ///< the customer (token sub), or "kafka"
  std::string key;
  std::uint64_t fingerprint = 0;
  int outcome = 0;
  std::string body; ///< bytes
  std::int64_t expires_at_ms = 0;
};

struct load_result {
  /// False when the store could not be reached.
  bool ok = true;
  /// Empty when the grain never saved anything.
  std::optional<snapshot> found;
  /// The grain's remembered idempotency answers that have not expired.
  std::vector<idempotency_record> keys;
};

class snapshot_store {
 public:
  virtual ~snapshot_store() = default;

  virtual load_result load(const std::string& type, const std::string& key) = 0;

  /// Stores `s` if the stored version is `expected_version` (0: nothing stored yet).
  virtual save_status save(const snapshot& s, std::uint64_t expected_version) = 0;
};

} // namespace bazaar::persistence
