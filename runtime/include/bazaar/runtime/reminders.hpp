#pragma once

/// Reminders: durable timers of grains. A grain arms one as part of a write (so it is as
/// durable as the grain's state); when it is due, the reminder service delivers
/// `reminder_due` to the grain through the catalog, activating the grain wherever it is owned
/// then. The grain answers `true` once it has durably dealt with the reminder (re-armed or
/// removed it in a write); until then the reminder fires again after its lease.

#include <caf/meta/type_name.hpp>

#include <string>

namespace bazaar::runtime {

struct reminder_due {
  std::string name;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, reminder_due& x) {
  return f(caf::meta::type_name("bazaar.reminder_due"), x.name);
}

} // namespace bazaar::runtime
