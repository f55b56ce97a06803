#pragma once

/// The reminder table as the reminder service sees it. Reminders are armed and removed with
/// their grain's writes (grain_store); this is the other side: finding the ones that are due.

#include <chrono>
#include <cstddef>
#include <string>
#include <vector>

namespace bazaar::persistence {

/// A reminder whose time has come, claimed for delivery.
struct due_reminder {
  std::string type;
  std::string key;
  std::string name;
};

class reminder_store {
 public:
  virtual ~reminder_store() = default;

  /// Claims up to `limit` due reminders, leasing each for `lease` (it fires again after the
  /// lease unless its grain re-arms or removes it meanwhile). Blocking; for the reminder
  /// service's own thread. Empty when the store is unavailable.
  virtual std::vector<due_reminder> claim_due(std::size_t limit,
                                              std::chrono::milliseconds lease) = 0;
};

} // namespace bazaar::persistence
