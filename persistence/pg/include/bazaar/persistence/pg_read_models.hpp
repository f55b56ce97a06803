#pragma once

/// read_models on PostgreSQL: the queries run on threads of their own (one connection each,
/// opened lazily and again after a failure), so that the HTTP I/O threads never wait for the
/// database. At most `max_queued` queries wait; past it, and whenever the database fails, a
/// query answers nullopt (unavailable) at once.

#include "bazaar/domain/read_side.hpp"
#include "bazaar/persistence/pg.hpp"

#include <condition_variable>
#include <deque>
#include <mutex>
#include <thread>

namespace bazaar::persistence {

class pg_read_models final : public domain::read_models {
 public:
  struct options {
    /// Query threads (one connection each).
    int threads = 1;
    /// Queries that may wait for a thread.
    std::size_t max_queued = 1000;
  };

  pg_read_models(pg_settings settings, options opts);
  /// Stops (see stop()).
  ~pg_read_models() override;

  pg_read_models(const pg_read_models&) = delete;
  pg_read_models& operator=(const pg_read_models&) = delete;

  /// Starts the query threads.
  void start();
  /// Answers the queries still waiting with nullopt, lets the running ones finish and joins the
  /// threads; later queries answer nullopt at once. Idempotent.
  void stop();

  void products(domain::product_query query, callback<domain::product_page> done) override;
  void categories(callback<std::vector<domain::category_count>> done) override;
  void orders(domain::order_query query,
              callback<std::vector<domain::order_summary>> done) override;
  void notifications(std::string customer_id, std::size_t limit,
                     callback<std::vector<domain::notification_view>> done) override;
  void sales(std::optional<std::int64_t> from_ms, std::optional<std::int64_t> to_ms,
             callback<domain::sales_report> done) override;
  void outbox(callback<domain::outbox_status> done) override;
  void stuck_sagas(std::int64_t stuck_ms, std::size_t limit,
                   callback<std::vector<domain::saga_view>> done) override;

 private:
  /// A query: runs on the connection, or is told the store is unavailable (nullptr); false when
  /// the query failed (the connection is then replaced).
  using job = std::function<bool(pqxx::connection*)>;

  /// Queues a query whose `run` returns its answer; `done` gets it, or nullopt on failure.
  template <class T, class Run>
  void submit(callback<T> done, Run run);
  void work();

  pg_settings settings_;
  options opts_;
  std::mutex mtx_;
  std::condition_variable wake_;
  std::deque<job> queue_;
  bool running_ = false;
  bool stopping_ = false;
  std::vector<std::thread> threads_;
};

} // namespace bazaar::persistence
