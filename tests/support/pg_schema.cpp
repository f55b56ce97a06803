#include "pg_schema.hpp"

#include <pqxx/pqxx>

#include <atomic>
#include <cstdlib>
#include <random>
#include <unistd.h>

namespace bazaar::test {

std::string test_postgres_url() {
  for (const char* name : {"BAZAAR_TEST_POSTGRES_URL", "BAZAAR_POSTGRES_URL"})
    if (const char* v = std::getenv(name); v != nullptr && *v != '\0')
      return v;
  return "postgresql://bazaar:bazaar@127.0.0.1:5432/bazaar";
}

pg_schema::pg_schema() : url_(test_postgres_url()) {
  static std::atomic<int> counter{0};
  std::random_device rd;
  name_ = "t_" + std::to_string(getpid()) + "_" + std::to_string(counter++) + "_" +
          std::to_string(rd() % 100000);
  exec("CREATE SCHEMA " + persistence::quote_identifier(name_));
}

pg_schema::~pg_schema() {
  try {
    pqxx::connection c{persistence::with_timeouts(url_, 2000)};
    pqxx::nontransaction n{c};
    n.exec("DROP SCHEMA IF EXISTS " + persistence::quote_identifier(name_) + " CASCADE");
  } catch (...) {
    // A test that stopped the server leaves its schema behind; nothing else to do here.
  }
}

std::string pg_schema::scalar(const std::string& sql) const {
  // The test's own look at the database: a loaded machine (nodes, Kafka and PostgreSQL on two
  // cores) may take more than the nodes' 2 s to accept a connection, which is not what a test
  // checks.
  pqxx::connection c{persistence::with_timeouts(url_, 10000)};
  pqxx::work w{c};
  w.exec("SET LOCAL search_path TO " + persistence::quote_identifier(name_));
  auto r = w.exec(sql);
  w.commit();
  if (r.empty() || r[0].empty() || r[0][0].is_null())
    return {};
  return r[0][0].as<std::string>();
}

void pg_schema::exec(const std::string& sql) const {
  scalar(sql);
}

} // namespace bazaar::test
