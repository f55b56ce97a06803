#include "checks.hpp"

#include <boost/json.hpp>

#include <thread>

namespace bazaar::load {

namespace json = boost::json;

namespace {

/// Reads in a row that found no answer before the checks stop asking a node that is gone
/// (each read is already tried a few times).
constexpr int give_up_after = 10;

} // namespace

basket_check check_baskets(sync_client& client, const shop& s, basket_model& model) {
  basket_check result;
  int failed_in_a_row = 0;
  for (std::size_t c = 0; c < model.customers(); ++c) {
    if (!model.touched(c))
      continue;
    if (failed_in_a_row >= give_up_after) {
      ++result.read_failures;
      continue;
    }
    auto answer = client.call({"GET", "/api/v1/basket", s.customer_tokens[c], {}, {}});
    auto view = answer.status == 200 ? s.parse_basket(answer.body) : std::nullopt;
    failed_in_a_row = answer.answered() ? 0 : failed_in_a_row + 1;
    if (!view) {
      ++result.read_failures;
      continue;
    }
    ++result.customers_read;
    model.check_final(c, *view);
  }
  result.counts = model.counts();
  result.anomalies = model.anomalies();
  return result;
}

namespace {

/// Reads an order into its record; false when it could not be read.
bool read_order(sync_client& client, const shop& s, order_record& order,
                std::map<std::string, std::string>& cancel_reason) {
  auto answer = client.call(
      {"GET", "/api/v1/orders/" + order.order_id, s.customer_tokens[order.customer], {}, {}});
  auto v = parse_json(answer.body);
  if (answer.status != 200 || !v.is_object())
    return false;
  const auto& o = v.as_object();
  if (const auto* st = o.if_contains("status"); st && st->is_string())
    order.status = std::string{st->as_string()};
  order.terminal = is_terminal(order.status);
  order.items.clear();
  if (const auto* items = o.if_contains("items"); items && items->is_array()) {
    for (const auto& item : items->as_array()) {
      const auto& line = item.as_object();
      auto found = s.sku_index.find(std::string{line.at("sku").as_string()});
      if (found != s.sku_index.end())
        order.items[found->second] +=
            static_cast<int>(line.at("quantity").to_number<std::int64_t>());
    }
  }
  if (const auto* reason = o.if_contains("cancel_reason"); reason && reason->is_string())
    cancel_reason[order.order_id] = std::string{reason->as_string()};
  return true;
}

bool sold(const std::string& status) {
  return status == "confirmed" || status == "shipped" || status == "delivered";
}

} // namespace

checkout_check check_orders(sync_client& client, const shop& s, std::vector<order_record>& orders,
                            std::uint64_t checkouts_unknown, const load_options& o) {
  checkout_check result;
  result.orders = orders.size();
  result.checkouts_unknown = checkouts_unknown;
  std::map<std::string, std::string> cancel_reason;

  // Every order read once more (its lines and reason), until terminal or --settle is over.
  std::vector<bool> final_read(orders.size(), false);
  auto deadline = load_clock::now() + o.settle;
  int failed_in_a_row = 0;
  for (;;) {
    bool all = true;
    for (std::size_t i = 0; i < orders.size() && failed_in_a_row < give_up_after; ++i) {
      if (final_read[i])
        continue;
      bool read = read_order(client, s, orders[i], cancel_reason);
      failed_in_a_row = read ? 0 : failed_in_a_row + 1;
      if (read && orders[i].terminal)
        final_read[i] = true;
      else
        all = false;
    }
    if (all || failed_in_a_row >= give_up_after || load_clock::now() > deadline)
      break;
    std::this_thread::sleep_for(o.poll);
  }
  std::vector<std::int64_t> expected_stock = s.initial_stock;
  for (auto& order : orders) {
    if (!order.terminal) {
      ++result.not_terminal;
      if (result.not_terminal_ids.size() < 10)
        result.not_terminal_ids.push_back(order.order_id + " (" + order.status + ")");
      continue;
    }
    if (order.status == "cancelled") {
      ++result.cancelled;
      ++result.cancel_reasons[cancel_reason.count(order.order_id) ? cancel_reason[order.order_id]
                                                                  : "unknown"];
    } else if (sold(order.status)) {
      ++result.confirmed;
      for (const auto& [sku, quantity] : order.items) {
        expected_stock[static_cast<std::size_t>(sku)] -= quantity;
        result.units_sold += static_cast<std::uint64_t>(quantity);
      }
    }
  }

  // Commits and releases reach the inventory through Kafka: wait until the stock agrees.
  deadline = load_clock::now() + o.settle;
  for (;;) {
    result.stock_mismatches.clear();
    failed_in_a_row = 0;
    for (std::size_t i = 0; i < s.skus.size(); ++i) {
      auto answer =
          failed_in_a_row >= give_up_after
              ? http_outcome{}
              : client.call({"GET", "/api/v1/products/" + s.skus[i], s.admin_token, {}, {}});
      failed_in_a_row = answer.answered() ? 0 : failed_in_a_row + 1;
      auto v = parse_json(answer.body);
      stock_mismatch m{s.skus[i], expected_stock[i], -1, s.initial_reserved[i], -1};
      if (answer.status == 200 && v.is_object()) {
        m.stock = v.as_object().at("stock").to_number<std::int64_t>();
        m.reserved = v.as_object().at("reserved").to_number<std::int64_t>();
      }
      if (m.stock != m.expected_stock || m.reserved != m.expected_reserved)
        result.stock_mismatches.push_back(m);
    }
    if (result.stock_mismatches.empty() || failed_in_a_row >= give_up_after ||
        load_clock::now() > deadline)
      break;
    std::this_thread::sleep_for(std::chrono::milliseconds{250});
  }
  return result;
}

} // namespace bazaar::load
