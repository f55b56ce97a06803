#include "bazaar/persistence/pg_membership.hpp"

#include <pqxx/nontransaction>
#include <pqxx/pqxx>
#include <pqxx/transaction>

namespace bazaar::persistence {

pg_membership::pg_membership(pg_settings settings) : settings_(std::move(settings)) {}

pg_membership::~pg_membership() = default;

pqxx::connection& pg_membership::conn() {
  if (!conn_ || !conn_->is_open())
    conn_ = connect(settings_);
  return *conn_;
}

namespace {

/// Runs `f(tx)` in a transaction; a failure drops the connection so the next call reconnects.
template <class F>
auto guarded(std::unique_ptr<pqxx::connection>& held, pqxx::connection& c, F f) {
  try {
    pqxx::work tx{c};
    auto out = f(tx);
    tx.commit();
    return out;
  } catch (...) {
    held.reset();
    throw;
  }
}

} // namespace

std::int64_t pg_membership::join(const std::string& node_id, const std::string& host, int http_port,
                                 int cluster_port) {
  auto& c = conn();
  return guarded(conn_, c, [&](pqxx::work& tx) {
    auto r = tx.exec_params(
        "INSERT INTO cluster_members (node_id, incarnation, host, http_port, cluster_port, "
        "started_at, heartbeat_at, status) VALUES ($1, 1, $2, $3, $4, now(), now(), 'joining') "
        "ON CONFLICT (node_id) DO UPDATE SET incarnation = cluster_members.incarnation + 1, "
        "host = EXCLUDED.host, http_port = EXCLUDED.http_port, "
        "cluster_port = EXCLUDED.cluster_port, started_at = now(), heartbeat_at = now(), "
        "status = 'joining' RETURNING incarnation",
        node_id, host, http_port, cluster_port);
    return r[0][0].as<std::int64_t>();
  });
}

bool pg_membership::heartbeat(const std::string& node_id, std::int64_t incarnation,
                              std::int64_t activations) {
  auto& c = conn();
  return guarded(conn_, c, [&](pqxx::work& tx) {
    auto r =
        tx.exec_params("UPDATE cluster_members SET heartbeat_at = now(), activations = $3 "
                       "WHERE node_id = $1 AND incarnation = $2 AND status IN ('joining', 'alive')",
                       node_id, incarnation, activations);
    return r.affected_rows() == 1;
  });
}

std::vector<std::string> pg_membership::declare_dead(std::chrono::milliseconds timeout,
                                                     std::chrono::milliseconds lock_wait) {
  auto& c = conn();
  return guarded(conn_, c, [&](pqxx::work& tx) {
    tx.exec("SET LOCAL lock_timeout = " +
            std::to_string(std::max<long long>(1, lock_wait.count())));
    std::vector<std::string> out;
    try {
      pqxx::subtransaction sub{tx};
      auto r = sub.exec_params(
          "UPDATE cluster_members SET status = 'dead' WHERE status IN ('joining', 'alive') AND "
          "heartbeat_at < now() - make_interval(secs => $1::double precision / 1000) "
          "RETURNING node_id",
          static_cast<double>(timeout.count()));
      sub.commit();
      for (const auto& row : r)
        out.push_back(row[0].as<std::string>());
    } catch (const pqxx::sql_error& e) {
      // lock_not_available: a member is committing right now; it is declared next round.
      if (e.sqlstate() != "55P03")
        throw;
    }
    return out;
  });
}

std::vector<member_row> pg_membership::members() {
  auto& c = conn();
  return guarded(conn_, c, [&](pqxx::work& tx) {
    auto r = tx.exec("SELECT node_id, incarnation, host, http_port, cluster_port, status, "
                     "(extract(epoch FROM started_at) * 1000)::bigint, "
                     "(extract(epoch FROM heartbeat_at) * 1000)::bigint, "
                     "(extract(epoch FROM now() - heartbeat_at) * 1000)::bigint, activations "
                     "FROM cluster_members ORDER BY node_id");
    std::vector<member_row> out;
    for (const auto& row : r)
      out.push_back(member_row{
          row[0].as<std::string>(), row[1].as<std::int64_t>(), row[2].as<std::string>(),
          row[3].as<int>(), row[4].as<int>(), row[5].as<std::string>(), row[6].as<std::int64_t>(),
          row[7].as<std::int64_t>(), row[8].as<std::int64_t>(), row[9].as<std::int64_t>()});
    return out;
  });
}

bool pg_membership::activate(const std::string& node_id, std::int64_t incarnation) {
  auto& c = conn();
  return guarded(conn_, c, [&](pqxx::work& tx) {
    auto r = tx.exec_params("UPDATE cluster_members SET status = 'alive', heartbeat_at = now() "
                            "WHERE node_id = $1 AND incarnation = $2 AND status = 'joining'",
                            node_id, incarnation);
    return r.affected_rows() == 1;
  });
}

void pg_membership::leave(const std::string& node_id, std::int64_t incarnation) {
  auto& c = conn();
  guarded(conn_, c, [&](pqxx::work& tx) {
    tx.exec_params("UPDATE cluster_members SET status = 'left' WHERE node_id = $1 AND "
                   "incarnation = $2",
                   node_id, incarnation);
    return 0;
  });
}

} // namespace bazaar::persistence
