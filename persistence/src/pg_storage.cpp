#include "bazaar/persistence/pg_storage.hpp"

#include "bazaar/persistence/migrations.hpp"

#include <pqxx/pqxx>
#include <pqxx/except>
#include <pqxx/nontransaction>
#include <pqxx/transaction>
#include <spdlog/spdlog.h>

#include <map>

namespace bazaar::persistence {

pg_storage::pg_storage(pg_settings settings, options opts)
  : settings_(std::move(settings)), opts_(opts), writes_(settings_, opts.writes) {
  monitor_thread_ = std::thread([this] { monitor(); });
  loader_thread_ = std::thread([this] { run_loader(); });
}

pg_storage::~pg_storage() { stop(); }

void pg_storage::stop() {
  {
    std::lock_guard<std::mutex> guard{mtx_};
    if (stopping_)
      return;
    stopping_ = true;
  }
  cv_.notify_all();
  if (monitor_thread_.joinable())
    monitor_thread_.join();
  if (loader_thread_.joinable())
    loader_thread_.join();
  writes_.stop();
}

bool pg_storage::ready(std::string& why) const {
  std::lock_guard<std::mutex> guard{mtx_};
  if (!migrated_) {
    why = "PostgreSQL is not reachable or not migrated: " + last_error_;
    return false;
  }
  if (!reachable_ || !writes_.healthy()) {
    why = "PostgreSQL is not reachable: " + last_error_;
    return false;
  }
  return true;
}

bool pg_storage::wait_ready(std::chrono::milliseconds timeout) const {
  std::unique_lock<std::mutex> lock{mtx_};
  return cv_.wait_for(lock, timeout, [&] { return migrated_.load() || stopping_; }) &&
         migrated_.load();
}

void pg_storage::monitor() {
  std::unique_ptr<pqxx::connection> conn;
  bool was_reachable = false;
  for (;;) {
    std::string error;
    try {
      if (!conn || !conn->is_open())
        conn = connect(settings_);
      if (!migrated_) {
        auto applied = migrate(*conn, settings_.schema);
        for (const auto& name : applied)
          spdlog::info("applied migration {}", name);
        migrated_ = true;
      } else {
        pqxx::nontransaction n{*conn};
        n.exec("SELECT 1");
      }
    } catch (const std::exception& e) {
      error = e.what();
      while (!error.empty() && (error.back() == '\n' || error.back() == ' '))
        error.pop_back();
      conn.reset();
    }
    bool ok = error.empty();
    if (ok != was_reachable) {
      if (ok)
        spdlog::info("PostgreSQL reachable (schema {})", settings_.schema);
      else
        spdlog::error("PostgreSQL not reachable: {}", error);
      was_reachable = ok;
    }
    std::unique_lock<std::mutex> lock{mtx_};
    reachable_ = ok;
    if (!ok)
      last_error_ = error;
    cv_.notify_all();
    if (cv_.wait_for(lock, opts_.monitor_interval, [&] { return stopping_; }))
      return;
  }
}

void pg_storage::load(const std::string& type, const std::string& key,
                      std::function<void(load_result)> done) {
  if (!migrated_) {
    done(load_result{false, std::nullopt});
    return;
  }
  {
    std::lock_guard<std::mutex> guard{mtx_};
    if (stopping_) {
      done(load_result{false, std::nullopt});
      return;
    }
    loads_queue_.push_back(pending_load{type, key, std::move(done)});
  }
  cv_.notify_all();
}

void pg_storage::write(grain_write w) {
  if (!migrated_) {
    auto done = std::move(w.done);
    done(save_status::unavailable);
    return;
  }
  writes_.write(std::move(w));
}

void pg_storage::run_loader() {
  std::unique_ptr<pqxx::connection> conn;
  std::vector<pending_load> batch;
  for (;;) {
    {
      std::unique_lock<std::mutex> lock{mtx_};
      cv_.wait(lock, [&] { return stopping_ || !loads_queue_.empty(); });
      if (stopping_ && loads_queue_.empty())
        return;
      auto take = std::min<std::size_t>(static_cast<std::size_t>(opts_.load_batch),
                                        loads_queue_.size());
      for (std::size_t i = 0; i < take; ++i) {
        batch.push_back(std::move(loads_queue_.front()));
        loads_queue_.pop_front();
      }
    }
    std::map<std::pair<std::string, std::string>, snapshot> found;
    bool ok = true;
    try {
      if (!conn || !conn->is_open())
        conn = connect(settings_);
      pqxx::work w{*conn};
      std::string keys;
      for (const auto& l : batch) {
        if (!keys.empty())
          keys += ",";
        keys += "(" + w.quote(l.type) + "," + w.quote(l.key) + ")";
      }
      auto r = w.exec("SELECT grain_type, grain_key, version, state::text, event_seq "
                      "FROM snapshots WHERE (grain_type, grain_key) IN (" +
                      keys + ")");
      w.commit();
      for (const auto& row : r) {
        snapshot s{row[0].as<std::string>(), row[1].as<std::string>(),
                   row[2].as<std::uint64_t>(), row[3].as<std::string>(),
                   row[4].as<std::uint64_t>()};
        found.emplace(std::make_pair(s.type, s.key), std::move(s));
      }
    } catch (const std::exception& e) {
      ok = false;
      conn.reset();
      spdlog::warn("loading {} snapshots failed: {}", batch.size(), e.what());
    }
    loads_.fetch_add(batch.size(), std::memory_order_relaxed);
    for (auto& l : batch) {
      if (!ok) {
        l.done(load_result{false, std::nullopt});
        continue;
      }
      auto i = found.find({l.type, l.key});
      l.done(i == found.end() ? load_result{true, std::nullopt} : load_result{true, i->second});
    }
    batch.clear();
  }
}

} // namespace bazaar::persistence
