#pragma once

/// A test-only grain that stands in for the shop's consuming grains: a ledger per key that
/// counts the Kafka records it handled and sums their data.amount, durably, remembering each
/// event id with its effect (the platform does, for Kafka records); a record whose data has
/// "poison" fails every time. Used by the Kafka tests and the bridge benchmark.

#include "bazaar/runtime/durable_grain.hpp"
#include "bazaar/runtime/grain_types.hpp"
#include "bazaar/runtime/kafka_record.hpp"

#include <boost/json.hpp>

namespace bazaar::test {

namespace json = boost::json;

/// The ledger: how many events and what total amount one key has seen.
struct ledger {
  std::string key;
  std::int64_t count = 0;
  std::int64_t total = 0;
  std::uint64_t version = 0;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, ledger& x) {
  return f(caf::meta::type_name("test.ledger"), x.key, x.count, x.total, x.version);
}

inline json::value to_snapshot(const ledger& l) {
  return json::object{
      {"key", l.key}, {"count", l.count}, {"total", l.total}, {"version", l.version}};
}

/// Answers the ledger.
struct ledger_get {};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, ledger_get&) {
  return f(caf::meta::type_name("test.ledger_get"));
}

struct ledger_grain {
  static constexpr const char* type = "ledger";
  using state = ledger;
  using interface = caf::typed_actor<caf::replies_to<ledger_get>::with<ledger>,
                                     caf::replies_to<runtime::kafka_record>::with<bool>>;

  static ledger initial(const std::string& key) { return ledger{key, 0, 0, 0}; }

  static std::optional<ledger> from_snapshot(const json::value& v) {
    if (!v.is_object())
      return std::nullopt;
    const auto& o = v.as_object();
    return ledger{std::string(o.at("key").as_string()), o.at("count").as_int64(),
                  o.at("total").as_int64(), static_cast<std::uint64_t>(o.at("version").as_int64())};
  }

  ledger on(const ledger& l, const ledger_get&) const { return l; }

  runtime::outcome<bool> on(runtime::command<ledger>& c, const runtime::kafka_record& r) const {
    auto data = json::parse(r.envelope).as_object().at("data").as_object();
    if (data.contains("poison"))
      return core::failure{core::errc::internal, "poison record", {}};
    auto& l = c.state();
    l.count += 1;
    l.total += data.at("amount").as_int64();
    l.version += 1;
    return true;
  }
};

/// Registers the ledger's message types with CAF.
inline void register_ledger_types(caf::actor_system_config& cfg) {
  runtime::register_runtime_types(cfg);
  runtime::register_interface<ledger_grain::interface>(cfg);
}

/// Makes "ledger" an activatable grain type.
inline void register_ledger(runtime::catalog& grains, const runtime::grain_services& services) {
  runtime::register_durable_grain(grains, ledger_grain{}, services, std::chrono::minutes{10});
}

} // namespace bazaar::test
