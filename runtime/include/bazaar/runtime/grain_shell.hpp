#pragma once

/// Pieces every grain actor shares.

#include "bazaar/runtime/atoms.hpp"
#include "bazaar/runtime/catalog.hpp"

namespace bazaar::runtime {

/// The handler of (deactivate_atom, touches) that every grain behavior includes. The request
/// is honoured when forced or when no caller resolved the grain since the collector looked;
/// then `persist()` runs (the grain's final save), the grain leaves the catalog and quits.
/// Requests that raced in meanwhile bounce and are re-sent by their callers to the next
/// activation, which loads what `persist()` saved.
template <class Self, class Persist>
auto deactivation_handler(Self* self, const grain_context& ctx, Persist persist) {
  return [self, record = ctx.record, host = ctx.host, persist](deactivate_atom,
                                                               std::uint64_t touches) mutable {
    if (!record->idle_since(touches))
      return;
    persist();
    host->remove(record->id(), self->address());
    self->quit();
  };
}

} // namespace bazaar::runtime
