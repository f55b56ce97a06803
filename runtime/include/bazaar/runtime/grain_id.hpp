#pragma once

/// Grain identity: `type/key`, e.g. `basket/alice` or `inventory/SKU-1`.

#include <caf/meta/type_name.hpp>

#include <functional>
#include <string>

namespace bazaar::runtime {

struct grain_id {
  std::string type;
  std::string key;

  /// "type/key".
  std::string str() const { return type + "/" + key; }

  friend bool operator==(const grain_id& a, const grain_id& b) {
    return a.type == b.type && a.key == b.key;
  }
  friend bool operator!=(const grain_id& a, const grain_id& b) { return !(a == b); }
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, grain_id& x) {
  return f(caf::meta::type_name("bazaar.grain_id"), x.type, x.key);
}

struct grain_id_hash {
  std::size_t operator()(const grain_id& id) const noexcept {
    std::size_t h = std::hash<std::string>{}(id.type);
    return h ^ (std::hash<std::string>{}(id.key) + 0x9e3779b97f4a7c15ULL + (h << 6) + (h >> 2));
  }
};

} // namespace bazaar::runtime
