#include "bazaar/kafka/kafka_admin.hpp"

#include "bazaar/config/loader.hpp"
#include "bazaar/kafka/producer.hpp"

#include <boost/json/parse.hpp>
#include <librdkafka/rdkafka.h>

#include <chrono>
#include <limits>
#include <map>
#include <memory>
#include <stdexcept>

namespace bazaar::kafka {

namespace json = boost::json;

namespace {

/// How long one broker round trip of an admin call may take.
constexpr int round_trip_ms = 3000;
/// How long reading a dead-letter topic may take in all.
constexpr std::chrono::seconds read_budget{5};

void set(rd_kafka_conf_t* conf, const char* name, const std::string& value) {
  char err[512];
  if (rd_kafka_conf_set(conf, name, value.c_str(), err, sizeof err) != RD_KAFKA_CONF_OK)
    throw std::runtime_error(std::string{"Kafka admin: "} + name + ": " + err);
}

struct rk_deleter {
  void operator()(rd_kafka_t* rk) const { rd_kafka_destroy(rk); }
};
using rk_ptr = std::unique_ptr<rd_kafka_t, rk_deleter>;

struct list_deleter {
  void operator()(rd_kafka_topic_partition_list_t* l) const {
    rd_kafka_topic_partition_list_destroy(l);
  }
};
using list_ptr = std::unique_ptr<rd_kafka_topic_partition_list_t, list_deleter>;

/// A consumer of `group` that never subscribes: it reads committed offsets and watermarks,
/// and reads partitions it assigns itself, committing only when asked.
rk_ptr make_consumer(const std::string& bootstrap, const std::string& group) {
  auto* conf = rd_kafka_conf_new();
  set(conf, "bootstrap.servers", bootstrap);
  set(conf, "group.id", group);
  set(conf, "enable.auto.commit", "false");
  set(conf, "enable.auto.offset.store", "false");
  set(conf, "enable.partition.eof", "true");
  set(conf, "log_level", "3");
  char err[512];
  auto* rk = rd_kafka_new(RD_KAFKA_CONSUMER, conf, err, sizeof err);
  if (rk == nullptr) {
    rd_kafka_conf_destroy(conf);
    throw std::runtime_error(std::string{"Kafka admin: "} + err);
  }
  return rk_ptr{rk};
}

/// The partition count of `topic` (0 when the topic does not exist).
int partitions_of(rd_kafka_t* rk, const std::string& topic) {
  auto* rkt = rd_kafka_topic_new(rk, topic.c_str(), nullptr);
  if (rkt == nullptr)
    return 0;
  const rd_kafka_metadata_t* md = nullptr;
  auto err = rd_kafka_metadata(rk, 0, rkt, &md, round_trip_ms);
  rd_kafka_topic_destroy(rkt);
  if (err != RD_KAFKA_RESP_ERR_NO_ERROR)
    throw std::runtime_error("Kafka: metadata of " + topic + ": " + rd_kafka_err2str(err));
  int n = 0;
  if (md->topic_cnt == 1 && md->topics[0].err == RD_KAFKA_RESP_ERR_NO_ERROR)
    n = md->topics[0].partition_cnt;
  rd_kafka_metadata_destroy(md);
  return n;
}

/// Every partition of `topics` with its watermarks and `rk`'s group's committed offset.
std::vector<group_partition> partitions_with_lag(rd_kafka_t* rk,
                                                 const std::vector<std::string>& topics) {
  list_ptr list{rd_kafka_topic_partition_list_new(8)};
  for (const auto& t : topics)
    for (int p = 0, n = partitions_of(rk, t); p < n; ++p)
      rd_kafka_topic_partition_list_add(list.get(), t.c_str(), p);
  if (list->cnt > 0) {
    auto err = rd_kafka_committed(rk, list.get(), round_trip_ms);
    if (err != RD_KAFKA_RESP_ERR_NO_ERROR)
      throw std::runtime_error(std::string{"Kafka: committed offsets: "} + rd_kafka_err2str(err));
  }
  std::vector<group_partition> out;
  for (int i = 0; i < list->cnt; ++i) {
    const auto& e = list->elems[i];
    group_partition g;
    g.topic = e.topic;
    g.partition = e.partition;
    g.committed = e.offset >= 0 ? e.offset : -1;
    std::int64_t low = -1, high = -1;
    auto err =
        rd_kafka_query_watermark_offsets(rk, e.topic, e.partition, &low, &high, round_trip_ms);
    if (err != RD_KAFKA_RESP_ERR_NO_ERROR)
      throw std::runtime_error("Kafka: watermarks of " + g.topic + "[" +
                               std::to_string(g.partition) + "]: " + rd_kafka_err2str(err));
    g.low_watermark = low;
    g.high_watermark = high;
    g.lag = std::max<std::int64_t>(0, high - (g.committed >= 0 ? g.committed : low));
    out.push_back(std::move(g));
  }
  return out;
}

/// The dead-letter topics `filter` names: all when empty, else the one named (as the
/// dead-letter topic or as its source topic). Throws when it names none.
std::vector<std::string> dead_letter_topics_of(const config::kafka_options& opts,
                                               const std::string& filter) {
  std::vector<std::string> out;
  for (const auto& t : config::topics_with_dead_letters(opts)) {
    bool dlq = t.size() > 4 && t.compare(t.size() - 4, 4, ".dlq") == 0;
    if (dlq && (filter.empty() || filter == t || filter + ".dlq" == t))
      out.push_back(t);
  }
  if (out.empty())
    throw std::invalid_argument("no dead-letter topic of " + filter +
                                " (a configured topic, or its .dlq)");
  return out;
}

std::string text_of(const json::object& o, const char* key) {
  const auto* v = o.if_contains(key);
  return v != nullptr && v->is_string() ? std::string{v->get_string()} : std::string{};
}

std::int64_t int_of(const json::object& o, const char* key) {
  const auto* v = o.if_contains(key);
  return v != nullptr && v->is_int64() ? v->get_int64() : 0;
}

/// A dead letter as the bridge wrote it (bridge.cpp dead_letter_value).
dead_letter decode(const rd_kafka_message_t& m) {
  dead_letter d;
  d.topic = rd_kafka_topic_name(m.rkt);
  d.partition = m.partition;
  d.offset = m.offset;
  boost::system::error_code ec;
  auto v =
      json::parse(std::string_view{static_cast<const char*>(m.payload), m.payload ? m.len : 0}, ec);
  if (ec || !v.is_object()) {
    d.error = "(not a dead letter of the bridge: its value is not a JSON object)";
    return d;
  }
  const auto& o = v.as_object();
  d.error = text_of(o, "error");
  d.attempts = int_of(o, "attempts");
  d.failed_at_ms = int_of(o, "failed_at_ms");
  if (const auto* orig = o.if_contains("original"); orig != nullptr && orig->is_object()) {
    const auto& r = orig->as_object();
    d.source_topic = text_of(r, "topic");
    d.source_partition = static_cast<std::int32_t>(int_of(r, "partition"));
    d.source_offset = int_of(r, "offset");
    d.key = text_of(r, "key");
    d.value = text_of(r, "value");
    auto env = json::parse(d.value, ec);
    if (!ec && env.is_object()) {
      d.event_id = text_of(env.as_object(), "event_id");
      d.event_type = text_of(env.as_object(), "event_type");
    }
  }
  return d;
}

/// Reads partitions from the given start offsets up to their ends (as of now), at most `limit`
/// records, calling `take` with each. Partitions whose start is at their end are skipped.
void read_partitions(rd_kafka_t* rk, const std::vector<group_partition>& from, std::size_t limit,
                     const std::function<void(const rd_kafka_message_t&)>& take) {
  list_ptr assign{rd_kafka_topic_partition_list_new(8)};
  std::map<std::pair<std::string, std::int32_t>, std::int64_t> ends;
  for (const auto& p : from) {
    auto start = p.committed >= 0 ? p.committed : p.low_watermark;
    if (start >= p.high_watermark)
      continue;
    rd_kafka_topic_partition_list_add(assign.get(), p.topic.c_str(), p.partition)->offset = start;
    ends[{p.topic, p.partition}] = p.high_watermark;
  }
  if (assign->cnt == 0 || limit == 0)
    return;
  if (auto err = rd_kafka_assign(rk, assign.get()); err != RD_KAFKA_RESP_ERR_NO_ERROR)
    throw std::runtime_error(std::string{"Kafka: assign: "} + rd_kafka_err2str(err));
  std::size_t taken = 0;
  auto deadline = std::chrono::steady_clock::now() + read_budget;
  while (!ends.empty() && taken < limit && std::chrono::steady_clock::now() < deadline) {
    auto* m = rd_kafka_consumer_poll(rk, 100);
    if (m == nullptr)
      continue;
    std::unique_ptr<rd_kafka_message_t, void (*)(rd_kafka_message_t*)> guard{
        m, rd_kafka_message_destroy};
    if (m->rkt == nullptr)
      continue;
    std::pair<std::string, std::int32_t> key{rd_kafka_topic_name(m->rkt), m->partition};
    auto end = ends.find(key);
    if (end == ends.end())
      continue;
    if (m->err == RD_KAFKA_RESP_ERR__PARTITION_EOF) {
      ends.erase(end);
      continue;
    }
    if (m->err != RD_KAFKA_RESP_ERR_NO_ERROR)
      throw std::runtime_error(std::string{"Kafka: reading "} + key.first + ": " +
                               rd_kafka_err2str(m->err));
    if (m->offset >= end->second) {
      ends.erase(end);
      continue;
    }
    take(*m);
    ++taken;
    if (m->offset + 1 >= end->second)
      ends.erase(end);
  }
  rd_kafka_assign(rk, nullptr);
  if (!ends.empty() && taken < limit)
    throw std::runtime_error("Kafka: reading the dead-letter topics took longer than 5 s");
}

/// Produces dead letters' original records back to their source topics; throws unless every
/// one was delivered.
void put_back(const std::string& bootstrap, const config::kafka_options& opts,
              const std::vector<dead_letter>& letters) {
  if (letters.empty())
    return;
  std::size_t delivered = 0;
  std::string failure;
  producer out{bootstrap, opts, [&](std::int64_t, bool ok, const std::string& error) {
                 if (ok)
                   ++delivered;
                 else if (failure.empty())
                   failure = error;
               }};
  for (std::size_t i = 0; i < letters.size(); ++i) {
    const auto& d = letters[i];
    if (d.source_topic.empty())
      throw std::runtime_error("dead letter " + d.topic + ":" + std::to_string(d.partition) + ":" +
                               std::to_string(d.offset) + " names no source topic");
    std::string error;
    if (!out.produce(d.source_topic, d.key, d.value, {{"replayed_from", d.topic}},
                     static_cast<std::int64_t>(i), &error))
      throw std::runtime_error("Kafka: replay to " + d.source_topic + ": " + error);
  }
  out.flush(opts.message_timeout_ms);
  out.poll(0);
  if (delivered != letters.size())
    throw std::runtime_error("Kafka: " + std::to_string(letters.size() - delivered) + " of " +
                             std::to_string(letters.size()) + " replayed records not delivered" +
                             (failure.empty() ? std::string{} : ": " + failure));
}

} // namespace

kafka_admin::kafka_admin(std::string bootstrap, config::kafka_options opts)
    : bootstrap_(std::move(bootstrap)), opts_(std::move(opts)) {
  thread_ = std::thread([this] { work(); });
}

kafka_admin::~kafka_admin() {
  {
    std::lock_guard<std::mutex> guard{mtx_};
    stopping_ = true;
  }
  wake_.notify_all();
  thread_.join();
}

void kafka_admin::submit(job j) {
  {
    std::lock_guard<std::mutex> guard{mtx_};
    if (!stopping_) {
      queue_.push_back(std::move(j));
      wake_.notify_one();
      return;
    }
  }
  j(true);
}

void kafka_admin::work() {
  for (;;) {
    job next;
    bool stopping = false;
    {
      std::unique_lock<std::mutex> lock{mtx_};
      wake_.wait(lock, [this] { return stopping_ || !queue_.empty(); });
      if (queue_.empty())
        return;
      next = std::move(queue_.front());
      queue_.pop_front();
      stopping = stopping_;
    }
    next(stopping); // what waited when the node stops is answered without asking Kafka
  }
}

namespace {

/// Runs `run` (which returns the answer) unless the admin is stopping, and gives `done` the
/// answer or the error it threw.
template <class T, class Run>
std::function<void(bool)> guarded(kafka_admin::callback<T> done, Run run) {
  return [done = std::move(done), run = std::move(run)](bool stopping) {
    if (stopping)
      return done(std::nullopt, core::failure{core::errc::unavailable, "the node is stopping", {}});
    std::optional<T> answer;
    core::failure error{core::errc::internal, {}, {}};
    try {
      answer = run();
    } catch (const std::invalid_argument& e) {
      error = core::not_found(e.what());
    } catch (const std::exception& e) {
      error = core::failure{core::errc::unavailable, std::string{"Kafka: "} + e.what(), {}};
    }
    done(std::move(answer), error);
  };
}

} // namespace

void kafka_admin::group_lag(std::string group, std::vector<std::string> topics,
                            callback<std::vector<group_partition>> done) {
  submit(guarded<std::vector<group_partition>>(std::move(done), [this, group, topics] {
    auto rk = make_consumer(bootstrap_, group);
    return partitions_with_lag(rk.get(), topics);
  }));
}

void kafka_admin::dead_letter_topics(callback<std::vector<dead_letter_topic>> done) {
  submit(guarded<std::vector<dead_letter_topic>>(std::move(done), [this] {
    auto topics = dead_letter_topics_of(opts_, {});
    auto rk = make_consumer(bootstrap_, replay_group());
    std::map<std::string, dead_letter_topic> by_topic;
    for (const auto& t : topics)
      by_topic[t].topic = t;
    for (const auto& p : partitions_with_lag(rk.get(), topics)) {
      auto& t = by_topic[p.topic];
      t.records += std::max<std::int64_t>(0, p.high_watermark - p.low_watermark);
      t.not_replayed += p.lag;
    }
    std::vector<dead_letter_topic> out;
    for (auto& [name, t] : by_topic)
      out.push_back(std::move(t));
    return out;
  }));
}

void kafka_admin::dead_letters(std::string topic, std::size_t limit,
                               callback<std::vector<dead_letter>> done) {
  submit(guarded<std::vector<dead_letter>>(std::move(done), [this, topic, limit] {
    auto topics = dead_letter_topics_of(opts_, topic);
    auto rk = make_consumer(bootstrap_, replay_group());
    auto parts = partitions_with_lag(rk.get(), topics);
    std::map<std::pair<std::string, std::int32_t>, std::int64_t> marks;
    for (auto& p : parts) {
      marks[{p.topic, p.partition}] = p.committed;
      p.committed = -1; // list from the first record still stored
    }
    std::vector<dead_letter> out;
    read_partitions(rk.get(), parts, limit, [&](const rd_kafka_message_t& m) {
      auto d = decode(m);
      d.replayed = d.offset < marks[{d.topic, d.partition}];
      out.push_back(std::move(d));
    });
    return out;
  }));
}

void kafka_admin::replay(std::string topic, std::int32_t partition, std::int64_t offset,
                         callback<dead_letter> done) {
  submit(guarded<dead_letter>(std::move(done), [this, topic, partition, offset] {
    auto topics = dead_letter_topics_of(opts_, topic);
    auto rk = make_consumer(bootstrap_, replay_group());
    std::optional<dead_letter> found;
    for (auto& p : partitions_with_lag(rk.get(), {topics.front()})) {
      if (p.partition != partition)
        continue;
      if (offset < p.low_watermark || offset >= p.high_watermark)
        break;
      p.committed = offset;
      read_partitions(rk.get(), {p}, 1, [&](const rd_kafka_message_t& m) { found = decode(m); });
    }
    if (!found || found->offset != offset)
      throw std::invalid_argument("no dead letter at " + topics.front() + ":" +
                                  std::to_string(partition) + ":" + std::to_string(offset));
    put_back(bootstrap_, opts_, {*found});
    return *found;
  }));
}

void kafka_admin::replay_all(std::string topic, callback<std::int64_t> done) {
  submit(guarded<std::int64_t>(std::move(done), [this, topic] {
    auto topics = dead_letter_topics_of(opts_, topic);
    auto rk = make_consumer(bootstrap_, replay_group());
    auto parts = partitions_with_lag(rk.get(), topics);
    std::vector<dead_letter> letters;
    read_partitions(rk.get(), parts, std::numeric_limits<std::size_t>::max(),
                    [&](const rd_kafka_message_t& m) { letters.push_back(decode(m)); });
    put_back(bootstrap_, opts_, letters);
    // The mark moves past what was read and put back.
    list_ptr marks{rd_kafka_topic_partition_list_new(8)};
    for (const auto& p : parts)
      if (p.high_watermark > (p.committed >= 0 ? p.committed : p.low_watermark))
        rd_kafka_topic_partition_list_add(marks.get(), p.topic.c_str(), p.partition)->offset =
            p.high_watermark;
    if (marks->cnt > 0)
      if (auto err = rd_kafka_commit(rk.get(), marks.get(), 0); err != RD_KAFKA_RESP_ERR_NO_ERROR)
        throw std::runtime_error(std::string{"Kafka: the replayed records were put back, but the "
                                             "replay mark did not move: "} +
                                 rd_kafka_err2str(err));
    return static_cast<std::int64_t>(letters.size());
  }));
}

} // namespace bazaar::kafka
