#include "bazaar/persistence/persister.hpp"

#include <pqxx/pqxx>
#include <pqxx/except>
#include <pqxx/transaction>
#include <spdlog/spdlog.h>

#include <condition_variable>
#include <deque>
#include <map>
#include <mutex>
#include <set>
#include <thread>

namespace bazaar::persistence {

struct persister::writer {
  std::mutex mtx;
  std::condition_variable cv;
  std::deque<grain_write> queue;
  bool stopping = false;
  std::unique_ptr<pqxx::connection> conn;
  std::thread thread;
};

namespace {

/// Several queued writes of one grain, folded into one snapshot row.
struct merged_write {
  std::string type;
  std::string key;
  std::uint64_t expected_version = 0;
  std::uint64_t version = 0;
  std::string state;
  std::uint64_t event_seq = 0;
  std::vector<event_record> events;
  std::vector<idempotency_record> keys;
  std::vector<reminder_change> reminders;
  std::vector<std::function<void(save_status)>> done;
};

std::string to_timestamp(std::int64_t ms) {
  return "to_timestamp(" + std::to_string(ms) + " / 1000.0)";
}

/// Folds a batch into one entry per grain. A write that does not continue its grain's chain
/// (it does not replace the version before it) waits for the next batch, as do the grain's
/// writes after it, so that order is kept.
std::vector<merged_write> coalesce(std::vector<grain_write>& batch,
                                   std::vector<grain_write>& later) {
  std::vector<merged_write> out;
  std::map<std::pair<std::string, std::string>, std::size_t> index;
  std::set<std::pair<std::string, std::string>> deferred;
  for (auto& w : batch) {
    auto id = std::make_pair(w.type, w.key);
    if (deferred.count(id)) {
      later.push_back(std::move(w));
      continue;
    }
    auto i = index.find(id);
    if (i == index.end()) {
      index.emplace(id, out.size());
      merged_write m;
      m.type = std::move(w.type);
      m.key = std::move(w.key);
      m.expected_version = w.expected_version;
      m.version = w.version;
      m.state = std::move(w.state);
      m.event_seq = w.event_seq;
      m.events = std::move(w.events);
      m.keys = std::move(w.keys);
      m.reminders = std::move(w.reminders);
      m.done.push_back(std::move(w.done));
      out.push_back(std::move(m));
      continue;
    }
    auto& m = out[i->second];
    if (w.expected_version != m.version) {
      deferred.insert(id);
      later.push_back(std::move(w));
      continue;
    }
    m.version = w.version;
    if (!w.state.empty())
      m.state = std::move(w.state);
    m.event_seq = std::max(m.event_seq, w.event_seq);
    std::move(w.events.begin(), w.events.end(), std::back_inserter(m.events));
    std::move(w.keys.begin(), w.keys.end(), std::back_inserter(m.keys));
    std::move(w.reminders.begin(), w.reminders.end(), std::back_inserter(m.reminders));
    m.done.push_back(std::move(w.done));
  }
  return out;
}

/// The fenced upsert of every snapshot in the batch; returns the grains whose write won.
std::set<std::pair<std::string, std::string>> upsert_snapshots(pqxx::work& w,
                                                              const std::vector<merged_write>& ms) {
  std::string values;
  for (const auto& m : ms) {
    if (m.state.empty())
      continue;
    if (!values.empty())
      values += ",";
    values += "(" + w.quote(m.type) + "," + w.quote(m.key) + "," +
              std::to_string(m.expected_version) + "::bigint," + std::to_string(m.version) +
              "::bigint," + w.quote(m.state) + "::jsonb," + std::to_string(m.event_seq) +
              "::bigint)";
  }
  std::set<std::pair<std::string, std::string>> won;
  if (values.empty())
    return won;
  auto r = w.exec(
    "WITH input (t, k, e, v, s, q) AS (VALUES " + values +
    "), upd AS (UPDATE snapshots AS s SET version = i.v, state = i.s, event_seq = i.q, "
    "updated_at = now() FROM input AS i WHERE i.e > 0 AND s.grain_type = i.t AND "
    "s.grain_key = i.k AND s.version = i.e RETURNING s.grain_type, s.grain_key), "
    "ins AS (INSERT INTO snapshots (grain_type, grain_key, version, state, event_seq) "
    "SELECT t, k, v, s, q FROM input WHERE e = 0 ON CONFLICT DO NOTHING "
    "RETURNING grain_type, grain_key) "
    "SELECT grain_type, grain_key FROM upd UNION ALL SELECT grain_type, grain_key FROM ins");
  for (const auto& row : r)
    won.emplace(row[0].as<std::string>(), row[1].as<std::string>());
  return won;
}

void insert_side_effects(pqxx::work& w, const std::vector<const merged_write*>& winners) {
  std::string events, keys, arm, disarm;
  for (const auto* m : winners) {
    for (const auto& e : m->events) {
      if (!events.empty())
        events += ",";
      events += "(" + w.quote(e.event_id) + "::uuid," + w.quote(e.event_type) + "," +
                w.quote(e.aggregate_type) + "," + w.quote(e.aggregate_id) + "," +
                std::to_string(e.sequence) + "," + w.quote(e.envelope) + "::jsonb)";
    }
    for (const auto& k : m->keys) {
      if (!keys.empty())
        keys += ",";
      keys += "(" + w.quote(k.scope) + "," + w.quote(k.key) + "," + w.quote(m->type) + "," +
              w.quote(m->key) + "," + std::to_string(static_cast<std::int64_t>(k.fingerprint)) +
              "," + std::to_string(k.status) + "," + w.quote(k.body) + "," +
              to_timestamp(k.expires_at_ms) + ")";
    }
    for (const auto& r : m->reminders) {
      auto id = "(" + w.quote(m->type) + "," + w.quote(m->key) + "," + w.quote(r.name);
      if (r.remove) {
        disarm += (disarm.empty() ? "" : ",") + id + ")";
      } else {
        arm += (arm.empty() ? "" : ",") + id + "," + to_timestamp(r.due_at_ms) + ")";
      }
    }
  }
  if (!events.empty())
    w.exec("INSERT INTO outbox (event_id, event_type, aggregate_type, aggregate_id, sequence, "
           "envelope) VALUES " +
           events);
  if (!keys.empty())
    w.exec("INSERT INTO idempotency_keys (scope, key, grain_type, grain_key, fingerprint, "
           "status, body, expires_at) VALUES " +
           keys + " ON CONFLICT (grain_type, grain_key, scope, key) DO NOTHING");
  if (!disarm.empty())
    w.exec("DELETE FROM reminders WHERE (grain_type, grain_key, name) IN (" + disarm + ")");
  if (!arm.empty())
    w.exec("INSERT INTO reminders (grain_type, grain_key, name, due_at) VALUES " + arm +
           " ON CONFLICT (grain_type, grain_key, name) DO UPDATE SET due_at = EXCLUDED.due_at, "
           "attempts = 0");
}

} // namespace

persister::persister(pg_settings settings, options opts)
  : settings_(std::move(settings)), opts_(opts) {
  for (int i = 0; i < std::max(1, opts_.writers); ++i) {
    writers_.push_back(std::make_unique<writer>());
    auto* w = writers_.back().get();
    w->thread = std::thread([this, w] { run(*w); });
  }
}

persister::~persister() { stop(); }

void persister::write(grain_write w) {
  auto h = std::hash<std::string>{}(w.type) * 31 + std::hash<std::string>{}(w.key);
  auto& target = *writers_[h % writers_.size()];
  stats_.writes.fetch_add(1, std::memory_order_relaxed);
  {
    std::lock_guard<std::mutex> guard{target.mtx};
    if (target.stopping) {
      // Too late: nothing was written, and the caller learns it.
      auto done = std::move(w.done);
      done(save_status::unavailable);
      return;
    }
    target.queue.push_back(std::move(w));
  }
  target.cv.notify_one();
}

void persister::stop() {
  for (auto& w : writers_) {
    {
      std::lock_guard<std::mutex> guard{w->mtx};
      w->stopping = true;
    }
    w->cv.notify_all();
  }
  for (auto& w : writers_)
    if (w->thread.joinable())
      w->thread.join();
}

void persister::run(writer& wr) {
  std::vector<grain_write> batch;
  auto max_rows = static_cast<std::size_t>(std::max(1, opts_.batch_max_rows));
  for (;;) {
    {
      std::unique_lock<std::mutex> lock{wr.mtx};
      wr.cv.wait(lock, [&] { return wr.stopping || !wr.queue.empty(); });
      if (wr.queue.empty())
        return; // stopping and drained
      if (opts_.linger.count() > 0 && wr.queue.size() < max_rows && !wr.stopping) {
        auto deadline = std::chrono::steady_clock::now() + opts_.linger;
        wr.cv.wait_until(lock, deadline,
                         [&] { return wr.stopping || wr.queue.size() >= max_rows; });
      }
      auto take = std::min(max_rows, wr.queue.size());
      for (std::size_t i = 0; i < take; ++i) {
        batch.push_back(std::move(wr.queue.front()));
        wr.queue.pop_front();
      }
    }
    commit(wr, batch);
    batch.clear();
  }
}

void persister::commit(writer& wr, std::vector<grain_write>& batch) {
  std::vector<grain_write> later;
  auto merged = coalesce(batch, later);
  std::vector<save_status> outcome(merged.size(), save_status::unavailable);
  auto started = std::chrono::steady_clock::now();
  try {
    if (!wr.conn || !wr.conn->is_open())
      wr.conn = connect(settings_);
    pqxx::work w{*wr.conn};
    auto won = upsert_snapshots(w, merged);
    std::vector<const merged_write*> winners;
    for (std::size_t i = 0; i < merged.size(); ++i) {
      const auto& m = merged[i];
      bool ok = m.state.empty() || won.count({m.type, m.key}) > 0;
      outcome[i] = ok ? save_status::saved : save_status::conflict;
      if (ok)
        winners.push_back(&m);
    }
    insert_side_effects(w, winners);
    w.commit();
    auto us = std::chrono::duration_cast<std::chrono::microseconds>(
                std::chrono::steady_clock::now() - started)
                .count();
    stats_.transactions.fetch_add(1, std::memory_order_relaxed);
    stats_.rows.fetch_add(merged.size(), std::memory_order_relaxed);
    stats_.commit_us_total.fetch_add(static_cast<std::uint64_t>(us), std::memory_order_relaxed);
    healthy_ = true;
  } catch (const std::exception& e) {
    if (dynamic_cast<const pqxx::broken_connection*>(&e) != nullptr)
      wr.conn.reset();
    else if (wr.conn && !wr.conn->is_open())
      wr.conn.reset();
    if (healthy_.exchange(false))
      spdlog::error("persister: transaction of {} writes failed: {}", merged.size(), e.what());
    stats_.failed_transactions.fetch_add(1, std::memory_order_relaxed);
    std::fill(outcome.begin(), outcome.end(), save_status::unavailable);
  }
  for (std::size_t i = 0; i < merged.size(); ++i) {
    if (outcome[i] == save_status::conflict)
      stats_.conflicts.fetch_add(1, std::memory_order_relaxed);
    for (auto& done : merged[i].done)
      done(outcome[i]);
  }
  if (!later.empty()) {
    std::lock_guard<std::mutex> guard{wr.mtx};
    for (auto i = later.rbegin(); i != later.rend(); ++i)
      wr.queue.push_front(std::move(*i));
  }
}

} // namespace bazaar::persistence
