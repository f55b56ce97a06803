#include "bazaar/kafka/projector.hpp"

#include "partition_lag_of.hpp"

#include "bazaar/config/loader.hpp"
#include "bazaar/kafka/envelope.hpp"

#include <librdkafka/rdkafka.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <atomic>
#include <map>
#include <mutex>
#include <set>
#include <stdexcept>
#include <thread>
#include <tuple>
#include <variant>

namespace bazaar::kafka {

namespace {

void set(rd_kafka_conf_t* conf, const char* name, const std::string& value) {
  char err[512];
  if (rd_kafka_conf_set(conf, name, value.c_str(), err, sizeof err) != RD_KAFKA_CONF_OK)
    throw std::runtime_error(std::string{"projector: "} + name + ": " + err);
}

using partition_key = std::pair<std::string, std::int32_t>;

/// A list of partitions with offsets, freed with it.
struct partition_list {
  explicit partition_list(int size = 0) : list(rd_kafka_topic_partition_list_new(size)) {}
  ~partition_list() { rd_kafka_topic_partition_list_destroy(list); }
  partition_list(const partition_list&) = delete;
  partition_list& operator=(const partition_list&) = delete;
  rd_kafka_topic_partition_list_t* list;
};

} // namespace

struct projector::worker {
  std::unique_ptr<persistence::projection_store> store;
  std::string group_id;
  std::vector<std::string> topics;
  options opts;
  rd_kafka_t* rk = nullptr;
  std::thread thread;
  std::atomic<bool> stopping{false};

  // Counters, read by status().
  std::atomic<bool> running{false};
  std::atomic<std::uint64_t> consumed{0}, applied{0}, duplicates{0}, ignored{0}, undecodable{0},
      rejected{0}, retries{0};

  // Consumer thread only.
  /// The next offset to read of each partition this member consumed from (after a pause the
  /// partitions are sought back to it: records fetched meanwhile were dropped).
  std::map<partition_key, std::int64_t> next;
  /// The offset the group committed for each assigned partition; -1 unknown.
  std::map<partition_key, std::int64_t> committed;
  std::chrono::steady_clock::time_point lag_due{};
  /// Whether the assigned partitions are paused (a batch waits for the database).
  bool paused = false;

  // Written by the consumer thread, read by status().
  mutable std::mutex status_mtx;
  std::vector<partition_lag> lag;
  std::string waiting_for;

  worker(std::unique_ptr<persistence::projection_store> s, std::string group,
         std::vector<std::string> t, options o)
      : store(std::move(s)), group_id(std::move(group)), topics(std::move(t)), opts(std::move(o)) {}

  const std::string& name() const { return store->name(); }

  void open(const std::string& bootstrap, const config::kafka_options& kafka) {
    auto* conf = rd_kafka_conf_new();
    try {
      set(conf, "bootstrap.servers", bootstrap);
      set(conf, "group.id", group_id);
      set(conf, "enable.auto.commit", "false");
      set(conf, "auto.offset.reset", "earliest");
      set(conf, "fetch.wait.max.ms", std::to_string(opts.fetch_wait_max_ms));
      set(conf, "session.timeout.ms", std::to_string(kafka.session_timeout_ms));
      set(conf, "heartbeat.interval.ms",
          std::to_string(std::max(100, kafka.session_timeout_ms / 3)));
      set(conf, "log_level", "3");
    } catch (...) {
      rd_kafka_conf_destroy(conf);
      throw;
    }
    rd_kafka_conf_set_opaque(conf, this);
    rd_kafka_conf_set_rebalance_cb(
        conf, [](rd_kafka_t*, rd_kafka_resp_err_t err, rd_kafka_topic_partition_list_t* parts,
                 void* opaque) { static_cast<worker*>(opaque)->rebalance(err, parts); });
    char err[512];
    rk = rd_kafka_new(RD_KAFKA_CONSUMER, conf, err, sizeof err);
    if (rk == nullptr) {
      rd_kafka_conf_destroy(conf);
      throw std::runtime_error(std::string{"projector: "} + err);
    }
    rd_kafka_poll_set_consumer(rk);
    partition_list subscription{static_cast<int>(topics.size())};
    for (const auto& t : topics)
      rd_kafka_topic_partition_list_add(subscription.list, t.c_str(), RD_KAFKA_PARTITION_UA);
    auto e = rd_kafka_subscribe(rk, subscription.list);
    if (e != RD_KAFKA_RESP_ERR_NO_ERROR) {
      rd_kafka_destroy(rk);
      rk = nullptr;
      throw std::runtime_error(std::string{"projector: subscribe: "} + rd_kafka_err2str(e));
    }
  }

  void rebalance(rd_kafka_resp_err_t err, rd_kafka_topic_partition_list_t* parts) {
    if (err == RD_KAFKA_RESP_ERR__ASSIGN_PARTITIONS) {
      rd_kafka_assign(rk, parts);
      if (paused)
        rd_kafka_pause_partitions(rk, parts);
      for (int i = 0; i < parts->cnt; ++i)
        committed[{parts->elems[i].topic, parts->elems[i].partition}] = -1;
      return;
    }
    // Revoked: offsets are committed after each batch, nothing is pending here. A batch being
    // retried keeps its records; applying them later is harmless (their ids are recorded).
    for (int i = 0; i < parts->cnt; ++i) {
      partition_key k{parts->elems[i].topic, parts->elems[i].partition};
      committed.erase(k);
      next.erase(k);
    }
    rd_kafka_assign(rk, nullptr);
  }

  /// Sets the pause on every assigned partition.
  void set_paused(bool pause) {
    paused = pause;
    rd_kafka_topic_partition_list_t* assigned = nullptr;
    if (rd_kafka_assignment(rk, &assigned) != RD_KAFKA_RESP_ERR_NO_ERROR)
      return;
    if (pause) {
      rd_kafka_pause_partitions(rk, assigned);
    } else {
      rd_kafka_resume_partitions(rk, assigned);
      // What was fetched while paused was dropped: go on from the next unread record.
      for (int i = 0; i < assigned->cnt; ++i) {
        const auto& p = assigned->elems[i];
        auto n = next.find({p.topic, p.partition});
        if (n == next.end())
          continue;
        partition_list one{1};
        rd_kafka_topic_partition_list_add(one.list, p.topic, p.partition)->offset = n->second;
        if (auto* e = rd_kafka_seek_partitions(rk, one.list, 1000))
          rd_kafka_error_destroy(e);
      }
    }
    rd_kafka_topic_partition_list_destroy(assigned);
  }

  // -- one batch ---------------------------------------------------------------------------

  struct batch {
    std::vector<persistence::projected_event> events;
    /// The offset after the last record taken, per partition.
    std::map<partition_key, std::int64_t> ends;
    bool empty() const { return ends.empty(); }
  };

  /// Takes what has been fetched, waiting up to 100 ms for the first record.
  batch take() {
    batch b;
    int timeout = 100;
    while (b.events.size() < opts.batch_max) {
      auto* m = rd_kafka_consumer_poll(rk, timeout);
      if (m == nullptr)
        break;
      timeout = 0;
      if (m->err != RD_KAFKA_RESP_ERR_NO_ERROR) {
        if (m->err != RD_KAFKA_RESP_ERR__PARTITION_EOF)
          spdlog::warn("projection {}: {}", name(), rd_kafka_message_errstr(m));
        rd_kafka_message_destroy(m);
        continue;
      }
      std::string topic = rd_kafka_topic_name(m->rkt);
      partition_key k{topic, m->partition};
      b.ends[k] = m->offset + 1;
      next[k] = m->offset + 1;
      consumed.fetch_add(1, std::memory_order_relaxed);
      std::string_view value{m->payload != nullptr ? static_cast<const char*>(m->payload) : "",
                             m->payload != nullptr ? m->len : 0};
      auto decoded = decode_envelope(value);
      if (auto* why = std::get_if<std::string>(&decoded)) {
        undecodable.fetch_add(1, std::memory_order_relaxed);
        spdlog::warn("projection {}: skipping {}[{}]@{}: {}", name(), topic, m->partition,
                     m->offset, *why);
      } else {
        b.events.push_back(std::move(std::get<persistence::projected_event>(decoded)));
      }
      rd_kafka_message_destroy(m);
    }
    return b;
  }

  /// Applies a batch, retrying while the database fails; false when stopped first.
  bool apply(const batch& b) {
    auto backoff = opts.retry_backoff;
    while (true) {
      std::string error;
      auto outcome = store->apply(b.events, error);
      if (outcome) {
        applied.fetch_add(outcome->applied, std::memory_order_relaxed);
        duplicates.fetch_add(outcome->duplicates, std::memory_order_relaxed);
        ignored.fetch_add(outcome->ignored, std::memory_order_relaxed);
        rejected.fetch_add(outcome->rejected, std::memory_order_relaxed);
        for (const auto& p : outcome->problems)
          spdlog::warn("projection {}: skipping event {}", name(), p);
        if (paused) {
          set_paused(false);
          spdlog::info("projection {}: applying again", name());
        }
        std::lock_guard<std::mutex> guard{status_mtx};
        waiting_for.clear();
        return true;
      }
      retries.fetch_add(1, std::memory_order_relaxed);
      if (!paused) {
        spdlog::warn("projection {}: cannot apply {} records ({}); retrying", name(),
                     b.events.size(), error);
        set_paused(true);
      }
      {
        std::lock_guard<std::mutex> guard{status_mtx};
        waiting_for = error;
      }
      // Keep serving the group (heartbeats, rebalances) while waiting; the partitions are
      // paused, and anything fetched before the pause is dropped here and read again later.
      auto until = std::chrono::steady_clock::now() + backoff;
      while (!stopping.load() && std::chrono::steady_clock::now() < until) {
        if (auto* m = rd_kafka_consumer_poll(rk, 50)) {
          // Fetched before the pause: dropped, so read again from here after it (unless an
          // earlier record of its partition is to be read again already).
          if (m->err == RD_KAFKA_RESP_ERR_NO_ERROR)
            next.emplace(partition_key{rd_kafka_topic_name(m->rkt), m->partition}, m->offset);
          rd_kafka_message_destroy(m);
        }
        refresh_lag();
      }
      if (stopping.load())
        return false;
      backoff = std::min(opts.max_backoff, backoff * 2);
    }
  }

  /// Commits the offsets past the batch (synchronously: the lag shown is what is committed).
  void commit(const batch& b) {
    partition_list offsets{static_cast<int>(b.ends.size())};
    for (const auto& [k, end] : b.ends)
      rd_kafka_topic_partition_list_add(offsets.list, k.first.c_str(), k.second)->offset = end;
    auto e = rd_kafka_commit(rk, offsets.list, 0);
    if (e != RD_KAFKA_RESP_ERR_NO_ERROR) {
      // Applied anyway: the records are read again and skipped as duplicates.
      spdlog::warn("projection {}: committing offsets failed: {}", name(), rd_kafka_err2str(e));
      return;
    }
    for (const auto& [k, end] : b.ends) {
      auto c = committed.find(k);
      if (c != committed.end())
        c->second = std::max(c->second, end);
    }
  }

  /// Refreshes `lag` at most every 500 ms: the assignment, the group's committed offsets
  /// (asked of the broker once per assignment) and librdkafka's cached high watermarks.
  void refresh_lag() {
    auto now = std::chrono::steady_clock::now();
    if (now < lag_due)
      return;
    lag_due = now + std::chrono::milliseconds{500};
    std::vector<partition_lag> out;
    rd_kafka_topic_partition_list_t* assigned = nullptr;
    if (rd_kafka_assignment(rk, &assigned) == RD_KAFKA_RESP_ERR_NO_ERROR) {
      bool unknown = false;
      for (int i = 0; i < assigned->cnt; ++i) {
        auto c = committed.find({assigned->elems[i].topic, assigned->elems[i].partition});
        unknown = unknown || c == committed.end() || c->second < 0;
      }
      if (unknown && rd_kafka_committed(rk, assigned, 1000) == RD_KAFKA_RESP_ERR_NO_ERROR) {
        for (int i = 0; i < assigned->cnt; ++i) {
          auto& c = committed[{assigned->elems[i].topic, assigned->elems[i].partition}];
          // A partition the group never committed counts from its start (offset reset
          // "earliest"): the group has read none of it.
          c = std::max(c, assigned->elems[i].offset >= 0 ? assigned->elems[i].offset : 0);
        }
      }
      out = partition_lag_of(
          rk, *assigned,
          [this](const std::string& topic, std::int32_t partition) -> std::int64_t {
            auto c = committed.find({topic, partition});
            return c != committed.end() ? c->second : -1;
          },
          false);
      rd_kafka_topic_partition_list_destroy(assigned);
    }
    std::lock_guard<std::mutex> guard{status_mtx};
    lag = std::move(out);
  }

  void run() {
    while (!stopping.load()) {
      refresh_lag();
      auto b = take();
      if (b.empty())
        continue;
      if (!b.events.empty() && !apply(b))
        break; // stopping with a batch not applied: it is read again next time
      commit(b);
      lag_due = {}; // show the commit at once
    }
    {
      std::lock_guard<std::mutex> guard{status_mtx};
      lag.clear();
    }
    rd_kafka_consumer_close(rk);
    rd_kafka_destroy(rk);
    rk = nullptr;
    running = false;
  }
};

projector::projector(persistence::projection_source source, std::string bootstrap,
                     config::kafka_options kafka)
    : projector(std::move(source), std::move(bootstrap), std::move(kafka), options{}) {}

projector::projector(persistence::projection_source source, std::string bootstrap,
                     config::kafka_options kafka, options opts)
    : bootstrap_(std::move(bootstrap)), kafka_(std::move(kafka)), opts_(std::move(opts)) {
  std::set<std::string> known;
  for (const auto& p : source.projections)
    known.insert(p.name);
  for (const auto& name : opts_.only)
    if (known.count(name) == 0)
      throw std::invalid_argument("there is no projection \"" + name + "\"");
  const auto topic_of = config::topic_map(kafka_);
  for (const auto& p : source.projections) {
    if (!opts_.only.empty() &&
        std::find(opts_.only.begin(), opts_.only.end(), p.name) == opts_.only.end())
      continue;
    std::set<std::string> topics;
    for (const auto& type : p.event_types)
      if (auto t = topic_of.find(type); t != topic_of.end())
        topics.insert(t->second);
    workers_.push_back(
        std::make_unique<worker>(source.open(p.name), kafka_.group_id + "." + p.name,
                                 std::vector<std::string>(topics.begin(), topics.end()), opts_));
  }
}

projector::~projector() {
  stop();
}

void projector::start() {
  for (auto& w : workers_) {
    if (w->rk != nullptr || w->thread.joinable())
      continue;
    w->open(bootstrap_, kafka_);
    w->running = true;
    w->thread = std::thread([raw = w.get()] { raw->run(); });
  }
  spdlog::info("projector: {} projection(s) consuming as {}.<projection>", workers_.size(),
               kafka_.group_id);
}

void projector::stop() {
  for (auto& w : workers_)
    w->stopping = true;
  for (auto& w : workers_)
    if (w->thread.joinable())
      w->thread.join();
}

std::vector<projection_status> projector::status() const {
  std::vector<projection_status> out;
  for (const auto& w : workers_) {
    projection_status s;
    s.name = w->name();
    s.group_id = w->group_id;
    s.topics = w->topics;
    s.running = w->running.load();
    s.consumed = w->consumed.load();
    s.applied = w->applied.load();
    s.duplicates = w->duplicates.load();
    s.ignored = w->ignored.load();
    s.undecodable = w->undecodable.load();
    s.rejected = w->rejected.load();
    s.retries = w->retries.load();
    {
      std::lock_guard<std::mutex> guard{w->status_mtx};
      s.waiting_for = w->waiting_for;
      s.partitions = w->lag;
    }
    for (const auto& p : s.partitions)
      if (p.lag > 0)
        s.lag += p.lag;
    out.push_back(std::move(s));
  }
  return out;
}

} // namespace bazaar::kafka
