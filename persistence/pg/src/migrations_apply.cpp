#include "bazaar/persistence/migrations.hpp"
#include "bazaar/persistence/pg.hpp"

#include <pqxx/pqxx>
#include <pqxx/transaction>

#include <set>

namespace bazaar::persistence {

std::vector<std::string> migrate(pqxx::connection& conn, const std::string& schema) {
  pqxx::work w{conn};
  // One lock per schema: nodes of one deployment serialize, test schemas do not.
  w.exec("SELECT pg_advisory_xact_lock(hashtext(" + w.quote("bazaar.migrations." + schema) + "))");
  w.exec("CREATE SCHEMA IF NOT EXISTS " + quote_identifier(schema));
  w.exec("SET LOCAL search_path TO " + quote_identifier(schema));
  w.exec("CREATE TABLE IF NOT EXISTS schema_migrations ("
         " name text PRIMARY KEY, applied_at timestamptz NOT NULL DEFAULT now())");
  std::set<std::string> done;
  for (const auto& row : w.exec("SELECT name FROM schema_migrations"))
    done.insert(row[0].as<std::string>());
  std::vector<std::string> applied;
  for (const auto& m : migrations()) {
    if (done.count(m.name))
      continue;
    w.exec(m.sql);
    w.exec("INSERT INTO schema_migrations (name) VALUES (" + w.quote(std::string{m.name}) + ")");
    applied.emplace_back(m.name);
  }
  w.commit();
  return applied;
}

} // namespace bazaar::persistence
