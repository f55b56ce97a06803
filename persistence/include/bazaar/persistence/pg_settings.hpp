#pragma once

/// Where and how to reach PostgreSQL. Only the data: what connects with it (libpqxx) is in
/// bazaar_pg (pg.hpp), so that a library which only passes settings on includes no SQL client.

#include <string>

namespace bazaar::persistence {

struct pg_settings {
  std::string url;
  std::string schema = "public";
  int connect_timeout_ms = 2000;
  int statement_timeout_ms = 10000;
};

} // namespace bazaar::persistence
