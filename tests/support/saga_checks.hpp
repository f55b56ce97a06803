#pragma once

/// What the checkout tests check in PostgreSQL once their sagas had time to end: the fault and
/// cluster tests read a node's snapshots, not its HTTP answers, to see what it committed.

#include "support/eventually.hpp"
#include "support/pg_schema.hpp"

#include <catch2/catch.hpp>

#include <chrono>
#include <cstdint>
#include <string>

namespace bazaar::test {

/// The snapshot rows of `schema` matching the SQL condition `where`.
inline std::int64_t snapshot_count(const pg_schema& schema, const std::string& where) {
  auto v = schema.scalar("SELECT count(*) FROM snapshots WHERE " + where);
  return v.empty() ? 0 : std::stoll(v);
}

/// Within 90 s every one of the `orders` orders and its saga is confirmed or cancelled, and no
/// inventory grain holds a reservation.
inline void require_every_saga_ended(const pg_schema& schema, std::int64_t orders) {
  const std::string sagas_ended =
      "grain_type = 'checkout' AND state->>'stage' IN ('confirmed', 'cancelled')";
  const std::string orders_ended =
      "grain_type = 'order' AND state->>'status' IN ('confirmed', 'cancelled')";
  const std::string holding = "grain_type = 'inventory' AND (state->>'reserved')::int <> 0";
  bool settled = eventually(
      [&] {
        return snapshot_count(schema, sagas_ended) == orders &&
               snapshot_count(schema, orders_ended) == orders &&
               snapshot_count(schema, holding) == 0;
      },
      std::chrono::seconds{90}, std::chrono::milliseconds{200});
  INFO("orders " << orders << ", sagas ended " << snapshot_count(schema, sagas_ended)
                 << ", orders ended " << snapshot_count(schema, orders_ended)
                 << ", inventory grains holding reservations " << snapshot_count(schema, holding));
  REQUIRE(settled);
}

} // namespace bazaar::test
