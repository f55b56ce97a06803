#include "bazaar/runtime/logging.hpp"

#include <spdlog/pattern_formatter.h>
#include <spdlog/sinks/stdout_sinks.h>
#include <spdlog/spdlog.h>

#include <pthread.h>
#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cctype>
#include <cerrno>
#include <condition_variable>
#include <cstdio>
#include <ctime>
#include <mutex>
#include <thread>
#include <vector>

namespace bazaar::runtime {

namespace {

// -- what every line carries -------------------------------------------------------------------

thread_local log_context current_context;

/// Read by every formatting thread, replaced rarely: swapped as a whole (atomic_load/store).
std::shared_ptr<const std::string> node_name = std::make_shared<const std::string>();
std::shared_ptr<const std::vector<std::string>> secrets =
    std::make_shared<const std::vector<std::string>>();

std::shared_ptr<const std::string> current_node() {
  return std::atomic_load(&node_name);
}

// -- masking secrets ---------------------------------------------------------------------------

bool iequals_at(std::string_view text, std::size_t at, std::string_view word) {
  if (text.size() - at < word.size())
    return false;
  for (std::size_t i = 0; i < word.size(); ++i)
    if (std::tolower(static_cast<unsigned char>(text[at + i])) != word[i])
      return false;
  return true;
}

/// Where the text of a URL's authority ends (the password cannot run past it).
bool ends_authority(char c) {
  return c == '/' || c == '?' || c == '#' || c == '"' || c == '\'' ||
         std::isspace(static_cast<unsigned char>(c));
}

/// Masks `scheme://user:password@` and `password=value` (a conninfo pair or a URL's query
/// parameter); appends the result to `out`. True if anything was masked.
bool mask_passwords(std::string_view text, std::string& out) {
  bool masked = false;
  std::size_t copied = 0;
  for (std::size_t i = 0; i < text.size(); ++i) {
    if (text.compare(i, 3, "://") == 0) {
      std::size_t start = i + 3;
      std::size_t end = start;
      while (end < text.size() && !ends_authority(text[end]))
        ++end;
      auto authority = text.substr(start, end - start);
      auto at = authority.rfind('@');
      auto colon = at == std::string_view::npos ? at : authority.substr(0, at).find(':');
      if (colon != std::string_view::npos && colon + 1 < at) {
        out.append(text.substr(copied, start + colon + 1 - copied));
        out += "***";
        copied = start + at;
        masked = true;
      }
      i = end == start ? i : end - 1;
    } else if (iequals_at(text, i, "password=")) {
      std::size_t start = i + 9;
      std::size_t end = start;
      if (end < text.size() && text[end] == '\'') {
        ++end; // a quoted conninfo value: up to the closing quote, \' escaped
        while (end < text.size() && text[end] != '\'')
          end += text[end] == '\\' ? 2 : 1;
        end = std::min(end + 1, text.size());
      } else {
        while (end < text.size() && text[end] != '&' && text[end] != '"' &&
               !std::isspace(static_cast<unsigned char>(text[end])))
          ++end;
      }
      if (end > start) {
        out.append(text.substr(copied, start - copied));
        out += "***";
        copied = end;
        masked = true;
      }
      i = end == start ? i : end - 1;
    }
  }
  if (masked)
    out.append(text.substr(copied));
  return masked;
}

/// Replaces every occurrence of the registered secrets in `text`.
bool mask_secrets(std::string& text, const std::vector<std::string>& list) {
  bool masked = false;
  for (const auto& s : list) {
    for (auto at = text.find(s); at != std::string::npos; at = text.find(s, at + 3)) {
      text.replace(at, s.size(), "***");
      masked = true;
    }
  }
  return masked;
}

/// The message as it may be logged: `payload` itself, or a masked copy in `scratch`.
std::string_view safe_message(std::string_view payload, std::string& scratch) {
  scratch.clear();
  bool masked = mask_passwords(payload, scratch);
  auto list = std::atomic_load(&secrets);
  if (list->empty())
    return masked ? std::string_view{scratch} : payload;
  if (!masked)
    scratch.assign(payload);
  masked = mask_secrets(scratch, *list) || masked;
  return masked ? std::string_view{scratch} : payload;
}

// -- writing lines -----------------------------------------------------------------------------

/// The length of the valid UTF-8 sequence at text[i], or 0 if there is none.
std::size_t utf8_length(std::string_view text, std::size_t i) {
  auto b = [&](std::size_t k) { return static_cast<unsigned char>(text[i + k]); };
  auto cont = [&](std::size_t k) { return i + k < text.size() && (b(k) & 0xc0) == 0x80; };
  unsigned char c = b(0);
  if (c >= 0xc2 && c <= 0xdf)
    return cont(1) ? 2 : 0;
  if (c >= 0xe0 && c <= 0xef) {
    if (!cont(1) || !cont(2))
      return 0;
    if ((c == 0xe0 && b(1) < 0xa0) || (c == 0xed && b(1) > 0x9f))
      return 0; // overlong, or a surrogate
    return 3;
  }
  if (c >= 0xf0 && c <= 0xf4) {
    if (!cont(1) || !cont(2) || !cont(3))
      return 0;
    if ((c == 0xf0 && b(1) < 0x90) || (c == 0xf4 && b(1) > 0x8f))
      return 0;
    return 4;
  }
  return 0;
}

/// Appends `text` as the inside of a JSON string: escaped, and bytes that are not UTF-8 as
/// U+FFFD, so that every line parses.
void append_escaped(spdlog::memory_buf_t& out, std::string_view text) {
  for (std::size_t i = 0; i < text.size(); ++i) {
    char c = text[i];
    switch (c) {
    case '"':
      out.append(std::string_view{"\\\""});
      break;
    case '\\':
      out.append(std::string_view{"\\\\"});
      break;
    case '\n':
      out.append(std::string_view{"\\n"});
      break;
    case '\r':
      out.append(std::string_view{"\\r"});
      break;
    case '\t':
      out.append(std::string_view{"\\t"});
      break;
    default: {
      auto u = static_cast<unsigned char>(c);
      if (u < 0x20 || u == 0x7f) {
        char buf[8];
        std::snprintf(buf, sizeof buf, "\\u%04x", static_cast<unsigned>(u));
        out.append(std::string_view{buf});
      } else if (u < 0x80) {
        out.push_back(c);
      } else if (auto n = utf8_length(text, i)) {
        out.append(text.substr(i, n));
        i += n - 1;
      } else {
        out.append(std::string_view{"\\ufffd"});
      }
    }
    }
  }
}

void append_time(spdlog::memory_buf_t& dest, const spdlog::details::log_msg& msg) {
  auto since = msg.time.time_since_epoch();
  auto secs = std::chrono::duration_cast<std::chrono::seconds>(since);
  auto millis = std::chrono::duration_cast<std::chrono::milliseconds>(since - secs).count();
  std::time_t t = secs.count();
  std::tm parts{};
  gmtime_r(&t, &parts);
  char stamp[64];
  std::snprintf(stamp, sizeof stamp, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", parts.tm_year + 1900,
                parts.tm_mon + 1, parts.tm_mday, parts.tm_hour, parts.tm_min, parts.tm_sec,
                static_cast<int>(millis));
  dest.append(std::string_view{stamp});
}

/// {"time":"...Z","level":"info","node":"n1","logger":"bazaar","thread":123,"msg":"...",
///  "correlation_id":"...","grain":"type/key","<subject>":"..."}
class json_formatter final : public spdlog::formatter {
 public:
  void format(const spdlog::details::log_msg& msg, spdlog::memory_buf_t& dest) override {
    const auto& cx = current_context;
    auto node = current_node();
    dest.append(std::string_view{"{\"time\":\""});
    append_time(dest, msg);
    dest.append(std::string_view{"\",\"level\":\""});
    auto level = spdlog::level::to_string_view(msg.level);
    dest.append(level.data(), level.data() + level.size());
    dest.append(std::string_view{"\",\"node\":\""});
    append_escaped(dest, *node);
    dest.append(std::string_view{"\",\"logger\":\""});
    append_escaped(dest, std::string_view{msg.logger_name.data(), msg.logger_name.size()});
    dest.append(std::string_view{"\",\"thread\":"});
    auto tid = std::to_string(msg.thread_id);
    dest.append(std::string_view{tid});
    dest.append(std::string_view{",\"msg\":\""});
    append_escaped(dest, safe_message({msg.payload.data(), msg.payload.size()}, scratch_));
    dest.append(std::string_view{"\""});
    if (!cx.correlation_id.empty()) {
      dest.append(std::string_view{",\"correlation_id\":\""});
      append_escaped(dest, cx.correlation_id);
      dest.append(std::string_view{"\""});
    }
    if (!cx.grain_type.empty()) {
      dest.append(std::string_view{",\"grain\":\""});
      append_escaped(dest, cx.grain_type);
      dest.append(std::string_view{"/"});
      append_escaped(dest, cx.grain_key);
      dest.append(std::string_view{"\""});
    }
    if (!cx.subject.empty() && !log_subject().empty()) {
      dest.append(std::string_view{",\""});
      append_escaped(dest, log_subject());
      dest.append(std::string_view{"\":\""});
      append_escaped(dest, cx.subject);
      dest.append(std::string_view{"\""});
    }
    dest.append(std::string_view{"}\n"});
  }

  std::unique_ptr<spdlog::formatter> clone() const override {
    return std::make_unique<json_formatter>();
  }

 private:
  std::string scratch_; ///< a masked message (the sink formats under its lock)
};

/// 2025-01-01T10:00:00.000Z info [node] message correlation_id=... grain=... <subject>=...
class text_formatter final : public spdlog::formatter {
 public:
  void format(const spdlog::details::log_msg& msg, spdlog::memory_buf_t& dest) override {
    const auto& cx = current_context;
    auto node = current_node();
    append_time(dest, msg);
    dest.push_back(' ');
    auto level = spdlog::level::to_string_view(msg.level);
    dest.append(level.data(), level.data() + level.size());
    dest.append(std::string_view{" ["});
    dest.append(std::string_view{*node});
    dest.append(std::string_view{"] "});
    auto text = safe_message({msg.payload.data(), msg.payload.size()}, scratch_);
    dest.append(text);
    auto field = [&dest](std::string_view name, std::string_view value) {
      dest.push_back(' ');
      dest.append(name);
      dest.push_back('=');
      dest.append(value);
    };
    if (!cx.correlation_id.empty())
      field("correlation_id", cx.correlation_id);
    if (!cx.grain_type.empty()) {
      field("grain", cx.grain_type);
      dest.push_back('/');
      dest.append(cx.grain_key);
    }
    if (!cx.subject.empty() && !log_subject().empty())
      field(log_subject(), cx.subject);
    dest.push_back('\n');
  }

  std::unique_ptr<spdlog::formatter> clone() const override {
    return std::make_unique<text_formatter>();
  }

 private:
  std::string scratch_;
};

// -- the asynchronous sink ----------------------------------------------------------------------

/// Every formatter an async_line_sink is given gets a number no other one has, so that a
/// thread's clone (below) is never taken for another sink's or an older one.
std::atomic<std::uint64_t> next_formatter_generation{1};

/// The calling thread's clone of a sink's formatter, and the buffer it formats into.
struct thread_formatter {
  std::uint64_t generation = 0;
  std::unique_ptr<spdlog::formatter> formatter;
  spdlog::memory_buf_t line;
};

thread_local thread_formatter this_thread_formatter;

/// Writes all of `text` to stderr (no stdio buffer: nothing to flush), giving up on an error
/// other than EINTR (a closed stderr must not stop the writer).
void write_stderr(std::string_view text) {
  while (!text.empty()) {
    auto n = ::write(STDERR_FILENO, text.data(), text.size());
    if (n < 0) {
      if (errno == EINTR)
        continue;
      return;
    }
    text.remove_prefix(static_cast<std::size_t>(n));
  }
}

std::size_t level_index(spdlog::level::level_enum level) {
  return std::min<std::size_t>(static_cast<std::size_t>(level), 5);
}

/// The sink that setup_logging installed (for log_lines_dropped and shutdown_logging); null
/// when the log is synchronous. Declared after node_name and secrets: at exit it is destroyed
/// (and writes out its queue) before them.
std::shared_ptr<async_line_sink> installed_sink;

} // namespace

struct async_line_sink::core {
  core(std::size_t queue_lines, writer w)
      : capacity(std::max<std::size_t>(queue_lines, 1)), low_capacity(capacity - capacity / 8),
        urgent_size(std::max<std::size_t>(capacity / 4, 1)), slots(capacity), write(std::move(w)),
        formatter(std::make_unique<spdlog::pattern_formatter>()),
        generation(next_formatter_generation++) {}

  const std::size_t capacity;     ///< lines at warn and above are queued while fewer are
  const std::size_t low_capacity; ///< lines below warn are queued while fewer are
  const std::size_t urgent_size;  ///< from this many queued lines on, the writer lingers no more

  /// How long the writer, woken by a first line, waits for more before it writes them: waking
  /// it for each line (a futex call on the logging thread, and a thread the scheduler may run
  /// in its place) costs the logging thread more than the line. A warning, a drain, a stop or
  /// a queue a quarter full cut it short.
  static constexpr std::chrono::milliseconds linger{50};

  std::mutex mtx;                     ///< guards what follows, up to write_mtx
  std::condition_variable wake;       ///< the writer: lines queued, or stopping
  std::condition_variable written_cv; ///< drain and stop: lines written, or the writer ended
  std::vector<std::string> slots;     ///< a ring; each slot keeps its string's capacity
  std::size_t head = 0;
  std::size_t size = 0;
  std::uint64_t queued = 0;  ///< lines ever queued
  std::uint64_t written = 0; ///< lines ever handed to `write`
  std::uint64_t drops = 0;   ///< lines ever dropped
  std::uint64_t warn_drops = 0;
  bool writer_idle = false;      ///< the writer waits for a first line (any line wakes it)
  bool writer_lingering = false; ///< it waits for more (only an urgent line wakes it)
  bool urgent = false;           ///< write what is queued without lingering
  bool stopping = false;         ///< nothing is queued any more; the writer ends once it wrote all
  bool ended = false;            ///< the writer thread has ended
  std::atomic<bool> stopped{false}; ///< `stopping`, read without the lock
  std::array<std::atomic<std::uint64_t>, 6> dropped_by_level{};

  std::mutex write_mtx; ///< one call of `write` at a time
  writer write;

  std::mutex formatter_mtx;
  std::unique_ptr<spdlog::formatter> formatter; ///< the one each thread clones
  std::atomic<std::uint64_t> generation;

  std::mutex stop_mtx;
  std::thread thread;

  /// `msg` formatted by the calling thread's clone of the formatter, in that thread's buffer.
  std::string_view format(const spdlog::details::log_msg& msg) {
    auto& mine = this_thread_formatter;
    if (mine.generation != generation.load(std::memory_order_acquire) || !mine.formatter) {
      std::lock_guard<std::mutex> lock{formatter_mtx};
      mine.formatter = formatter->clone();
      mine.generation = generation.load(std::memory_order_relaxed);
    }
    mine.line.clear();
    mine.formatter->format(msg, mine.line);
    return {mine.line.data(), mine.line.size()};
  }

  /// Formats and writes `msg` on the calling thread (once the writer has stopped).
  void write_now(const spdlog::details::log_msg& msg) {
    spdlog::memory_buf_t line;
    {
      std::lock_guard<std::mutex> lock{formatter_mtx};
      formatter->format(msg, line);
    }
    write_lines({line.data(), line.size()});
  }

  void write_lines(std::string_view lines) {
    std::lock_guard<std::mutex> lock{write_mtx};
    try {
      write(lines);
    } catch (...) { // a line that cannot be written is lost, the log goes on
    }
  }

  /// The writer thread: takes every queued line at once, writes them in one call, and after
  /// them a warning if lines were dropped since the last one.
  void run() {
    std::vector<std::string> batch(capacity); // swapped with the slots: capacities circulate
    std::string out;
    std::uint64_t reported = 0, reported_warn = 0;
    std::unique_lock<std::mutex> lock{mtx};
    for (;;) {
      while (size == 0 && !stopping) {
        writer_idle = true;
        wake.wait(lock);
      }
      writer_idle = false;
      if (size == 0)
        break; // stopping, and everything is written
      if (!urgent && !stopping) {
        writer_lingering = true;
        wake.wait_for(lock, linger, [this] { return urgent || stopping; });
        writer_lingering = false;
      }
      urgent = false;
      auto n = size;
      for (std::size_t i = 0; i < n; ++i)
        batch[i].swap(slots[(head + i) % capacity]);
      head = (head + n) % capacity;
      size = 0;
      auto dropped = drops, dropped_warn = warn_drops;
      lock.unlock();
      out.clear();
      for (std::size_t i = 0; i < n; ++i)
        out += batch[i];
      if (dropped > reported) {
        auto text = "log queue full: dropped " + std::to_string(dropped - reported) + " lines (" +
                    std::to_string(dropped_warn - reported_warn) +
                    " at warning or above) since the last such warning; "
                    "bazaar_log_lines_dropped_total counts them all";
        spdlog::details::log_msg msg{"bazaar", spdlog::level::warn, text};
        out += format(msg);
        reported = dropped;
        reported_warn = dropped_warn;
      }
      write_lines(out);
      if (out.capacity() > (1u << 20))
        std::string{}.swap(out); // after a burst, give the memory back
      lock.lock();
      written += n;
      written_cv.notify_all();
    }
    ended = true;
    written_cv.notify_all();
  }
};

async_line_sink::async_line_sink(std::size_t queue_lines, writer write)
    : core_(std::make_shared<core>(queue_lines, std::move(write))) {
  // The writer blocks every signal: a process that waits for SIGTERM with sigwait (bazaar
  // serve) blocks it only after the log is set up, and must still be the one to get it.
  sigset_t all, before;
  sigfillset(&all);
  pthread_sigmask(SIG_SETMASK, &all, &before);
  core_->thread = std::thread([c = core_] { c->run(); });
  pthread_sigmask(SIG_SETMASK, &before, nullptr);
  pthread_setname_np(core_->thread.native_handle(), "bazaar-log");
}

async_line_sink::~async_line_sink() {
  stop(std::chrono::seconds{5});
}

void async_line_sink::log(const spdlog::details::log_msg& msg) {
  auto& c = *core_;
  if (c.stopped.load(std::memory_order_relaxed)) {
    c.write_now(msg); // not through this thread's formatter: at exit it may be gone already
    return;
  }
  bool high = msg.level >= spdlog::level::warn;
  auto line = c.format(msg);
  std::unique_lock<std::mutex> lock{c.mtx};
  if (c.stopping) {
    lock.unlock();
    c.write_now(msg);
    return;
  }
  if (c.size >= (high ? c.capacity : c.low_capacity)) {
    ++c.drops;
    c.warn_drops += high ? 1 : 0;
    c.dropped_by_level[level_index(msg.level)].fetch_add(1, std::memory_order_relaxed);
    return;
  }
  c.slots[(c.head + c.size) % c.capacity].assign(line.data(), line.size());
  ++c.size;
  ++c.queued;
  if (high || c.size >= c.urgent_size)
    c.urgent = true;
  bool wake = c.writer_idle || (c.writer_lingering && c.urgent);
  if (wake)
    c.writer_idle = c.writer_lingering = false; // one wake-up is enough
  lock.unlock();
  if (wake)
    c.wake.notify_one();
}

void async_line_sink::flush() {
  auto& c = *core_;
  {
    std::lock_guard<std::mutex> lock{c.mtx};
    c.urgent = c.urgent || c.size > 0;
  }
  c.wake.notify_one();
}

void async_line_sink::set_pattern(const std::string& pattern) {
  set_formatter(std::make_unique<spdlog::pattern_formatter>(pattern));
}

void async_line_sink::set_formatter(std::unique_ptr<spdlog::formatter> formatter) {
  std::lock_guard<std::mutex> lock{core_->formatter_mtx};
  core_->formatter = std::move(formatter);
  core_->generation.store(next_formatter_generation++, std::memory_order_release);
}

bool async_line_sink::drain(std::chrono::milliseconds timeout) {
  auto& c = *core_;
  std::unique_lock<std::mutex> lock{c.mtx};
  auto target = c.queued;
  c.urgent = true;
  c.wake.notify_one();
  return c.written_cv.wait_for(lock, timeout, [&] { return c.written >= target || c.ended; });
}

bool async_line_sink::stop(std::chrono::milliseconds timeout) {
  auto& c = *core_;
  std::lock_guard<std::mutex> stopping{c.stop_mtx};
  std::unique_lock<std::mutex> lock{c.mtx};
  c.stopping = true;
  c.stopped = true;
  c.wake.notify_one();
  bool ended = c.written_cv.wait_for(lock, timeout, [&] { return c.ended; });
  lock.unlock();
  if (c.thread.joinable()) {
    if (ended)
      c.thread.join();
    else
      c.thread.detach(); // stuck in `write`: it holds the core and ends on its own
  }
  return ended;
}

std::array<std::uint64_t, 6> async_line_sink::dropped() const noexcept {
  std::array<std::uint64_t, 6> out{};
  for (std::size_t i = 0; i < out.size(); ++i)
    out[i] = core_->dropped_by_level[i].load(std::memory_order_relaxed);
  return out;
}

std::unique_ptr<spdlog::formatter> make_log_formatter(const std::string& format) {
  if (format == "json")
    return std::make_unique<json_formatter>();
  return std::make_unique<text_formatter>();
}

void setup_logging(const config::log_options& opts) {
  char host[256] = {0};
  gethostname(host, sizeof host - 1);
  set_log_node(host); // until the node knows its id
  std::shared_ptr<async_line_sink> queue;
  std::shared_ptr<spdlog::sinks::sink> sink;
  if (opts.queue_lines > 0)
    sink = queue =
        std::make_shared<async_line_sink>(static_cast<std::size_t>(opts.queue_lines), write_stderr);
  else
    sink = std::make_shared<spdlog::sinks::stderr_sink_mt>();
  auto logger = std::make_shared<spdlog::logger>("bazaar", std::move(sink));
  logger->set_formatter(make_log_formatter(opts.format));
  logger->set_level(spdlog::level::from_str(opts.level));
  logger->flush_on(spdlog::level::warn); // synchronous: fflush; queued: wakes the writer
  auto previous = std::atomic_exchange(&installed_sink, queue);
  spdlog::set_default_logger(logger); // registers it as "bazaar", replacing an earlier one
  if (previous)
    previous->stop(std::chrono::seconds{5});
}

void shutdown_logging(std::chrono::milliseconds timeout) {
  if (auto sink = std::atomic_load(&installed_sink))
    sink->stop(timeout);
}

std::array<std::uint64_t, 6> log_lines_dropped() noexcept {
  if (auto sink = std::atomic_load(&installed_sink))
    return sink->dropped();
  return {};
}

void set_log_node(std::string node) {
  std::atomic_store(&node_name, std::make_shared<const std::string>(std::move(node)));
}

namespace {

std::string& subject_key() {
  static std::string key;
  return key;
}

} // namespace

void set_log_subject(std::string key) {
  if (subject_key() != key) // a second node in the process names the same: nothing to write
    subject_key() = std::move(key);
}

const std::string& log_subject() {
  return subject_key();
}

void add_log_secret(std::string secret) {
  if (secret.size() < 8)
    return;
  auto list = std::make_shared<std::vector<std::string>>(*std::atomic_load(&secrets));
  for (const auto& s : *list)
    if (s == secret)
      return;
  list->push_back(std::move(secret));
  std::atomic_store(&secrets, std::shared_ptr<const std::vector<std::string>>(std::move(list)));
}

std::string password_in(std::string_view url) {
  if (auto scheme = url.find("://"); scheme != std::string_view::npos) {
    auto start = scheme + 3;
    auto end = start;
    while (end < url.size() && !ends_authority(url[end]))
      ++end;
    auto authority = url.substr(start, end - start);
    auto at = authority.rfind('@');
    auto colon = at == std::string_view::npos ? at : authority.substr(0, at).find(':');
    if (colon != std::string_view::npos)
      return std::string(authority.substr(colon + 1, at - colon - 1));
  }
  for (std::size_t i = 0; i < url.size(); ++i) {
    if (!iequals_at(url, i, "password="))
      continue;
    auto start = i + 9;
    auto end = start;
    if (end < url.size() && url[end] == '\'') {
      ++start;
      ++end;
      while (end < url.size() && url[end] != '\'')
        end += url[end] == '\\' ? 2 : 1;
      end = std::min(end, url.size());
    } else {
      while (end < url.size() && url[end] != '&' &&
             !std::isspace(static_cast<unsigned char>(url[end])))
        ++end;
    }
    return std::string(url.substr(start, end - start));
  }
  return {};
}

std::string redact_secrets(std::string_view text) {
  std::string scratch;
  return std::string(safe_message(text, scratch));
}

const log_context& current_log_context() noexcept {
  return current_context;
}

log_scope::log_scope(const log_context& context) noexcept : saved_(current_context) {
  current_context = context;
}

log_scope::~log_scope() {
  current_context = saved_;
}

} // namespace bazaar::runtime
