#include "bazaar/persistence/pg_loader.hpp"

#include <pqxx/binarystring>
#include <pqxx/pqxx>
#include <spdlog/spdlog.h>

#include <map>

namespace bazaar::persistence {

pg_loader::pg_loader(pg_settings settings, int batch)
    : settings_(std::move(settings)), batch_(static_cast<std::size_t>(std::max(1, batch))) {
  thread_ = std::thread([this] { run(); });
}

pg_loader::~pg_loader() {
  stop();
}

void pg_loader::stop() {
  {
    std::lock_guard<std::mutex> guard{mtx_};
    stopping_ = true;
  }
  cv_.notify_all();
  if (thread_.joinable())
    thread_.join();
}

void pg_loader::load(const std::string& type, const std::string& key,
                     std::function<void(load_result)> done) {
  {
    std::lock_guard<std::mutex> guard{mtx_};
    if (!stopping_) {
      loads_queue_.push_back(pending_load{type, key, std::move(done)});
      done = nullptr;
    }
  }
  if (done)
    done(load_result{false, std::nullopt, {}});
  else
    cv_.notify_all();
}

void pg_loader::submit(job j) {
  {
    std::lock_guard<std::mutex> guard{mtx_};
    if (!stopping_) {
      jobs_.push_back(std::move(j));
      j.unavailable = nullptr;
    }
  }
  if (j.unavailable)
    j.unavailable();
  else
    cv_.notify_all();
}

void pg_loader::run() {
  std::unique_ptr<pqxx::connection> conn;
  std::vector<pending_load> batch;
  for (;;) {
    std::deque<job> jobs;
    bool stopping = false;
    {
      std::unique_lock<std::mutex> lock{mtx_};
      cv_.wait(lock, [&] { return stopping_ || !loads_queue_.empty() || !jobs_.empty(); });
      stopping = stopping_;
      jobs.swap(jobs_);
      auto take = stopping ? loads_queue_.size() : std::min(batch_, loads_queue_.size());
      for (std::size_t i = 0; i < take; ++i) {
        batch.push_back(std::move(loads_queue_.front()));
        loads_queue_.pop_front();
      }
    }
    if (stopping) {
      // What was queued is answered, not run: the node is going away.
      for (auto& j : jobs)
        j.unavailable();
      for (auto& l : batch)
        l.done(load_result{false, std::nullopt, {}});
      return;
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
    if (!batch.empty())
      load_batch(conn, batch);
    batch.clear();
  }
}

void pg_loader::load_batch(std::unique_ptr<pqxx::connection>& conn,
                           std::vector<pending_load>& batch) {
  using grain = std::pair<std::string, std::string>;
  std::map<grain, snapshot> found;
  std::map<grain, std::vector<idempotency_record>> found_keys;
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
    auto kr = w.exec("SELECT grain_type, grain_key, scope, key, fingerprint, outcome, body, "
                     "(extract(epoch FROM expires_at) * 1000)::bigint FROM idempotency_keys "
                     "WHERE expires_at > now() AND (grain_type, grain_key) IN (" +
                     keys + ")");
    w.commit();
    for (const auto& row : kr)
      found_keys[{row[0].as<std::string>(), row[1].as<std::string>()}].push_back(idempotency_record{
          row[2].as<std::string>(), row[3].as<std::string>(),
          static_cast<std::uint64_t>(row[4].as<std::int64_t>()), row[5].as<int>(),
          pqxx::binarystring(row[6]).str(), row[7].as<std::int64_t>()});
    for (const auto& row : r) {
      snapshot s{row[0].as<std::string>(), row[1].as<std::string>(), row[2].as<std::uint64_t>(),
                 row[3].as<std::string>(), row[4].as<std::uint64_t>()};
      found.emplace(grain{s.type, s.key}, std::move(s));
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
}

} // namespace bazaar::persistence
