#include "bazaar/persistence/persister.hpp"

#include "bazaar/persistence/pg_binary_array.hpp"

#include <pqxx/except>
#include <pqxx/pqxx>
#include <pqxx/transaction>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <condition_variable>
#include <deque>
#include <mutex>
#include <optional>
#include <string_view>
#include <thread>
#include <unordered_map>

namespace bazaar::persistence {

namespace {

/// A grain's identity as views of the strings of a batch's writes (which stay put while the
/// batch is committed).
using grain_ref = std::pair<std::string_view, std::string_view>;

struct grain_ref_hash {
  std::size_t operator()(const grain_ref& r) const {
    auto h = std::hash<std::string_view>{};
    return h(r.first) * 31 + h(r.second);
  }
};

/// Several queued writes of one grain, folded into one: the newest state over the first
/// write's expected version, with everything the writes carried, and each write's callback.
struct merged_write {
  grain_write w;
  std::vector<std::function<void(save_status)>> done;
  bool deferring = false; ///< a later write of this grain waits for the next batch
};

/// Folds a batch into one entry per grain, indexed by grain. A write that does not continue
/// its grain's chain (it does not replace the version before it) waits for the next batch, as
/// do the grain's writes after it, so that order is kept.
void coalesce(std::vector<grain_write>& batch, std::vector<grain_write>& later,
              std::vector<merged_write>& out,
              std::unordered_map<grain_ref, std::size_t, grain_ref_hash>& index) {
  out.reserve(batch.size()); // never moves: `index` holds views of its strings
  index.reserve(batch.size());
  for (auto& w : batch) {
    auto i = index.find(grain_ref{w.type, w.key});
    if (i == index.end()) {
      merged_write m;
      m.done.push_back(std::move(w.done));
      m.w = std::move(w);
      out.push_back(std::move(m));
      const auto& stored = out.back().w;
      index.emplace(grain_ref{stored.type, stored.key}, out.size() - 1);
      continue;
    }
    auto& merged = out[i->second];
    auto& m = merged.w;
    if (merged.deferring || w.expected_version != m.version) {
      merged.deferring = true;
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
    merged.done.push_back(std::move(w.done));
  }
}

/// The statements of a batch, prepared once per connection: every row travels in arrays, so
/// the server parses each statement once instead of a fresh VALUES list per transaction. The
/// arrays are sent in binary form (pg_binary_array): values are copied in as they are, with no
/// escaping on this side and no array-literal parsing on the server's.
///
/// bazaar_write_batch is the whole batch but for reminders, in one statement: the fenced
/// upsert of the snapshots (`won`: the ordinals of the rows that replaced the version they
/// expected, or were first), then the events and idempotency answers of the winners. An event
/// or answer names its write by that ordinal (`w`), 0 for a write without a snapshot, which no
/// fence guards. When the node's lease (node_lease.hpp; $23, $24) does not hold, nothing is
/// written and the statement answers the single ordinal 0. Events are inserted in their array order
/// (ORDER BY m), so that outbox ids, which the relay publishes in, follow each aggregate's
/// sequence. One statement is one transaction on its own: a batch without reminder changes is a
/// single round trip.
void prepare_statements(pqxx::connection& c) {
  c.prepare("bazaar_notify_commit", "SELECT pg_notify($1, $2)");
  c.prepare("bazaar_write_batch",
            "WITH lease AS (SELECT 1 FROM cluster_members WHERE node_id = $23 AND "
            "incarnation = $24 AND status = 'alive' FOR SHARE), "
            "held AS (SELECT $23::text = '' OR EXISTS (SELECT 1 FROM lease) AS ok), "
            "input AS (SELECT * FROM unnest($1::text[], $2::text[], $3::bigint[], "
            "$4::bigint[], $5::jsonb[], $6::bigint[]) WITH ORDINALITY AS i (t, k, e, v, s, q, n) "
            "WHERE (SELECT ok FROM held)), "
            "upd AS (UPDATE snapshots AS s SET version = i.v, state = i.s, event_seq = i.q, "
            "updated_at = now() FROM input AS i WHERE i.e > 0 AND s.grain_type = i.t AND "
            "s.grain_key = i.k AND s.version = i.e RETURNING i.n), "
            "ins AS (INSERT INTO snapshots (grain_type, grain_key, version, state, event_seq) "
            "SELECT t, k, v, s, q FROM input WHERE e = 0 ON CONFLICT DO NOTHING "
            "RETURNING grain_type, grain_key), "
            "won AS (SELECT n FROM upd UNION ALL SELECT i.n FROM ins JOIN input AS i ON i.e = 0 "
            "AND i.t = ins.grain_type AND i.k = ins.grain_key), "
            "events AS (INSERT INTO outbox (event_id, event_type, aggregate_type, aggregate_id, "
            "sequence, envelope) SELECT id, ty, at, ai, sq, env FROM unnest($7::uuid[], "
            "$8::text[], $9::text[], $10::text[], $11::bigint[], $12::json[], $13::bigint[]) "
            "WITH ORDINALITY AS x (id, ty, at, ai, sq, env, w, m) "
            "WHERE (SELECT ok FROM held) AND (x.w = 0 OR x.w IN (SELECT n FROM won)) "
            "ORDER BY x.m), "
            "answers AS (INSERT INTO idempotency_keys (scope, key, grain_type, grain_key, "
            "fingerprint, outcome, body, expires_at) SELECT s, k, t, g, f, o, b, "
            "to_timestamp(x / 1000.0) FROM unnest($14::text[], $15::text[], $16::text[], "
            "$17::text[], $18::bigint[], $19::integer[], $20::bytea[], $21::bigint[], "
            "$22::bigint[]) AS y (s, k, t, g, f, o, b, x, w) "
            "WHERE (SELECT ok FROM held) AND (y.w = 0 OR y.w IN (SELECT n FROM won)) "
            "ON CONFLICT (grain_type, grain_key, scope, key) DO NOTHING) "
            "SELECT n FROM won UNION ALL SELECT 0 FROM held WHERE NOT ok");
  c.prepare("bazaar_arm_reminders",
            "INSERT INTO reminders (grain_type, grain_key, name, due_at) SELECT t, k, n, "
            "to_timestamp(d / 1000.0) FROM unnest($1::text[], $2::text[], $3::text[], "
            "$4::bigint[]) AS i (t, k, n, d) ON CONFLICT (grain_type, grain_key, name) DO "
            "UPDATE SET due_at = EXCLUDED.due_at, attempts = 0");
  c.prepare("bazaar_disarm_reminders",
            "DELETE FROM reminders AS r USING unnest($1::text[], $2::text[], $3::text[]) AS i "
            "(t, k, n) WHERE r.grain_type = i.t AND r.grain_key = i.k AND r.name = i.n");
}

using array = pg_binary_array;

/// The arrays of a batch's statements; kept by a writer so that their buffers are reused.
struct statement_arrays {
  // Snapshots.
  array s_type{array::text}, s_key{array::text}, s_expected{array::int8}, s_version{array::int8},
      s_state{array::jsonb}, s_seq{array::int8};
  // Events, each with the ordinal of its write's snapshot row (0: none).
  array e_id{array::uuid}, e_type{array::text}, e_agg_type{array::text}, e_agg_id{array::text},
      e_seq{array::int8}, e_env{array::json}, e_write{array::int8};
  // Idempotency answers, likewise.
  array k_scope{array::text}, k_key{array::text}, k_type{array::text}, k_grain{array::text},
      k_fp{array::int8}, k_outcome{array::int4}, k_body{array::bytea}, k_expires{array::int8},
      k_write{array::int8};
  // Reminders armed and disarmed.
  array a_type{array::text}, a_key{array::text}, a_name{array::text}, a_due{array::int8},
      d_type{array::text}, d_key{array::text}, d_name{array::text};

  void clear() {
    for (auto* a :
         {&s_type,     &s_key,    &s_expected, &s_version, &s_state,   &s_seq,   &e_id,   &e_type,
          &e_agg_type, &e_agg_id, &e_seq,      &e_env,     &e_write,   &k_scope, &k_key,  &k_type,
          &k_grain,    &k_fp,     &k_outcome,  &k_body,    &k_expires, &k_write, &a_type, &a_key,
          &a_name,     &a_due,    &d_type,     &d_key,     &d_name})
      a->clear();
  }
};

} // namespace

struct persister::writer {
  std::mutex mtx;
  std::condition_variable cv;
  std::deque<grain_write> queue;
  bool stopping = false;
  std::unique_ptr<pqxx::connection> conn;
  statement_arrays arrays;
  std::thread thread;
};

namespace {

/// Writes a batch: one statement for the snapshots, events and idempotency answers (see
/// prepare_statements), then, in the same transaction, the winners' reminder changes. Marks
/// the writes whose snapshot won in `won`.
template <class Tx>
bool write_batch(Tx& tx, statement_arrays& a, const std::vector<merged_write>& ms,
                 const std::pair<std::string, std::int64_t>& lease, std::vector<char>& won) {
  std::vector<std::size_t> write_of_row; // snapshot row ordinal - 1 -> index in ms
  write_of_row.reserve(ms.size());
  for (std::size_t i = 0; i < ms.size(); ++i) {
    const auto& m = ms[i].w;
    std::int64_t row = 0; // the write's snapshot row ordinal, 0 for none
    if (!m.state.empty()) {
      a.s_type.add_text(m.type);
      a.s_key.add_text(m.key);
      a.s_expected.add_int8(static_cast<std::int64_t>(m.expected_version));
      a.s_version.add_int8(static_cast<std::int64_t>(m.version));
      a.s_state.add_jsonb(m.state);
      a.s_seq.add_int8(static_cast<std::int64_t>(m.event_seq));
      write_of_row.push_back(i);
      row = static_cast<std::int64_t>(write_of_row.size());
    }
    for (const auto& e : m.events) {
      a.e_id.add_uuid(e.event_id);
      a.e_type.add_text(e.event_type);
      a.e_agg_type.add_text(e.aggregate_type);
      a.e_agg_id.add_text(e.aggregate_id);
      a.e_seq.add_int8(static_cast<std::int64_t>(e.sequence));
      a.e_env.add_text(e.envelope);
      a.e_write.add_int8(row);
    }
    for (const auto& k : m.keys) {
      a.k_scope.add_text(k.scope);
      a.k_key.add_text(k.key);
      a.k_type.add_text(m.type);
      a.k_grain.add_text(m.key);
      a.k_fp.add_int8(static_cast<std::int64_t>(k.fingerprint));
      a.k_outcome.add_int4(k.outcome);
      a.k_body.add_text(k.body);
      a.k_expires.add_int8(k.expires_at_ms);
      a.k_write.add_int8(row);
    }
  }
  pqxx::result r = tx.exec_prepared(
      "bazaar_write_batch", a.s_type.param(), a.s_key.param(), a.s_expected.param(),
      a.s_version.param(), a.s_state.param(), a.s_seq.param(), a.e_id.param(), a.e_type.param(),
      a.e_agg_type.param(), a.e_agg_id.param(), a.e_seq.param(), a.e_env.param(), a.e_write.param(),
      a.k_scope.param(), a.k_key.param(), a.k_type.param(), a.k_grain.param(), a.k_fp.param(),
      a.k_outcome.param(), a.k_body.param(), a.k_expires.param(), a.k_write.param(), lease.first,
      lease.second);
  for (const auto& row : r) {
    auto n = row[0].template as<std::size_t>();
    if (n == 0)
      return false; // fenced off: nothing was written
    if (n <= write_of_row.size())
      won[write_of_row[n - 1]] = 1;
  }
  return true;
}

/// The reminder changes of the batch's winners.
void change_reminders(pqxx::work& tx, statement_arrays& a, const std::vector<merged_write>& ms,
                      const std::vector<char>& ok) {
  for (std::size_t i = 0; i < ms.size(); ++i) {
    if (!ok[i])
      continue;
    const auto& m = ms[i].w;
    for (const auto& r : m.reminders) {
      if (r.remove) {
        a.d_type.add_text(r.grain_type.empty() ? m.type : r.grain_type);
        a.d_key.add_text(r.grain_type.empty() ? m.key : r.grain_key);
        a.d_name.add_text(r.name);
      } else {
        a.a_type.add_text(m.type);
        a.a_key.add_text(m.key);
        a.a_name.add_text(r.name);
        a.a_due.add_int8(r.due_at_ms);
      }
    }
  }
  if (!a.d_type.empty())
    tx.exec_prepared("bazaar_disarm_reminders", a.d_type.param(), a.d_key.param(),
                     a.d_name.param());
  if (!a.a_type.empty())
    tx.exec_prepared("bazaar_arm_reminders", a.a_type.param(), a.a_key.param(), a.a_name.param(),
                     a.a_due.param());
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

void persister::notify_commit(pqxx::connection& c, const std::string& node_id) {
  // After the commit, in a statement of its own: the rows are visible when it is heard. A
  // failure here changes nothing of the batch, which is committed; the relay's sweep publishes
  // what no one was woken for.
  try {
    pqxx::nontransaction tx{c};
    tx.exec_prepared("bazaar_notify_commit", opts_.notify_channel, node_id);
  } catch (const std::exception& e) {
    spdlog::debug("persister: NOTIFY {} failed: {}", opts_.notify_channel, e.what());
  }
}

void persister::commit(writer& wr, std::vector<grain_write>& batch) {
  std::vector<grain_write> later;
  std::vector<merged_write> merged;
  std::unordered_map<grain_ref, std::size_t, grain_ref_hash> index;
  coalesce(batch, later, merged, index);
  std::vector<save_status> outcome(merged.size(), save_status::unavailable);
  std::optional<batch_report> report; // of a committed transaction, for on_batch
  bool announce = false;              // NOTIFY notify_channel once the writes are answered
  std::string announcer;
  auto started = std::chrono::steady_clock::now();
  try {
    if (!wr.conn || !wr.conn->is_open()) {
      wr.conn = connect(settings_);
      prepare_statements(*wr.conn);
    }
    auto& arrays = wr.arrays;
    arrays.clear();
    std::vector<char> won(merged.size(), 0);
    bool reminders = std::any_of(merged.begin(), merged.end(),
                                 [](const merged_write& m) { return !m.w.reminders.empty(); });
    auto lease = opts_.lease ? opts_.lease->get() : std::pair<std::string, std::int64_t>{};
    bool held = true;
    auto settle = [&] { // which writes won, from `won`; none when fenced off
      for (std::size_t i = 0; i < merged.size(); ++i)
        won[i] = held && (merged[i].w.state.empty() || won[i]);
    };
    if (!reminders) {
      // One statement, which commits by itself.
      pqxx::nontransaction tx{*wr.conn};
      held = write_batch(tx, arrays, merged, lease, won);
      settle();
    } else {
      pqxx::work tx{*wr.conn};
      held = write_batch(tx, arrays, merged, lease, won);
      settle();
      if (held)
        change_reminders(tx, arrays, merged, won);
      tx.commit();
    }
    if (!held) {
      stats_.fenced.fetch_add(1, std::memory_order_relaxed);
      spdlog::warn("persister: {} writes refused: node {} (incarnation {}) no longer holds its "
                   "cluster membership",
                   merged.size(), lease.first, lease.second);
    }
    bool events = false;
    for (std::size_t i = 0; i < merged.size(); ++i) {
      outcome[i] = won[i] ? save_status::saved : save_status::conflict;
      events = events || (won[i] && !merged[i].w.events.empty());
    }
    if (opts_.on_events_committed && events)
      opts_.on_events_committed();
    announce =
        events && !opts_.notify_channel.empty() && (!opts_.notify_wanted || opts_.notify_wanted());
    announcer = lease.first;
    auto us = std::chrono::duration_cast<std::chrono::microseconds>(
                  std::chrono::steady_clock::now() - started)
                  .count();
    stats_.transactions.fetch_add(1, std::memory_order_relaxed);
    stats_.rows.fetch_add(merged.size(), std::memory_order_relaxed);
    stats_.commit_us_total.fetch_add(static_cast<std::uint64_t>(us), std::memory_order_relaxed);
    healthy_ = true;
    if (opts_.on_batch && held) {
      report.emplace();
      report->writes = batch.size() - later.size();
      report->rows = merged.size();
      report->took = std::chrono::microseconds{us};
      for (std::size_t i = 0; i < merged.size(); ++i)
        if (won[i])
          report->saved.push_back(&merged[i].w);
    }
  } catch (const std::exception& e) {
    if (dynamic_cast<const pqxx::broken_connection*>(&e) != nullptr)
      wr.conn.reset();
    else if (wr.conn && !wr.conn->is_open())
      wr.conn.reset();
    if (healthy_.exchange(false))
      spdlog::error("persister: transaction of {} writes failed: {}", merged.size(), e.what());
    stats_.failed_transactions.fetch_add(1, std::memory_order_relaxed);
    // A COMMIT whose answer was lost may have been made: say so, not "nothing was written".
    bool in_doubt = dynamic_cast<const pqxx::in_doubt_error*>(&e) != nullptr;
    if (in_doubt)
      wr.conn.reset();
    std::fill(outcome.begin(), outcome.end(),
              in_doubt ? save_status::unknown : save_status::unavailable);
  }
  if (report) { // outside the try: the transaction committed whatever the hook does
    try {
      opts_.on_batch(*report);
    } catch (const std::exception& e) {
      spdlog::warn("persister: the batch report hook failed: {}", e.what());
    }
  }
  for (std::size_t i = 0; i < merged.size(); ++i) {
    if (outcome[i] == save_status::conflict)
      stats_.conflicts.fetch_add(1, std::memory_order_relaxed);
    for (auto& done : merged[i].done)
      done(outcome[i]);
  }
  if (announce)
    notify_commit(*wr.conn, announcer);
  if (!later.empty()) {
    std::lock_guard<std::mutex> guard{wr.mtx};
    for (auto i = later.rbegin(); i != later.rend(); ++i)
      wr.queue.push_front(std::move(*i));
  }
}

} // namespace bazaar::persistence
