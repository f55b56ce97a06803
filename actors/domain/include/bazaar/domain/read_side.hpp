#pragma once

/// The shop's read side as the HTTP routes query it (docs/API.md "Catalog", "Orders", "Reports
/// and notifications"): the projections the Kafka projector keeps (catalog, order summaries,
/// notifications, sales), eventually consistent with the grains. Asynchronous: every query
/// answers exactly once through its callback, on a query thread (or at once), with nullopt
/// when the store is unavailable. An interface the gateway reads through; the PostgreSQL
/// implementation is persistence's pg_read_models (bazaar_pg).

#include "bazaar/domain/product.hpp"

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

namespace bazaar::domain {

/// A search of active products. Every filter is optional (empty / nullopt: none).
struct product_query {
  /// Case-insensitive substring of name or description.
  std::string text;
  /// Exact category.
  std::string category;
  std::optional<std::int64_t> min_price_cents;
  std::optional<std::int64_t> max_price_cents;
  /// 1-based page of `page_size` products, ordered by name, then sku.
  std::int64_t page = 1;
  std::int64_t page_size = 20;
};

struct product_page {
  /// As the catalog projection has them: every field of the product but its reservations.
  std::vector<product> items;
  /// Products that match, over all pages.
  std::int64_t total = 0;
};

struct category_count {
  std::string name;
  std::int64_t product_count = 0;
};

/// One order in its customer's order list.
struct order_summary {
  std::string order_id;
  std::string customer_id;
  std::string status;
  std::int64_t total_cents = 0;
  std::string currency;
  /// Units over all lines (the sum of the lines' quantities).
  std::int64_t item_count = 0;
  std::int64_t created_at_ms = 0;
  std::int64_t updated_at_ms = 0;
  /// Why a cancelled order was cancelled ("" otherwise).
  std::string cancel_reason;
};

/// A search of order summaries, newest first (by creation, then order id). Every filter is
/// optional (empty / nullopt: none).
struct order_query {
  std::string customer_id;
  /// One of the order statuses.
  std::string status;
  /// Created in [from_ms, to_ms).
  std::optional<std::int64_t> from_ms;
  std::optional<std::int64_t> to_ms;
  /// Only orders older than this one (created before it, or at the same time with a smaller
  /// order id): the next page after the last order of the previous one.
  struct position {
    std::int64_t created_at_ms = 0;
    std::string order_id;
  };
  std::optional<position> before;
  std::size_t limit = 100;
};

/// A simulated notification to a customer (or to the shop's admins).
struct notification_view {
  std::string notification_id;
  std::string customer_id;
  std::string channel;
  std::string template_name;
  /// Empty for notifications about no order (low stock).
  std::string order_id;
  /// The product a low-stock notification is about ("" for the others).
  std::string sku;
  std::int64_t created_at_ms = 0;
};

/// Sales of a time window; see read_models::sales.
struct sales_report {
  std::int64_t orders_confirmed = 0;
  std::int64_t orders_cancelled = 0;
  std::int64_t revenue_cents = 0;
  struct product_sales {
    std::string sku;
    std::int64_t quantity = 0;
    std::int64_t revenue_cents = 0;
  };
  std::vector<product_sales> top_products;
};

/// A checkout saga that is not terminal, or an order whose saga has not started (its
/// order-created was not consumed yet), for operators.
struct saga_view {
  std::string order_id;
  std::string customer_id;
  /// waiting, reserving or paying; "not_started" when there is no saga yet.
  std::string stage;
  std::string payment;      ///< the saga's payment state (none, requested, ...)
  std::string order_status; ///< the order's status, "" when there is no order
  std::int64_t amount_cents = 0;
  std::int64_t started_at_ms = 0;
  /// The last change of the saga (of the order, when the saga has not started).
  std::int64_t updated_at_ms = 0;
  std::uint64_t version = 0;
};

/// The outbox as the relay sees it: events committed and not published to Kafka yet.
struct outbox_status {
  std::int64_t backlog = 0;
  /// How long the oldest of them has waited (0 when there is none).
  std::int64_t oldest_ms = 0;
};

class read_models {
 public:
  template <class T>
  using callback = std::function<void(std::optional<T>)>;

  virtual ~read_models() = default;

  /// A page of active products matching the query.
  virtual void products(product_query query, callback<product_page> done) = 0;

  /// Categories of active products with how many each has, by name.
  virtual void categories(callback<std::vector<category_count>> done) = 0;

  /// The order summaries the query asks for, newest first (then by order id), at most
  /// `query.limit`.
  virtual void orders(order_query query, callback<std::vector<order_summary>> done) = 0;

  /// Notifications, newest first, at most `limit`; with `customer_id` non-empty only theirs.
  virtual void notifications(std::string customer_id, std::size_t limit,
                             callback<std::vector<notification_view>> done) = 0;

  /// Sales of the window [from_ms, to_ms) (an absent bound is open). An order belongs to the
  /// window of its confirmation, or of its cancellation if it was never confirmed; it counts
  /// as confirmed (with its total in revenue and its lines in top_products, the 10 skus with
  /// the most units) unless it was cancelled, then as cancelled.
  virtual void sales(std::optional<std::int64_t> from_ms, std::optional<std::int64_t> to_ms,
                     callback<sales_report> done) = 0;

  /// Sagas not terminal whose last change is older than `stuck_ms` (by the database's clock),
  /// oldest change first, at most `limit`. Read from the grains' snapshots, which every saga
  /// step writes before it is answered.
  /// The outbox's backlog, cluster-wide (every node writes the one outbox).
  virtual void outbox(callback<outbox_status> done) = 0;

  virtual void stuck_sagas(std::int64_t stuck_ms, std::size_t limit,
                           callback<std::vector<saga_view>> done) = 0;
};

} // namespace bazaar::domain
