#include "shop.hpp"

#include "bazaar/gateway/jwt.hpp"

#include <boost/json.hpp>

#include <chrono>
#include <random>
#include <stdexcept>
#include <thread>

namespace bazaar::load {

namespace json = boost::json;

sync_client::sync_client(const target& to, std::chrono::milliseconds timeout)
    : connection_{loop_, to, true, timeout} {}

http_outcome sync_client::call(const http_request& r, int attempts) {
  http_outcome last;
  for (int attempt = 0; attempt < attempts; ++attempt) {
    if (attempt > 0)
      std::this_thread::sleep_for(std::chrono::milliseconds{200});
    bool done = false;
    connection_.send(r, [&](http_outcome o) {
      last = std::move(o);
      done = true;
    });
    loop_.run([&] { return done; });
    if (last.answered() && last.status != 503)
      return last;
  }
  return last;
}

boost::json::value parse_json(const std::string& body) {
  json::error_code ec;
  auto v = json::parse(body, ec);
  return ec ? json::value{} : v;
}

shop shop::make(const load_options& o) {
  shop s;
  s.run_id = o.run_id;
  auto now = std::chrono::duration_cast<std::chrono::seconds>(
                 std::chrono::system_clock::now().time_since_epoch())
                 .count();
  for (std::size_t i = 0; i < o.skus; ++i) {
    s.skus.push_back("load-" + o.run_id + "-s" + std::to_string(i));
    s.sku_index.emplace(s.skus.back(), static_cast<int>(i));
  }
  for (std::size_t i = 0; i < o.customers; ++i) {
    s.customers.push_back("load-" + o.run_id + "-c" + std::to_string(i));
    auth::claims c{s.customers.back(), auth::role::customer, now + 86400};
    s.customer_tokens.push_back(auth::sign(c, o.jwt_secret));
  }
  s.admin_token =
      auth::sign(auth::claims{"bazaar-load", auth::role::admin, now + 86400}, o.jwt_secret);
  return s;
}

std::optional<basket_view> shop::parse_basket(const std::string& body) const {
  // Parsed into a buffer on the stack: one basket per answer, thousands of answers a second.
  unsigned char buffer[16384];
  json::monotonic_resource memory{buffer, sizeof buffer};
  json::error_code ec;
  auto v = json::parse(body, ec, &memory);
  if (ec)
    return std::nullopt;
  if (!v.is_object() || !v.as_object().contains("items"))
    return std::nullopt;
  const auto& b = v.as_object();
  basket_view view;
  if (const auto* version = b.if_contains("version"); version && version->is_int64())
    view.version = version->as_int64();
  if (!b.at("items").is_array())
    return std::nullopt;
  for (const auto& item : b.at("items").as_array()) {
    if (!item.is_object())
      return std::nullopt;
    const auto* sku = item.as_object().if_contains("sku");
    const auto* quantity = item.as_object().if_contains("quantity");
    if (!sku || !sku->is_string() || !quantity || !quantity->is_int64())
      return std::nullopt;
    auto found = sku_index.find(std::string{sku->as_string()});
    if (found == sku_index.end())
      view.foreign_skus.emplace_back(sku->as_string());
    else
      view.lines[found->second] = static_cast<int>(quantity->as_int64());
  }
  return view;
}

namespace {

std::string describe(const http_outcome& o) {
  if (!o.answered())
    return "no answer (" + o.failure + ")";
  return std::to_string(o.status) + " " + o.body.substr(0, 300);
}

} // namespace

void seed_products(sync_client& client, shop& s, const load_options& o) {
  s.initial_stock.assign(s.skus.size(), 0);
  s.initial_reserved.assign(s.skus.size(), 0);
  for (std::size_t i = 0; i < s.skus.size(); ++i) {
    json::object p{{"sku", s.skus[i]},
                   {"name", "Load test product " + std::to_string(i)},
                   {"category", "load-" + s.run_id},
                   {"price_cents", 100 + static_cast<std::int64_t>(i)},
                   {"stock", o.stock}};
    auto created = client.call({"POST", "/api/v1/products", s.admin_token, json::serialize(p), {}});
    if (created.status != 201 && created.status != 409)
      throw std::runtime_error("creating product " + s.skus[i] + ": " + describe(created));
    // Read it back either way: a run of the same id may have made it and moved its stock.
    auto read = client.call({"GET", "/api/v1/products/" + s.skus[i], s.admin_token, {}, {}});
    auto v = parse_json(read.body);
    if (read.status != 200 || !v.is_object())
      throw std::runtime_error("reading product " + s.skus[i] + ": " + describe(read));
    s.initial_stock[i] = v.as_object().at("stock").to_number<std::int64_t>();
    s.initial_reserved[i] = v.as_object().at("reserved").to_number<std::int64_t>();
  }
}

} // namespace bazaar::load
