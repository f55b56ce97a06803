#pragma once

/// The consistency checks after the load: every basket read back and compared with the model
/// of the acknowledged operations; every order followed to a terminal status and the stock of
/// every product compared with what the confirmed orders took.

#include "basket_model.hpp"
#include "options.hpp"
#include "runner.hpp"
#include "shop.hpp"

#include <map>
#include <string>
#include <vector>

namespace bazaar::load {

struct basket_check {
  consistency_counts counts;
  std::vector<std::string> anomalies;
  std::size_t customers_read = 0;
  /// Baskets that could not be read (no answer after retries): the check cannot pass.
  std::size_t read_failures = 0;

  bool passed() const { return counts.passed() && read_failures == 0; }
};

/// Reads the basket of every customer the run touched and compares it with the model.
basket_check check_baskets(sync_client& client, const shop& s, basket_model& model);

struct stock_mismatch {
  std::string sku;
  std::int64_t expected_stock = 0, stock = 0;
  std::int64_t expected_reserved = 0, reserved = 0;
};

struct checkout_check {
  std::uint64_t orders = 0, confirmed = 0, cancelled = 0, not_terminal = 0;
  std::map<std::string, std::uint64_t> cancel_reasons;
  /// Checkouts without an outcome: an order may exist that the stock check does not know.
  std::uint64_t checkouts_unknown = 0;
  std::uint64_t units_sold = 0;
  std::vector<stock_mismatch> stock_mismatches;
  std::vector<std::string> not_terminal_ids; ///< the first few

  bool passed() const {
    return not_terminal == 0 && stock_mismatches.empty() && checkouts_unknown == 0;
  }
};

/// Follows every order to a terminal status (within --settle), then waits (within --settle
/// again) until every product's stock is its initial stock less the units of confirmed orders,
/// with as many units reserved as at the start.
checkout_check check_orders(sync_client& client, const shop& s, std::vector<order_record>& orders,
                            std::uint64_t checkouts_unknown, const load_options& o);

} // namespace bazaar::load
