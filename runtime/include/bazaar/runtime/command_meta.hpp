#pragma once

/// What a command carries besides its own fields: who asked (for the events it produces) and
/// its Idempotency-Key (for answering a retry with the first answer). Grain messages that are
/// commands have a `meta` and an `idem` member of these types; the platform reads them.

#include <caf/meta/type_name.hpp>

#include <cstdint>
#include <string>

namespace bazaar::runtime {

/// Who asked: carried into the metadata of the events a command produces.
struct command_meta {
  std::string correlation_id;
  std::string user_id;
};

/// The Idempotency-Key of a mutating request, if it had one. The grain that has the effect
/// remembers the outcome in the same transaction as the effect; a retry with the same key and
/// fingerprint gets that outcome again, another fingerprint gets `conflict`.
struct idempotency {
  std::string scope; ///< the customer (token sub), or "kafka" for records
  std::string key;   ///< empty: no key
  /// Identifies the request the key came with (its method, path and body).
  std::uint64_t fingerprint = 0;

  bool present() const { return !key.empty(); }
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, command_meta& x) {
  return f(caf::meta::type_name("bazaar.command_meta"), x.correlation_id, x.user_id);
}

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, idempotency& x) {
  return f(caf::meta::type_name("bazaar.idempotency"), x.scope, x.key, x.fingerprint);
}

} // namespace bazaar::runtime
