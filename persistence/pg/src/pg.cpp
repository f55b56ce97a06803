#include "bazaar/persistence/pg.hpp"

#include <pqxx/nontransaction>
#include <pqxx/pqxx>
#include <pqxx/transaction>

namespace bazaar::persistence {

std::string quote_identifier(const std::string& name) {
  std::string out = "\"";
  for (char c : name) {
    if (c == '"')
      out += '"';
    out += c;
  }
  return out + "\"";
}

std::string with_timeouts(const std::string& url, int connect_timeout_ms) {
  auto secs = std::to_string(std::max(1, (connect_timeout_ms + 999) / 1000));
  bool uri = url.rfind("postgresql://", 0) == 0 || url.rfind("postgres://", 0) == 0;
  std::string params[] = {"connect_timeout=" + secs, "keepalives=1", "keepalives_idle=5",
                          "keepalives_interval=2", "keepalives_count=3"};
  std::string out = url;
  for (const auto& p : params) {
    auto name = p.substr(0, p.find('=') + 1);
    if (out.find(name) != std::string::npos)
      continue;
    if (uri)
      out += (out.find('?') == std::string::npos ? "?" : "&") + p;
    else
      out += " " + p;
  }
  return out;
}

std::unique_ptr<pqxx::connection> connect(const pg_settings& settings) {
  auto conn =
      std::make_unique<pqxx::connection>(with_timeouts(settings.url, settings.connect_timeout_ms));
  pqxx::nontransaction n{*conn};
  n.exec("SET search_path TO " + quote_identifier(settings.schema));
  n.exec("SET statement_timeout = " + std::to_string(settings.statement_timeout_ms));
  n.exec("SET synchronous_commit = on");
  // A session that stops between the statements of a transaction (a node frozen or cut off)
  // would hold its locks, among them the fence on its membership row, until it woke.
  n.exec("SET idle_in_transaction_session_timeout = " +
         std::to_string(settings.statement_timeout_ms));
  return conn;
}

} // namespace bazaar::persistence
