#pragma once

/// GET /api/v1/orders/{id}/events: an order's status changes as server-sent events
/// (docs/API.md "Order status stream"). The route observes the order grain (the runtime's
/// grain observers), answers 404 unless the order exists and is the caller's (or the caller
/// is an admin), then streams the current status and each later change, and ends after a
/// terminal status (delivered, cancelled).

#include "bazaar/domain/order.hpp"
#include "bazaar/gateway/router.hpp"
#include "bazaar/runtime/grain_client.hpp"

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

namespace bazaar::gateway {

/// Which `status` events a stream owes its client, given the order states it observes in
/// turn: for the first, the current status; for a later one of a version not seen yet, each
/// status its timeline gained since, oldest first, so that no step is skipped when several
/// changes came at once; nothing once a terminal status was given.
class order_status_feed {
 public:
  /// The data (JSON text) of each event owed for `o`:
  /// {"order_id","status","at","reason"?,"version"}, `reason` for a cancellation that has
  /// one, `version` the order's version when the stream learned of the status.
  std::vector<std::string> next(const domain::order& o);

  /// A terminal status was given: the stream ends.
  bool finished() const { return finished_; }

 private:
  void add(std::vector<std::string>& out, const domain::order& o, domain::order_status status,
           domain::timestamp_ms at);

  bool started_ = false;
  bool finished_ = false;
  std::uint64_t version_ = 0;
  std::size_t seen_ = 0; ///< timeline entries given
  domain::order_status last_ = domain::order_status::pending;
};

/// Adds the route.
void add_order_stream_route(router& r, runtime::grain_client& grains);

} // namespace bazaar::gateway
