#include "bazaar/persistence/pg_storage.hpp"

#include "bazaar/persistence/migrations.hpp"

#include <pqxx/except>
#include <pqxx/nontransaction>
#include <pqxx/pqxx>
#include <pqxx/transaction>
#include <spdlog/spdlog.h>

#include <map>

namespace bazaar::persistence {

pg_storage::pg_storage(pg_settings settings, options opts)
    : settings_(std::move(settings)), opts_(opts), writes_(settings_, opts.writes) {
  monitor_thread_ = std::thread([this] { monitor(); });
  loader_thread_ = std::thread([this] { run_loader(); });
}

pg_storage::~pg_storage() {
  stop();
}

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
  auto next_cleanup = std::chrono::steady_clock::now();
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
        if (std::chrono::steady_clock::now() >= next_cleanup) {
          n.exec("DELETE FROM idempotency_keys WHERE expires_at < now()");
          next_cleanup = std::chrono::steady_clock::now() + std::chrono::minutes{1};
        }
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
    done(load_result{false, std::nullopt, {}});
    return;
  }
  {
    std::lock_guard<std::mutex> guard{mtx_};
    if (stopping_) {
      done(load_result{false, std::nullopt, {}});
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

std::vector<due_reminder> pg_storage::claim_due_reminders(std::size_t limit,
                                                          std::chrono::milliseconds lease) {
  std::vector<due_reminder> due;
  if (!migrated_)
    return due;
  try {
    if (!reminder_conn_ || !reminder_conn_->is_open())
      reminder_conn_ = connect(settings_);
    pqxx::work w{*reminder_conn_};
    // Leasing instead of deleting: a reminder whose grain does not deal with it fires again.
    auto r = w.exec("UPDATE reminders SET due_at = now() + " + std::to_string(lease.count()) +
                    " * interval '1 millisecond', attempts = attempts + 1 "
                    "WHERE (grain_type, grain_key, name) IN (SELECT grain_type, grain_key, name "
                    "FROM reminders WHERE due_at <= now() ORDER BY due_at LIMIT " +
                    std::to_string(limit) +
                    " FOR UPDATE SKIP LOCKED) RETURNING grain_type, grain_key, name");
    w.commit();
    for (const auto& row : r)
      due.push_back(due_reminder{row[0].as<std::string>(), row[1].as<std::string>(),
                                 row[2].as<std::string>()});
  } catch (const std::exception& e) {
    reminder_conn_.reset();
    spdlog::debug("claiming reminders failed: {}", e.what());
  }
  return due;
}

void pg_storage::history(const std::string& aggregate_type, const std::string& aggregate_id,
                         std::function<void(std::optional<std::vector<std::string>>)> done) {
  auto shared_done = std::make_shared<decltype(done)>(std::move(done));
  job j;
  j.run = [aggregate_type, aggregate_id, shared_done](pqxx::connection& c) {
    pqxx::work w{c};
    auto r = w.exec(
        "SELECT envelope::text FROM outbox WHERE aggregate_type = " + w.quote(aggregate_type) +
        " AND aggregate_id = " + w.quote(aggregate_id) + " ORDER BY sequence");
    w.commit();
    std::vector<std::string> out;
    out.reserve(r.size());
    for (const auto& row : r)
      out.push_back(row[0].as<std::string>());
    (*shared_done)(std::move(out));
  };
  j.unavailable = [shared_done] { (*shared_done)(std::nullopt); };
  {
    std::lock_guard<std::mutex> guard{mtx_};
    if (!stopping_ && migrated_) {
      jobs_.push_back(std::move(j));
      j.unavailable = nullptr;
    }
  }
  if (j.unavailable)
    j.unavailable();
  else
    cv_.notify_all();
}

void pg_storage::run_loader() {
  std::unique_ptr<pqxx::connection> conn;
  std::vector<pending_load> batch;
  for (;;) {
    std::deque<job> jobs;
    {
      std::unique_lock<std::mutex> lock{mtx_};
      cv_.wait(lock, [&] { return stopping_ || !loads_queue_.empty() || !jobs_.empty(); });
      if (stopping_ && loads_queue_.empty() && jobs_.empty())
        return;
      jobs.swap(jobs_);
      auto take =
          std::min<std::size_t>(static_cast<std::size_t>(opts_.load_batch), loads_queue_.size());
      for (std::size_t i = 0; i < take; ++i) {
        batch.push_back(std::move(loads_queue_.front()));
        loads_queue_.pop_front();
      }
    }
    for (auto& j : jobs) {
      try {
        if (!conn || !conn->is_open())
          conn = connect(settings_);
        j.run(*conn);
      } catch (const std::exception& e) {
        conn.reset();
        spdlog::warn("query failed: {}", e.what());
        j.unavailable();
      }
    }
    if (batch.empty())
      continue;
    std::map<std::pair<std::string, std::string>, snapshot> found;
    std::map<std::pair<std::string, std::string>, std::vector<idempotency_record>> found_keys;
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
      auto kr = w.exec("SELECT grain_type, grain_key, scope, key, fingerprint, status, body, "
                       "(extract(epoch FROM expires_at) * 1000)::bigint FROM idempotency_keys "
                       "WHERE expires_at > now() AND (grain_type, grain_key) IN (" +
                       keys + ")");
      w.commit();
      for (const auto& row : kr)
        found_keys[{row[0].as<std::string>(), row[1].as<std::string>()}].push_back(
            idempotency_record{row[2].as<std::string>(), row[3].as<std::string>(),
                               static_cast<std::uint64_t>(row[4].as<std::int64_t>()),
                               row[5].as<int>(), row[6].as<std::string>(),
                               row[7].as<std::int64_t>()});
      for (const auto& row : r) {
        snapshot s{row[0].as<std::string>(), row[1].as<std::string>(), row[2].as<std::uint64_t>(),
                   row[3].as<std::string>(), row[4].as<std::uint64_t>()};
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
        l.done(load_result{false, std::nullopt, {}});
        continue;
      }
      load_result result;
      if (auto i = found.find({l.type, l.key}); i != found.end())
        result.found = i->second;
      if (auto i = found_keys.find({l.type, l.key}); i != found_keys.end())
        result.keys = i->second;
      l.done(std::move(result));
    }
    batch.clear();
  }
}

} // namespace bazaar::persistence
