#pragma once

/// Event envelopes as the write side publishes them (docs/API.md "Events"), built by hand for
/// tests that feed the read side through Kafka.

#include "bazaar/core/time.hpp"

#include <boost/json.hpp>

#include <cstdint>
#include <string>
#include <vector>

namespace bazaar::test {

/// One event to publish: its topic, key (the aggregate id) and envelope.
struct test_event {
  std::string topic;
  std::string key;
  std::string value;
};

/// An envelope `{"event_id", "event_type", "aggregate_type", "aggregate_id", "version",
/// "occurred_at", "data", "metadata"}`.
inline std::string envelope(const std::string& event_id, const std::string& type,
                            const std::string& aggregate_type, const std::string& aggregate_id,
                            std::uint64_t version, core::timestamp_ms at,
                            boost::json::object data) {
  return boost::json::serialize(
      boost::json::object{{"event_id", event_id},
                          {"event_type", type},
                          {"aggregate_type", aggregate_type},
                          {"aggregate_id", aggregate_id},
                          {"version", version},
                          {"occurred_at", core::format_rfc3339(at)},
                          {"data", std::move(data)},
                          {"metadata", boost::json::object{{"correlation_id", "test"},
                                                           {"causation_id", ""},
                                                           {"user_id", "test"},
                                                           {"source", "read-side-test"}}}});
}

/// product-created on `topic` with the full product as data.
inline test_event product_created(const std::string& topic, const std::string& event_id,
                                  const std::string& sku, const std::string& name,
                                  const std::string& description, const std::string& category,
                                  std::int64_t price_cents, std::int64_t stock,
                                  std::uint64_t version = 1, core::timestamp_ms at = 0) {
  boost::json::object d{{"sku", sku},
                        {"name", name},
                        {"description", description},
                        {"category", category},
                        {"price_cents", price_cents},
                        {"currency", "USD"},
                        {"active", true},
                        {"stock", stock},
                        {"reserved", 0},
                        {"available", stock},
                        {"low_stock_threshold", 2},
                        {"version", version}};
  return {topic, sku, envelope(event_id, "product-created", "product", sku, version, at, d)};
}

/// An order line of data.items.
inline boost::json::object order_line(const std::string& sku, std::int64_t quantity,
                                      std::int64_t unit_price_cents) {
  return boost::json::object{{"sku", sku},
                             {"name", "Product " + sku},
                             {"quantity", quantity},
                             {"unit_price_cents", unit_price_cents},
                             {"line_total_cents", quantity * unit_price_cents}};
}

inline std::int64_t total_of(const boost::json::array& items) {
  std::int64_t total = 0;
  for (const auto& i : items)
    total += i.as_object().at("line_total_cents").to_number<std::int64_t>();
  return total;
}

/// order-created for `customer` with `items`.
inline test_event order_created(const std::string& topic, const std::string& event_id,
                                const std::string& order_id, const std::string& customer,
                                const boost::json::array& items, core::timestamp_ms at) {
  boost::json::object d{{"order_id", order_id}, {"customer_id", customer},
                        {"items", items},       {"total_cents", total_of(items)},
                        {"currency", "USD"},    {"card_token", "tok_ok"}};
  return {topic, order_id, envelope(event_id, "order-created", "order", order_id, 1, at, d)};
}

/// order-status-changed from `from` to `to` at `version`.
inline test_event order_status(const std::string& topic, const std::string& event_id,
                               const std::string& order_id, const std::string& customer,
                               const boost::json::array& items, const std::string& from,
                               const std::string& to, std::uint64_t version, core::timestamp_ms at,
                               const std::string& reason = "") {
  boost::json::object d{{"order_id", order_id},
                        {"customer_id", customer},
                        {"from", from},
                        {"to", to},
                        {"reason", reason},
                        {"items", items},
                        {"total_cents", total_of(items)},
                        {"currency", "USD"}};
  return {topic, order_id,
          envelope(event_id, "order-status-changed", "order", order_id, version, at, d)};
}

} // namespace bazaar::test
