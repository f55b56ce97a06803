#include "bazaar/persistence/outbox_store.hpp"

#include <pqxx/pqxx>
#include <spdlog/spdlog.h>

namespace bazaar::persistence {

outbox_store::outbox_store(pg_settings settings) : settings_(std::move(settings)) {}

outbox_store::~outbox_store() = default;

bool outbox_store::ensure_connected() {
  if (conn_ && conn_->is_open())
    return true;
  leading_ = false;
  try {
    conn_ = connect(settings_);
    return true;
  } catch (const std::exception& e) {
    spdlog::debug("outbox: cannot connect: {}", e.what());
    conn_.reset();
    return false;
  }
}

bool outbox_store::lead() {
  if (!ensure_connected())
    return false;
  if (leading_)
    return true;
  try {
    pqxx::nontransaction n{*conn_};
    auto r = n.exec("SELECT pg_try_advisory_lock(hashtext(" +
                    n.quote("bazaar.outbox_relay." + settings_.schema) + "))");
    leading_ = r[0][0].as<bool>();
    if (leading_)
      spdlog::info("outbox relay: this node publishes the outbox of schema {}", settings_.schema);
    return leading_;
  } catch (const std::exception& e) {
    spdlog::warn("outbox relay: lease check failed: {}", e.what());
    conn_.reset();
    leading_ = false;
    return false;
  }
}

std::optional<std::vector<outbox_row>> outbox_store::unpublished(std::int64_t after_id,
                                                                 std::size_t limit) {
  if (!ensure_connected())
    return std::nullopt;
  try {
    pqxx::nontransaction n{*conn_};
    auto r = n.exec("SELECT id, event_id::text, event_type, aggregate_type, aggregate_id, "
                    "sequence, envelope::text, (extract(epoch FROM created_at) * 1000)::bigint "
                    "FROM outbox WHERE published_at IS NULL AND id > " +
                    std::to_string(after_id) + " ORDER BY id LIMIT " + std::to_string(limit));
    std::vector<outbox_row> rows;
    rows.reserve(r.size());
    for (const auto& row : r)
      rows.push_back(outbox_row{row[0].as<std::int64_t>(), row[1].as<std::string>(),
                                row[2].as<std::string>(), row[3].as<std::string>(),
                                row[4].as<std::string>(), row[5].as<std::uint64_t>(),
                                row[6].as<std::string>(), row[7].as<std::int64_t>()});
    return rows;
  } catch (const std::exception& e) {
    spdlog::warn("outbox relay: reading the outbox failed: {}", e.what());
    conn_.reset();
    leading_ = false;
    return std::nullopt;
  }
}

bool outbox_store::mark_published(const std::vector<std::int64_t>& ids) {
  if (ids.empty())
    return true;
  if (!ensure_connected())
    return false;
  try {
    std::string list = "{";
    for (std::size_t i = 0; i < ids.size(); ++i)
      list += (i ? "," : "") + std::to_string(ids[i]);
    list += "}";
    pqxx::nontransaction n{*conn_};
    n.exec("UPDATE outbox SET published_at = now() WHERE id = ANY(" + n.quote(list) +
           "::bigint[]) AND published_at IS NULL");
    return true;
  } catch (const std::exception& e) {
    spdlog::warn("outbox relay: marking rows published failed: {}", e.what());
    conn_.reset();
    leading_ = false;
    return false;
  }
}

std::int64_t outbox_store::unpublish_since(std::chrono::seconds window) {
  if (!ensure_connected())
    return -1;
  try {
    pqxx::nontransaction n{*conn_};
    auto r = n.exec("UPDATE outbox SET published_at = NULL WHERE published_at > now() - " +
                    n.quote(std::to_string(window.count()) + " seconds") + "::interval");
    return static_cast<std::int64_t>(r.affected_rows());
  } catch (const std::exception& e) {
    spdlog::warn("outbox relay: marking rows unpublished failed: {}", e.what());
    conn_.reset();
    leading_ = false;
    return -1;
  }
}

std::int64_t outbox_store::backlog() {
  if (!ensure_connected())
    return -1;
  try {
    pqxx::nontransaction n{*conn_};
    return n.exec("SELECT count(*) FROM outbox WHERE published_at IS NULL")[0][0]
        .as<std::int64_t>();
  } catch (const std::exception&) {
    conn_.reset();
    leading_ = false;
    return -1;
  }
}

} // namespace bazaar::persistence
