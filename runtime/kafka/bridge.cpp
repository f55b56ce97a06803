#include "bazaar/kafka/bridge.hpp"

#include "partition_lag_of.hpp"

#include "bazaar/kafka/producer.hpp"
#include "bazaar/runtime/clock.hpp"
#include "bazaar/runtime/errors.hpp"
#include "bazaar/runtime/kafka_record.hpp"
#include "bazaar/runtime/logging.hpp"
#include "bazaar/runtime/step_log.hpp"

#include <boost/json.hpp>
#include <librdkafka/rdkafka.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <deque>
#include <map>
#include <mutex>
#include <tuple>
#include <unordered_map>

namespace bazaar::kafka {

namespace {

using clock_type = runtime::clock;

/// One consumed record and what has happened to it.
struct record_state {
  std::string topic;
  std::int32_t partition = 0;
  std::int64_t offset = 0;
  std::string key;
  std::string value;
  runtime::grain_id target;
  std::string event_id;
  std::string event_type;
  runtime::command_meta meta; ///< the envelope's metadata: correlation_id, user_id
  std::string subject;        ///< for log lines: subject_in of the data
  std::string detail;         ///< for log lines: the event described (step_log.hpp)
  int attempts = 0;
  std::string last_error;
  clock_type::steady_time retry_at;
  std::uint64_t generation = 0;
  std::uint64_t seq = 0;                         ///< the order the bridge consumed it in
  std::chrono::milliseconds in_kafka{-1};        ///< produce time stamp -> consumed (-1: unknown)
  std::chrono::steady_clock::time_point sent_at; ///< last sent to its grain
};

using record_ptr = std::shared_ptr<record_state>;

/// The outcome of handing a record to its grain or to the dead-letter topic.
struct completion {
  enum kind { handled, failed, dead_lettered, dead_letter_failed } what;
  record_ptr record;
  std::string error;
};

/// The records of one grain not yet handled, in the order they were consumed. Up to
/// `pipeline_depth` are sent without waiting for the answers (the grain applies them in order
/// and its writes coalesce); when one fails, nothing more is sent until every record sent
/// has answered, then the failed records go again, in order, the first of them not chained.
struct grain_line {
  std::deque<record_ptr> waiting; ///< not sent yet (or to be sent again), in order
  std::vector<record_ptr> sent;   ///< sent, no answer yet
  bool halted = false;            ///< a record failed: send nothing until `sent` is empty
  std::uint64_t halt_seq = 0;     ///< the earliest record that failed in this halt
  clock_type::steady_time resume_at;
};

/// Records of one grain sent before the answers to the earlier ones came.
constexpr std::size_t pipeline_depth = 128;

/// Offsets of one partition that were consumed and are not committed yet.
struct partition_track {
  std::map<std::int64_t, bool> pending; ///< offset -> handled
  std::int64_t commit_next = -1;        ///< the offset to commit next (-1: nothing new)
  std::int64_t committed = -1;          ///< the offset committed last (-1: none yet)
};

void set(rd_kafka_conf_t* conf, const char* name, const std::string& value) {
  char err[512];
  if (rd_kafka_conf_set(conf, name, value.c_str(), err, sizeof err) != RD_KAFKA_CONF_OK)
    throw std::runtime_error(std::string{"Kafka bridge: "} + name + ": " + err);
}

std::string dead_letter_value(const record_state& r, const std::string& error,
                              std::int64_t now_ms) {
  return boost::json::serialize(
      boost::json::object{{"original", boost::json::object{{"topic", r.topic},
                                                           {"partition", r.partition},
                                                           {"offset", r.offset},
                                                           {"key", r.key},
                                                           {"value", r.value}}},
                          {"error", error},
                          {"attempts", r.attempts},
                          {"failed_at_ms", now_ms}});
}

} // namespace

struct bridge::impl : std::enable_shared_from_this<bridge::impl> {
  runtime::grain_client& grains;
  /// The node's clock: retry back-offs and dead-letter time stamps.
  const runtime::clock& time;
  config::kafka_options opts;
  bridge::timing_fn on_handled;
  std::map<std::string, route> routes;
  rd_kafka_t* rk = nullptr;
  std::unique_ptr<producer> dead_letters;
  bridge_stats stats;
  std::atomic<bool> stopping{false};

  // Filled by grain and producer callbacks on other threads, drained by the consumer thread.
  std::mutex mtx;
  std::condition_variable completed; ///< a completion arrived
  std::deque<completion> completions;

  // Consumer thread only.
  std::map<std::pair<std::string, std::int32_t>, partition_track> tracks;
  std::unordered_map<std::string, grain_line> lines; ///< by grain id
  std::vector<std::string> halted;                   ///< grains whose line is halted
  std::uint64_t next_seq = 1;
  std::vector<record_ptr> retries; ///< records waiting to go to the DLQ again
  std::unordered_map<std::int64_t, record_ptr> dead_letter_pending;
  std::int64_t next_dead_letter = 1;
  std::uint64_t generation = 1;
  bool paused = false;
  std::chrono::steady_clock::time_point lag_due{};

  // Written by the consumer thread, read by partitions().
  mutable std::mutex lag_mtx;
  std::vector<partition_lag> lag;

  impl(runtime::grain_client& g, config::kafka_options o)
      : grains(g), time(g.host().time()), opts(std::move(o)) {}

  void push(completion c) {
    {
      std::lock_guard<std::mutex> guard{mtx};
      completions.push_back(std::move(c));
    }
    completed.notify_one();
  }

  /// Waits until a completion arrives, at most until `deadline`.
  void await_completion(std::chrono::steady_clock::time_point deadline) {
    std::unique_lock<std::mutex> lock{mtx};
    completed.wait_until(lock, deadline, [this] { return !completions.empty(); });
  }

  // -- records in -------------------------------------------------------------------------

  void consume(rd_kafka_message_t* m) {
    if (m->err != RD_KAFKA_RESP_ERR_NO_ERROR) {
      if (m->err != RD_KAFKA_RESP_ERR__PARTITION_EOF)
        spdlog::warn("Kafka bridge: {}", rd_kafka_message_errstr(m));
      return;
    }
    auto r = std::make_shared<record_state>();
    r->topic = rd_kafka_topic_name(m->rkt);
    r->partition = m->partition;
    r->offset = m->offset;
    if (m->key != nullptr)
      r->key.assign(static_cast<const char*>(m->key), m->key_len);
    if (m->payload != nullptr)
      r->value.assign(static_cast<const char*>(m->payload), m->len);
    r->generation = generation;
    rd_kafka_timestamp_type_t stamp_type;
    if (auto produced = rd_kafka_message_timestamp(m, &stamp_type);
        produced >= 0 && stamp_type == RD_KAFKA_TIMESTAMP_CREATE_TIME)
      r->in_kafka = std::chrono::milliseconds{
          std::max<std::int64_t>(0, runtime::system_clock{}.wall_ms() - produced)};
    stats.consumed.fetch_add(1, std::memory_order_relaxed);
    stats.in_flight.fetch_add(1, std::memory_order_relaxed);
    tracks[{r->topic, r->partition}].pending[r->offset] = false;
    if (auto why = decode(*r)) {
      dead_letter(r, *why);
      return;
    }
    r->seq = next_seq++;
    auto key = r->target.str();
    auto& line = lines[key];
    line.waiting.push_back(r);
    pump(key, line);
  }

  /// Fills target, event_id and event_type from the envelope; the reason if it cannot.
  std::optional<std::string> decode(record_state& r) {
    auto route = routes.find(r.topic);
    if (route == routes.end())
      return "no route for topic " + r.topic;
    boost::system::error_code ec;
    auto v = boost::json::parse(r.value, ec);
    if (ec)
      return "the value is not JSON: " + ec.message();
    if (!v.is_object())
      return std::string{"the value is not a JSON object"};
    const auto& o = v.as_object();
    const auto* id = o.if_contains("event_id");
    const auto* type = o.if_contains("event_type");
    if (id == nullptr || !id->is_string() || id->as_string().empty() || type == nullptr ||
        !type->is_string())
      return std::string{"the envelope has no event_id or event_type"};
    r.event_id = std::string(id->as_string());
    r.event_type = std::string(type->as_string());
    const auto* data = o.if_contains("data");
    if (const auto* meta = o.if_contains("metadata"); meta != nullptr && meta->is_object()) {
      const auto& m = meta->get_object();
      if (const auto* c = m.if_contains("correlation_id"); c != nullptr && c->is_string())
        r.meta.correlation_id = std::string(c->get_string());
      if (const auto* u = m.if_contains("user_id"); u != nullptr && u->is_string())
        r.meta.user_id = std::string(u->get_string());
    }
    if (data != nullptr && data->is_object()) {
      r.subject = runtime::subject_in(data->get_object());
      r.detail = runtime::describe_event(r.event_type, data->get_object());
    }
    std::string key = r.key;
    if (!route->second.key_field.empty()) {
      const auto* field = data != nullptr && data->is_object()
                              ? data->as_object().if_contains(route->second.key_field)
                              : nullptr;
      if (field == nullptr || !field->is_string())
        return "data." + route->second.key_field + " (the grain key) is missing";
      key = std::string(field->as_string());
    }
    if (key.empty())
      return std::string{"the record names no grain (empty key)"};
    r.target = runtime::grain_id{route->second.grain_type, std::move(key)};
    return std::nullopt;
  }

  /// Sends what the line may send now: its waiting records, in order, while fewer than
  /// pipeline_depth are unanswered and nothing failed. Drops the line once it is empty.
  void pump(const std::string& key, grain_line& line) {
    while (!line.halted && !line.waiting.empty() && line.sent.size() < pipeline_depth) {
      auto r = line.waiting.front();
      line.waiting.pop_front();
      bool chained = !line.sent.empty();
      line.sent.push_back(r);
      if (!dispatch(r, chained)) {
        // Not sent: nothing behind it may go before it does.
        line.sent.pop_back();
        failed(key, line, r, "too many requests in flight");
      }
    }
    if (!line.halted && line.waiting.empty() && line.sent.empty())
      lines.erase(key);
  }

  /// Sends `r` to its grain; false when the grain client refused it (too many in flight).
  bool dispatch(const record_ptr& r, bool chained) {
    runtime::log_scope logged{
        runtime::log_context{r->meta.correlation_id, r->target.type, r->target.key, r->subject}};
    ++r->attempts;
    runtime::kafka_record msg{r->topic, r->partition, r->offset, r->event_id, r->event_type,
                              r->value, chained,      r->meta,   r->subject,  r->detail};
    std::weak_ptr<impl> weak = shared_from_this();
    r->sent_at = std::chrono::steady_clock::now();
    return grains.ask<bool>(r->target, std::move(msg), [weak, r](caf::expected<bool> ok) {
      auto me = weak.lock();
      if (!me)
        return;
      if (ok && *ok && me->on_handled && r->in_kafka.count() >= 0)
        me->on_handled(r->in_kafka, std::chrono::duration_cast<std::chrono::microseconds>(
                                        std::chrono::steady_clock::now() - r->sent_at));
      // A grain that handled this event before answers with its first answer again (it
      // remembers event ids with their effects): for the bridge that is handling it now.
      if (ok && *ok)
        me->push(completion{completion::handled, r, {}});
      else
        me->push(completion{completion::failed, r,
                            ok ? std::string{"the grain refused the record"}
                               : runtime::to_failure(ok.error()).message});
    });
  }

  /// Record `r` of `line` (sent, now answered or not sent at all) failed with `error`. The
  /// line halts; the earliest record that failed in this halt counts an attempt, the ones
  /// behind it do not (a grain refuses chained records after a failure: they did not fail
  /// themselves). All of them go again, in order, once every record sent has answered.
  void failed(const std::string& key, grain_line& line, const record_ptr& r,
              const std::string& error) {
    if (line.halted && r->seq > line.halt_seq) {
      --r->attempts; // collateral
    } else {
      r->last_error = error;
      if (r->attempts < opts.max_attempts) // otherwise it goes to the DLQ, not again
        stats.retried.fetch_add(1, std::memory_order_relaxed);
      auto backoff = std::chrono::milliseconds{static_cast<std::int64_t>(opts.retry_backoff_ms)
                                               << std::min(std::max(r->attempts - 1, 0), 10)};
      line.resume_at = time.now() + backoff;
      if (!line.halted)
        halted.push_back(key);
      line.halted = true;
      line.halt_seq = r->seq;
    }
    auto at = std::upper_bound(line.waiting.begin(), line.waiting.end(), r->seq,
                               [](std::uint64_t seq, const record_ptr& x) { return seq < x->seq; });
    line.waiting.insert(at, r);
  }

  /// Resumes halted lines whose records have all answered and whose back-off passed: the
  /// first waiting record goes to the DLQ if it used its attempts, then the line sends again.
  void resume_lines() {
    if (halted.empty())
      return;
    auto now = time.now();
    std::vector<std::string> still;
    for (auto& key : halted) {
      auto l = lines.find(key);
      if (l == lines.end())
        continue;
      auto& line = l->second;
      if (!line.sent.empty() || line.resume_at > now) {
        still.push_back(key);
        continue;
      }
      line.halted = false;
      while (!line.waiting.empty() && line.waiting.front()->attempts >= opts.max_attempts) {
        auto r = line.waiting.front();
        line.waiting.pop_front();
        runtime::log_scope logged{runtime::log_context{r->meta.correlation_id, r->target.type,
                                                       r->target.key, r->subject}};
        spdlog::warn("Kafka bridge: {}@{}:{} failed {} times ({}); to the DLQ", r->topic,
                     r->partition, r->offset, r->attempts, r->last_error);
        dead_letter(r, r->last_error);
      }
      pump(key, line);
    }
    halted = std::move(still);
  }

  void dead_letter(const record_ptr& r, const std::string& error) {
    runtime::log_scope logged{
        runtime::log_context{r->meta.correlation_id, r->target.type, r->target.key, r->subject}};
    r->last_error = error;
    auto id = next_dead_letter++;
    dead_letter_pending[id] = r;
    std::string why;
    if (!dead_letters->produce(r->topic + ".dlq", r->key,
                               dead_letter_value(*r, error, time.wall_ms()), {{"error", error}}, id,
                               &why)) {
      dead_letter_pending.erase(id);
      spdlog::warn("Kafka bridge: cannot queue {}@{} for the DLQ: {}", r->topic, r->offset, why);
      r->retry_at = time.now() + std::chrono::milliseconds{opts.retry_backoff_ms};
      r->attempts = std::max(r->attempts, opts.max_attempts); // straight back to the DLQ
      retries.push_back(r);
    }
  }

  // -- outcomes ----------------------------------------------------------------------------

  void drain() {
    std::deque<completion> ready;
    {
      std::lock_guard<std::mutex> guard{mtx};
      ready.swap(completions);
    }
    for (auto& c : ready) {
      auto& r = c.record;
      switch (c.what) {
      case completion::handled:
      case completion::failed: {
        auto key = r->target.str();
        auto l = lines.find(key);
        if (l == lines.end())
          break; // cannot happen: a record sent is in its line until answered
        auto& line = l->second;
        auto at = std::find(line.sent.begin(), line.sent.end(), r);
        if (at == line.sent.end())
          break;
        line.sent.erase(at);
        if (c.what == completion::handled) {
          stats.handled.fetch_add(1, std::memory_order_relaxed);
          finish(r);
        } else {
          failed(key, line, r, c.error);
        }
        pump(key, line);
        break;
      }
      case completion::dead_lettered:
        stats.dead_lettered.fetch_add(1, std::memory_order_relaxed);
        finish(r);
        break;
      case completion::dead_letter_failed:
        r->retry_at = time.now() + std::chrono::milliseconds{opts.retry_backoff_ms};
        retries.push_back(r);
        break;
      }
    }
  }

  /// A record is done (handled or dead-lettered): its offset may be committed.
  void finish(const record_ptr& r) {
    stats.in_flight.fetch_sub(1, std::memory_order_relaxed);
    if (r->generation != generation)
      return; // its partition was revoked meanwhile: another member re-reads it
    auto t = tracks.find({r->topic, r->partition});
    if (t == tracks.end())
      return;
    auto& track = t->second;
    track.pending[r->offset] = true;
    while (!track.pending.empty() && track.pending.begin()->second) {
      track.commit_next = track.pending.begin()->first + 1;
      track.pending.erase(track.pending.begin());
    }
  }

  void run_retries() {
    resume_lines();
    auto now = time.now();
    std::vector<record_ptr> due;
    for (auto i = retries.begin(); i != retries.end();) {
      if ((*i)->retry_at <= now) {
        due.push_back(*i);
        i = retries.erase(i);
      } else {
        ++i;
      }
    }
    for (auto& r : due)
      dead_letter(r, r->last_error);
  }

  // -- offsets and flow --------------------------------------------------------------------

  void commit(bool sync) {
    auto* list = rd_kafka_topic_partition_list_new(static_cast<int>(tracks.size()));
    for (auto& [tp, track] : tracks) {
      if (track.commit_next < 0)
        continue;
      rd_kafka_topic_partition_list_add(list, tp.first.c_str(), tp.second)->offset =
          track.commit_next;
      track.committed = track.commit_next;
      track.commit_next = -1;
    }
    if (list->cnt > 0) {
      auto e = rd_kafka_commit(rk, list, sync ? 0 : 1);
      if (e != RD_KAFKA_RESP_ERR_NO_ERROR)
        spdlog::warn("Kafka bridge: commit failed: {}", rd_kafka_err2str(e));
      else
        stats.committed.fetch_add(static_cast<std::uint64_t>(list->cnt), std::memory_order_relaxed);
    }
    rd_kafka_topic_partition_list_destroy(list);
  }

  void apply_backpressure() {
    auto load = stats.in_flight.load();
    bool over = load >= opts.max_in_flight;
    bool under = load <= opts.max_in_flight / 2;
    if ((!paused && over) || (paused && under)) {
      rd_kafka_topic_partition_list_t* assigned = nullptr;
      if (rd_kafka_assignment(rk, &assigned) == RD_KAFKA_RESP_ERR_NO_ERROR) {
        if (!paused) {
          rd_kafka_pause_partitions(rk, assigned);
        } else {
          // Resume where this consumer stopped reading: what was fetched ahead while paused
          // was dropped, so each partition continues from its own consumed position.
          rd_kafka_position(rk, assigned);
          rd_kafka_resume_partitions(rk, assigned);
          for (int i = 0; i < assigned->cnt; ++i) {
            const auto& p = assigned->elems[i];
            if (p.offset < 0)
              continue;
            auto* one = rd_kafka_topic_partition_list_new(1);
            rd_kafka_topic_partition_list_add(one, p.topic, p.partition)->offset = p.offset;
            if (auto* e = rd_kafka_seek_partitions(rk, one, 1000))
              rd_kafka_error_destroy(e);
            rd_kafka_topic_partition_list_destroy(one);
          }
        }
        rd_kafka_topic_partition_list_destroy(assigned);
      }
      paused = !paused;
      if (paused)
        stats.pauses.fetch_add(1, std::memory_order_relaxed);
    }
  }

  /// Refreshes `lag` from the assignment, this member's commits and librdkafka's cached
  /// watermarks and positions (no broker round trip), at most every 500 ms.
  void refresh_lag(bool now = false) {
    auto t = std::chrono::steady_clock::now();
    if (!now && t < lag_due)
      return;
    lag_due = t + std::chrono::milliseconds{500};
    std::vector<partition_lag> out;
    rd_kafka_topic_partition_list_t* assigned = nullptr;
    if (rk != nullptr && rd_kafka_assignment(rk, &assigned) == RD_KAFKA_RESP_ERR_NO_ERROR) {
      rd_kafka_position(rk, assigned);
      out = partition_lag_of(
          rk, *assigned,
          [this](const std::string& topic, std::int32_t partition) -> std::int64_t {
            auto track = tracks.find({topic, partition});
            return track != tracks.end() ? track->second.committed : -1;
          },
          true);
      rd_kafka_topic_partition_list_destroy(assigned);
    }
    std::lock_guard<std::mutex> guard{lag_mtx};
    lag = std::move(out);
  }

  void rebalance(rd_kafka_resp_err_t err, rd_kafka_topic_partition_list_t* parts) {
    if (err == RD_KAFKA_RESP_ERR__ASSIGN_PARTITIONS) {
      rd_kafka_assign(rk, parts);
      if (paused)
        rd_kafka_pause_partitions(rk, parts);
      return;
    }
    // Revoked: commit what is done; what is still being handled will be re-read by the
    // partitions' next owner (grains ignore event ids they have handled).
    commit(true);
    for (int i = 0; i < parts->cnt; ++i)
      tracks.erase({parts->elems[i].topic, parts->elems[i].partition});
    ++generation;
    rd_kafka_assign(rk, nullptr);
  }
};

bridge::bridge(runtime::grain_client& grains, std::string bootstrap, config::kafka_options opts,
               std::vector<route> routes)
    : grains_(grains), bootstrap_(std::move(bootstrap)), opts_(std::move(opts)),
      routes_(std::move(routes)) {}

bridge::~bridge() {
  stop();
}

const bridge_stats& bridge::stats() const {
  static const bridge_stats none;
  return impl_ ? impl_->stats : none;
}

bool bridge::running() const {
  return impl_ != nullptr && !impl_->stopping.load();
}

std::vector<partition_lag> bridge::partitions() const {
  if (!impl_)
    return {};
  std::lock_guard<std::mutex> guard{impl_->lag_mtx};
  return impl_->lag;
}

void bridge::start() {
  if (routes_.empty() || impl_)
    return;
  auto me = std::make_shared<impl>(grains_, opts_);
  me->on_handled = on_handled_;
  for (const auto& r : routes_)
    me->routes[r.topic] = r;
  me->dead_letters = std::make_unique<producer>(
      bootstrap_, opts_, [raw = me.get()](std::int64_t id, bool ok, const std::string& error) {
        auto i = raw->dead_letter_pending.find(id);
        if (i == raw->dead_letter_pending.end())
          return;
        auto r = i->second;
        raw->dead_letter_pending.erase(i);
        raw->push(
            completion{ok ? completion::dead_lettered : completion::dead_letter_failed, r, error});
      });
  auto* conf = rd_kafka_conf_new();
  set(conf, "bootstrap.servers", bootstrap_);
  set(conf, "group.id", opts_.group_id);
  set(conf, "enable.auto.commit", "false");
  set(conf, "auto.offset.reset", "earliest");
  set(conf, "fetch.wait.max.ms", std::to_string(opts_.fetch_wait_max_ms));
  set(conf, "session.timeout.ms", std::to_string(opts_.session_timeout_ms));
  set(conf, "heartbeat.interval.ms", std::to_string(std::max(100, opts_.session_timeout_ms / 3)));
  set(conf, "log_level", "3");
  rd_kafka_conf_set_opaque(conf, me.get());
  rd_kafka_conf_set_rebalance_cb(
      conf, [](rd_kafka_t*, rd_kafka_resp_err_t err, rd_kafka_topic_partition_list_t* parts,
               void* opaque) { static_cast<impl*>(opaque)->rebalance(err, parts); });
  char err[512];
  me->rk = rd_kafka_new(RD_KAFKA_CONSUMER, conf, err, sizeof err);
  if (me->rk == nullptr) {
    rd_kafka_conf_destroy(conf);
    throw std::runtime_error(std::string{"Kafka bridge: "} + err);
  }
  rd_kafka_poll_set_consumer(me->rk);
  auto* topics = rd_kafka_topic_partition_list_new(static_cast<int>(routes_.size()));
  for (const auto& r : routes_) {
    if (sole_partitions_ == 0) {
      rd_kafka_topic_partition_list_add(topics, r.topic.c_str(), RD_KAFKA_PARTITION_UA);
      continue;
    }
    for (int p = 0; p < sole_partitions_; ++p) // from the committed offset, else the earliest
      rd_kafka_topic_partition_list_add(topics, r.topic.c_str(), p)->offset =
          RD_KAFKA_OFFSET_STORED;
  }
  auto e =
      sole_partitions_ == 0 ? rd_kafka_subscribe(me->rk, topics) : rd_kafka_assign(me->rk, topics);
  rd_kafka_topic_partition_list_destroy(topics);
  if (e != RD_KAFKA_RESP_ERR_NO_ERROR) {
    rd_kafka_destroy(me->rk);
    throw std::runtime_error(std::string{"Kafka bridge: "} +
                             (sole_partitions_ == 0 ? "subscribe: " : "assign: ") +
                             rd_kafka_err2str(e));
  }
  impl_ = me;
  thread_ = std::thread([me] {
    while (!me->stopping.load()) {
      me->drain();
      me->run_retries();
      me->dead_letters->poll(0);
      me->commit(false);
      me->apply_backpressure();
      me->refresh_lag();
      if (auto* m = rd_kafka_consumer_poll(me->rk, 10)) {
        me->consume(m);
        rd_kafka_message_destroy(m);
      }
    }
    // Leave cleanly: what is handled within 200 ms (real time: a bound on shutdown) gets
    // committed; the rest is re-read by the next owner. Grains' answers wake this wait; it
    // looks every 10 ms for the dead-letter producer's delivery reports, which need a poll.
    auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds{200};
    while (me->stats.in_flight.load() > 0 && std::chrono::steady_clock::now() < deadline) {
      me->await_completion(
          std::min(deadline, std::chrono::steady_clock::now() + std::chrono::milliseconds{10}));
      me->drain();
      me->dead_letters->poll(0);
    }
    me->commit(true);
    {
      std::lock_guard<std::mutex> guard{me->lag_mtx};
      me->lag.clear();
    }
    rd_kafka_consumer_close(me->rk);
    rd_kafka_destroy(me->rk);
    me->rk = nullptr;
    me->dead_letters->flush(1000);
  });
  if (sole_partitions_ == 0)
    spdlog::info("Kafka bridge consuming {} topic(s) as group {}", routes_.size(), opts_.group_id);
  else
    spdlog::info("Kafka bridge consuming every partition of {} topic(s), the only consumer, "
                 "committing as group {}",
                 routes_.size(), opts_.group_id);
}

void bridge::stop() {
  if (!impl_)
    return;
  impl_->stopping = true;
  if (thread_.joinable())
    thread_.join();
}

} // namespace bazaar::kafka
