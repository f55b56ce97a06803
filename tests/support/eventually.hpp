#pragma once

/// Waiting in tests for something that happens asynchronously: bounded, never a rate.

#include <chrono>
#include <thread>

namespace bazaar::test {

/// Whether `pred()` became true within `within`, checked every `step`.
template <class Pred>
bool eventually(Pred pred, std::chrono::milliseconds within = std::chrono::seconds{20},
                std::chrono::milliseconds step = std::chrono::milliseconds{20}) {
  auto deadline = std::chrono::steady_clock::now() + within;
  while (std::chrono::steady_clock::now() < deadline) {
    if (pred())
      return true;
    std::this_thread::sleep_for(step);
  }
  return pred();
}

} // namespace bazaar::test
