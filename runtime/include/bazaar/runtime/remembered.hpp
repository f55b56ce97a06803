#pragma once

/// Answers as idempotency keys remember them: outcome 0 and the reply in CAF's binary form, or
/// the error code and the failure's message and field. Any reply type with an `inspect` can be
/// remembered, and a replay is the same value the first caller got.

#include "bazaar/core/failure.hpp"
#include "bazaar/persistence/snapshot_store.hpp"

#include <caf/binary_deserializer.hpp>
#include <caf/binary_serializer.hpp>

#include <optional>
#include <string>
#include <vector>

namespace bazaar::runtime {

/// The outcome code of a remembered reply.
inline constexpr int accepted_outcome = 0;

template <class T>
std::string encode(T value) {
  std::vector<char> buf;
  caf::binary_serializer sink{static_cast<caf::execution_unit*>(nullptr), buf};
  if (auto err = sink(value))
    return {};
  return std::string(buf.begin(), buf.end());
}

template <class T>
std::optional<T> decode(const std::string& bytes) {
  T value{};
  caf::binary_deserializer source{static_cast<caf::execution_unit*>(nullptr), bytes.data(),
                                  bytes.size()};
  if (auto err = source(value))
    return std::nullopt;
  return value;
}

/// The outcome and body that remember a refusal.
inline int refusal_outcome(const core::failure& f) {
  return static_cast<int>(f.code);
}
inline std::string encode_refusal(const core::failure& f) {
  return encode(std::make_pair(f.message, f.field));
}

/// A remembered refusal read back.
inline core::failure decode_refusal(const persistence::idempotency_record& r) {
  core::failure f{static_cast<core::errc>(r.outcome), {}, {}};
  if (auto text = decode<std::pair<std::string, std::string>>(r.body)) {
    f.message = std::move(text->first);
    f.field = std::move(text->second);
  }
  return f;
}

} // namespace bazaar::runtime
