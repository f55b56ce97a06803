#include "bazaar/runtime/reminder_service.hpp"

#include "bazaar/runtime/reminders.hpp"

#include <spdlog/spdlog.h>

namespace bazaar::runtime {

reminder_service::reminder_service(std::shared_ptr<persistence::reminder_store> reminders,
                                   grain_client& client, options opts)
    : reminders_(std::move(reminders)), client_(client), opts_(opts) {}

reminder_service::~reminder_service() {
  stop();
}

void reminder_service::start() {
  thread_ = std::thread([this] {
    std::unique_lock<std::mutex> lock{mtx_};
    while (!stopping_) {
      lock.unlock();
      auto sent = poll_once();
      lock.lock();
      if (sent < opts_.batch) // a full batch means more may be due: go on at once
        cv_.wait_for(lock, opts_.poll_interval, [&] { return stopping_; });
    }
  });
}

void reminder_service::stop() {
  {
    std::lock_guard<std::mutex> guard{mtx_};
    stopping_ = true;
  }
  cv_.notify_all();
  if (thread_.joinable())
    thread_.join();
}

std::size_t reminder_service::poll_once() {
  auto due = reminders_->claim_due(opts_.batch, opts_.lease);
  for (auto& r : due) {
    grain_id id{r.type, r.key};
    auto name = r.name;
    bool admitted = client_.ask<bool>(id, reminder_due{r.name}, [id, name](caf::expected<bool> ok) {
      if (!ok)
        spdlog::warn("reminder {} of {} not handled yet: {}", name, id.str(),
                     to_failure(ok.error()).message);
    });
    if (admitted)
      delivered_.fetch_add(1, std::memory_order_relaxed);
  }
  return due.size();
}

} // namespace bazaar::runtime
