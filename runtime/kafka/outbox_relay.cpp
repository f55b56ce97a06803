#include "bazaar/kafka/outbox_relay.hpp"

#include "bazaar/config/loader.hpp"
#include "bazaar/kafka/producer.hpp"
#include "bazaar/persistence/commit_listener.hpp"
#include "bazaar/persistence/outbox_store.hpp"
#include "bazaar/runtime/clock.hpp"

#include <boost/json.hpp>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <iterator>
#include <limits>
#include <map>
#include <optional>
#include <set>
#include <utility>

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

/// The relay's second connection and thread, for what its publishing thread should not wait
/// for: marking delivered rows published (each UPDATE's commit waits for PostgreSQL's WAL
/// flush: 1 ms typical, several under load), and, at most once a second, counting the backlog
/// and finding the lowest unpublished id (both walk the partial index over every row marked
/// since the last vacuum: 5-80 ms measured after 100k rows were marked). Rows that fail to be
/// marked are tried again; at the end, what could not be marked is published again by whoever
/// relays next (at least once).
class bookkeeper {
 public:
  bookkeeper(const persistence::pg_settings& settings, std::atomic<std::uint64_t>& published,
             std::atomic<std::int64_t>& backlog)
      : store_(settings), published_(published), backlog_(backlog), thread_([this] { run(); }) {}
  /// Marks what was handed in (one more attempt if the last failed), then stops.
  ~bookkeeper() {
    {
      std::lock_guard<std::mutex> guard{mtx_};
      stopping_ = true;
    }
    cv_.notify_one();
    thread_.join();
  }
  bookkeeper(const bookkeeper&) = delete;
  bookkeeper& operator=(const bookkeeper&) = delete;

  /// Hands delivered rows over (and empties `ids`).
  void mark(std::vector<std::int64_t>& ids) {
    if (ids.empty())
      return;
    {
      std::lock_guard<std::mutex> guard{mtx_};
      queued_.insert(queued_.end(), ids.begin(), ids.end());
    }
    ids.clear();
    cv_.notify_one();
  }

  /// Rows marked since the last call.
  std::vector<std::int64_t> take_marked() {
    std::lock_guard<std::mutex> guard{mtx_};
    return std::exchange(marked_, {});
  }

  /// Asks for the backlog and the lowest unpublished id (unless a scan is under way).
  void request_scan() {
    {
      std::lock_guard<std::mutex> guard{mtx_};
      scan_requested_ = true;
    }
    cv_.notify_one();
  }

  /// The lowest unpublished id found by the last scan (0: none was), once; nullopt if no
  /// scan finished since the last call.
  std::optional<std::int64_t> take_lowest() {
    std::lock_guard<std::mutex> guard{mtx_};
    return std::exchange(lowest_, std::nullopt);
  }

 private:
  void run() {
    std::vector<std::int64_t> batch;
    for (;;) {
      bool stop = false;
      bool scan = false;
      {
        std::unique_lock<std::mutex> lock{mtx_};
        if (batch.empty())
          cv_.wait(lock, [&] { return stopping_ || scan_requested_ || !queued_.empty(); });
        else // the last attempt failed: again after a pause
          cv_.wait_for(lock, std::chrono::milliseconds{200}, [&] { return stopping_; });
        batch.insert(batch.end(), queued_.begin(), queued_.end());
        queued_.clear();
        stop = stopping_;
        scan = std::exchange(scan_requested_, false) && !stop;
      }
      if (!batch.empty() && store_.mark_published(batch)) {
        published_ += batch.size();
        std::lock_guard<std::mutex> guard{mtx_};
        marked_.insert(marked_.end(), batch.begin(), batch.end());
        batch.clear();
      }
      if (scan) {
        backlog_ = store_.backlog();
        if (auto first = store_.unpublished(0, 1)) {
          std::lock_guard<std::mutex> guard{mtx_};
          lowest_ = first->empty() ? 0 : first->front().id;
        }
      }
      if (stop) {
        if (!batch.empty())
          spdlog::warn("outbox relay: {} delivered rows not marked published; they will be "
                       "published again",
                       batch.size());
        return;
      }
    }
  }

  persistence::outbox_store store_;
  std::atomic<std::uint64_t>& published_;
  std::atomic<std::int64_t>& backlog_;
  std::mutex mtx_;
  std::condition_variable cv_;
  std::vector<std::int64_t> queued_;
  std::vector<std::int64_t> marked_;
  bool scan_requested_ = false;
  std::optional<std::int64_t> lowest_;
  bool stopping_ = false;
  std::thread thread_;
};

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
  if (!commit_channel_.empty()) {
    // Only the leader publishes: another node's commit is no reason for the others to look.
    listener_ = std::make_unique<persistence::commit_listener>(
        settings_, commit_channel_, [this](const std::string& node) {
          if (leading_.load(std::memory_order_relaxed) && node != self_())
            notify();
        });
    listener_->start();
  }
}

void outbox_relay::stop() {
  {
    std::lock_guard<std::mutex> guard{mtx_};
    if (stopping_)
      return;
    stopping_ = true;
  }
  if (listener_)
    listener_->stop();
  cv_.notify_all();
  if (thread_.joinable())
    thread_.join();
}

void outbox_relay::notify() {
  {
    std::lock_guard<std::mutex> guard{mtx_};
    committed_ = true;
  }
  cv_.notify_one();
}

void outbox_relay::reports_ready() {
  {
    std::lock_guard<std::mutex> guard{mtx_};
    reports_ = true;
  }
  cv_.notify_one();
}

void outbox_relay::run() {
  using clock = std::chrono::steady_clock;
  constexpr std::size_t page = 500;
  persistence::outbox_store store{settings_};
  // Rows handed to the producer and not marked published yet: waiting for their delivery
  // report, or delivered and waiting to be marked. A row stays here until it is marked (or
  // its delivery failed), so that a read of the outbox meanwhile, where it is still
  // unpublished, does not produce it again.
  // Each with when it was committed (ms since the epoch, PostgreSQL's clock), for the publish
  // delay.
  std::map<std::int64_t, std::int64_t> owned;
  std::vector<std::int64_t> confirmed; // delivered, not handed to the bookkeeper yet
  bookkeeper books{settings_, published_, backlog_};
  std::size_t awaiting = 0; // produced, delivery report not served yet
  // The lowest id whose delivery failed since the last sweep: the next sweep reads from it.
  auto failed_min = std::numeric_limits<std::int64_t>::max();
  producer out{bootstrap_, opts_,
               [&](std::int64_t id, bool ok, const std::string& error) {
                 --awaiting;
                 if (ok) {
                   confirmed.push_back(id);
                   if (on_published_)
                     if (auto o = owned.find(id); o != owned.end() && o->second > 0)
                       on_published_(std::chrono::milliseconds{runtime::system_clock{}.wall_ms() -
                                                               o->second});
                 } else {
                   owned.erase(id);
                   failed_min = std::min(failed_min, id);
                   spdlog::warn("outbox relay: row {} not published ({}); retrying", id, error);
                 }
               },
               [this] { reports_ready(); }};
  {
    std::vector<std::string> topics;
    for (const auto& [event, topic] : topics_)
      topics.push_back(topic);
    std::sort(topics.begin(), topics.end());
    topics.erase(std::unique(topics.begin(), topics.end()), topics.end());
    if (!out.learn_topics(topics, 2000))
      spdlog::warn("outbox relay: the partitions of some topics are not known yet; their first "
                   "records may wait up to a second");
  }
  // Hands what was delivered to the bookkeeper, and lets go of the rows it has marked.
  auto mark_confirmed = [&] {
    books.mark(confirmed);
    for (auto id : books.take_marked())
      owned.erase(id);
  };

  const auto sweep = std::chrono::milliseconds{opts_.relay_sweep_ms};
  auto next_sweep = clock::now();
  // Where a commit's pass reads from: rows up to after_id were read (or are gaps, below).
  std::int64_t after_id = 0;
  // The highest id read (0: none yet), and ids below it that were missing when higher ones
  // were read. Ids are taken at insert but transactions commit in any order (two persister
  // writers), so a missing id is a row whose transaction had not committed yet (or an id a
  // rolled-back transaction used). They are looked for again at each commit until found, or
  // until they are a sweep interval old: what is left then is found by the bookkeeper's scan.
  std::int64_t seen_max = 0;
  std::map<std::int64_t, clock::time_point> gaps;
  constexpr std::int64_t max_gaps = 10000;
  bool more = false; // the producer's queue was full: rows are left to read
  bool was_leading = false;

  // Reads the unpublished rows with ids above `from`, page by page, and produces them.
  // Returns how far it got with every unpublished row read now the relay's (below the row
  // the producer's queue refused, or as far as ids were seen), or nullopt if the outbox
  // could not be read.
  auto publish_from = [&](std::int64_t from) -> std::optional<std::int64_t> {
    more = false;
    auto now = clock::now();
    for (bool first = true;; first = false) {
      auto rows = store.unpublished(from, page);
      if (!rows) // the rest is tried again at the next commit or sweep
        return first ? std::nullopt : std::optional<std::int64_t>{from};
      bool queue_full = false;
      for (const auto& row : *rows) {
        if (row.id > seen_max) {
          if (seen_max > 0 &&
              row.id - seen_max - 1 <= max_gaps - static_cast<std::int64_t>(gaps.size()))
            for (auto id = seen_max + 1; id < row.id; ++id)
              gaps.emplace(id, now);
          seen_max = row.id;
        } else {
          gaps.erase(row.id);
        }
        if (owned.count(row.id) == 0) {
          auto topic = topics_.find(row.event_type);
          std::string error;
          if (topic == topics_.end()) {
            owned.emplace(row.id, 0); // journal-only: marked without publishing
            confirmed.push_back(row.id);
          } else if (out.produce(topic->second, row.aggregate_id, row.envelope,
                                 {{"event_type", row.event_type},
                                  {"correlation_id", correlation_of(row.envelope)}},
                                 row.id, &error)) {
            owned.emplace(row.id, row.committed_ms);
            ++awaiting;
          } else {
            // The local queue is full: stop here; deliveries free it and wake this thread,
            // and the rows from this one on are read again.
            spdlog::debug("outbox relay: producer queue refused row {}: {}", row.id, error);
            after_id = row.id - 1;
            more = queue_full = true;
            break;
          }
        }
        from = row.id;
        after_id = std::max(after_id, row.id);
      }
      out.poll(0);
      mark_confirmed(); // so that a long read does not hold up marking
      if (queue_full)
        return after_id;
      if (rows->size() < page)
        return std::max(from, seen_max);
    }
  };
  // Sweeps read from the floor: up to it, when the last sweep read, every row was published
  // or the relay's. What can be left behind below it since: a failed delivery, a gap given
  // up on, a row made unpublished by hand; the sweep reads from the lowest of those it knows
  // of, and from the lowest unpublished row the bookkeeper's scan found, unless the relay
  // has it. (Reading from the start would walk every row marked since the last vacuum, and
  // every row in flight.)
  std::int64_t floor = 0;
  const auto scan_every = std::max(sweep, std::chrono::milliseconds{1000});
  auto next_scan = clock::now();
  auto sweep_from = [&](std::int64_t from) {
    if (auto now = clock::now(); now >= next_scan) {
      books.request_scan();
      next_scan = now + scan_every;
    }
    if (auto reached = publish_from(from))
      floor = *reached;
  };

  for (;;) {
    bool commits = false;
    bool stop = false;
    {
      std::unique_lock<std::mutex> lock{mtx_};
      cv_.wait_until(lock, next_sweep, [&] { return stopping_ || committed_ || reports_; });
      commits = std::exchange(committed_, false);
      reports_ = false;
      stop = stopping_;
    }
    out.poll(0);
    auto now = clock::now();
    // A relay that does not lead asks for the lease at its sweeps only, not at every commit
    // of its node that wakes it (an advisory-lock query each: ~170/s on three nodes under
    // checkout load). The leader's lease is held by its connection: asking is free.
    if (leading_ || now >= next_sweep || stop)
      leading_ = store.lead();
    if (!leading_) {
      was_leading = false;
      if (now >= next_sweep)
        next_sweep = now + sweep;
    } else {
      for (auto g = gaps.begin(); g != gaps.end();)
        g = now - g->second >= sweep ? gaps.erase(g) : std::next(g);
      if (stop) {
        // Publishes what the last commits added, then stops.
        if (commits)
          publish_from(after_id);
      } else if (!was_leading) {
        // Leading from now on (a start, or the lease regained): everything unpublished.
        was_leading = true;
        if (republish_window_.count() > 0) {
          auto n = store.unpublish_since(republish_window_);
          if (n >= 0) {
            spdlog::info("outbox relay: publishing again the {} events of the last {} s (the "
                         "embedded Kafka starts empty)",
                         n, republish_window_.count());
            republish_window_ = std::chrono::seconds{0};
          }
        }
        next_sweep = now + sweep;
        after_id = 0;
        sweep_from(0);
      } else if (now >= next_sweep) {
        // Rows left behind: a failed delivery, a gap given up on, a row the scan found.
        next_sweep = now + sweep;
        auto from = floor;
        if (auto lowest = books.take_lowest(); lowest && *lowest > 0 && owned.count(*lowest) == 0)
          from = std::min(from, *lowest - 1);
        from = std::min(from, failed_min - 1);
        failed_min = std::numeric_limits<std::int64_t>::max();
        if (!gaps.empty())
          from = std::min(from, gaps.begin()->first - 1);
        sweep_from(from);
      } else if (commits || more) {
        publish_from(gaps.empty() ? after_id : std::min(after_id, gaps.begin()->first - 1));
      }
    }
    mark_confirmed();
    if (stop)
      break;
  }
  // Wait for what is in flight (bounded), so that what was delivered is marked and a
  // successor does not publish it again.
  auto deadline =
      clock::now() + std::chrono::milliseconds{std::min(opts_.message_timeout_ms, 10000)};
  while (awaiting > 0 && clock::now() < deadline)
    out.poll(20);
  mark_confirmed();
}

} // namespace bazaar::kafka
