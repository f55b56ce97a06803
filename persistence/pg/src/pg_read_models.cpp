#include "bazaar/persistence/pg_read_models.hpp"

#include <pqxx/pqxx>
#include <spdlog/spdlog.h>

namespace bazaar::persistence {

using namespace domain; // the read side's types

namespace {

/// A parameter that may be NULL (libpqxx 6 takes a null `const char*` as NULL).
struct nullable_int {
  explicit nullable_int(const std::optional<std::int64_t>& v)
      : text(v ? std::to_string(*v) : std::string{}), null(!v) {}
  const char* c_str() const { return null ? nullptr : text.c_str(); }
  std::string text;
  bool null;
};

const char* window_sql = "($1::bigint IS NULL OR s.report_at_ms >= $1::bigint) AND "
                         "($2::bigint IS NULL OR s.report_at_ms < $2::bigint)";

} // namespace

pg_read_models::pg_read_models(pg_settings settings, options opts)
    : settings_(std::move(settings)), opts_(opts) {}

pg_read_models::~pg_read_models() {
  stop();
}

void pg_read_models::start() {
  std::lock_guard<std::mutex> guard{mtx_};
  if (running_ || stopping_)
    return;
  running_ = true;
  for (int i = 0; i < std::max(1, opts_.threads); ++i)
    threads_.emplace_back([this] { work(); });
}

void pg_read_models::stop() {
  std::deque<job> left;
  {
    std::lock_guard<std::mutex> guard{mtx_};
    if (stopping_)
      return;
    stopping_ = true;
    left.swap(queue_);
  }
  wake_.notify_all();
  for (auto& j : left)
    j(nullptr);
  for (auto& t : threads_)
    if (t.joinable())
      t.join();
}

template <class T, class Run>
void pg_read_models::submit(callback<T> done, Run run) {
  job j = [done = std::move(done), run = std::move(run)](pqxx::connection* conn) {
    if (conn == nullptr) {
      done(std::nullopt);
      return true;
    }
    std::optional<T> answer;
    bool ok = true;
    try {
      answer = run(*conn);
    } catch (const std::exception& e) {
      spdlog::warn("read models: a query failed: {}", e.what());
      ok = false;
    }
    done(std::move(answer));
    return ok;
  };
  {
    std::lock_guard<std::mutex> guard{mtx_};
    if (running_ && !stopping_ && queue_.size() < opts_.max_queued) {
      queue_.push_back(std::move(j));
      wake_.notify_one();
      return;
    }
  }
  j(nullptr); // stopped or overloaded: unavailable at once
}

void pg_read_models::work() {
  std::unique_ptr<pqxx::connection> conn;
  for (;;) {
    job j;
    {
      std::unique_lock<std::mutex> lock{mtx_};
      wake_.wait(lock, [this] { return stopping_ || !queue_.empty(); });
      if (stopping_)
        return;
      j = std::move(queue_.front());
      queue_.pop_front();
    }
    if (!conn || !conn->is_open()) {
      try {
        conn = connect(settings_);
      } catch (const std::exception& e) {
        spdlog::debug("read models: cannot connect: {}", e.what());
        conn.reset();
      }
    }
    if (!j(conn.get()))
      conn.reset(); // a failed query: the next one starts on a fresh connection
  }
}

void pg_read_models::products(product_query q, callback<product_page> done) {
  submit<product_page>(std::move(done), [q = std::move(q)](pqxx::connection& c) {
    pqxx::read_transaction t{c};
    const std::string where = " FROM read_products WHERE created AND active "
                              " AND ($1::text = '' OR strpos(lower(name), lower($1::text)) > 0 "
                              "      OR strpos(lower(description), lower($1::text)) > 0) "
                              " AND ($2::text = '' OR category = $2::text) "
                              " AND ($3::bigint IS NULL OR price_cents >= $3::bigint) "
                              " AND ($4::bigint IS NULL OR price_cents <= $4::bigint) ";
    nullable_int min{q.min_price_cents}, max{q.max_price_cents};
    product_page page;
    page.total =
        t.exec_params("SELECT count(*)" + where, q.text, q.category, min.c_str(), max.c_str())[0][0]
            .as<std::int64_t>();
    auto rows = t.exec_params("SELECT sku, name, description, category, price_cents, currency, "
                              " active, stock, reserved, low_stock_threshold, version" +
                                  where + "ORDER BY name, sku LIMIT $5::bigint OFFSET $6::bigint",
                              q.text, q.category, min.c_str(), max.c_str(), q.page_size,
                              (q.page - 1) * q.page_size);
    for (const auto& r : rows) {
      product p;
      p.exists = true;
      p.sku = r[0].as<std::string>();
      p.name = r[1].as<std::string>();
      p.description = r[2].as<std::string>();
      p.category = r[3].as<std::string>();
      p.price_cents = r[4].as<std::int64_t>();
      p.currency = r[5].as<std::string>();
      p.active = r[6].as<bool>();
      p.stock = r[7].as<std::int64_t>();
      p.reserved = r[8].as<std::int64_t>();
      p.low_stock_threshold = r[9].as<std::int64_t>();
      p.version = r[10].as<std::uint64_t>();
      page.items.push_back(std::move(p));
    }
    return page;
  });
}

void pg_read_models::categories(callback<std::vector<category_count>> done) {
  submit<std::vector<category_count>>(std::move(done), [](pqxx::connection& c) {
    pqxx::read_transaction t{c};
    std::vector<category_count> out;
    for (const auto& r : t.exec("SELECT category, count(*) FROM read_products "
                                "WHERE created AND active GROUP BY category ORDER BY category"))
      out.push_back(category_count{r[0].as<std::string>(), r[1].as<std::int64_t>()});
    return out;
  });
}

void pg_read_models::orders(order_query query, callback<std::vector<order_summary>> done) {
  submit<std::vector<order_summary>>(std::move(done), [q = std::move(query)](pqxx::connection& c) {
    pqxx::read_transaction t{c};
    std::vector<order_summary> out;
    // Absent filters are NULL (or ''), so one statement serves every search; the indexes on
    // (customer_id, created_at_ms, order_id), (status, ...) and (created_at_ms, order_id)
    // give the newest first.
    nullable_int from{q.from_ms}, to{q.to_ms};
    nullable_int before_at{q.before ? std::optional<std::int64_t>{q.before->created_at_ms}
                                    : std::nullopt};
    const std::string before_id = q.before ? q.before->order_id : std::string{};
    for (const auto& r : t.exec_params(
             "SELECT order_id, customer_id, status, total_cents, currency, item_count, "
             " created_at_ms, updated_at_ms, cancel_reason FROM read_orders "
             "WHERE ($1::text = '' OR customer_id = $1::text) "
             " AND ($2::text = '' OR status = $2::text) "
             " AND ($3::bigint IS NULL OR created_at_ms >= $3::bigint) "
             " AND ($4::bigint IS NULL OR created_at_ms < $4::bigint) "
             " AND ($5::bigint IS NULL OR (created_at_ms, order_id) < ($5::bigint, $6::text)) "
             "ORDER BY created_at_ms DESC, order_id DESC LIMIT $7::bigint",
             q.customer_id, q.status, from.c_str(), to.c_str(), before_at.c_str(), before_id,
             q.limit)) {
      order_summary o;
      o.order_id = r[0].as<std::string>();
      o.customer_id = r[1].as<std::string>();
      o.status = r[2].as<std::string>();
      o.total_cents = r[3].as<std::int64_t>();
      o.currency = r[4].as<std::string>();
      o.item_count = r[5].as<std::int64_t>();
      o.created_at_ms = r[6].as<std::int64_t>();
      o.updated_at_ms = r[7].as<std::int64_t>();
      o.cancel_reason = r[8].as<std::string>();
      out.push_back(std::move(o));
    }
    return out;
  });
}

void pg_read_models::outbox(callback<outbox_status> done) {
  submit<outbox_status>(std::move(done), [](pqxx::connection& c) {
    pqxx::read_transaction t{c};
    // The partial index outbox_unpublished holds exactly these rows.
    auto r = t.exec1("SELECT count(*), coalesce((extract(epoch FROM now() - min(created_at)) * "
                     "1000)::bigint, 0) FROM outbox WHERE published_at IS NULL");
    return outbox_status{r[0].as<std::int64_t>(), r[1].as<std::int64_t>()};
  });
}

void pg_read_models::stuck_sagas(std::int64_t stuck_ms, std::size_t limit,
                                 callback<std::vector<saga_view>> done) {
  submit<std::vector<saga_view>>(std::move(done), [stuck_ms, limit](pqxx::connection& c) {
    pqxx::read_transaction t{c};
    std::vector<saga_view> out;
    // The saga's times are the grain's wall clock; whether it is stuck is judged by the row's
    // updated_at, the database's clock, as every node writes it.
    for (const auto& r :
         t.exec_params("SELECT * FROM ("
                       " SELECT s.grain_key, s.state->>'customer_id', s.state->>'stage',"
                       "  s.state->>'payment', coalesce(o.state->>'status', ''),"
                       "  coalesce((s.state->>'amount_cents')::bigint, 0),"
                       "  coalesce((s.state->>'started_at')::bigint, 0),"
                       "  (extract(epoch FROM s.updated_at) * 1000)::bigint AS changed, s.version"
                       " FROM snapshots s LEFT JOIN snapshots o"
                       "  ON o.grain_type = 'order' AND o.grain_key = s.grain_key"
                       " WHERE s.grain_type = 'checkout'"
                       "  AND s.state->>'stage' NOT IN ('confirmed', 'cancelled')"
                       "  AND s.updated_at < now() - $1::bigint * interval '1 millisecond'"
                       " UNION ALL"
                       " SELECT o.grain_key, o.state->>'customer_id', 'not_started', 'none',"
                       "  o.state->>'status', coalesce((o.state->>'total_cents')::bigint, 0), 0,"
                       "  (extract(epoch FROM o.updated_at) * 1000)::bigint, o.version"
                       " FROM snapshots o"
                       " WHERE o.grain_type = 'order' AND o.state->>'status' = 'pending'"
                       "  AND o.updated_at < now() - $1::bigint * interval '1 millisecond'"
                       "  AND NOT EXISTS (SELECT 1 FROM snapshots s"
                       "   WHERE s.grain_type = 'checkout' AND s.grain_key = o.grain_key)"
                       ") stuck ORDER BY changed, 1 LIMIT $2::bigint",
                       stuck_ms, limit)) {
      saga_view v;
      v.order_id = r[0].as<std::string>();
      v.customer_id = r[1].as<std::string>("");
      v.stage = r[2].as<std::string>("");
      v.payment = r[3].as<std::string>("");
      v.order_status = r[4].as<std::string>("");
      v.amount_cents = r[5].as<std::int64_t>();
      v.started_at_ms = r[6].as<std::int64_t>();
      v.updated_at_ms = r[7].as<std::int64_t>();
      v.version = r[8].as<std::uint64_t>();
      out.push_back(std::move(v));
    }
    return out;
  });
}

void pg_read_models::notifications(std::string customer_id, std::size_t limit,
                                   callback<std::vector<notification_view>> done) {
  submit<std::vector<notification_view>>(
      std::move(done), [customer_id = std::move(customer_id), limit](pqxx::connection& c) {
        pqxx::read_transaction t{c};
        std::vector<notification_view> out;
        for (const auto& r : t.exec_params(
                 "SELECT notification_id, customer_id, channel, template, order_id, created_at_ms, "
                 " sku "
                 "FROM read_notifications WHERE ($1::text = '' OR customer_id = $1::text) "
                 "ORDER BY created_at_ms DESC, seq DESC LIMIT $2::bigint",
                 customer_id, limit)) {
          notification_view n;
          n.notification_id = r[0].as<std::string>();
          n.customer_id = r[1].as<std::string>();
          n.channel = r[2].as<std::string>();
          n.template_name = r[3].as<std::string>();
          n.order_id = r[4].as<std::string>();
          n.created_at_ms = r[5].as<std::int64_t>();
          n.sku = r[6].as<std::string>();
          out.push_back(std::move(n));
        }
        return out;
      });
}

void pg_read_models::sales(std::optional<std::int64_t> from_ms, std::optional<std::int64_t> to_ms,
                           callback<sales_report> done) {
  submit<sales_report>(std::move(done), [from_ms, to_ms](pqxx::connection& c) {
    pqxx::read_transaction t{c};
    nullable_int from{from_ms}, to{to_ms};
    sales_report out;
    auto totals = t.exec_params(
        std::string{
            "SELECT "
            " count(*) FILTER (WHERE confirmed_at_ms IS NOT NULL AND cancelled_at_ms IS NULL), "
            " count(*) FILTER (WHERE cancelled_at_ms IS NOT NULL), "
            " COALESCE(sum(total_cents) FILTER (WHERE confirmed_at_ms IS NOT NULL "
            "  AND cancelled_at_ms IS NULL), 0)::bigint "
            "FROM read_sales_orders s WHERE "} +
            window_sql,
        from.c_str(), to.c_str());
    out.orders_confirmed = totals[0][0].as<std::int64_t>();
    out.orders_cancelled = totals[0][1].as<std::int64_t>();
    out.revenue_cents = totals[0][2].as<std::int64_t>();
    for (const auto& r : t.exec_params(
             std::string{"SELECT l.sku, sum(l.quantity)::bigint, sum(l.revenue_cents)::bigint "
                         "FROM read_sales_lines l JOIN read_sales_orders s USING (order_id) "
                         "WHERE s.confirmed_at_ms IS NOT NULL AND s.cancelled_at_ms IS NULL AND "} +
                 window_sql + " GROUP BY l.sku ORDER BY 2 DESC, l.sku LIMIT 10",
             from.c_str(), to.c_str()))
      out.top_products.push_back(sales_report::product_sales{
          r[0].as<std::string>(), r[1].as<std::int64_t>(), r[2].as<std::int64_t>()});
    return out;
  });
}

} // namespace bazaar::persistence
