#pragma once

// A type described only here, as a new type or field of the shop would be: the tests check that
// its JSON forms, its reader (json_form_test) and its wire form (wire_roundtrip_test) all come
// from its one description.

#include "bazaar/domain/described.hpp"
#include "bazaar/domain/order.hpp"

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace bazaar::domain {

BOOST_DEFINE_FIXED_ENUM_CLASS(gadget_kind, std::uint8_t, small, large)

struct gadget {
  std::string id;
  gadget_kind kind = gadget_kind::small;
  std::vector<std::string> tags;
  std::optional<std::int64_t> weight;
  std::map<std::string, std::int64_t> counts;
  std::vector<status_change> history;
  std::uint64_t version = 0;

  std::int64_t tag_count() const { return static_cast<std::int64_t>(tags.size()); }
};
BAZAAR_DESCRIBE(gadget, (id, kind, tags, weight, counts, history, version, tag_count))

} // namespace bazaar::domain
