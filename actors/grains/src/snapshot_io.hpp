#pragma once

/// Loading and saving a grain's domain state through the snapshot store, in its JSON form.

#include "bazaar/persistence/snapshot_store.hpp"
#include "bazaar/runtime/grain_id.hpp"

#include <boost/json.hpp>
#include <spdlog/spdlog.h>

#include <optional>

namespace bazaar::actors {

/// Outcome of loading: `state` holds the stored state if any; `ok` is false when the store
/// failed or the stored JSON is not of the expected form (the grain must not serve then).
template <class T>
struct loaded {
  bool ok = true;
  std::optional<T> state;
};

template <class T, class FromJson>
loaded<T> load_state(persistence::snapshot_store& store, const runtime::grain_id& id,
                     FromJson from_json) {
  auto result = store.load(id.type, id.key);
  if (!result.ok)
    return {false, std::nullopt};
  if (!result.found)
    return {true, std::nullopt};
  boost::system::error_code ec;
  auto value = boost::json::parse(result.found->state, ec);
  auto state = ec ? std::nullopt : from_json(value);
  if (!state) {
    spdlog::error("snapshot of {} is not readable", id.str());
    return {false, std::nullopt};
  }
  return {true, std::move(state)};
}

/// Saves `state` if its version moved past `saved_version`; updates `saved_version`.
template <class T>
bool save_state(persistence::snapshot_store& store, const runtime::grain_id& id, const T& state,
                std::uint64_t& saved_version) {
  if (state.version == saved_version)
    return true;
  persistence::snapshot s{id.type, id.key, state.version,
                          boost::json::serialize(to_snapshot(state))};
  auto status = store.save(s, saved_version);
  if (status != persistence::save_status::saved) {
    spdlog::error("saving {} version {} failed ({})", id.str(), state.version,
                  status == persistence::save_status::conflict ? "version conflict"
                                                               : "store unavailable");
    return false;
  }
  saved_version = state.version;
  return true;
}

} // namespace bazaar::actors
