#pragma once

/// What operators ask of Kafka itself (/admin/kafka, bazaarctl kafka and dlq): the lag of a
/// consumer group over every partition of its topics, as the brokers hold it (so any node gives
/// the cluster-wide answer), the dead-letter topics' records, and their replay.
///
/// Replay puts a dead letter's original record (key and value as they were) back on its source
/// topic. Consumers drop an event id they handled before, so replaying a record twice, or one
/// that was handled after all, changes nothing. "Replay all" remembers how far it replayed in
/// the offsets of the consumer group `<kafka.group_id>.dlq-replay`, so that the next one
/// replays only what was dead-lettered since; listings mark what lies before that mark.
///
/// The calls block on brokers (each bounded by `timeout_ms`): they run on a thread of the
/// admin's own, one at a time, and answer through a callback, so that no HTTP I/O thread
/// waits for Kafka.

#include "bazaar/config/options.hpp"
#include "bazaar/core/failure.hpp"

#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

namespace bazaar::kafka {

/// One partition of a group's topic: committed offset, end, and the records between.
struct group_partition {
  std::string topic;
  std::int32_t partition = 0;
  std::int64_t committed = -1;      ///< -1: the group committed nothing there
  std::int64_t low_watermark = -1;  ///< the first offset still stored
  std::int64_t high_watermark = -1; ///< the next offset to be written
  /// high_watermark minus committed (minus low_watermark when nothing is committed).
  std::int64_t lag = 0;
};

/// A dead-letter topic and how many records it holds (over all partitions).
struct dead_letter_topic {
  std::string topic;
  std::int64_t records = 0;
  /// Records dead-lettered after the last "replay all" (all of them if there was none).
  std::int64_t not_replayed = 0;
};

/// One record of a dead-letter topic.
struct dead_letter {
  std::string topic; ///< the dead-letter topic
  std::int32_t partition = 0;
  std::int64_t offset = 0;
  std::string source_topic;
  std::int32_t source_partition = 0;
  std::int64_t source_offset = 0;
  std::string key;
  std::string event_id;
  std::string event_type;
  std::string error;
  std::int64_t attempts = 0;
  std::int64_t failed_at_ms = 0;
  /// Before the "replay all" mark.
  bool replayed = false;
  /// The original record's value (the event envelope).
  std::string value;
};

class kafka_admin {
 public:
  kafka_admin(std::string bootstrap, config::kafka_options opts);
  /// Answers what still waits with an error and joins the thread.
  ~kafka_admin();

  kafka_admin(const kafka_admin&) = delete;
  kafka_admin& operator=(const kafka_admin&) = delete;

  /// The answer, or nullopt with the failure: not_found for a topic or record that does not
  /// exist, unavailable when Kafka failed or did not answer in time.
  template <class T>
  using callback = std::function<void(std::optional<T> answer, const core::failure& error)>;

  /// The group's committed offsets and lag over every partition of `topics`.
  void group_lag(std::string group, std::vector<std::string> topics,
                 callback<std::vector<group_partition>> done);

  /// Every dead-letter topic (`<topic>.dlq` of each configured topic) with its record count.
  void dead_letter_topics(callback<std::vector<dead_letter_topic>> done);

  /// Up to `limit` dead letters, oldest first per partition; of one dead-letter topic (or its
  /// source topic's) when `topic` is not empty.
  void dead_letters(std::string topic, std::size_t limit, callback<std::vector<dead_letter>> done);

  /// Puts the dead letter at (dead-letter topic, partition, offset) back on its source topic;
  /// answers the dead letter replayed. Errors: no such record, or the source topic refused it.
  void replay(std::string topic, std::int32_t partition, std::int64_t offset,
              callback<dead_letter> done);

  /// Replays every dead letter after the "replay all" mark (of one topic, when `topic` is not
  /// empty) and moves the mark past them; answers how many were replayed.
  void replay_all(std::string topic, callback<std::int64_t> done);

  /// The consumer group that holds the "replay all" mark.
  std::string replay_group() const { return opts_.group_id + ".dlq-replay"; }

 private:
  using job = std::function<void(bool stopping)>;
  void submit(job j);
  void work();

  std::string bootstrap_;
  config::kafka_options opts_;
  std::mutex mtx_;
  std::condition_variable wake_;
  std::deque<job> queue_;
  bool stopping_ = false;
  std::thread thread_;
};

} // namespace bazaar::kafka
