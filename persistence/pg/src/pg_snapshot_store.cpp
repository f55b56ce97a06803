#include "bazaar/persistence/pg_snapshot_store.hpp"

#include <pqxx/except>
#include <pqxx/pqxx>
#include <pqxx/transaction>

namespace bazaar::persistence {

pg_snapshot_store::pg_snapshot_store(pg_settings settings) : settings_(std::move(settings)) {}

pqxx::connection& pg_snapshot_store::conn() {
  if (!conn_ || !conn_->is_open())
    conn_ = connect(settings_);
  return *conn_;
}

load_result pg_snapshot_store::load(const std::string& type, const std::string& key) {
  std::lock_guard<std::mutex> guard{mtx_};
  try {
    pqxx::work w{conn()};
    auto r = w.exec("SELECT version, state::text, event_seq FROM snapshots WHERE grain_type = " +
                    w.quote(type) + " AND grain_key = " + w.quote(key));
    w.commit();
    if (r.empty())
      return load_result{true, std::nullopt, {}};
    return load_result{true,
                       snapshot{type, key, r[0][0].as<std::uint64_t>(), r[0][1].as<std::string>(),
                                r[0][2].as<std::uint64_t>()},
                       {}};
  } catch (const pqxx::broken_connection&) {
    conn_.reset();
    return load_result{false, std::nullopt, {}};
  } catch (const std::exception&) {
    return load_result{false, std::nullopt, {}};
  }
}

save_status pg_snapshot_store::save(const snapshot& s, std::uint64_t expected_version) {
  std::lock_guard<std::mutex> guard{mtx_};
  try {
    pqxx::work w{conn()};
    pqxx::result r;
    if (expected_version == 0) {
      r = w.exec("INSERT INTO snapshots (grain_type, grain_key, version, state, event_seq) "
                 "VALUES (" +
                 w.quote(s.type) + ", " + w.quote(s.key) + ", " + std::to_string(s.version) + ", " +
                 w.quote(s.state) + "::jsonb, " + std::to_string(s.event_seq) +
                 ") ON CONFLICT DO NOTHING RETURNING 1");
    } else {
      r = w.exec("UPDATE snapshots SET version = " + std::to_string(s.version) + ", state = " +
                 w.quote(s.state) + "::jsonb, event_seq = " + std::to_string(s.event_seq) +
                 ", updated_at = now() WHERE grain_type = " + w.quote(s.type) +
                 " AND grain_key = " + w.quote(s.key) +
                 " AND version = " + std::to_string(expected_version) + " RETURNING 1");
    }
    w.commit();
    return r.empty() ? save_status::conflict : save_status::saved;
  } catch (const pqxx::in_doubt_error&) {
    conn_.reset();
    return save_status::unknown;
  } catch (const pqxx::broken_connection&) {
    conn_.reset();
    return save_status::unavailable;
  } catch (const std::exception&) {
    return save_status::unavailable;
  }
}

} // namespace bazaar::persistence
