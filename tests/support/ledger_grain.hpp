#pragma once

/// A test-only grain that stands in for the shop's consuming grains: a ledger per key that
/// counts the Kafka records it handled and sums their data.amount, durably, remembering each
/// event id with its effect; a record whose data has "poison" fails every time. Used by the
/// Kafka tests and the bridge benchmark.

#include "bazaar/actors/shell.hpp"
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

inline json::value to_snapshot(const ledger& l) {
  return json::object{
      {"key", l.key}, {"count", l.count}, {"total", l.total}, {"version", l.version}};
}

inline std::optional<ledger> ledger_from_json(const json::value& v) {
  if (!v.is_object())
    return std::nullopt;
  const auto& o = v.as_object();
  return ledger{std::string(o.at("key").as_string()), o.at("count").as_int64(),
                o.at("total").as_int64(), static_cast<std::uint64_t>(o.at("version").as_int64())};
}

struct ledger_state : actors::grain_state<ledger> {
  static inline const char* name = "test.ledger";
};

using ledger_actor = caf::stateful_actor<ledger_state>;
using ledger_get_atom = caf::atom_constant<caf::atom("ledgerget")>;

inline caf::message_handler ledger_running(ledger_actor* self) {
  auto d = [self]() -> actors::durable<ledger>& { return *self->state.d; };
  return {
      [=](ledger_get_atom) -> caf::result<ledger> {
        auto rp = self->make_response_promise<ledger>();
        d().answer_state(actors::reply_with<ledger>(rp, [](const ledger& l) { return l; }));
        return rp;
      },
      [=](const runtime::kafka_record& r) -> caf::result<bool> {
        auto rp = self->make_response_promise<bool>();
        auto w = actors::reply_with<ledger>(rp, [](const ledger&) { return true; });
        actors::idempotency idem{"kafka", r.event_id, 0, 200};
        if (auto seen = d().check(idem)) {
          // Handled before: the replay of the first answer (the bridge counts it as handled).
          d().answer_error(*seen, w);
          return rp;
        }
        auto data = json::parse(r.envelope).as_object().at("data").as_object();
        if (data.contains("poison")) {
          w.fail(runtime::make_failure(domain::errc::internal, "poison record"));
          return rp;
        }
        auto& l = d().current();
        l.count += 1;
        l.total += data.at("amount").as_int64();
        l.version += 1;
        d().commit(
            self, idem, [](const ledger&) { return std::string{"{}"}; }, std::move(w));
        return rp;
      },
  };
}

inline caf::behavior ledger_grain(ledger_actor* self, runtime::grain_context ctx,
                                  actors::grain_services services) {
  auto key = ctx.id.key;
  return actors::load_then<ledger>(
      self, ctx, services, ledger_from_json,
      [key] {
        return ledger{key, 0, 0, 0};
      },
      [self] { return ledger_running(self); });
}

/// Makes "ledger" an activatable grain type.
inline void register_ledger(runtime::catalog& grains, const actors::grain_services& services) {
  grains.register_type(
      "ledger",
      [services](caf::actor_system& s, const runtime::grain_context& ctx) {
        return s.spawn(ledger_grain, ctx, services);
      },
      std::chrono::minutes{10});
}

} // namespace bazaar::test

CAF_ALLOW_UNSAFE_MESSAGE_TYPE(bazaar::test::ledger)
