#pragma once

/// Delivers due reminders: a thread that claims due reminders from storage every poll
/// interval and sends each to its grain through the grain client (activating the grain if
/// needed). What the grain does not durably handle fires again after its lease.

#include "bazaar/persistence/reminder_store.hpp"
#include "bazaar/runtime/grain_client.hpp"

#include <atomic>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <thread>

namespace bazaar::runtime {

class reminder_service {
 public:
  struct options {
    std::chrono::milliseconds poll_interval{1000};
    std::chrono::milliseconds lease{30000};
    std::size_t batch = 200;
  };

  reminder_service(std::shared_ptr<persistence::reminder_store> reminders, grain_client& client,
                   options opts);
  ~reminder_service();

  /// Starts the polling thread.
  void start();
  /// Stops it; idempotent.
  void stop();

  /// Claims and delivers what is due now (the polling thread's step; tests call it directly).
  /// Returns how many reminders were sent.
  std::size_t poll_once();

  std::uint64_t delivered() const { return delivered_.load(); }

 private:
  std::shared_ptr<persistence::reminder_store> reminders_;
  grain_client& client_;
  options opts_;
  std::mutex mtx_;
  std::condition_variable cv_;
  bool stopping_ = false;
  std::thread thread_;
  std::atomic<std::uint64_t> delivered_{0};
};

} // namespace bazaar::runtime
