#pragma once

/// Versioned schema migrations: the SQL files of persistence/migrations, compiled in, applied
/// at start in file-name order, each recorded in schema_migrations. Safe when several nodes
/// start at once: they serialize on an advisory lock and the later ones find nothing to do.

#include <pqxx/connection>

#include <string>
#include <vector>

namespace bazaar::persistence {

struct migration {
  const char* name;
  const char* sql;
};

/// Every migration, in order.
const std::vector<migration>& migrations();

/// Creates the schema if needed and applies the migrations it lacks, in one transaction.
/// Returns the names applied by this call. Throws on database errors.
std::vector<std::string> migrate(pqxx::connection& conn, const std::string& schema);

} // namespace bazaar::persistence
