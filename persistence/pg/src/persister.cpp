#include "bazaar/persistence/persister.hpp"

#include <pqxx/except>
#include <pqxx/pqxx>
#include <pqxx/transaction>
#include <spdlog/spdlog.h>

#include <algorithm>
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

/// Several queued writes of one grain, folded into one: the newest state over the first
/// write's expected version, with everything the writes carried, and each write's callback.
struct merged_write {
  grain_write w;
  std::vector<std::function<void(save_status)>> done;
};

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
      m.done.push_back(std::move(w.done));
      m.w = std::move(w);
      out.push_back(std::move(m));
      continue;
    }
    auto& m = out[i->second].w;
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
    out[i->second].done.push_back(std::move(w.done));
  }
  return out;
}

/// Builds a PostgreSQL array literal, e.g. {"a","b\\"c"}; elements are passed as text.
class array_literal {
 public:
  void add(const std::string& element) {
    text_ += text_.empty() ? "{\"" : ",\"";
    for (char c : element) {
      if (c == '"' || c == '\\')
        text_ += '\\';
      text_ += c;
    }
    text_ += '"';
  }
  void add(std::uint64_t n) { add(std::to_string(n)); }
  /// Bytes, for a bytea[] parameter: each element in bytea's hex form, \x0a1b...
  void add_bytes(const std::string& bytes) {
    static constexpr char hex[] = "0123456789abcdef";
    text_ += text_.empty() ? "{\"\\\\x" : ",\"\\\\x";
    for (unsigned char c : bytes) {
      text_ += hex[c >> 4];
      text_ += hex[c & 0xf];
    }
    text_ += '"';
  }
  void add_int(std::int64_t n) { add(std::to_string(n)); }
  std::string str() const { return text_.empty() ? "{}" : text_ + "}"; }
  bool empty() const { return text_.empty(); }

 private:
  std::string text_;
};

/// The statements of a batch, prepared once per connection: every row travels in arrays, so
/// the server parses each statement once instead of a fresh VALUES list per transaction.
void prepare_statements(pqxx::connection& c) {
  c.prepare(
      "bazaar_upsert_snapshots",
      "WITH input AS (SELECT * FROM unnest($1::text[], $2::text[], $3::bigint[], "
      "$4::bigint[], $5::jsonb[], $6::bigint[]) AS i (t, k, e, v, s, q)), "
      "upd AS (UPDATE snapshots AS s SET version = i.v, state = i.s, event_seq = i.q, "
      "updated_at = now() FROM input AS i WHERE i.e > 0 AND s.grain_type = i.t AND "
      "s.grain_key = i.k AND s.version = i.e RETURNING s.grain_type, s.grain_key), "
      "ins AS (INSERT INTO snapshots (grain_type, grain_key, version, state, event_seq) "
      "SELECT t, k, v, s, q FROM input WHERE e = 0 ON CONFLICT DO NOTHING "
      "RETURNING grain_type, grain_key) "
      "SELECT grain_type, grain_key FROM upd UNION ALL SELECT grain_type, grain_key FROM ins");
  c.prepare("bazaar_insert_events",
            "INSERT INTO outbox (event_id, event_type, aggregate_type, aggregate_id, sequence, "
            "envelope) SELECT * FROM unnest($1::uuid[], $2::text[], $3::text[], $4::text[], "
            "$5::bigint[], $6::json[])");
  c.prepare("bazaar_insert_keys",
            "INSERT INTO idempotency_keys (scope, key, grain_type, grain_key, fingerprint, "
            "outcome, body, expires_at) SELECT s, k, t, g, f, o, b, to_timestamp(x / 1000.0) "
            "FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::bigint[], "
            "$6::integer[], $7::bytea[], $8::bigint[]) AS i (s, k, t, g, f, o, b, x) "
            "ON CONFLICT (grain_type, grain_key, scope, key) DO NOTHING");
  c.prepare("bazaar_arm_reminders",
            "INSERT INTO reminders (grain_type, grain_key, name, due_at) SELECT t, k, n, "
            "to_timestamp(d / 1000.0) FROM unnest($1::text[], $2::text[], $3::text[], "
            "$4::bigint[]) AS i (t, k, n, d) ON CONFLICT (grain_type, grain_key, name) DO "
            "UPDATE SET due_at = EXCLUDED.due_at, attempts = 0");
  c.prepare("bazaar_disarm_reminders",
            "DELETE FROM reminders AS r USING unnest($1::text[], $2::text[], $3::text[]) AS i "
            "(t, k, n) WHERE r.grain_type = i.t AND r.grain_key = i.k AND r.name = i.n");
}

/// The fenced upsert of every snapshot in the batch; returns the grains whose write won.
std::set<std::pair<std::string, std::string>>
upsert_snapshots(pqxx::work& w, const std::vector<merged_write>& ms) {
  array_literal types, keys, expected, versions, states, seqs;
  for (const auto& merged : ms) {
    const auto& m = merged.w;
    if (m.state.empty())
      continue;
    types.add(m.type);
    keys.add(m.key);
    expected.add(m.expected_version);
    versions.add(m.version);
    states.add(m.state);
    seqs.add(m.event_seq);
  }
  std::set<std::pair<std::string, std::string>> won;
  if (types.empty())
    return won;
  auto r = w.exec_prepared("bazaar_upsert_snapshots", types.str(), keys.str(), expected.str(),
                           versions.str(), states.str(), seqs.str());
  for (const auto& row : r)
    won.emplace(row[0].as<std::string>(), row[1].as<std::string>());
  return won;
}

void insert_side_effects(pqxx::work& w, const std::vector<const grain_write*>& winners) {
  array_literal e_id, e_type, e_agg_type, e_agg_id, e_seq, e_env;
  array_literal k_scope, k_key, k_type, k_grain, k_fp, k_outcome, k_body, k_expires;
  array_literal a_type, a_key, a_name, a_due, d_type, d_key, d_name;
  for (const auto* m : winners) {
    for (const auto& e : m->events) {
      e_id.add(e.event_id);
      e_type.add(e.event_type);
      e_agg_type.add(e.aggregate_type);
      e_agg_id.add(e.aggregate_id);
      e_seq.add(e.sequence);
      e_env.add(e.envelope);
    }
    for (const auto& k : m->keys) {
      k_scope.add(k.scope);
      k_key.add(k.key);
      k_type.add(m->type);
      k_grain.add(m->key);
      k_fp.add_int(static_cast<std::int64_t>(k.fingerprint));
      k_outcome.add_int(k.outcome);
      k_body.add_bytes(k.body);
      k_expires.add_int(k.expires_at_ms);
    }
    for (const auto& r : m->reminders) {
      if (r.remove) {
        d_type.add(m->type);
        d_key.add(m->key);
        d_name.add(r.name);
      } else {
        a_type.add(m->type);
        a_key.add(m->key);
        a_name.add(r.name);
        a_due.add_int(r.due_at_ms);
      }
    }
  }
  if (!e_id.empty())
    w.exec_prepared("bazaar_insert_events", e_id.str(), e_type.str(), e_agg_type.str(),
                    e_agg_id.str(), e_seq.str(), e_env.str());
  if (!k_scope.empty())
    w.exec_prepared("bazaar_insert_keys", k_scope.str(), k_key.str(), k_type.str(), k_grain.str(),
                    k_fp.str(), k_outcome.str(), k_body.str(), k_expires.str());
  if (!d_type.empty())
    w.exec_prepared("bazaar_disarm_reminders", d_type.str(), d_key.str(), d_name.str());
  if (!a_type.empty())
    w.exec_prepared("bazaar_arm_reminders", a_type.str(), a_key.str(), a_name.str(), a_due.str());
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

persister::~persister() {
  stop();
}

void persister::write(grain_write w) {
  auto h = std::hash<std::string>{}(w.type) * 31 + std::hash<std::string>{}(w.key);
  auto& target = *writers_[h % writers_.size()];
  stats_.writes.fetch_add(1, std::memory_order_relaxed);
  bool wake = false;
  {
    std::lock_guard<std::mutex> guard{target.mtx};
    if (target.stopping) {
      // Too late: nothing was written, and the caller learns it.
      auto done = std::move(w.done);
      done(save_status::unavailable);
      return;
    }
    target.queue.push_back(std::move(w));
    // Wake the writer only when it may be waiting for this: an empty queue became non-empty,
    // or a lingering batch became full. Waking it per write would cost a context switch each.
    auto size = target.queue.size();
    wake = size == 1 || size == static_cast<std::size_t>(std::max(1, opts_.batch_max_rows));
  }
  if (wake)
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
    if (!wr.conn || !wr.conn->is_open()) {
      wr.conn = connect(settings_);
      prepare_statements(*wr.conn);
    }
    pqxx::work w{*wr.conn};
    auto won = upsert_snapshots(w, merged);
    std::vector<const grain_write*> winners;
    for (std::size_t i = 0; i < merged.size(); ++i) {
      const auto& m = merged[i].w;
      bool ok = m.state.empty() || won.count({m.type, m.key}) > 0;
      outcome[i] = ok ? save_status::saved : save_status::conflict;
      if (ok)
        winners.push_back(&m);
    }
    insert_side_effects(w, winners);
    w.commit();
    if (opts_.on_events_committed &&
        std::any_of(winners.begin(), winners.end(), [](auto* m) { return !m->events.empty(); }))
      opts_.on_events_committed();
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
