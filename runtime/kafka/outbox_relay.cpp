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
  // Rows handed to the producer and not marked published yet: waiting for their delivery
  // report, or delivered and waiting to be marked. A row stays here until it is marked (or
  // its delivery failed), so that a read of the outbox meanwhile, where it is still
  // unpublished, does not produce it again.
  std::set<std::int64_t> owned;
  std::vector<std::int64_t> confirmed; // delivered, not marked yet
  std::size_t awaiting = 0;            // produced, delivery report not served yet
  producer out{bootstrap_, opts_, [&](std::int64_t id, bool ok, const std::string& error) {
                 --awaiting;
                 if (ok) {
                   confirmed.push_back(id);
                 } else {
                   owned.erase(id);
                   spdlog::warn("outbox relay: row {} not published ({}); retrying", id, error);
                 }
               }};
  // Marks what was delivered; if that fails the rows stay owned and marking is tried again.
  auto mark_confirmed = [&] {
    if (confirmed.empty() || !store.mark_published(confirmed))
      return;
    published_ += confirmed.size();
    for (auto id : confirmed)
      owned.erase(id);
    confirmed.clear();
  };
  const auto sweep = std::chrono::milliseconds{opts_.relay_sweep_ms};
  auto next_sweep = std::chrono::steady_clock::now();
  std::int64_t after_id = 0;
  for (;;) {
    {
      std::unique_lock<std::mutex> lock{mtx_};
      // While records are in flight, come back soon to collect their delivery reports.
      auto wait = awaiting == 0 ? sweep : std::chrono::milliseconds{5};
      cv_.wait_for(lock, wait, [&] { return stopping_ || woken_; });
      woken_ = false;
      if (stopping_)
        break;
    }
    out.poll(0);
    mark_confirmed();
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
        if (owned.count(row.id))
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
          owned.insert(row.id);
          ++awaiting;
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
  while (awaiting > 0 && std::chrono::steady_clock::now() < deadline)
    out.poll(20);
  mark_confirmed();
}

} // namespace bazaar::kafka
