#pragma once

/// A small xorshift generator: benchmark drivers pick targets at random without locks. The
/// state must not be 0.

#include <cstdint>

namespace bazaar::bench {

inline std::uint64_t next_random(std::uint64_t& s) {
  s ^= s << 13;
  s ^= s >> 7;
  s ^= s << 17;
  return s;
}

} // namespace bazaar::bench
