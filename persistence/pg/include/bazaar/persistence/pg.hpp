#pragma once

/// Connecting to PostgreSQL with Bazaar's settings: a bounded connect timeout, TCP keepalives
/// and a statement timeout (so an unreachable or hung server becomes an error, not a hang),
/// and the configured schema as search_path.

#include "bazaar/persistence/pg_settings.hpp"

#include <pqxx/connection>

#include <memory>
#include <string>

namespace bazaar::persistence {

/// Opens a connection; throws pqxx::broken_connection (or pqxx::sql_error) on failure.
std::unique_ptr<pqxx::connection> connect(const pg_settings& settings);

/// The URL with libpq's connect_timeout and keepalive parameters added.
std::string with_timeouts(const std::string& url, int connect_timeout_ms);

/// `"name"` quoted as an SQL identifier.
std::string quote_identifier(const std::string& name);

} // namespace bazaar::persistence
