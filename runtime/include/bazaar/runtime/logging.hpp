#pragma once

/// Process-wide logging: spdlog to stderr, one JSON object per line (or plain text).
///
/// A JSON line has `time`, `level`, `node`, `logger`, `thread` and `msg`, and, when the thread
/// that writes it works for a request, a grain command or a Kafka record (a log_scope is set),
/// `correlation_id`, `grain` (type/key) and the subject (set_log_subject: the shop's
/// `order_id`) where they are known. Secrets never
/// reach a line: the password of a PostgreSQL URL (postgres://user:***@...) or of a
/// `password=` pair is masked in every message, and so is every string given to
/// add_log_secret (the JWT secret).
///
/// Off the hot path (issue 20): unless `log.queue_lines` is 0, a thread that logs only formats
/// its line (with its own log_scope, so every field is the same as written synchronously) and
/// puts it into a bounded queue that one writer thread drains to stderr (async_line_sink).
/// A full queue never makes the logging thread wait: the line is dropped and counted
/// (log_lines_dropped, `bazaar_log_lines_dropped_total` at /metrics), and the writer says how
/// many it dropped in a warning line of its own. Lines at warn and above have the last eighth
/// of the queue to themselves, so that a flood of info lines does not push them out. The
/// queue is written out by shutdown_logging (the node calls it when it stops) or at exit;
/// lines still queued when the process crashes are lost.

#include "bazaar/config/options.hpp"

#include <spdlog/formatter.h>
#include <spdlog/sinks/sink.h>

#include <array>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>

namespace bazaar::runtime {

/// Installs the default logger `bazaar` according to the options: synchronous to stderr when
/// `queue_lines` is 0, else through an async_line_sink of that many lines. Call once at start
/// (a second call replaces the logger, writing out the queue of the first).
void setup_logging(const config::log_options& opts);

/// Writes out every line the asynchronous log holds and stops its writer thread, waiting at
/// most `timeout` (a writer stuck on a pipe nobody reads must not hold the exit forever);
/// lines logged afterwards are written by the thread that logs them. Harmless when the log is
/// synchronous or already shut down. Call when the process stops (`bazaar serve` does; at
/// exit the sink's destructor does the same for a process that did not).
void shutdown_logging(std::chrono::milliseconds timeout = std::chrono::seconds{5});

/// Lines of the process's log dropped because the queue was full, by spdlog level (index
/// spdlog::level::level_enum: trace .. critical), since setup_logging; all 0 when synchronous.
std::array<std::uint64_t, 6> log_lines_dropped() noexcept;

/// The formatter setup_logging installs for `format` ("json" or "text").
std::unique_ptr<spdlog::formatter> make_log_formatter(const std::string& format);

/// The node id every line carries as `node` from now on (set once the node knows it).
void set_log_node(std::string node);

/// Masks `secret` (at least 8 characters; shorter ones are ignored) wherever it appears in a
/// message from now on.
void add_log_secret(std::string secret);

/// The password in a PostgreSQL URL (`postgresql://user:password@host/db`, as written there)
/// or connection string (`password=...`); "" when it has none.
std::string password_in(std::string_view url);

/// `text` with the passwords of PostgreSQL URLs and `password=` pairs, and the secrets given
/// to add_log_secret, replaced by `***`.
std::string redact_secrets(std::string_view text);

/// What the calling thread works for, as its log lines show it; empty fields are left out.
/// The views must outlive the log_scope that sets them.
struct log_context {
  std::string_view correlation_id;
  std::string_view grain_type; ///< with grain_key: `grain` = "type/key"
  std::string_view grain_key;
  /// What the work is about, under the key set_log_subject names (the shop: an order id).
  std::string_view subject;
};

/// Names the log subject: the field of an event's data that says what a step is about, and the
/// key its value has in log lines (the shop: "order_id"). "" (the default): none. Set once,
/// before logging starts.
void set_log_subject(std::string key);
/// The log subject's key ("" when none).
const std::string& log_subject();

/// A spdlog sink that keeps writing off the threads that log.
///
/// Why a sink of our own and not spdlog's async_logger: the async_logger formats on its pool
/// thread, where the log_scope of the thread that logged (a thread-local of string views) is
/// gone, so `correlation_id`, `grain` and the subject would be lost or wrong, and the views
/// could dangle; and spdlog 1.10 only offers `block` (a grain would wait for stderr) or
/// `overrun_oldest` (a warning is dropped as readily as a debug line) when its queue is full.
/// Here the formatter runs on the logging thread (a clone per thread, as spdlog's formatters
/// are not thread-safe), exactly as the synchronous sink ran it, and only the finished line,
/// masked and with its context, is queued. The queue's slots keep their strings, so a line
/// costs no allocation once the queue has warmed up. The writer, woken by a first line, waits
/// up to 50 ms for more and writes them in one call (a line at warn or above, a queue a
/// quarter full, flush, drain and stop cut the wait short): one wake-up per batch, not one
/// per line, on the threads that log.
///
/// Full queue: a line below warn is dropped once the queue holds `queue_lines -
/// queue_lines / 8` lines; a line at warn or above only when it holds `queue_lines`. Nothing
/// waits. Each drop is counted per level, and after the writer wrote the lines queued with
/// a drop it writes a warning line saying how many were dropped.
class async_line_sink final : public spdlog::sinks::sink {
 public:
  /// Writes finished lines (one or more, each ending in '\n'); called by one thread at a time.
  using writer = std::function<void(std::string_view lines)>;

  /// A queue of `queue_lines` lines (at least 1) drained into `write` by a thread of its own
  /// (which blocks every signal, so that a process's sigwait still gets them).
  async_line_sink(std::size_t queue_lines, writer write);
  /// Writes out what is queued (stop with a 5 s limit).
  ~async_line_sink() override;

  async_line_sink(const async_line_sink&) = delete;
  async_line_sink& operator=(const async_line_sink&) = delete;

  void log(const spdlog::details::log_msg& msg) override;
  /// Wakes the writer; never waits (the writer's `write` has no buffer of its own to flush).
  void flush() override;
  void set_pattern(const std::string& pattern) override;
  void set_formatter(std::unique_ptr<spdlog::formatter> formatter) override;

  /// Waits until every line queued before the call has been written, at most `timeout`;
  /// false if it timed out.
  bool drain(std::chrono::milliseconds timeout);

  /// Writes out the queue and stops the writer thread, waiting at most `timeout` (after that
  /// the thread is left to finish alone); lines logged afterwards are written by the thread
  /// that logs them. True if everything was written in time.
  bool stop(std::chrono::milliseconds timeout);

  /// Lines dropped so far, by spdlog level.
  std::array<std::uint64_t, 6> dropped() const noexcept;

 private:
  struct core;
  std::shared_ptr<core> core_;
};

/// The calling thread's context (all empty outside any log_scope).
const log_context& current_log_context() noexcept;

/// Sets the calling thread's log context for its lifetime, then restores the one before
/// (spdlog has no MDC: this is it).
class log_scope {
 public:
  explicit log_scope(const log_context& context) noexcept;
  ~log_scope();
  log_scope(const log_scope&) = delete;
  log_scope& operator=(const log_scope&) = delete;

 private:
  log_context saved_;
};

} // namespace bazaar::runtime
