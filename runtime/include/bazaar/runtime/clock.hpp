#pragma once

/// Time as a service, so that idle collection and timestamps can be tested by hand.

#include <atomic>
#include <chrono>
#include <cstdint>

namespace bazaar::runtime {

class clock {
 public:
  using steady_time = std::chrono::steady_clock::time_point;

  virtual ~clock() = default;
  /// Monotonic time for timeouts and idleness.
  virtual steady_time now() const = 0;
  /// Wall time in milliseconds since the Unix epoch, for timestamps that leave the node.
  virtual std::int64_t wall_ms() const = 0;
};

/// The real clocks.
class system_clock final : public clock {
 public:
  steady_time now() const override { return std::chrono::steady_clock::now(); }
  std::int64_t wall_ms() const override {
    return std::chrono::duration_cast<std::chrono::milliseconds>(
               std::chrono::system_clock::now().time_since_epoch())
        .count();
  }
};

/// A clock that moves only when a test advances it.
class manual_clock final : public clock {
 public:
  steady_time now() const override { return steady_time{std::chrono::nanoseconds{ns_.load()}}; }
  std::int64_t wall_ms() const override { return 1'700'000'000'000 + ns_.load() / 1'000'000; }
  void advance(std::chrono::nanoseconds d) { ns_ += d.count(); }

 private:
  std::atomic<std::int64_t> ns_{1'000'000'000};
};

} // namespace bazaar::runtime
