#include "bazaar/kafka/outbox_relay.hpp"

#include "bazaar/config/loader.hpp"
#include "bazaar/kafka/producer.hpp"

#include <boost/json.hpp>
#include <spdlog/spdlog.h>

#include <set>

namespace bazaar::kafka {

namespace {

/// The correlation id inside an envelope, for the record's header ("" if absent).
std::string correlation_of(const std::string& envelope) {
  boost::system::error_code ec;
  auto v = boost::json::parse(envelope, ec);
  if (ec || !v.is_object())
    return {};
  const auto* meta = v.as_object().if_contains("metadata");
  if (meta == nullptr || !meta->is_object())
    return {};
  const auto* id = meta->as_object().if_contains("correlation_id");
  return id != nullptr && id->is_string() ? std::string(id->as_string()) : std::string{};
}

} // namespace

outbox_relay::outbox_relay(persistence::pg_settings settings, std::string bootstrap,
                           config::kafka_options opts)
    : settings_(std::move(settings)), bootstrap_(std::move(bootstrap)), opts_(std::move(opts)),
      topics_(config::topic_map(opts_)) {}

outbox_relay::~outbox_relay() {
  stop();
}

void outbox_relay::start() {
  thread_ = std::thread([this] { run(); });
}

void outbox_relay::stop() {
  {
    std::lock_guard<std::mutex> guard{mtx_};
    if (stopping_)
      return;
    stopping_ = true;
  }
  cv_.notify_all();
  if (thread_.joinable())
    thread_.join();
}

void outbox_relay::notify() {
  {
    std::lock_guard<std::mutex> guard{mtx_};
    woken_ = true;
  }
  cv_.notify_one();
}

void outbox_relay::run() {
  persistence::outbox_store store{settings_};
  std::vector<std::int64_t> confirmed;
  std::set<std::int64_t> in_flight;
  producer out{bootstrap_, opts_, [&](std::int64_t id, bool ok, const std::string& error) {
                 in_flight.erase(id);
                 if (ok)
                   confirmed.push_back(id);
                 else
                   spdlog::warn("outbox relay: row {} not published ({}); retrying", id, error);
               }};
  const auto sweep = std::chrono::milliseconds{opts_.relay_sweep_ms};
  auto next_sweep = std::chrono::steady_clock::now();
  std::int64_t after_id = 0;
  for (;;) {
    {
      std::unique_lock<std::mutex> lock{mtx_};
      // While records are in flight, come back soon to collect their delivery reports.
      auto wait = in_flight.empty() ? sweep : std::chrono::milliseconds{5};
      cv_.wait_for(lock, wait, [&] { return stopping_ || woken_; });
      woken_ = false;
      if (stopping_)
        break;
    }
    out.poll(0);
    if (!confirmed.empty()) {
      if (store.mark_published(confirmed))
        published_ += confirmed.size();
      confirmed.clear();
    }
    leading_ = store.lead();
    if (!leading_)
      continue;
    auto now = std::chrono::steady_clock::now();
    if (now >= next_sweep) {
      // From the start again: rows that committed after higher ids were read are found now.
      after_id = 0;
      next_sweep = now + sweep;
      backlog_ = store.backlog();
    }
    bool queue_full = false;
    while (!queue_full) {
      auto rows = store.unpublished(after_id, 500);
      if (!rows || rows->empty())
        break;
      std::vector<std::int64_t> journal_only;
      for (const auto& row : *rows) {
        after_id = std::max(after_id, row.id);
        if (in_flight.count(row.id))
          continue;
        auto topic = topics_.find(row.event_type);
        if (topic == topics_.end()) {
          journal_only.push_back(row.id);
          continue;
        }
        std::string error;
        if (out.produce(
                topic->second, row.aggregate_id, row.envelope,
                {{"event_type", row.event_type}, {"correlation_id", correlation_of(row.envelope)}},
                row.id, &error)) {
          in_flight.insert(row.id);
        } else {
          // The local queue is full: stop here, deliveries free it, the row comes back.
          after_id = row.id - 1;
          queue_full = true;
          spdlog::debug("outbox relay: producer queue refused row {}: {}", row.id, error);
          break;
        }
      }
      if (store.mark_published(journal_only))
        published_ += journal_only.size();
      out.poll(0);
      if (rows->size() < 500)
        break;
    }
  }
  // Wait for what is in flight (bounded), so that what was delivered is marked and a
  // successor does not publish it again.
  auto deadline = std::chrono::steady_clock::now() +
                  std::chrono::milliseconds{std::min(opts_.message_timeout_ms, 10000)};
  while (!in_flight.empty() && std::chrono::steady_clock::now() < deadline)
    out.poll(20);
  if (!confirmed.empty() && store.mark_published(confirmed))
    published_ += confirmed.size();
}

} // namespace bazaar::kafka
