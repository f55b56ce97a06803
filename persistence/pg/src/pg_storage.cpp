#include "bazaar/persistence/pg_storage.hpp"

#include <pqxx/pqxx>
#include <pqxx/transaction>
#include <spdlog/spdlog.h>

namespace bazaar::persistence {

pg_storage::pg_storage(pg_settings settings, options opts)
    : settings_(std::move(settings)),
      monitor_(settings_, opts.monitor_interval, opts.applied_events_retention),
      loader_(settings_, opts.load_batch), writes_(settings_, opts.writes) {}

pg_storage::~pg_storage() {
  stop();
}

void pg_storage::stop() {
  monitor_.stop();
  loader_.stop();
  writes_.stop();
}

bool pg_storage::ready(std::string& why) const {
  if (!monitor_.migrated()) {
    why = "PostgreSQL is not reachable or not migrated: " + monitor_.last_error();
    return false;
  }
  if (!monitor_.reachable() || !writes_.healthy()) {
    why = "PostgreSQL is not reachable: " + monitor_.last_error();
    return false;
  }
  return true;
}

bool pg_storage::wait_ready(std::chrono::milliseconds timeout) const {
  return monitor_.wait_migrated(timeout);
}

void pg_storage::load(const std::string& type, const std::string& key,
                      std::function<void(load_result)> done) {
  if (!monitor_.migrated()) {
    done(load_result{false, std::nullopt, {}});
    return;
  }
  loader_.load(type, key, std::move(done));
}

void pg_storage::write(grain_write w) {
  if (!monitor_.migrated()) {
    auto done = std::move(w.done);
    done(save_status::unavailable);
    return;
  }
  writes_.write(std::move(w));
}

std::vector<due_reminder> pg_storage::claim_due(std::size_t limit,
                                                std::chrono::milliseconds lease) {
  std::vector<due_reminder> due;
  if (!monitor_.migrated())
    return due;
  std::lock_guard<std::mutex> guard{reminder_mtx_};
  try {
    if (!reminder_conn_ || !reminder_conn_->is_open())
      reminder_conn_ = connect(settings_);
    pqxx::work w{*reminder_conn_};
    // Leasing instead of deleting: a reminder whose grain does not deal with it fires again.
    auto r = w.exec("UPDATE reminders SET due_at = now() + " + std::to_string(lease.count()) +
                    " * interval '1 millisecond', attempts = attempts + 1 "
                    "WHERE (grain_type, grain_key, name) IN (SELECT grain_type, grain_key, name "
                    "FROM reminders WHERE due_at <= now() ORDER BY due_at LIMIT " +
                    std::to_string(limit) +
                    " FOR UPDATE SKIP LOCKED) RETURNING grain_type, grain_key, name");
    w.commit();
    for (const auto& row : r)
      due.push_back(due_reminder{row[0].as<std::string>(), row[1].as<std::string>(),
                                 row[2].as<std::string>()});
  } catch (const std::exception& e) {
    reminder_conn_.reset();
    spdlog::debug("claiming reminders failed: {}", e.what());
  }
  return due;
}

void pg_storage::history(const std::string& aggregate_type, const std::string& aggregate_id,
                         std::function<void(std::optional<std::vector<std::string>>)> done) {
  if (!monitor_.migrated()) {
    done(std::nullopt);
    return;
  }
  auto shared_done = std::make_shared<decltype(done)>(std::move(done));
  pg_loader::job j;
  j.run = [aggregate_type, aggregate_id, shared_done](pqxx::connection& c) {
    pqxx::work w{c};
    auto r = w.exec(
        "SELECT envelope::text FROM outbox WHERE aggregate_type = " + w.quote(aggregate_type) +
        " AND aggregate_id = " + w.quote(aggregate_id) + " ORDER BY sequence");
    w.commit();
    std::vector<std::string> out;
    out.reserve(r.size());
    for (const auto& row : r)
      out.push_back(row[0].as<std::string>());
    (*shared_done)(std::move(out));
  };
  j.unavailable = [shared_done] { (*shared_done)(std::nullopt); };
  loader_.submit(std::move(j));
}

} // namespace bazaar::persistence
