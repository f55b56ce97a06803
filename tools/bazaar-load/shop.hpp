#pragma once

/// The shop a bazaar-load run works on: its customers (with their tokens) and its products,
/// named after the run so that runs never share them; seeding the products before the load,
/// and the reads of the final checks after it.

#include "basket_model.hpp"
#include "http_connection.hpp"
#include "options.hpp"

#include <boost/json/value.hpp>

#include <cstdint>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

namespace bazaar::load {

/// One request at a time on its own connection and loop, for set-up and checks: retried on
/// 503 and on failures without an answer (every request it sends may be repeated).
class sync_client {
 public:
  sync_client(const target& to, std::chrono::milliseconds timeout);
  /// The answer, after at most `attempts` tries 200 ms apart; the last failure otherwise.
  http_outcome call(const http_request& r, int attempts = 5);

 private:
  event_loop loop_;
  http_connection connection_;
};

struct shop {
  std::string run_id;
  std::vector<std::string> skus;
  std::vector<std::string> customers;
  std::vector<std::string> customer_tokens;
  std::string admin_token;
  std::unordered_map<std::string, int> sku_index;
  /// Stock and reserved units of each sku when the load began.
  std::vector<std::int64_t> initial_stock;
  std::vector<std::int64_t> initial_reserved;

  /// Names customers and skus after the run and mints their tokens (valid for a day).
  static shop make(const load_options& o);

  /// The basket in an answer's body, its skus as this run's indices; nullopt when the body is
  /// not a basket.
  std::optional<basket_view> parse_basket(const std::string& body) const;
};

/// Creates the run's products (or reads them when a run of the same id made them) and records
/// their stock. Throws std::runtime_error with the node's answer when it cannot.
void seed_products(sync_client& client, shop& s, const load_options& o);

/// The parsed JSON of a body, or a null value.
boost::json::value parse_json(const std::string& body);

} // namespace bazaar::load
