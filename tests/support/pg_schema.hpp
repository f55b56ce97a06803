#pragma once

/// A private PostgreSQL schema for one test: created with a unique name, dropped at the end,
/// so tests can run in parallel against one local server. The server is the one
/// scripts/test.sh starts (or BAZAAR_TEST_POSTGRES_URL / BAZAAR_POSTGRES_URL).

#include "bazaar/persistence/pg.hpp"

#include <string>

namespace bazaar::test {

/// The URL tests connect to.
std::string test_postgres_url();

class pg_schema {
 public:
  pg_schema();
  ~pg_schema();

  pg_schema(const pg_schema&) = delete;
  pg_schema& operator=(const pg_schema&) = delete;

  const std::string& name() const { return name_; }
  const std::string& url() const { return url_; }
  persistence::pg_settings settings() const { return {url_, name_, 2000, 10000}; }

  /// Runs one SQL statement in this schema and returns the first column of the first row
  /// ("" when there is none).
  std::string scalar(const std::string& sql) const;
  /// Runs one SQL statement in this schema.
  void exec(const std::string& sql) const;

 private:
  std::string url_;
  std::string name_;
};

} // namespace bazaar::test
